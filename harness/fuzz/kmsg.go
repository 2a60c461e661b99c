package fuzz

import (
	"errors"
	"os"
	"regexp"
	"strings"

	"golang.org/x/sys/unix"
)

// reportStart matches the kernel log lines that start a report which does
// not end the guest: lockdep's, a WARN without panic_on_warn, an RCU stall.
// A report that panics (KASAN with kasan.fault=panic, an Oops, a WARN under
// panic_on_warn) ends the guest instead, and the host blames the last input.
var reportStart = regexp.MustCompile(`^(BUG: |kernel BUG at |WARNING: |Oops|general protection fault|UBSAN: |INFO: task .* blocked for more than|rcu: INFO: |INFO: rcu_)`)

// KernelLog reads the kernel's log records that arrive after it is opened.
type KernelLog struct{ f *os.File }

// OpenKernelLog opens /dev/kmsg at its end.
func OpenKernelLog() (*KernelLog, error) {
	f, err := os.OpenFile("/dev/kmsg", os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if _, err := unix.Seek(int(f.Fd()), 0, unix.SEEK_END); err != nil {
		f.Close()
		return nil, err
	}
	return &KernelLog{f: f}, nil
}

// Reports returns the report lines logged since the last call.
func (l *KernelLog) Reports() []string {
	var out []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.Read(int(l.f.Fd()), buf)
		if errors.Is(err, unix.EPIPE) {
			continue // records were overwritten before we read them
		}
		if err != nil || n <= 0 {
			return out
		}
		// A record is "prio,seq,time,flags;text".
		rec := string(buf[:n])
		if _, text, ok := strings.Cut(rec, ";"); ok {
			text = strings.TrimRight(text, "\n")
			if reportStart.MatchString(text) {
				out = append(out, text)
			}
		}
	}
}

//go:build guest

package suite

import (
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"oreore/harness/bpf"
	"oreore/harness/caps"
	"oreore/harness/oreore"
)

// The capability matrix itself (every command of a described type with
// every capability set) is a family: harness/families. This file keeps what
// is not a type's own: how the sysctl decides loads.

// onThreadWithCaps runs f on a thread with exactly caps (package caps).
func onThreadWithCaps(t *testing.T, set []int, f func() error) error {
	t.Helper()
	err, setupErr := caps.OnThread(set, f)
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	return err
}

func errOrOK(err error) string {
	if err == nil {
		return "allowed"
	}
	return err.Error()
}

// kernel.unprivileged_bpf_disabled decides a load without CAP_BPF only
// for the types an unprivileged user may load at all: with it 0, a socket
// filter loads and an oreore program is still refused by bpf_prog_load's
// type check; with it 2, the sysctl refuses both (6.1 in __sys_bpf, 6.12
// in bpf_prog_load). The sysctl is restored; 1 cannot be undone, so a
// kernel that has 1 runs the 2 half as it is and skips the 0 half.
func TestCapUnprivilegedBPFDisabled(t *testing.T) {
	const path = "/proc/sys/kernel/unprivileged_bpf_disabled"
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if strings.TrimSpace(string(orig)) == "1" {
			return
		}
		if err := os.WriteFile(path, orig, 0); err != nil {
			t.Errorf("restoring %s to %s: %v", path, strings.TrimSpace(string(orig)), err)
		}
	})
	loadSock := func() error {
		fd, err := bpf.ProgLoad(bpf.ProgLoadAttr{Type: unix.BPF_PROG_TYPE_SOCKET_FILTER, Insns: constProg(0), License: "GPL"})
		if err == nil {
			fd.Close()
		}
		return err
	}
	loadOreore := func() error {
		fd, err := oreore.Load("capsysctl", constProg(1))
		if err == nil {
			fd.Close()
		}
		return err
	}
	for _, tt := range []struct {
		value      string
		sockFilter bool // a socket filter loads without capabilities
	}{
		{"2", false},
		{"0", true},
	} {
		t.Run("unprivileged_bpf_disabled="+tt.value, func(t *testing.T) {
			switch locked := strings.TrimSpace(string(orig)) == "1"; {
			case locked && tt.value == "0":
				t.Skip("the sysctl is 1, which the kernel never lets go back to 0")
			case locked:
				// 1 refuses what 2 refuses; it only cannot be changed.
			default:
				if err := os.WriteFile(path, []byte(tt.value), 0); err != nil {
					t.Fatal(err)
				}
			}
			if err := onThreadWithCaps(t, nil, loadSock); tt.sockFilter && err != nil {
				t.Errorf("socket filter without capabilities: %v, want it loaded", err)
			} else if !tt.sockFilter && !errors.Is(err, unix.EPERM) {
				t.Errorf("socket filter without capabilities: %v, want EPERM from the sysctl", errOrOK(err))
			}
			if err := onThreadWithCaps(t, nil, loadOreore); !errors.Is(err, unix.EPERM) {
				t.Errorf("oreore program without capabilities: %v, want EPERM", errOrOK(err))
			}
			if err := onThreadWithCaps(t, []int{unix.CAP_BPF}, loadOreore); err != nil {
				t.Errorf("oreore program with CAP_BPF: %v, want it loaded", err)
			}
		})
	}
}

//go:build guest

package suite

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"oreore/harness/oreore"
)

// What /sys/oreore/bpf makes of each write, with add-42 attached: the byte
// count or errno of write(2), and what a read returns afterwards.
func TestSysfsInput(t *testing.T) {
	requireEmptySlot(t)
	attach(t, loadAdd42(t))
	const before = 1000 // the result in place before each case
	tests := []struct {
		name  string
		input string
		errno unix.Errno // 0: accepted
		want  uint32     // the result read back; before when rejected
	}{
		{"empty write is a no-op", "", 0, before},
		{"lone newline rejected", "\n", unix.EINVAL, before},
		{"letters rejected", "abc", unix.EINVAL, before},
		{"negative rejected", "-1", unix.EINVAL, before},
		{"2^32 is ERANGE", "4294967296", unix.ERANGE, before},
		{"bare 0x rejected", "0x", unix.EINVAL, before},
		{"leading space rejected", " 12", unix.EINVAL, before},
		{"trailing junk rejected", "12abc", unix.EINVAL, before},
		{"two newlines rejected", "5\n\n", unix.EINVAL, before},
		{"embedded NUL rejected", "12\x0034", unix.EINVAL, before},
		{"4 KiB of digits is ERANGE", strings.Repeat("1", 4096), unix.ERANGE, before},
		{"hex without 0x rejected", "1f", unix.EINVAL, before},
		{"decimal accepted", "5", 0, 47},
		{"trailing newline accepted", "5\n", 0, 47},
		{"hex accepted", "0x1f", 0, 0x1f + 42},
		{"upper-case hex accepted", "0X1F\n", 0, 0x1f + 42},
		{"leading plus accepted", "+7", 0, 49},
		{"leading plus before hex accepted", "+0x10", 0, 0x10 + 42},
		{"leading plus before upper-case hex accepted", "+0X1f\n", 0, 0x1f + 42},
		{"lone plus rejected", "+", unix.EINVAL, before},
		{"two pluses rejected", "++7", unix.EINVAL, before},
		{"plus after 0x rejected", "0x+7", unix.EINVAL, before},
		{"leading zero is decimal, not octal", "010", 0, 52},
		{"u32 max wraps", "4294967295", 0, 41},
		{"4 KiB with leading zeros accepted", strings.Repeat("0", 4095) + "7", 0, 49},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := oreore.Write(before - 42); err != nil {
				t.Fatal(err)
			}
			n, err := rawWrite([]byte(tt.input))
			switch {
			case tt.errno != 0 && !errors.Is(err, tt.errno):
				t.Errorf("write(%q) = %d, %v; want %s", tt.input, n, err, unix.ErrnoName(tt.errno))
			case tt.errno == 0 && (err != nil || n != len(tt.input)):
				t.Errorf("write(%q) = %d, %v; want %d bytes accepted", tt.input, n, err, len(tt.input))
			}
			if got, err := oreore.Read(); err != nil || got != tt.want {
				t.Errorf("read after write(%q) = %d, %v; want %d", tt.input, got, err, tt.want)
			}
		})
	}
}

// Before any successful write since the module was loaded, a read has
// nothing to return.
func TestReadBeforeFirstWriteIsENODATA(t *testing.T) {
	requireEmptySlot(t)
	rmmod(t)
	insmod(t)
	if _, err := oreore.Read(); !errors.Is(err, unix.ENODATA) {
		t.Errorf("read before any write: %v, want ENODATA", err)
	}
	if _, err := rawWrite([]byte("1")); !errors.Is(err, unix.ENODEV) {
		t.Errorf("write with nothing attached: %v, want ENODEV", err)
	}
	if _, err := oreore.Read(); !errors.Is(err, unix.ENODATA) {
		t.Errorf("read after a failed write: %v, want ENODATA still", err)
	}
}

// The result is whatever a privileged program returned, pointer bits
// included, so only root reads it; the run count tells nothing of the
// program's data and stays world-readable.
func TestSysfsModes(t *testing.T) {
	for path, want := range map[string]uint32{oreore.SysfsPath: 0o600, oreore.RunsPath: 0o444} {
		var st unix.Stat_t
		if err := unix.Stat(path, &st); err != nil {
			t.Fatal(err)
		}
		if st.Mode&0o777 != want {
			t.Errorf("%s has mode %o, want %o", path, st.Mode&0o777, want)
		}
	}
}

// A Port's pwrite and pread at offset 0 work as the file's open, write and
// read do: each write runs the program, each read renders the last result
// afresh, including another writer's.
func TestPortRunsLikeTheFile(t *testing.T) {
	requireEmptySlot(t)
	port := openPort(t)
	if err := port.Write(1); !errors.Is(err, unix.ENODEV) {
		t.Errorf("port write with nothing attached: %v, want ENODEV", err)
	}
	attach(t, loadAdd42(t))
	for _, in := range []uint32{0, 1, 1000, 0xffffffff} {
		if got, err := port.Run(in); err != nil || got != in+42 {
			t.Errorf("port run %d: %d, %v; want %d", in, got, err, in+42)
		}
	}
	if err := oreore.Write(7); err != nil {
		t.Fatal(err)
	}
	if got, err := port.Read(); err != nil || got != 49 {
		t.Errorf("port read after another writer's 7: %d, %v; want 49", got, err)
	}
}

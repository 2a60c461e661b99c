//go:build guest

package families

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"oreore/harness/guest"
	"oreore/harness/progtype"
)

// What a type's trigger file promises (kmod/<module>.c's header comment):
// each write's parse, errno and effect on the result read back, ENODATA
// before the first successful write, a failed write keeping the previous
// result, the run count, and the files' modes.
func sysfsTrigger(t *testing.T, k *progtype.Kernel) {
	trig := k.Trigger.(progtype.SysfsTrigger)
	s := slot{t, k}
	link, err := s.link(addProg(t, k, 42))
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()

	// A module loaded afresh has no result yet, and a failed write does
	// not make one.
	reloadModule(t, k)
	if _, err := readResult(trig.Path); !errors.Is(err, unix.ENODATA) {
		t.Errorf("read before any write since the module was loaded: %v, want ENODATA", err)
	}
	if _, err := writeRaw(trig.Path, "abc"); !errors.Is(err, unix.EINVAL) {
		t.Errorf("write(\"abc\"): %v, want EINVAL", err)
	}
	if _, err := readResult(trig.Path); !errors.Is(err, unix.ENODATA) {
		t.Errorf("read after a failed write: %v, want ENODATA still", err)
	}
	if n := readRuns(t, trig.Runs); n != 0 {
		t.Errorf("%s after a reload and a failed write: %d, want 0", trig.Runs, n)
	}

	const before = 1000 // the result in place before each case
	runs := 0
	for _, tt := range []struct {
		name  string
		input string
		errno unix.Errno // 0: accepted
		want  uint32     // the result read back; before when refused
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
		{"hex without 0x rejected", "1f", unix.EINVAL, before},
		{"4 KiB of digits is ERANGE", strings.Repeat("1", 4096), unix.ERANGE, before},
		{"lone plus rejected", "+", unix.EINVAL, before},
		{"two pluses rejected", "++7", unix.EINVAL, before},
		{"plus after 0x rejected", "0x+7", unix.EINVAL, before},
		{"decimal accepted", "5", 0, 47},
		{"trailing newline accepted", "5\n", 0, 47},
		{"hex accepted", "0x1f", 0, 0x1f + 42},
		{"upper-case hex accepted", "0X1F\n", 0, 0x1f + 42},
		{"leading plus accepted", "+7", 0, 49},
		{"leading plus before hex accepted", "+0x10", 0, 0x10 + 42},
		{"leading plus before upper-case hex accepted", "+0X1f\n", 0, 0x1f + 42},
		{"leading zero is decimal, not octal", "010", 0, 52},
		{"4 KiB with leading zeros accepted", strings.Repeat("0", 4095) + "7", 0, 49},
		{"u32 max wraps", "4294967295", 0, 41},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := writeRaw(trig.Path, strconv.Itoa(before-42)); err != nil {
				t.Fatal(err)
			}
			runs++
			n, err := writeRaw(trig.Path, tt.input)
			switch {
			case tt.errno != 0 && !errors.Is(err, tt.errno):
				t.Errorf("write(%q) = %d, %v; want %s", tt.input, n, err, unix.ErrnoName(tt.errno))
			case tt.errno == 0 && (err != nil || n != len(tt.input)):
				t.Errorf("write(%q) = %d, %v; want %d bytes accepted", tt.input, n, err, len(tt.input))
			}
			if tt.errno == 0 && tt.input != "" {
				runs++
			}
			if got, err := readResult(trig.Path); err != nil || got != tt.want {
				t.Errorf("read after write(%q) = %d, %v; want %d", tt.input, got, err, tt.want)
			}
		})
	}
	// Only runs count: refused and empty writes do not.
	if n := readRuns(t, trig.Runs); n != uint64(runs) {
		t.Errorf("%s: %d, want %d (the accepted writes since the reload)", trig.Runs, n, runs)
	}

	// With nothing attached a write is ENODEV, and the last result stays.
	link.Close()
	if _, err := writeRaw(trig.Path, "1"); !errors.Is(err, unix.ENODEV) {
		t.Errorf("write with nothing attached: %v, want ENODEV", err)
	}
	if got, err := readResult(trig.Path); err != nil || got != 41 {
		t.Errorf("read after the ENODEV write: %d, %v; want 41 (the last run's) kept", got, err)
	}

	// The result is whatever a privileged program returned, pointer bits
	// included: root's only. The run count says nothing of a program's data.
	for path, want := range map[string]os.FileMode{trig.Path: 0o600, trig.Runs: 0o444} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
		} else if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
}

// reloadModule removes the type's module and loads it again.
func reloadModule(t *testing.T, k *progtype.Kernel) {
	t.Helper()
	if err := unix.DeleteModule(k.Module, 0); err != nil {
		t.Fatalf("rmmod %s: %v", k.Module, err)
	}
	if err := guest.Insmod(k.Module); err != nil {
		t.Fatal(err)
	}
}

// writeRaw is one write(2) of input to the file, as a shell's echo -n does.
func writeRaw(path, input string) (int, error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return f.Write([]byte(input))
}

func readResult(path string) (uint32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
	return uint32(v), err
}

func readRuns(t *testing.T, path string) uint64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatalf("%s: %q: %v", path, b, err)
	}
	return n
}

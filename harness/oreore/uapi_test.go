package oreore

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The patch appends each new enumerator after an existing one: its number
// is that one's (as x/sys/unix knows it from released kernels) plus one.
var knownEnumerators = map[string]uint32{
	"BPF_PROG_TYPE_SYSCALL": unix.BPF_PROG_TYPE_SYSCALL,
	"BPF_LSM_CGROUP":        unix.BPF_LSM_CGROUP,
}

func TestUAPIMatchesPatch(t *testing.T) {
	patches, err := filepath.Glob("../../kernel-patches/v6.1/*.patch")
	if err != nil || len(patches) == 0 {
		t.Fatalf("no patches in kernel-patches/v6.1: %v", err)
	}
	want := map[string]uint32{"BPF_PROG_TYPE_OREORE": ProgType, "BPF_OREORE_ATTACH": AttachType}
	for name, value := range want {
		got, err := numberInPatches(patches, name)
		if err != nil {
			t.Fatal(err)
		}
		if got != value {
			t.Errorf("%s is %d in kernel-patches/v6.1 but %d in the harness", name, got, value)
		}
	}
}

// numberInPatches finds the hunk of include/uapi/linux/bpf.h that adds name
// and derives its value from the context line just above it.
func numberInPatches(patches []string, name string) (uint32, error) {
	for _, p := range patches {
		f, err := os.Open(p)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		var file, prev string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if after, ok := strings.CutPrefix(line, "+++ b/"); ok {
				file = after
				continue
			}
			if file == "include/uapi/linux/bpf.h" && enumerator(line[min(1, len(line)):]) == name && strings.HasPrefix(line, "+") {
				before, ok := knownEnumerators[prev]
				if !ok {
					return 0, fmt.Errorf("%s: %s follows %q, whose value this test does not know", p, name, prev)
				}
				return before + 1, nil
			}
			if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "+") {
				prev = enumerator(line[1:])
			}
		}
	}
	return 0, fmt.Errorf("no patch adds %s to include/uapi/linux/bpf.h", name)
}

// enumerator returns the name in a line like "\tBPF_X, /* comment */".
func enumerator(line string) string {
	name, _, _ := strings.Cut(strings.TrimSpace(line), ",")
	return strings.TrimSpace(name)
}

package oreore

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The patches append each new enumerator after an existing one: its number
// is that one's plus one. x/sys/unix knows most of them from released
// kernels; BPF_TRACE_KPROBE_SESSION (Linux 6.10) it does not yet, so its
// value is taken from include/uapi/linux/bpf.h.
var knownEnumerators = map[string]uint32{
	"BPF_PROG_TYPE_SYSCALL":    unix.BPF_PROG_TYPE_SYSCALL,
	"BPF_PROG_TYPE_NETFILTER":  unix.BPF_PROG_TYPE_NETFILTER,
	"BPF_LSM_CGROUP":           unix.BPF_LSM_CGROUP,
	"BPF_TRACE_KPROBE_SESSION": 56,
}

func TestUAPIMatchesPatch(t *testing.T) {
	dirs, err := filepath.Glob("../../kernel-patches/v*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no series in kernel-patches: %v", err)
	}
	for _, dir := range dirs {
		series := strings.TrimPrefix(filepath.Base(dir), "v")
		u, err := ForRelease(series)
		if err != nil {
			t.Errorf("%s: %v", dir, err)
			continue
		}
		patches, err := filepath.Glob(filepath.Join(dir, "*.patch"))
		if err != nil || len(patches) == 0 {
			t.Fatalf("no patches in %s: %v", dir, err)
		}
		want := map[string]uint32{"BPF_PROG_TYPE_OREORE": u.ProgType, "BPF_OREORE_ATTACH": u.AttachType, "BPF_LINK_TYPE_OREORE": u.LinkType}
		for name, value := range want {
			got, err := numberInPatches(patches, name)
			if err != nil {
				t.Fatal(err)
			}
			if got != value {
				t.Errorf("%s is %d in %s but %d in the harness", name, got, dir, value)
			}
		}
	}
	if len(dirs) != len(Series) {
		t.Errorf("kernel-patches has %d series, the harness knows %d", len(dirs), len(Series))
	}
}

func TestForRelease(t *testing.T) {
	for release, want := range map[string]string{"6.1.192": "6.1", "6.12.117": "6.12", "6.1": "6.1", "6.12.0-oreore": "6.12"} {
		u, err := ForRelease(release)
		if err != nil || u.Series != want {
			t.Errorf("ForRelease(%q) = %q, %v; want %q", release, u.Series, err, want)
		}
	}
	for _, release := range []string{"6.18.44", "6.10.1", "5.15.0"} {
		if u, err := ForRelease(release); err == nil {
			t.Errorf("ForRelease(%q) = %q, want an error", release, u.Series)
		}
	}
}

// numberInPatches finds the hunk of include/uapi/linux/bpf.h that adds name
// and takes its value from the line itself ("X = 15,") or derives it from
// the context line just above it.
func numberInPatches(patches []string, name string) (uint32, error) {
	for _, p := range patches {
		v, found, err := numberInPatch(p, name)
		if err != nil || found {
			return v, err
		}
	}
	return 0, fmt.Errorf("no patch adds %s to include/uapi/linux/bpf.h", name)
}

func numberInPatch(p, name string) (uint32, bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, false, err
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
		if file == "include/uapi/linux/bpf.h" && strings.HasPrefix(line, "+") {
			if n, explicit := enumerator(line[1:]); n == name {
				if explicit != "" {
					x, err := strconv.ParseUint(explicit, 0, 32)
					return uint32(x), true, err
				}
				before, ok := knownEnumerators[prev]
				if !ok {
					return 0, true, fmt.Errorf("%s: %s follows %q, whose value this test does not know", p, name, prev)
				}
				return before + 1, true, nil
			}
		}
		if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "+") {
			prev, _ = enumerator(line[1:])
		}
	}
	return 0, false, sc.Err()
}

// enumerator splits a line like "\tBPF_X = 3, /* comment */" into its name
// and, when given, its value.
func enumerator(line string) (name, value string) {
	item, _, _ := strings.Cut(strings.TrimSpace(line), ",")
	name, value, _ = strings.Cut(item, "=")
	return strings.TrimSpace(name), strings.TrimSpace(value)
}

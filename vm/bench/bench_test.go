package bench

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

func near(a, b float64) bool { return math.Abs(a-b) < 0.002 }

func byName(steps []Step) map[string]float64 {
	m := map[string]float64{}
	for _, s := range steps {
		m[s.Name] = s.Seconds
	}
	return m
}

// A one-line edit's kbuild timeline (6.1, recorded by progress -times): the phases add up to the whole run,
// and each boundary is where kbuild printed the phase's first line.
func TestKbuildPhasesOfAnEdit(t *testing.T) {
	f, err := os.Open("testdata/kbuild-6.1-edit.times")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	steps, err := KbuildPhases(f)
	if err != nil {
		t.Fatal(err)
	}
	got := byName(steps)
	want := map[string]float64{
		"walk and compile": 14.975, // until LD vmlinux.o
		"BTF":              (20.656 - 17.726) + (23.188 - 20.656) + (29.310 - 28.963),
		"bzImage":          31.733 - 30.088, // VOFFSET arch/x86/boot/... to END
	}
	for name, w := range want {
		if !near(got[name], w) {
			t.Errorf("%s: %.3f s, want %.3f s (all: %v)", name, got[name], w, got)
		}
	}
	var sum float64
	for _, s := range steps {
		sum += s.Seconds
	}
	if !near(sum, 31.733) {
		t.Errorf("the phases add up to %.3f s, want the run's 31.733 s: %v", sum, got)
	}
	if got["vmlinux links"] < 5 {
		t.Errorf("vmlinux links: %.3f s, want the links' seconds (vmlinux.o, kallsyms, vmlinux): %v", got["vmlinux links"], got)
	}
}

func TestKbuildPhasesRejectsAGarbledLine(t *testing.T) {
	if _, err := KbuildPhases(strings.NewReader("x\t  CC a.o\n")); err == nil {
		t.Error("a line without a time was taken")
	}
}

// make --trace's lines of the top Makefile start steps; kbuild's own trace lines (their Makefile by path) and
// other output do not; the kernel target splits at its own lines; a step that runs twice adds up.
func TestStepsFromMakesTrace(t *testing.T) {
	lines := []Line{
		{0.5, "Makefile:330: update target '/w/build/bin/progress' due to: go.mod"},
		{1.0, "Makefile:282: update target 'kernel' due to: /w/build/kernel-6.1/.oreore-config-done"},
		{1.2, "kernel: building /w/build/kernel-6.1/arch/x86/boot/bzImage (log: /w/build/kernel-6.1/build.log)"},
		{5.0, "/w/build/src/linux-source-6.1/Makefile:2065: update target 'x' due to: prepare"},
		{9.0, "kernel: built in 8 s"},
		{9.1, "Makefile:301: update target 'kmod' due to: kernel"},
		{10.0, "Makefile:330: update target '/w/build/bin/vmtest' due to: go.mod"},
		{10.5, "Makefile:401: update target 'vm-test' due to: initramfs"},
		{10.8, "vm: booting /w/build/kernel-6.1/arch/x86/boot/bzImage, 2 CPUs, 1G, timeout 15m0s"},
	}
	steps := Steps(lines, 20)
	var names []string
	for _, s := range steps {
		names = append(names, s.Name)
	}
	wantOrder := "make: start (reading the Makefile, its stamps)|our commands (go build)|kernel: key (git diff of the tree)|kernel: kbuild|kernel: stamps|kmod|vm-test: runner and verdict keys|QEMU and the guest"
	if got := strings.Join(names, "|"); got != wantOrder {
		t.Errorf("steps %s, want %s", got, wantOrder)
	}
	got := byName(steps)
	for name, w := range map[string]float64{
		"our commands (go build)":            0.5 + 0.5, // both go builds
		"kernel: key (git diff of the tree)": 0.2,
		"kernel: kbuild":                     7.8,
		"kmod":                               0.9,
		"QEMU and the guest":                 9.2,
		"vm-test: runner and verdict keys":   0.3,
	} {
		if !near(got[name], w) {
			t.Errorf("%s: %.3f s, want %.3f s", name, got[name], w)
		}
	}
}

func TestGuestSplitsQEMUAndTheLanes(t *testing.T) {
	events := `{"Time":"2026-12-03T17:26:39.900Z","Action":"start","Package":"families"}
{"Time":"2026-12-03T17:26:39.950Z","Action":"run","Package":"families","Test":"TestX"}
{"Time":"2026-12-03T17:26:40.000Z","Action":"start","Package":"bpf"}
{"Time":"2026-12-03T17:26:41.000Z","Action":"pass","Package":"bpf","Elapsed":1}
{"Time":"2026-12-03T17:26:41.900Z","Action":"pass","Package":"families","Elapsed":2}
{"Time":"2026-12-03T17:26:42.000Z","Action":"start","Package":"jitdiff"}
{"Time":"2026-12-03T17:26:43.900Z","Action":"fail","Package":"jitdiff","Elapsed":1.9}
{"Time":"2026-12-03T17:26:44.000Z","Action":"start","Package":"never-ended"}
`
	pkgs, err := Packages(strings.NewReader(events))
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 3 || pkgs[0].Name != "families" || pkgs[2].Name != "jitdiff" {
		t.Fatalf("packages %+v, want families, bpf, jitdiff (one that never ended left out)", pkgs)
	}
	if d := pkgs[0].End.Sub(pkgs[0].Start); d != 2*time.Second {
		t.Errorf("families took %v, want 2s", d)
	}
	steps := Guest(10, 1.5, pkgs)
	got := byName(steps)
	for name, w := range map[string]float64{
		"QEMU start -> init's first line": 1.5,
		"test binaries (lanes)":           4.0, // 39.9 -> 43.9
		"init's setup, shutdown, report":  10 - 4 - 1.5,
	} {
		if !near(got[name], w) {
			t.Errorf("%s: %.3f s, want %.3f s (%v)", name, got[name], w, got)
		}
	}
	var b strings.Builder
	Format(&b, "bench:", steps)
	if want := "bench:  test binaries (lanes): 4.0 s (families 2.0, bpf 1.0, jitdiff 1.9)\n"; !strings.Contains(b.String(), want) {
		t.Errorf("Format wrote\n%s\nwant a line %q", b.String(), want)
	}
}

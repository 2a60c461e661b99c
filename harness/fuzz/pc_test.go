package fuzz

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeKernel writes the kallsyms lines and the modules' .text addresses a
// PCMap reads.
func fakeKernel(t *testing.T, root, kallsyms string, mods map[string]string) {
	t.Helper()
	write := func(rel, text string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("proc/kallsyms", kallsyms)
	os.RemoveAll(filepath.Join(root, "sys/module"))
	for name, base := range mods {
		write("sys/module/"+name+"/sections/.text", base+"\n")
	}
}

const kallsyms = "ffffffff81000000 T _stext\nffffffff81000100 T startup_64\nffffffff82000000 T _etext\n"

func TestModulePCsStayTheSameAcrossAReload(t *testing.T) {
	root := t.TempDir()
	fakeKernel(t, root, kallsyms, map[string]string{"oreore": "0xffffffffa0000000", "kore": "0xffffffffa0010000"})
	m, err := NewPCMap(root)
	if err != nil {
		t.Fatal(err)
	}
	before := m.PCs([]uint64{0xffffffff81000123, 0xffffffffa0000040, 0xffffffffa0010008})
	want := "0xffffffff81000123 oreore+0x40 kore+0x8"
	if got := pcsText(before); got != want {
		t.Errorf("before the reload: %s, want %s", got, want)
	}
	// oreore is loaded again, above kore: its old load stays known, so a
	// trace that spans the reload places both.
	fakeKernel(t, root, kallsyms, map[string]string{"oreore": "0xffffffffa0020000", "kore": "0xffffffffa0010000"})
	if err := m.Refresh(); err != nil {
		t.Fatal(err)
	}
	after := m.PCs([]uint64{0xffffffff81000123, 0xffffffffa0020040, 0xffffffffa0010008, 0xffffffffa0000040})
	if got := pcsText(after); got != want+" oreore+0x40" {
		t.Errorf("after the reload: %s, want %s oreore+0x40", got, want)
	}
	a, b := map[uint32]bool{}, map[uint32]bool{}
	edgeSlots(before, a)
	edgeSlots(after[:3], b)
	if len(a) != len(b) {
		t.Fatalf("slots %v and %v", a, b)
	}
	for s := range a {
		if !b[s] {
			t.Errorf("the same edges after a reload reach slot sets %v and %v", a, b)
		}
	}
	// A vmlinux PC is not a module's, whatever its distance.
	if pc := m.PC(0xffffffff81ffffff); pc.Module != "" {
		t.Errorf("kernel text placed in %s", pc.Module)
	}
	if pc := m.PC(0xffffffff82000010); pc.Module != "" {
		t.Errorf("a PC below every module placed in %s", pc.Module)
	}
}

func TestPCMapRefusesHiddenAddresses(t *testing.T) {
	root := t.TempDir()
	fakeKernel(t, root, "0000000000000000 T _stext\n0000000000000000 T _etext\n", nil)
	if _, err := NewPCMap(root); err == nil || !strings.Contains(err.Error(), "kptr_restrict") {
		t.Errorf("zeroed kallsyms: %v, want an error naming kptr_restrict", err)
	}
	fakeKernel(t, root, kallsyms, map[string]string{"oreore": "0x0000000000000000"})
	if _, err := NewPCMap(root); err == nil || !strings.Contains(err.Error(), "kptr_restrict") {
		t.Errorf("a zeroed module address: %v, want an error naming kptr_restrict", err)
	}
}

func TestPCText(t *testing.T) {
	for _, s := range []string{"0xffffffff81000123", "oreore+0x40"} {
		pc, err := ParsePC(s)
		if err != nil || pc.String() != s {
			t.Errorf("ParsePC(%q) = %v, %v", s, pc, err)
		}
	}
	for _, s := range []string{"ffff", "oreore+40", ""} {
		if _, err := ParsePC(s); err == nil {
			t.Errorf("ParsePC(%q) took it", s)
		}
	}
}

func pcsText(pcs []PC) string {
	var s []string
	for _, pc := range pcs {
		s = append(s, pc.String())
	}
	return strings.Join(s, " ")
}

// The kernel fills the buffer and stops recording without a word: a full
// one is an error, not a shorter trace.
func TestAFullTraceBufferIsAnError(t *testing.T) {
	area := []uint64{0, 10, 20, 30}
	if pcs, err := traced(area, 2); err != nil || len(pcs) != 2 || pcs[1] != 20 {
		t.Errorf("two PCs: %v, %v", pcs, err)
	}
	if _, err := traced(area, 3); !errors.Is(err, ErrKCOVFull) {
		t.Errorf("a full buffer: %v, want ErrKCOVFull", err)
	}
}

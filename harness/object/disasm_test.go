//go:build !guest

package object

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"oreore/harness/asm"
)

var objdumpText = regexp.MustCompile(`^\s+\d+:\s+(.*?)(?:\s+<[^>]+>)?$`)

// The asm package prints each program's own instructions (before any
// relocation) exactly as llvm-objdump does, but for bpf-to-bpf call
// targets, which the loader has re-laid.
func TestDisassemblyMatchesObjdump(t *testing.T) {
	objs, _ := filepath.Glob(filepath.Join(programsDir(t), "*.bpf.o"))
	for _, path := range objs {
		o, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("llvm-objdump", "-d", "--no-show-raw-insn", path).Output()
		if err != nil {
			t.Fatalf("llvm-objdump: %v", err)
		}
		for _, p := range o.Programs {
			var theirs []string
			in := false
			for _, line := range strings.Split(string(out), "\n") {
				if strings.HasSuffix(line, ">:") {
					in = strings.HasSuffix(line, "<"+p.Name+">:") || (in && strings.Contains(line, "<LBB"))
					continue
				}
				if m := objdumpText.FindStringSubmatch(line); in && m != nil {
					theirs = append(theirs, m[1])
				}
			}
			if len(theirs) == 0 {
				t.Fatalf("%s: no llvm-objdump lines for %s", filepath.Base(path), p.Name)
			}
			for i, want := range theirs {
				if i >= len(p.Insns) {
					t.Fatalf("%s: llvm-objdump has more instructions", p.Name)
				}
				got := p.Insns[i].String()
				if p.Insns[i].OpCode == asm.ClassJMP|asm.OpCode(asm.Call) && p.Insns[i].Src == 1 {
					got, want = "call", strings.Fields(want)[0]
				}
				if got != want {
					t.Errorf("%s, %s, instruction %d: we print %q, llvm-objdump %q", filepath.Base(path), p.Name, i, got, want)
				}
			}
		}
	}
}

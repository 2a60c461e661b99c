//go:build !guest

// llvm-objdump is a host tool: the guest build (-tags guest) leaves this out.

package object

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"oreore/harness/asm"
)

// dumped is what llvm-objdump -d -r says of one function.
type dumped struct {
	slots  int            // 8-byte slots
	relocs map[int]string // slot -> "R_BPF_64_64 symbol"
}

var (
	funcHeader = regexp.MustCompile(`^[0-9a-f]+ <([A-Za-z_][A-Za-z0-9_]*)>:$`)
	insnLine   = regexp.MustCompile(`^\s+(\d+):\t((?:[0-9a-f]{2}[ \t]){8})`)
	relocLine  = regexp.MustCompile(`^\s+([0-9a-f]+):\s+(R_BPF_\w+)\s+(\S+)`)
)

// objdump runs llvm-objdump on an object, an independent reading of it.
func objdump(t *testing.T, path string) map[string]*dumped {
	t.Helper()
	out, err := exec.Command("llvm-objdump", "-d", "-r", path).Output()
	if err != nil {
		t.Fatalf("llvm-objdump (from Debian's llvm) on %s: %v", path, err)
	}
	funcs := map[string]*dumped{}
	var cur *dumped
	var base int // byte offset of the current function in its section
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line := sc.Text()
		if m := funcHeader.FindStringSubmatch(line); m != nil && !strings.HasPrefix(m[1], "LBB") {
			off, _ := strconv.ParseUint(strings.Fields(line)[0], 16, 64)
			cur, base = &dumped{relocs: map[int]string{}}, int(off)
			funcs[m[1]] = cur
			continue
		}
		if cur == nil {
			continue
		}
		if m := insnLine.FindStringSubmatch(line); m != nil {
			slot, _ := strconv.Atoi(m[1])
			n := slot - base/8 + 1
			if strings.HasPrefix(m[2], "18 ") { // ld_imm64 takes two slots
				n++
			}
			cur.slots = max(cur.slots, n)
		} else if m := relocLine.FindStringSubmatch(line); m != nil {
			off, _ := strconv.ParseUint(m[1], 16, 64)
			cur.relocs[(int(off)-base)/8] = m[2] + " " + m[3]
		}
	}
	return funcs
}

// For every program: the loader's main function has llvm-objdump's slot
// count, and its relocated slots are llvm-objdump's relocations.
func TestLoaderAgreesWithObjdump(t *testing.T) {
	objs, err := filepath.Glob(filepath.Join(programsDir(t), "*.bpf.o"))
	if err != nil || len(objs) == 0 {
		t.Fatalf("no objects in %s", programsDir(t))
	}
	for _, path := range objs {
		t.Run(filepath.Base(path), func(t *testing.T) {
			o, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			dump := objdump(t, path)
			for _, p := range o.Programs {
				d, ok := dump[p.Name]
				if !ok || d.slots == 0 {
					t.Fatalf("llvm-objdump shows no instructions of %s", p.Name)
				}
				slotOf := make([]int, len(p.Insns))
				slots := 0
				for i, ins := range p.Insns {
					slotOf[i] = slots
					slots += ins.Slots()
				}
				// Subprograms come after the main function: without calls the
				// counts are equal.
				hasCalls := false
				for _, r := range d.relocs {
					hasCalls = hasCalls || strings.HasPrefix(r, "R_BPF_64_32")
				}
				if slots < d.slots || (!hasCalls && slots != d.slots) {
					t.Fatalf("%s: the loader has %d slots, llvm-objdump %d in the function", p.Name, slots, d.slots)
				}
				ours := map[int]string{}
				for _, ref := range p.Refs {
					ours[slotOf[ref.Insn]] = "R_BPF_64_64"
				}
				for i, ins := range p.Insns {
					if slotOf[i] < d.slots && ins.OpCode == asm.ClassJMP|asm.OpCode(asm.Call) && ins.Src == 1 {
						ours[slotOf[i]] = "R_BPF_64_32"
					}
				}
				theirs := map[int]string{}
				for slot, r := range d.relocs {
					kind := strings.Fields(r)[0]
					if kind == "R_BPF_64_64" || kind == "R_BPF_64_32" {
						theirs[slot] = kind
					}
				}
				if got, want := describe(ours), describe(theirs); got != want {
					t.Errorf("%s: relocated slots\nloader:       %s\nllvm-objdump: %s", p.Name, got, want)
				}
			}
		})
	}
}

func describe(m map[int]string) string {
	var keys []int
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, strconv.Itoa(k)+":"+m[k])
	}
	return strings.Join(parts, " ")
}

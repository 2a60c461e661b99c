package programs

import (
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"oreore/harness/asm"
)

func TestAdd42GoldenBytes(t *testing.T) {
	want := "611000000000000004000000" + "2a000000" + "9500000000000000"
	got, err := Add42().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(got) != want {
		t.Errorf("add-42 encodes as\n%x\nwant\n%s", got, want)
	}
}

// kernelSource is the extracted, patched tree: `make test` passes it in.
func kernelSource(t *testing.T) string {
	dir := os.Getenv("OREORE_KERNEL_SRC")
	if dir == "" {
		t.Fatal("OREORE_KERNEL_SRC is not set: run `make test`, which extracts the kernel source first")
	}
	if _, err := os.Stat(filepath.Join(dir, "tools/include/linux/filter.h")); err != nil {
		t.Fatalf("OREORE_KERNEL_SRC=%s has no tools/include/linux/filter.h: %v", dir, err)
	}
	return dir
}

// The kernel's own insn macros (tools/include/linux/filter.h, the userspace
// copy of include/linux/filter.h) are the independent source of truth.
func TestEncodingMatchesKernelMacros(t *testing.T) {
	src := kernelSource(t)
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Fatal("a C compiler is needed to check encodings against the kernel's macros: ", err)
	}
	tests := []struct {
		name   string
		prog   asm.Instructions
		macros string
	}{
		{"add42", Add42(), `BPF_LDX_MEM(BPF_W, BPF_REG_0, BPF_REG_1, 0),
			BPF_ALU32_IMM(BPF_ADD, BPF_REG_0, 42),
			BPF_EXIT_INSN(),`},
		{"alu and jumps", asm.Instructions{
			asm.Mov.Imm(asm.R2, -7),
			asm.Mul.Reg32(asm.R3, asm.R2),
			asm.RSh.Imm(asm.R3, 3),
			asm.ArSh.Reg(asm.R4, asm.R5),
			asm.JSGT.Imm(asm.R1, -1, 2),
			asm.JLE.Reg32(asm.R1, asm.R2, -3),
			asm.Goto(1),
		}, `BPF_MOV64_IMM(BPF_REG_2, -7),
			BPF_ALU32_REG(BPF_MUL, BPF_REG_3, BPF_REG_2),
			BPF_ALU64_IMM(BPF_RSH, BPF_REG_3, 3),
			BPF_ALU64_REG(BPF_ARSH, BPF_REG_4, BPF_REG_5),
			BPF_JMP_IMM(BPF_JSGT, BPF_REG_1, -1, 2),
			BPF_JMP32_REG(BPF_JLE, BPF_REG_1, BPF_REG_2, -3),
			BPF_JMP_A(1),`},
		{"memory, calls, 64-bit immediates", asm.Instructions{
			asm.StoreImm(asm.RFP, -4, 9, asm.Word),
			asm.StoreMem(asm.RFP, -16, asm.R1, asm.DWord),
			asm.LoadMem(asm.R2, asm.RFP, -2, asm.Half),
			asm.LoadImm64(asm.R1, 0x1122334455667788),
			asm.LoadMapFD(asm.R1, 5),
			asm.CallHelper(1),
		}, `BPF_ST_MEM(BPF_W, BPF_REG_10, -4, 9),
			BPF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_1, -16),
			BPF_LDX_MEM(BPF_H, BPF_REG_2, BPF_REG_10, -2),
			BPF_LD_IMM64(BPF_REG_1, 0x1122334455667788ULL),
			BPF_LD_MAP_FD(BPF_REG_1, 5),
			BPF_EMIT_CALL(1),`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.prog.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			want := compileMacros(t, cc, src, tt.macros)
			if !bytes.Equal(got, want) {
				t.Errorf("Go encoder:\n%x\nkernel macros:\n%x\nprogram:\n%v", got, want, tt.prog)
			}
		})
	}
}

func compileMacros(t *testing.T, cc, src, macros string) []byte {
	t.Helper()
	dir := t.TempDir()
	prog := `#include <stdio.h>
#include <linux/filter.h>
static const struct bpf_insn prog[] = {
` + macros + `
};
int main(void) { return fwrite(prog, sizeof(prog), 1, stdout) == 1 ? 0 : 1; }
`
	if err := os.WriteFile(filepath.Join(dir, "prog.c"), []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "prog")
	build := exec.Command(cc, "-o", bin, "-I", filepath.Join(src, "tools/include"),
		"-I", filepath.Join(src, "tools/include/uapi"), filepath.Join(dir, "prog.c"))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("compiling the kernel's macros: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

//go:build guest

package suite

import (
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	. "oreore/harness/asm"
	"oreore/harness/bpf"
)

// The 4-bit register fields hold 11 to 15, which name no register: the
// verifier refuses each, in every instruction class that reads or writes a
// register, with EINVAL and "R<n> is invalid" (check_reg_arg in
// kernel/bpf/verifier.c, on both series), before it touches the register
// state of the number (an index past regs[MAX_BPF_REG] would WARN).
func TestVerifierRejectsRegistersPastR10(t *testing.T) {
	tests := []struct {
		name  string
		insns Instructions
		reg   Register
	}{
		{"mov imm to r11", Instructions{Mov.Imm(R11, 1), Mov.Imm(R0, 0), Return()}, R11},
		{"mov from r15", Instructions{Mov.Reg(R0, R15), Return()}, R15},
		{"load through r12", Instructions{LoadMem(R0, R12, 0, Word), Return()}, R12},
		{"load into r13", Instructions{LoadMem(R13, R1, 0, Word), Mov.Imm(R0, 0), Return()}, R13},
		{"jump on r13", Instructions{Mov.Imm(R0, 0), JEq.Imm(R13, 0, 0), Return()}, R13},
		{"jump32 on w14 against w1", Instructions{Mov.Imm(R0, 0), JGT.Reg32(R1, R14, 0), Return()}, R14},
		{"store r14 to the stack", Instructions{StoreMem(RFP, -8, R14, DWord), Mov.Imm(R0, 0), Return()}, R14},
		{"store imm through r15", Instructions{StoreImm(R15, 0, 7, Word), Mov.Imm(R0, 0), Return()}, R15},
		// One bad register per case: with two, which one the log names first
		// is the verifier's order of checks (6.1 and 6.12 the source, 7.3
		// the destination).
		{"w1 += w11", Instructions{Mov.Imm(R0, 0), Add.Reg32(R1, R11), Return()}, R11},
		{"w14 += w1", Instructions{Mov.Imm(R0, 0), Add.Reg32(R14, R1), Return()}, R14},
		{"64-bit immediate into r12", Instructions{LoadImm64(R12, 1), Mov.Imm(R0, 0), Return()}, R12},
		{"neg r11", Instructions{Mov.Imm(R0, 0), Neg.Imm(R11, 0), Return()}, R11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fd, err := bpf.ProgLoad(bpf.ProgLoadAttr{
				Type: uapi(t).ProgType, Insns: tt.insns, License: "GPL", ExpectedAttachType: uapi(t).AttachType,
			})
			if err == nil {
				fd.Close()
				t.Fatalf("loaded, want EINVAL:\n%v", tt.insns)
			}
			if !errors.Is(err, unix.EINVAL) {
				t.Fatalf("got %v, want EINVAL\nprogram:\n%v", err, tt.insns)
			}
			var verr *bpf.VerifierError
			if want := fmt.Sprintf("R%d is invalid", tt.reg); !errors.As(err, &verr) || !verr.Contains(want) {
				t.Errorf("the verifier log does not say %q:\n%v", want, err)
			}
		})
	}
	// R10 is a register: read, it loads; the boundary is at 11.
	fd, err := bpf.ProgLoad(bpf.ProgLoadAttr{
		Type: uapi(t).ProgType, Insns: Instructions{Mov.Reg(R1, RFP), Mov.Imm(R0, 0), Return()}, License: "GPL",
		ExpectedAttachType: uapi(t).AttachType,
	})
	if err != nil {
		t.Fatalf("r1 = r10: %v", err)
	}
	fd.Close()
}

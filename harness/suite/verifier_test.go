//go:build guest

package suite

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	. "oreore/harness/asm"
	"oreore/harness/bpf"
)

// Helper ids from enum bpf_func_id.
const (
	helperMapLookupElem = 1
	helperKtimeGetNs    = 5
	helperGetPrandomU32 = 7
	helperXDPAdjustHead = 44
)

// The verifier's contract for BPF_PROG_TYPE_OREORE, in the style of the
// kernel's test_verifier: instructions, verdict, errno, a log line.
func TestVerifier(t *testing.T) {
	arr, err := bpf.MapCreate(bpf.MapCreateAttr{Type: unix.BPF_MAP_TYPE_ARRAY, KeySize: 4, ValueSize: 4, MaxEntries: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer arr.Close()
	lookup := func(nullCheck bool) Instructions {
		// The key is the context, which the verifier cannot know: 7.3
		// drops the NULL check of an array lookup whose key is a constant
		// in range.
		insns := Instructions{
			LoadMem(R3, R1, 0, Word),
			StoreMem(RFP, -4, R3, Word),
			LoadMapFD(R1, int(arr)),
			Mov.Reg(R2, RFP),
			Add.Imm(R2, -4),
			CallHelper(helperMapLookupElem),
		}
		if nullCheck {
			insns = append(insns, JNE.Imm(R0, 0, 1), Return())
		}
		return append(insns, LoadMem(R0, R0, 0, Word), Return())
	}

	tests := []struct {
		name       string
		insns      Instructions
		attachType uint32 // 0: BPF_OREORE_ATTACH
		errno      unix.Errno
		log        string // a line of the log contains it; "" for none
	}{
		{"ctx read off 0 size 4 accepted", Instructions{LoadMem(R0, R1, 0, Word), Return()}, 0, 0, ""},
		{"ctx read size 1 rejected", Instructions{LoadMem(R0, R1, 0, Byte), Return()}, 0, unix.EACCES, "invalid bpf_context access off=0 size=1"},
		{"ctx read size 2 rejected", Instructions{LoadMem(R0, R1, 0, Half), Return()}, 0, unix.EACCES, "invalid bpf_context access off=0 size=2"},
		{"ctx read size 8 rejected", Instructions{LoadMem(R0, R1, 0, DWord), Return()}, 0, unix.EACCES, "invalid bpf_context access off=0 size=8"},
		{"ctx read off 4 rejected", Instructions{LoadMem(R0, R1, 4, Word), Return()}, 0, unix.EACCES, "invalid bpf_context access off=4 size=4"},
		{"ctx read negative off rejected", Instructions{LoadMem(R0, R1, -4, Word), Return()}, 0, unix.EACCES, "invalid bpf_context access off=-4 size=4"},
		{"ctx write rejected", Instructions{Mov.Imm(R0, 0), StoreMem(R1, 0, R0, Word), Return()}, 0, unix.EACCES, "invalid bpf_context access off=0 size=4"},
		{"ctx store imm rejected", Instructions{StoreImm(R1, 0, 1, Word), Mov.Imm(R0, 0), Return()}, 0, unix.EACCES, "BPF_ST stores into R1 ctx is not allowed"},
		{"modified ctx pointer dereference rejected", Instructions{Add.Imm(R1, 4), LoadMem(R0, R1, -4, Word), Return()}, 0, unix.EACCES, "dereference of modified ctx ptr"},
		{"modified ctx pointer past the context rejected", Instructions{Add.Imm(R1, 4), LoadMem(R0, R1, 0, Word), Return()}, 0, unix.EACCES, "dereference of modified ctx ptr"},
		{"missing exit rejected", Instructions{Mov.Imm(R0, 0)}, 0, unix.EINVAL, "last insn is not an exit or jmp"},
		{"conditional jump falling off the end rejected", Instructions{Mov.Imm(R0, 0), JEq.Imm(R0, 0, -2)}, 0, unix.EINVAL, "last insn is not an exit or jmp"},
		{"R0 not set at exit rejected", Instructions{Return()}, 0, unix.EACCES, "R0 !read_ok"},
		{"out-of-range jump rejected", Instructions{Goto(5), Mov.Imm(R0, 0), Return()}, 0, unix.EINVAL, "jump out of range from insn 0 to 6"},
		{"stack write out of bounds rejected", Instructions{StoreImm(RFP, -520, 0, DWord), Mov.Imm(R0, 0), Return()}, 0, unix.EACCES, "invalid write to stack R10 off=-520 size=8"},
		{"stack read above the frame rejected", Instructions{LoadMem(R0, RFP, 8, DWord), Return()}, 0, unix.EACCES, "invalid read from stack R10 off=8 size=8"},
		{"unknown helper id rejected", Instructions{CallHelper(100000), Return()}, 0, unix.EINVAL, "invalid func unknown#100000"},
		{"xdp_adjust_head is not an oreore helper", Instructions{CallHelper(helperXDPAdjustHead), Return()}, 0, unix.EINVAL, "unknown func bpf_xdp_adjust_head#44"},
		{"base helper get_prandom_u32 accepted", Instructions{CallHelper(helperGetPrandomU32), Return()}, 0, 0, ""},
		{"base helper ktime_get_ns accepted", Instructions{CallHelper(helperKtimeGetNs), Return()}, 0, 0, ""},
		{"base helper map_lookup_elem accepted", lookup(true), 0, 0, ""},
		{"map value without null check rejected", lookup(false), 0, unix.EACCES, "invalid mem access 'map_value_or_null'"},
		{"wrong expected_attach_type rejected", Instructions{Mov.Imm(R0, 0), Return()}, unix.BPF_XDP, unix.EINVAL, ""},
	}
	// Later verifiers reject the same programs in other words: 6.12 lets
	// is_valid_access judge BPF_ST into ctx, and names the helper a program
	// type cannot use instead of calling it unknown. 7.3 adds a constant
	// offset to a ctx pointer before is_valid_access judges the access: at
	// offset 0 again the read is oreore's one allowed access.
	later := map[string]string{
		"ctx store imm rejected":                  "invalid bpf_context access off=0 size=4",
		"xdp_adjust_head is not an oreore helper": "program of this type cannot use helper bpf_xdp_adjust_head#44",
	}
	logBySeries := map[string]map[string]string{
		"6.12": later,
		"7.3": {
			"ctx store imm rejected":                         later["ctx store imm rejected"],
			"xdp_adjust_head is not an oreore helper":        later["xdp_adjust_head is not an oreore helper"],
			"modified ctx pointer past the context rejected": "invalid bpf_context access off=4 size=4",
		},
	}
	acceptedBySeries := map[string]map[string]bool{
		"7.3": {"modified ctx pointer dereference rejected": true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if log, ok := logBySeries[uapi(t).Series][tt.name]; ok {
				tt.log = log
			}
			if acceptedBySeries[uapi(t).Series][tt.name] {
				tt.errno, tt.log = 0, ""
			}
			attachType := uapi(t).AttachType
			if tt.attachType != 0 {
				attachType = tt.attachType
			}
			fd, err := bpf.ProgLoad(bpf.ProgLoadAttr{
				Type: uapi(t).ProgType, Insns: tt.insns, License: "GPL", ExpectedAttachType: attachType,
			})
			if err == nil {
				fd.Close()
			}
			if tt.errno == 0 {
				if err != nil {
					t.Fatalf("rejected, want accepted:\n%v\nprogram:\n%v", err, tt.insns)
				}
				return
			}
			if !errors.Is(err, tt.errno) {
				t.Fatalf("got %v, want %s\nprogram:\n%v", err, unix.ErrnoName(tt.errno), tt.insns)
			}
			var verr *bpf.VerifierError
			if tt.log != "" && (!errors.As(err, &verr) || !verr.Contains(tt.log)) {
				t.Errorf("the verifier log does not say %q:\n%v", tt.log, err)
			}
		})
	}
}

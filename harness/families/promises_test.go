//go:build guest

package families

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	. "oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/caps"
	"oreore/harness/progtype"
)

// Helper numbers (include/uapi/linux/bpf.h): three that
// bpf_base_func_proto() gives every type, and one it does not.
const (
	helperKtimeGetNS      = 5
	helperGetPrandomU32   = 7
	helperGetSMPProcessor = 8
	helperXDPAdjustHead   = 44
)

// A type whose func_proto falls back to bpf_base_func_proto() takes the
// base helpers, and refuses one that belongs to another type with the
// verifier naming it (6.1: "unknown func", 6.12 on: "program of this type
// cannot use helper"; both name it "bpf_xdp_adjust_head#44").
func baseHelpers(t *testing.T, k *progtype.Kernel) {
	for _, h := range []struct {
		name string
		id   int32
	}{{"bpf_ktime_get_ns", helperKtimeGetNS}, {"bpf_get_prandom_u32", helperGetPrandomU32}, {"bpf_get_smp_processor_id", helperGetSMPProcessor}} {
		t.Run(h.name, func(t *testing.T) {
			if _, err := load(t, k, Instructions{CallHelper(h.id), Mov.Imm(R0, 0), Return()}, nil); err != nil {
				t.Errorf("a program calling %s: %v; want it loaded (a base helper)", h.name, err)
			}
		})
	}
	t.Run("bpf_xdp_adjust_head refused", func(t *testing.T) {
		_, err := load(t, k, Instructions{Mov.Imm(R2, 0), CallHelper(helperXDPAdjustHead), Mov.Imm(R0, 0), Return()}, nil)
		var ve *bpf.VerifierError
		switch {
		case !errors.Is(err, unix.EINVAL):
			t.Errorf("a program calling bpf_xdp_adjust_head: %v; want EINVAL", err)
		case !errors.As(err, &ve) || !ve.Contains("bpf_xdp_adjust_head#44"):
			t.Errorf("the verifier's log does not name the helper: %v", err)
		}
	})
}

// A global point has no target: BPF_LINK_CREATE with a target_fd is
// refused, and the point stays empty.
func noTarget(t *testing.T, k *progtype.Kernel) {
	s := slot{t, k}
	prog := addProg(t, k, 1)
	link, err := bpf.LinkCreate(bpf.LinkCreateAttr{Prog: prog, AttachType: k.Numbers.AttachType, Target: 1})
	if err == nil {
		link.Close()
	}
	is(t, "link create with target_fd 1", err, unix.EINVAL)
	s.runs("after the refused link", -1)
	s.holds("after the refused link", 0)
}

// Link info and fdinfo say which attach type a link is for and whether it
// still holds the point: 1 while it does, 0 after BPF_LINK_DETACH, with
// the attach type kept. The type's link info starts with the two u32s
// (AttachPoint.ReportsAttached).
func linkReportsAttached(t *testing.T, k *progtype.Kernel) {
	prog := addProg(t, k, 1)
	link, err := slot{t, k}.link(prog)
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	check := func(when string, attached uint32) {
		t.Helper()
		info, err := bpf.LinkGetInfo(link)
		if err != nil {
			t.Fatal(err)
		}
		gotType, gotAttached := binary.NativeEndian.Uint32(info.Union[0:]), binary.NativeEndian.Uint32(info.Union[4:])
		if info.Type != k.Numbers.LinkType || gotType != k.Numbers.AttachType || gotAttached != attached {
			t.Errorf("%s: link info gives type %d, attach_type %d, attached %d; want %d, %d, %d",
				when, info.Type, gotType, gotAttached, k.Numbers.LinkType, k.Numbers.AttachType, attached)
		}
		fdinfo, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", link))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{fmt.Sprintf("attach_type:\t%d\n", k.Numbers.AttachType), fmt.Sprintf("attached:\t%d\n", attached)} {
			if !strings.Contains(string(fdinfo), want) {
				t.Errorf("%s: fdinfo lacks %q:\n%s", when, want, fdinfo)
			}
		}
	}
	check("attached", 1)
	is(t, "link detach", bpf.LinkDetach(link), 0)
	check("after BPF_LINK_DETACH", 0)
}

// test_run's repeat runs the program repeat times, each from ctx_in: a
// program that adds the input field to a writable output field and
// returns it gives in+out once, not in added repeat times. For a type
// with a field that is input, output and writable.
func repeatStartsFromCtxIn(t *testing.T, k *progtype.Kernel, in, out progtype.Field) {
	prog := mustLoad(t, k, Instructions{
		LoadMem(R2, R1, int16(in.Off), Word),
		LoadMem(R0, R1, int16(out.Off), Word),
		Add.Reg32(R0, R2),
		StoreMem(R1, int16(out.Off), R0, Word),
		Return(),
	})
	ctx := make([]byte, k.Ctx.Size)
	binary.NativeEndian.PutUint32(ctx[in.Off:], 5)
	binary.NativeEndian.PutUint32(ctx[out.Off:], 100)
	ctxOut := make([]byte, k.Ctx.Size)
	res, err := bpf.ProgTestRun(prog, bpf.TestRun{CtxIn: ctx, CtxOut: ctxOut, Repeat: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.NativeEndian.Uint32(ctxOut[out.Off:]); res.Retval != 105 || got != 105 {
		t.Errorf("repeat 10 from %s 5, %s 100: retval %d, ctx_out.%s %d; want 105 and 105 (each run from ctx_in)", in.Name, out.Name, res.Retval, out.Name, got)
	}
}

// repeatFields finds the fields repeatStartsFromCtxIn needs.
func repeatFields(k *progtype.Kernel) (in, out progtype.Field, ok bool) {
	if !k.TestRun.Repeat || !k.TestRun.CtxIn || !k.TestRun.CtxOut {
		return in, out, false
	}
	in, ok = k.Ctx.InputWord()
	if !ok {
		return in, out, false
	}
	for _, f := range k.Ctx.Fields {
		if f.Write && f.Input && f.Output && f.Size == 4 && f.Off != in.Off {
			return in, f, true
		}
	}
	return in, out, false
}

// With kernel.unprivileged_bpf_disabled at 0 the sysctl no longer decides
// the load cell for no capabilities: the type check does, and the type is
// not one an unprivileged user may load (the matrix's load/none cell names
// both checks). The guest boots with 2, which may be lowered to 0 and is
// put back after.
func loadWithUnprivilegedBPF(t *testing.T, k *progtype.Kernel) {
	const sysctl = "/proc/sys/kernel/unprivileged_bpf_disabled"
	old, err := os.ReadFile(sysctl)
	if err != nil {
		t.Fatal(err)
	}
	if v := strings.TrimSpace(string(old)); v == "1" {
		t.Fatalf("%s is 1, which cannot be lowered until reboot: the guest is booted with 2", sysctl)
	}
	if err := os.WriteFile(sysctl, []byte("0"), 0); err != nil {
		t.Fatal(err)
	}
	defer os.WriteFile(sysctl, old, 0)
	err, setupErr := caps.OnThread(progtype.CapSets[0].Caps, func() error {
		fd, err := bpf.ProgLoad(bpf.ProgLoadAttr{Type: k.Numbers.ProgType, Insns: constProg(1), License: "GPL",
			Name: "unpriv", ExpectedAttachType: k.Numbers.AttachType})
		if err == nil {
			fd.Close()
		}
		return err
	})
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	checkCell(t, progtype.CmdLoad, progtype.CapSets[0], k.Caps[k.Series][progtype.CmdLoad][0], err)
	if err == nil {
		t.Errorf("an unprivileged load with the sysctl at 0 went through")
	}
}

//go:build guest

// Package families holds the tests that hold for any program type once it
// is described (harness/progtype): each family takes a descriptor and runs
// once per type, with results named by type (TestFamilies/oreore/...). A
// type's own behaviour stays in its own suite. The families use the types'
// attach points, so they run in the slot lane.
package families

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	. "oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/progtype"
)

func TestFamilies(t *testing.T) {
	for _, typ := range progtype.All {
		t.Run(typ.Name, func(t *testing.T) {
			k, err := progtype.Running(typ)
			if err != nil {
				t.Fatal(err)
			}
			t.Run("uapi numbers", func(t *testing.T) { uapiNumbers(t, k) })
			t.Run("context layout", func(t *testing.T) { contextLayout(t, k) })
			t.Run("load contract", func(t *testing.T) { loadContract(t, k) })
			t.Run("context access", func(t *testing.T) { contextAccess(t, k) })
			t.Run("context values", func(t *testing.T) { contextValues(t, k) })
			t.Run("test_run arguments", func(t *testing.T) { testRunArguments(t, k) })
			t.Run("kernel-filled and output fields", func(t *testing.T) { filledAndOutputFields(t, k) })
			if k.Attach.Slots == 1 {
				t.Run("single slot", func(t *testing.T) { singleSlot(t, k) })
			}
			if k.Attach.Link && k.Trigger != nil {
				t.Run("behaviour three ways", func(t *testing.T) { behaviourThreeWays(t, k) })
			}
			if k.Attach.Link && k.Trigger != nil {
				t.Run("capability matrix", func(t *testing.T) { capabilityMatrix(t, k) })
			}
			if k.Module != "" && k.Attach.Link && k.Trigger != nil {
				t.Run("module reload", func(t *testing.T) { moduleReload(t, k) })
			}
			if _, ok := k.Trigger.(progtype.SysfsTrigger); ok && k.Module != "" && k.Attach.Link {
				t.Run("sysfs trigger", func(t *testing.T) { sysfsTrigger(t, k) })
				t.Run("concurrent runs", func(t *testing.T) { concurrentRuns(t, k) })
				t.Run("writers against links", func(t *testing.T) { writersAgainstLinks(t, k) })
				t.Run("writers across module reload", func(t *testing.T) { writersAcrossReload(t, k) })
			}
			if st, ok := k.Trigger.(interface {
				InSoftirq() (progtype.Trigger, bool)
			}); ok && k.Attach.Link {
				if softirq, ok := st.InSoftirq(); ok {
					t.Run("runs from softirq", func(t *testing.T) { runsFromSoftirq(t, k, softirq) })
				}
			}
			if k.Attach.Cookie {
				t.Run("link cookie", func(t *testing.T) { linkCookie(t, k) })
			}
			if k.BaseHelpers {
				t.Run("base helpers", func(t *testing.T) { baseHelpers(t, k) })
			}
			if k.Attach.Link && k.Attach.Global && k.Trigger != nil {
				t.Run("no target", func(t *testing.T) { noTarget(t, k) })
			}
			if k.Attach.Link && k.Attach.ReportsAttached {
				t.Run("link reports attached", func(t *testing.T) { linkReportsAttached(t, k) })
			}
			if in, out, ok := repeatFields(k); ok {
				t.Run("test_run repeat starts from ctx_in", func(t *testing.T) { repeatStartsFromCtxIn(t, k, in, out) })
			}
			t.Run("load with unprivileged bpf allowed", func(t *testing.T) { loadWithUnprivilegedBPF(t, k) })
		})
	}
}

// The numbers the series' patches give the type are the ones the running
// kernel was built with, as its BTF records the uapi enums; and every
// released enumerator the kernel has keeps its released value (a series that
// added its own above one would move it, and the first check cannot see that:
// the patches and the kernel agree on the moved number).
func uapiNumbers(t *testing.T, k *progtype.Kernel) {
	if k.Numbers != k.BTF {
		t.Errorf("series %s: the patches give %+v, the kernel's BTF %+v", k.Series, k.Numbers, k.BTF)
	}
	compared := 0
	for name, want := range progtype.Released {
		got, ok := k.Enums[name]
		if !ok {
			continue
		}
		compared++
		if got != want {
			t.Errorf("series %s: the kernel gives the released %s %d; released kernels give it %d", k.Series, name, got, want)
		}
	}
	// 6.1 has 86 of them: a BTF read that found no enum must not pass.
	if compared < 80 {
		t.Errorf("series %s: only %d released enumerators found in the kernel's BTF", k.Series, compared)
	}
}

// The descriptor's fields are the context type's members, where BTF puts
// them.
func contextLayout(t *testing.T, k *progtype.Kernel) {
	for _, m := range k.LayoutMismatches() {
		t.Error(m)
	}
}

// load loads insns as the type, with its expected attach type unless
// attachType says otherwise.
func load(t *testing.T, k *progtype.Kernel, insns Instructions, mod func(*bpf.ProgLoadAttr)) (bpf.FD, error) {
	t.Helper()
	a := bpf.ProgLoadAttr{Type: k.Numbers.ProgType, Insns: insns, License: "GPL", Name: k.Name, ExpectedAttachType: k.Numbers.AttachType}
	if mod != nil {
		mod(&a)
	}
	fd, err := bpf.ProgLoad(a)
	if err == nil {
		t.Cleanup(func() { fd.Close() })
	}
	return fd, err
}

func mustLoad(t *testing.T, k *progtype.Kernel, insns Instructions) bpf.FD {
	t.Helper()
	fd, err := load(t, k, insns, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fd
}

// The load ABI: the expected attach type is required, and the flags the
// type has no use for are refused.
func loadContract(t *testing.T, k *progtype.Kernel) {
	ret0 := Instructions{Mov.Imm(R0, 0), Return()}
	tests := []struct {
		name  string
		mod   func(*bpf.ProgLoadAttr)
		errno unix.Errno
	}{
		{"with its attach type", nil, 0},
		{"without an expected attach type", func(a *bpf.ProgLoadAttr) { a.ExpectedAttachType = 0 }, unix.EINVAL},
		{"with another type's attach type", func(a *bpf.ProgLoadAttr) { a.ExpectedAttachType = unix.BPF_XDP }, unix.EINVAL},
		{"sleepable", func(a *bpf.ProgLoadAttr) { a.Flags = unix.BPF_F_SLEEPABLE }, unix.EINVAL},
		{"offloaded to a device", func(a *bpf.ProgLoadAttr) { a.Ifindex = 1 }, unix.EINVAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, k, ret0, tt.mod)
			switch {
			case tt.errno == 0 && err != nil:
				t.Errorf("load: %v", err)
			case tt.errno != 0 && !errors.Is(err, tt.errno):
				t.Errorf("load: %v, want %s", err, unix.ErrnoName(tt.errno))
			}
		})
	}
}

var sizes = []struct {
	bytes int
	size  Size
}{{1, Byte}, {2, Half}, {4, Word}, {8, DWord}}

// Every offset in and around the context, every size, loads and stores:
// the verifier's verdict is the one the fields' rules give, and a refusal
// names the access the way check_ctx_access does.
func contextAccess(t *testing.T, k *progtype.Kernel) {
	const around = 8
	var accepted, refused int
	for off := -around; off < k.Ctx.Size+around; off++ {
		for _, sz := range sizes {
			for _, write := range []bool{false, true} {
				_, want := k.Ctx.Access(off, sz.bytes, write)
				var insns Instructions
				kind := "read"
				if write {
					kind = "write"
					insns = Instructions{Mov.Imm(R2, 0), StoreMem(R1, int16(off), R2, sz.size), Mov.Imm(R0, 0), Return()}
				} else {
					insns = Instructions{LoadMem(R0, R1, int16(off), sz.size), Return()}
				}
				_, err := load(t, k, insns, nil)
				name := fmt.Sprintf("ctx %s off=%d size=%d", kind, off, sz.bytes)
				switch {
				case want && err != nil:
					t.Errorf("%s: refused, but the descriptor allows it: %v", name, err)
				case !want && err == nil:
					t.Errorf("%s: accepted, but the descriptor refuses it", name)
				case !want:
					msg := fmt.Sprintf("invalid bpf_context access off=%d size=%d", off, sz.bytes)
					var verr *bpf.VerifierError
					if !errors.As(err, &verr) || !errors.Is(err, unix.EACCES) || !verr.Contains(msg) {
						t.Errorf("%s: %v; want EACCES and %q in the log", name, err, msg)
					}
				}
				if want {
					accepted++
				} else {
					refused++
				}
			}
		}
		// BPF_ST into the context: before 6.3 check_mem_access refuses
		// it for every type, whatever the field's rule; since 6.3 (commit
		// 0d80a619c113, "bpf: allow ctx writes using BPF_ST_MEM
		// instruction") it follows the field's write rule as STX does.
		_, err := load(t, k, Instructions{StoreImm(R1, int16(off), 1, Word), Mov.Imm(R0, 0), Return()}, nil)
		var verr *bpf.VerifierError
		_, writable := k.Ctx.Access(off, 4, true)
		switch {
		case !k.AtLeast(6, 3):
			if !errors.As(err, &verr) || !verr.Contains("BPF_ST stores into R1 ctx is not allowed") {
				t.Errorf("ctx store imm off=%d: %v; want the BPF_ST refusal", off, err)
			}
		case writable && err != nil:
			t.Errorf("ctx store imm off=%d: refused, but the descriptor allows a 4-byte write there: %v", off, err)
		case !writable:
			msg := fmt.Sprintf("invalid bpf_context access off=%d size=4", off)
			if !errors.As(err, &verr) || !errors.Is(err, unix.EACCES) || !verr.Contains(msg) {
				t.Errorf("ctx store imm off=%d: %v; want EACCES and %q in the log", off, err, msg)
			}
		}
	}
	t.Logf("the descriptor allows %d accesses and refuses %d", accepted, refused)
	if accepted == 0 {
		t.Error("the descriptor allows no access to the context at all")
	}
}

// ctxBytes is a context whose every input byte differs, so that a load
// from the wrong offset or of the wrong size returns something else; the
// fields the kernel fills stay zero, as ctx_in must leave them.
func ctxBytes(k *progtype.Kernel) []byte {
	b := make([]byte, k.Ctx.Size)
	for i := range b {
		b[i] = byte(0xa1 + 7*i)
	}
	return k.Ctx.Inputs(b)
}

// native is the value of a narrow load of b: its bytes in the machine's
// order (a byte at the field's lowest address is the low byte on x86-64 and
// arm64, the high one on s390x).
func native(b []byte) uint64 {
	switch len(b) {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.NativeEndian.Uint16(b))
	case 4:
		return uint64(binary.NativeEndian.Uint32(b))
	}
	return binary.NativeEndian.Uint64(b)
}

// Input fields round-trip: a program that returns a field (each readable
// size at each offset the rules allow) gets, through test_run's ctx_in,
// the bytes it was given there.
func contextValues(t *testing.T, k *progtype.Kernel) {
	if !k.TestRun.CtxIn {
		t.Skipf("%s takes no ctx_in: its fields cannot be set from test_run", k.Name)
	}
	ctx := ctxBytes(k)
	checked := 0
	for _, f := range k.Ctx.Fields {
		if !f.Input || !f.Read {
			continue
		}
		for _, sz := range sizes {
			if sz.bytes > 4 { // the return value is 32 bits
				continue
			}
			for off := f.Off; off+sz.bytes <= f.Off+f.Size; off += sz.bytes {
				if _, ok := k.Ctx.Access(off, sz.bytes, false); !ok {
					continue
				}
				prog := mustLoad(t, k, Instructions{LoadMem(R0, R1, int16(off), sz.size), Return()})
				res, err := bpf.ProgTestRun(prog, bpf.TestRun{CtxIn: ctx})
				want := uint32(native(ctx[off : off+sz.bytes]))
				if err != nil || res.Retval != want {
					t.Errorf("field %q: a %d-byte load at %d returns %#x, %v; ctx_in holds %#x there", f.Name, sz.bytes, off, res.Retval, err, want)
				}
				checked++
			}
		}
	}
	// bpf_ctx_init(): a ctx_in that stops before a field leaves it zero,
	// though ctxBytes gives every byte a value.
	if k.TestRun.CtxInit {
		for _, f := range k.Ctx.Fields {
			if !f.Input || !f.Read || f.Off == 0 {
				continue
			}
			for _, sz := range sizes {
				if sz.bytes != f.Size {
					continue
				}
				prog := mustLoad(t, k, Instructions{LoadMem(R0, R1, int16(f.Off), sz.size), Return()})
				res, err := bpf.ProgTestRun(prog, bpf.TestRun{CtxIn: ctx[:f.Off]})
				if err != nil || res.Retval != 0 {
					t.Errorf("field %q: with a ctx_in of %d bytes it reads %#x, %v; want the zero it is filled with", f.Name, f.Off, res.Retval, err)
				}
			}
		}
	}
	if checked == 0 {
		t.Error("no readable input field: nothing round-trips")
	}
}

// Each of test_run's fields that the type has no use for is refused alone;
// ctx_in must be exactly the context's size, or follow bpf_ctx_init()'s rule
// (CtxInit): shorter is zero-filled, longer must end in zeroes.
func testRunArguments(t *testing.T, k *progtype.Kernel) {
	prog := mustLoad(t, k, Instructions{Mov.Imm(R0, 7), Return()})
	ctx := ctxBytes(k)
	buf := make([]byte, 64)
	base := bpf.TestRun{}
	if k.TestRun.CtxIn {
		base.CtxIn = ctx
	}
	with := func(mod func(*bpf.TestRun)) bpf.TestRun { in := base; mod(&in); return in }
	type runCase struct {
		name    string
		in      bpf.TestRun
		allowed bool
		errno   unix.Errno // when refused; EINVAL if zero
	}
	tests := []runCase{
		{"as described", base, true, 0},
		{"data_in", with(func(in *bpf.TestRun) { in.DataIn = buf }), k.TestRun.DataIn, 0},
		{"data_out", with(func(in *bpf.TestRun) { in.DataOut = buf }), k.TestRun.DataOut, 0},
		{"ctx_out", with(func(in *bpf.TestRun) { in.CtxOut = make([]byte, k.Ctx.Size) }), k.TestRun.CtxOut, 0},
		{"flags", with(func(in *bpf.TestRun) { in.Flags = unix.BPF_F_TEST_RUN_ON_CPU }), k.TestRun.Flags, 0},
		{"cpu", with(func(in *bpf.TestRun) { in.CPU = 1 }), k.TestRun.Flags, 0},
		{"batch_size", with(func(in *bpf.TestRun) { in.BatchSize = 1 }), k.TestRun.Batch, 0},
		{"repeat", with(func(in *bpf.TestRun) { in.Repeat = 3 }), k.TestRun.Repeat, 0},
	}
	if k.TestRun.CtxIn {
		for _, f := range k.Ctx.Fields {
			if f.Filled == "" {
				continue
			}
			in := append([]byte{}, ctx...)
			in[f.Off] = 1
			tests = append(tests, runCase{fmt.Sprintf("ctx_in sets %s, which the kernel fills", f.Name), bpf.TestRun{CtxIn: in}, false, 0})
		}
		init := k.TestRun.CtxInit
		tests = append(tests,
			runCase{"no ctx_in", bpf.TestRun{}, init, 0},
			runCase{"ctx_in one byte short", bpf.TestRun{CtxIn: ctx[:len(ctx)-1]}, init, 0},
			runCase{"ctx_in one byte long", bpf.TestRun{CtxIn: append(append([]byte{}, ctx...), 0)}, init, 0},
		)
		if init {
			tests = append(tests, runCase{"ctx_in one byte long, not zero", bpf.TestRun{CtxIn: append(append([]byte{}, ctx...), 1)}, false, unix.E2BIG})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := bpf.ProgTestRun(prog, tt.in)
			want := cmp.Or(tt.errno, unix.EINVAL)
			switch {
			case tt.allowed && (err != nil || res.Retval != 7):
				t.Errorf("got %d, %v; want the program's 7", res.Retval, err)
			case !tt.allowed && !errors.Is(err, want):
				t.Errorf("got %d, %v; want %v", res.Retval, err, want)
			}
		})
	}
}

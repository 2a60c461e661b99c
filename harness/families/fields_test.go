//go:build guest

package families

import (
	"encoding/binary"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	. "oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/progtype"
)

// bpfGetAttachCookie is BPF_FUNC_get_attach_cookie (include/uapi/linux/bpf.h).
const bpfGetAttachCookie = 174

// onCPU runs f on a thread pinned to cpu.
func onCPU(t *testing.T, cpu int, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // the thread dies with the goroutine: its mask goes with it
		var set unix.CPUSet
		set.Set(cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			t.Errorf("pin to CPU %d: %v", cpu, err)
			return
		}
		f()
	}()
	<-done
}

// Fields the kernel fills hold, at every run, what the descriptor says
// (the CPU the program runs on: a program pinned to each CPU in turn reads
// it through test_run, its ctx_out and the trigger); output fields that a
// program writes come back through ctx_out, and the input fields come back
// as they went in.
func filledAndOutputFields(t *testing.T, k *progtype.Kernel) {
	checked := 0
	in := inputField(t, k)
	ctx := ctxBytes(k)
	for _, f := range k.Ctx.Fields {
		if f.Filled != progtype.FilledCPU {
			continue
		}
		// On one CPU every run is on CPU 0: a field the kernel never
		// fills reads 0 too, and the check would prove nothing.
		if runtime.NumCPU() < 2 {
			t.Fatalf("%s: the CPU the program runs on needs a guest with two CPUs or more to be told from 0; this one has %d", f.Name, runtime.NumCPU())
		}
		reader := mustLoad(t, k, Instructions{LoadMem(R0, R1, int16(f.Off), Word), Return()})
		var link bpf.FD
		if k.Attach.Link && k.Trigger != nil {
			var err error
			if link, err = (slot{t, k}).link(reader); err != nil {
				t.Fatal(err)
			}
		}
		for cpu := 0; cpu < runtime.NumCPU(); cpu++ {
			onCPU(t, cpu, func() {
				run := bpf.TestRun{CtxIn: ctx}
				if k.TestRun.CtxOut {
					run.CtxOut = make([]byte, k.Ctx.Size)
				}
				res, err := bpf.ProgTestRun(reader, run)
				if err != nil || res.Retval != uint32(cpu) {
					t.Errorf("%s on CPU %d: test_run gives %d, %v", f.Name, cpu, res.Retval, err)
				}
				if f.Output && k.TestRun.CtxOut && err == nil {
					if got := binary.NativeEndian.Uint32(res.CtxOut[f.Off:]); got != uint32(cpu) {
						t.Errorf("%s on CPU %d: ctx_out has %d", f.Name, cpu, got)
					}
				}
				if link > 0 {
					if got, err := k.Trigger.Run(1); err != nil || got != uint32(cpu) {
						t.Errorf("%s on CPU %d: the trigger gives %d, %v", f.Name, cpu, got, err)
					}
				}
			})
			checked++
		}
		if link > 0 {
			link.Close()
		}
	}
	for _, f := range k.Ctx.Fields {
		if !f.Output || !f.Write || !k.TestRun.CtxOut {
			continue
		}
		// out = in + 5, and return 0
		writer := mustLoad(t, k, Instructions{
			LoadMem(R2, R1, int16(in.Off), Word), Add.Imm32(R2, 5),
			StoreMem(R1, int16(f.Off), R2, Word), Mov.Imm(R0, 0), Return(),
		})
		res, err := bpf.ProgTestRun(writer, bpf.TestRun{CtxIn: ctx, CtxOut: make([]byte, k.Ctx.Size)})
		if err != nil {
			t.Fatalf("%s: test_run: %v", f.Name, err)
		}
		want := binary.NativeEndian.Uint32(ctx[in.Off:]) + 5
		if got := binary.NativeEndian.Uint32(res.CtxOut[f.Off:]); got != want {
			t.Errorf("%s: ctx_out has %#x; the program wrote %#x", f.Name, got, want)
		}
		for _, g := range k.Ctx.Fields {
			if g.Input && g.Name != f.Name && string(res.CtxOut[g.Off:g.Off+g.Size]) != string(ctx[g.Off:g.Off+g.Size]) {
				t.Errorf("%s: ctx_out has % x where ctx_in had % x", g.Name, res.CtxOut[g.Off:g.Off+g.Size], ctx[g.Off:g.Off+g.Size])
			}
		}
		checked++
	}
	if checked == 0 {
		t.Skipf("%s's context has no field the kernel fills and no output field a program writes", k.Name)
	}
}

// A link's cookie reaches the program through bpf_get_attach_cookie(),
// all 64 bits, and stays with the link when its program is updated; a
// link without one gives zero, and so does test_run, which has no link.
func linkCookie(t *testing.T, k *progtype.Kernel) {
	const cookie = 0x1122334455667788
	low := mustLoad(t, k, Instructions{CallHelper(bpfGetAttachCookie), Return()})
	high := mustLoad(t, k, Instructions{CallHelper(bpfGetAttachCookie), RSh.Imm(R0, 32), Return()})
	withCookie := func(prog bpf.FD, c uint64) bpf.FD {
		a := bpf.LinkCreateAttr{Prog: prog, AttachType: k.Numbers.AttachType}
		binary.NativeEndian.PutUint64(a.Union[:8], c)
		link, err := bpf.LinkCreate(a)
		if err != nil {
			t.Fatal(err)
		}
		return link
	}
	s := slot{t, k}
	runs := func(what string, want uint32) {
		t.Helper()
		if got, err := k.Trigger.Run(1); err != nil || got != want {
			t.Errorf("%s: a run gives %#x, %v; want %#x", what, got, err, want)
		}
	}
	link := withCookie(low, cookie)
	runs("the cookie's low half", cookie&0xffffffff)
	is(t, "link update", bpf.LinkUpdate(bpf.LinkUpdateAttr{Link: link, NewProg: high}), 0)
	runs("the cookie's high half, after an update", cookie>>32)
	link.Close()
	link = withCookie(low, 0)
	runs("a link without a cookie", 0)
	link.Close()
	s.runs("after the links closed", -1)
	if res, err := bpf.ProgTestRun(high, bpf.TestRun{CtxIn: ctxBytes(k)}); err != nil || res.Retval != 0 {
		t.Errorf("test_run: %#x, %v; want 0, there is no link", res.Retval, err)
	}
	if res, err := bpf.ProgTestRun(low, bpf.TestRun{CtxIn: ctxBytes(k)}); err != nil || res.Retval != 0 {
		t.Errorf("test_run: %#x, %v; want 0, there is no link", res.Retval, err)
	}
}

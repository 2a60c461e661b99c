package fuzz

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"

	"golang.org/x/sys/unix"

	"oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/gen"
	"oreore/harness/guest"
	"oreore/harness/progtype"
)

// Executor runs decoded inputs against the running kernel's types. It
// owns the types' attach points while it runs: one executor per guest.
type Executor struct {
	Kernels []*progtype.Kernel
	// kcov is each thread's coverage; nil entries on a kernel without
	// KCOV, where inputs run without it (the suite's regression tests).
	kcov [2]*KCOV
	// pcs places KCOV's addresses: vmlinux's, or relative to a module.
	pcs *PCMap
}

// NewExecutor reads every described type's numbers from the running
// kernel, and opens KCOV when the kernel has it.
func NewExecutor() (*Executor, error) {
	e := &Executor{}
	for _, typ := range progtype.All {
		k, err := progtype.Running(typ)
		if err != nil {
			return nil, err
		}
		e.Kernels = append(e.Kernels, k)
	}
	if _, err := os.Stat(KCOVPath); err == nil {
		for i := range e.kcov {
			if e.kcov[i], err = OpenKCOV(); err != nil {
				return nil, err
			}
		}
		if e.pcs, err = NewPCMap("/"); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// HasKCOV says whether inputs run with coverage: the kernel has KCOV.
func (e *Executor) HasKCOV() bool { return e.kcov[0] != nil }

// Types are the executor's types, in progtype.All's order: what inputs
// are decoded for.
func (e *Executor) Types() []*progtype.Type {
	var out []*progtype.Type
	for _, k := range e.Kernels {
		out = append(out, k.Type)
	}
	return out
}

// Result is what one input did.
type Result struct {
	// PCs are each thread's KCOV trace, in order (empty without KCOV).
	PCs [2][]PC
	// Calls is each op's outcome, in op order per thread.
	Calls [2][]Outcome
}

// Outcome is what one call did.
type Outcome struct {
	// Errno is the call's errno: 0 on success, 1<<16 for an error that
	// carries none.
	Errno uintptr
	// Returns says the call returned Value: a successful test_run (its
	// retval), trigger (the program's result) or query (how many
	// programs are attached).
	Returns bool
	Value   uint32
	// CPU says Value came from a program that reads a context field the
	// kernel fills with the CPU it runs on: the kernel's choice, not the
	// input's. A trigger's value is the CPU's whenever any program of the
	// input reads it, since the attached one may be closed already.
	CPU bool
}

// String is the outcome as a regression's .want file holds it.
func (o Outcome) String() string {
	switch {
	case o.Errno == 1<<16:
		return "error without errno"
	case o.Errno != 0:
		if name := unix.ErrnoName(unix.Errno(o.Errno)); name != "" {
			return name
		}
		return fmt.Sprintf("errno %d", o.Errno)
	case !o.Returns:
		return "ok"
	case o.CPU:
		return "ok, returned a value of the CPU's"
	default:
		return fmt.Sprintf("ok, returned %d", o.Value)
	}
}

// Outcomes are the calls' outcomes in the program's op order; nil if the
// run did not get through every op (Run returned an error).
func (r Result) Outcomes(p Program) []Outcome {
	if len(r.Calls[0])+len(r.Calls[1]) != len(p.Ops) {
		return nil
	}
	var out []Outcome
	next := [2]int{}
	for _, op := range p.Ops {
		out = append(out, r.Calls[op.Thread][next[op.Thread]])
		next[op.Thread]++
	}
	return out
}

// Slots are the input's signal: its kernel edges and its calls' outcomes.
func (r Result) Slots(p Program) map[uint32]bool {
	slots := map[uint32]bool{}
	for t := range r.PCs {
		edgeSlots(r.PCs[t], slots)
	}
	for i, o := range r.Outcomes(p) {
		slots[outcomeSlot(p.Ops[i].Kind, p.Ops[i].Type, o.Errno)] = true
	}
	return slots
}

// fds is the input's programs and links; ops on two threads share it.
type fds struct {
	mu    sync.Mutex
	progs [Slots]bpf.FD
	links [Slots]bpf.FD
	// readsCPU[i]: the program in progs[i] reads the CPU it runs on;
	// anyReadsCPU: some program of the input did.
	readsCPU    [Slots]bool
	anyReadsCPU bool
}

func (f *fds) prog(i int) bpf.FD {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.progs[i]
}

// loaded stores a loaded program in slot i.
func (f *fds) loaded(i int, fd bpf.FD, readsCPU bool) {
	f.mu.Lock()
	f.readsCPU[i] = readsCPU
	f.anyReadsCPU = f.anyReadsCPU || readsCPU
	f.mu.Unlock()
	f.put(&f.progs[i], fd)
}

// cpu reports whether a value may be the CPU's: from the program in slot
// i, or (i < 0) from whichever program is attached.
func (f *fds) cpu(i int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i < 0 {
		return f.anyReadsCPU
	}
	return f.readsCPU[i]
}

func (f *fds) link(i int) bpf.FD {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.links[i]
}

// put stores fd in a slot and closes what the slot held.
func (f *fds) put(slot *bpf.FD, fd bpf.FD) {
	f.mu.Lock()
	old := *slot
	*slot = fd
	f.mu.Unlock()
	if old > 0 {
		old.Close()
	}
}

// Run runs the input: thread 1's ops on a second OS thread at the same
// time as thread 0's, then closes everything the input made and detaches
// what it attached, so that the next input starts from an empty slot.
// The error is the harness's own trouble, or an invariant the kernel
// broke; the calls' errnos are results, not errors.
func (e *Executor) Run(p Program) (Result, error) {
	st := &fds{}
	var res Result
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, 2)
	var raw [2][]uint64
	for t := range 2 {
		var ops []Op
		for _, op := range p.Ops {
			if op.Thread == t {
				ops = append(ops, op)
			}
		}
		if len(ops) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A panic here is not the fuzz function's, which Go's fuzzer
			// recovers and reports: it would end the worker, whose output
			// Go discards. It becomes the input's error instead.
			defer func() {
				if r := recover(); r != nil {
					errs[t] = fmt.Errorf("thread %d panicked: %v\n%s", t, r, debug.Stack())
				}
			}()
			// KCOV traces a thread: the goroutine keeps this one until the
			// trace is read.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			<-start
			if k := e.kcov[t]; k != nil {
				if errs[t] = k.Start(); errs[t] != nil {
					return
				}
			}
			for _, op := range ops {
				o, err := e.do(st, op)
				o.Errno = errnoOf(err)
				res.Calls[t] = append(res.Calls[t], o)
			}
			if k := e.kcov[t]; k != nil {
				raw[t], errs[t] = k.Stop()
			}
		}()
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return res, err
	}
	if e.pcs != nil {
		// A reload put the module's .text somewhere else: the map learns
		// where before placing the PCs of the load after it.
		if reloads(p) {
			if err := e.pcs.Refresh(); err != nil {
				return res, err
			}
		}
		for t := range raw {
			res.PCs[t] = e.pcs.PCs(raw[t])
		}
	}
	err := e.cleanup(st)
	if e.pcs != nil && reloads(p) {
		// cleanup may have loaded it again.
		err = errors.Join(err, e.pcs.Refresh())
	}
	return res, err
}

// reloads says whether an input unloads a module.
func reloads(p Program) bool {
	for _, op := range p.Ops {
		if op.Kind == OpModuleReload {
			return true
		}
	}
	return false
}

// errnoOf is a call's outcome as a number: 0, its errno, or 1<<16 for an
// error that carries none.
func errnoOf(err error) uintptr {
	var errno unix.Errno
	switch {
	case err == nil:
		return 0
	case errors.As(err, &errno):
		return uintptr(errno)
	default:
		return 1 << 16
	}
}

// cleanup closes the input's fds, detaches what BPF_PROG_ATTACH left, puts
// back a module the input unloaded, and checks that every slot is empty:
// a kernel that keeps a program attached once its last link and attachment
// are gone breaks the types' contract.
func (e *Executor) cleanup(st *fds) error {
	for i := range Slots {
		st.put(&st.links[i], 0)
		st.put(&st.progs[i], 0)
	}
	var errs []error
	for _, k := range e.Kernels {
		if k.Attach.ProgAttach {
			// BPF_PROG_DETACH names the program: find it by its id.
			ids, _ := bpf.ProgQuery(0, k.Numbers.AttachType, 4)
			for _, id := range ids {
				if fd, err := bpf.ProgGetFDByID(id); err == nil {
					bpf.ProgDetach(bpf.ProgAttachAttr{Prog: fd, AttachType: k.Numbers.AttachType})
					fd.Close()
				}
			}
		}
		if k.Module != "" {
			if err := ensureModule(k.Module); err != nil {
				errs = append(errs, err)
			}
		}
		if n, err := bpf.ProgQueryCount(0, k.Numbers.AttachType); err != nil || n != 0 {
			errs = append(errs, fmt.Errorf("%s: after the input's links were closed and its attachments detached, BPF_PROG_QUERY says %d attached, %v; want 0", k.Name, n, err))
		}
	}
	return errors.Join(errs...)
}

// ensureModule loads the module again if an input took it out.
func ensureModule(name string) error {
	if _, err := os.Stat(filepath.Join("/sys/module", name)); err == nil {
		return nil
	}
	return insmod(name)
}

func insmod(name string) error {
	f, err := os.Open(filepath.Join(guest.ModulesDir, name+".ko"))
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.FinitModule(int(f.Fd()), "", 0)
}

// bpfGetAttachCookie is BPF_FUNC_get_attach_cookie.
const bpfGetAttachCookie = 174

// Program flags OpLoad may set: BPF_F_STRICT_ALIGNMENT, BPF_F_ANY_ALIGNMENT,
// BPF_F_TEST_RND_HI32, BPF_F_TEST_STATE_FREQ, BPF_F_SLEEPABLE.
const loadFlagBits = 0x1f

// do runs one op; its error is the call's, and the outcome says what it
// returned, if anything (its Errno is the caller's to fill).
func (e *Executor) do(st *fds, op Op) (Outcome, error) {
	k := e.Kernels[op.Type]
	other := e.Kernels[(op.Type+1)%len(e.Kernels)]
	attachType := func(c uint8) uint32 {
		switch c % 3 {
		case 0:
			return k.Numbers.AttachType
		case 1:
			return 0
		default:
			return other.Numbers.AttachType
		}
	}
	c := op.Choice
	switch op.Kind {
	case OpLoad:
		insns, readsCPU := program(k, op)
		a := bpf.ProgLoadAttr{Type: k.Numbers.ProgType, Insns: insns, License: "GPL", Name: "fuzz",
			ExpectedAttachType: attachType(c[1]), NoLog: true}
		if c[2]&0x80 != 0 {
			a.Flags = uint32(c[2]) & loadFlagBits
		}
		fd, err := bpf.ProgLoad(a)
		if err == nil {
			st.loaded(op.Prog, fd, readsCPU)
		}
		return Outcome{}, err
	case OpTestRun:
		size := k.Ctx.Size
		in := bpf.TestRun{CtxIn: resize(op.Bytes, []int{size, 0, size - 1, size + 4, 64}[c[0]%5])}
		if n := []int{0, size, size + 8, 1, 4096}[c[1]%5]; n > 0 {
			in.CtxOut = make([]byte, n)
		}
		if c[2]&1 != 0 {
			in.DataIn = make([]byte, 16)
		}
		if c[2]&2 != 0 {
			in.DataOut = make([]byte, 16)
		}
		in.Repeat = []uint32{0, 1, 2, 100}[(c[2]>>2)%4]
		switch c[3] % 6 {
		case 1:
			in.Flags = unix.BPF_F_TEST_RUN_ON_CPU
		case 2:
			in.Flags, in.CPU = unix.BPF_F_TEST_RUN_ON_CPU, 1
		case 3:
			in.Flags, in.CPU = unix.BPF_F_TEST_RUN_ON_CPU, 99
		case 4:
			in.Flags = 1 << (c[3] % 32)
		case 5:
			in.BatchSize = 1
		}
		r, err := bpf.ProgTestRun(st.prog(op.Prog), in)
		if err != nil {
			return Outcome{}, err
		}
		return Outcome{Returns: true, Value: r.Retval, CPU: st.cpu(op.Prog)}, nil
	case OpAttach, OpDetach:
		a := bpf.ProgAttachAttr{Prog: st.prog(op.Prog), AttachType: attachType(c[0])}
		switch c[1] % 5 {
		case 1:
			a.AttachFlags = unix.BPF_F_ALLOW_OVERRIDE
		case 2:
			a.AttachFlags = unix.BPF_F_ALLOW_MULTI
		case 3:
			a.AttachFlags, a.ReplaceBPFFD = unix.BPF_F_REPLACE, uint32(st.prog(op.Prog2))
		case 4:
			a.AttachFlags = uint32(c[1]) << 24
		}
		switch c[2] % 3 {
		case 1:
			a.TargetFD = 1
		case 2:
			a.TargetFD = uint32(st.prog(op.Prog2))
		}
		if op.Kind == OpDetach {
			if c[2]&4 != 0 {
				a.Prog = 0 // detach whatever is attached
			}
			return Outcome{}, bpf.ProgDetach(a)
		}
		return Outcome{}, bpf.ProgAttach(a)
	case OpQuery:
		q := bpf.ProgQueryAttr{AttachType: attachType(c[0]), ProgIDs: make([]uint32, []int{0, 1, 2, 64}[c[1]%4])}
		q.QueryFlags = []uint32{0, unix.BPF_F_QUERY_EFFECTIVE, 0xff}[c[2]%3]
		q.Target = uint32(c[3] % 2)
		r, err := bpf.ProgQueryWith(q)
		if err != nil {
			return Outcome{}, err
		}
		return Outcome{Returns: true, Value: r.Count}, nil
	case OpLinkCreate:
		a := bpf.LinkCreateAttr{Prog: st.prog(op.Prog), AttachType: attachType(c[0])}
		binary.NativeEndian.PutUint64(a.Union[:8], op.N)
		switch c[1] % 3 {
		case 1:
			a.Target = 1
		case 2:
			a.Target = uint32(st.prog(op.Prog))
		}
		a.Flags = []uint32{0, 1, 1 << 31}[c[2]%3]
		if c[2]&8 != 0 {
			binary.NativeEndian.PutUint64(a.Union[8:16], op.N) // past the type's part of the union
		}
		fd, err := bpf.LinkCreate(a)
		if err == nil {
			st.put(&st.links[op.Link], fd)
		}
		return Outcome{}, err
	case OpLinkUpdate:
		a := bpf.LinkUpdateAttr{Link: st.link(op.Link), NewProg: st.prog(op.Prog)}
		switch c[0] % 3 {
		case 1:
			a.Flags, a.OldProg = unix.BPF_F_REPLACE, st.prog(op.Prog2)
		case 2:
			a.Flags = 0xff
		}
		return Outcome{}, bpf.LinkUpdate(a)
	case OpLinkDetach:
		return Outcome{}, bpf.LinkDetach(st.link(op.Link))
	case OpLinkInfo:
		_, err := bpf.LinkGetInfo(st.link(op.Link))
		return Outcome{}, err
	case OpClose:
		if c[0]%2 == 1 {
			st.put(&st.links[op.Prog], 0)
		} else {
			st.put(&st.progs[op.Prog], 0)
		}
		return Outcome{}, nil
	case OpTrigger:
		if k.Trigger == nil {
			return Outcome{}, nil
		}
		v, err := k.Trigger.Run(uint32(op.N))
		if err != nil {
			return Outcome{}, err
		}
		return Outcome{Returns: true, Value: v, CPU: st.cpu(-1)}, nil
	case OpTriggerRaw:
		s, ok := k.Trigger.(progtype.SysfsTrigger)
		if !ok {
			return Outcome{}, nil
		}
		f, err := os.OpenFile(s.Path, os.O_RDWR, 0)
		if err != nil {
			return Outcome{}, err
		}
		defer f.Close()
		if _, err := f.Write(op.Bytes); err != nil {
			return Outcome{}, err
		}
		_, err = f.ReadAt(make([]byte, 32), 0)
		return Outcome{}, err
	case OpModuleReload:
		if k.Module == "" {
			return Outcome{}, nil
		}
		if err := unix.DeleteModule(k.Module, 0); err != nil {
			return Outcome{}, err
		}
		return Outcome{}, insmod(k.Module)
	}
	return Outcome{}, nil
}

// program is the instructions of an OpLoad: a generated program over the
// type's input fields, a constant, a read of every readable field, one
// context access of any offset, size and kind, the attach cookie, or a
// write of every writable field. readsCPU says they return what they read
// from a field the kernel fills with the CPU (only the read of every field
// does), so that their result is not the input's alone.
func program(k *progtype.Kernel, op Op) (asm.Instructions, bool) {
	reads := inputReads(k)
	switch v := op.Choice[0] % loadVariants; {
	case v == 0 && len(reads) > 0:
		return gen.ProgramFor(op.N, reads), false
	case v == 2:
		insns, readsCPU := asm.Instructions{asm.Mov.Imm(asm.R0, 0)}, false
		for _, f := range k.Ctx.Fields {
			if f.Read {
				insns = append(insns, asm.LoadMem(asm.R2, asm.R1, int16(f.Off), sizeOf(f.Size)), asm.Add.Reg(asm.R0, asm.R2))
				readsCPU = readsCPU || f.Filled == progtype.FilledCPU
			}
		}
		return append(insns, asm.Return()), readsCPU
	case v == 3:
		// One access anywhere near the context: what is_valid_access and
		// convert_ctx_access decide.
		off := int16(op.Choice[3]) - 8
		size := []asm.Size{asm.Byte, asm.Half, asm.Word, asm.DWord}[op.N&3]
		var access asm.Instruction
		switch (op.N >> 2) % 3 {
		case 0:
			access = asm.LoadMem(asm.R2, asm.R1, off, size)
		case 1:
			access = asm.StoreMem(asm.R1, off, asm.R2, size)
		default:
			access = asm.StoreImm(asm.R1, off, int32(op.N>>8), size)
		}
		return asm.Instructions{asm.Mov.Imm(asm.R2, int32(op.N>>16)), access, asm.Mov.Imm(asm.R0, 0), asm.Return()}, false
	case v == 4:
		return asm.Instructions{asm.CallHelper(bpfGetAttachCookie), asm.Return()}, false
	case v == 5:
		insns := asm.Instructions{asm.Mov.Imm(asm.R2, int32(op.N))}
		for _, f := range k.Ctx.Fields {
			if f.Write {
				insns = append(insns, asm.StoreMem(asm.R1, int16(f.Off), asm.R2, sizeOf(f.Size)))
			}
		}
		return append(insns, asm.Mov.Imm(asm.R0, 0), asm.Return()), false
	default:
		return asm.Instructions{asm.Mov.Imm(asm.R0, int32(op.N)), asm.Return()}, false
	}
}

// inputReads are the loads gen may make: each input field, whole.
func inputReads(k *progtype.Kernel) []gen.Read {
	var out []gen.Read
	for _, f := range k.Ctx.Fields {
		if _, ok := k.Ctx.Access(f.Off, f.Size, false); ok && f.Input {
			out = append(out, gen.Read{Off: int16(f.Off), Size: sizeOf(f.Size)})
		}
	}
	return out
}

func sizeOf(n int) asm.Size {
	return map[int]asm.Size{1: asm.Byte, 2: asm.Half, 4: asm.Word, 8: asm.DWord}[n]
}

// resize copies b into n bytes (nil for 0).
func resize(b []byte, n int) []byte {
	if n <= 0 {
		return nil
	}
	out := make([]byte, n)
	copy(out, b)
	return out
}

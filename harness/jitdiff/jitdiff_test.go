//go:build guest

package jitdiff

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/gen"
	"oreore/harness/interp"
	"oreore/harness/oreore"
	"oreore/harness/progtype"
	"oreore/programs"
)

// Generated programs per run, and inputs per program. Loading is most of
// the cost (the verifier, then the JIT): under TCG on 6.1 the guest ran
// 105-123 programs a second, 40 with the host's cores busy elsewhere; the
// count keeps the test under 10 s on the first. OREORE_GEN_PROGRAMS asks
// for more.
const (
	generatedPrograms = 1000
	generatedInputs   = 8
	fixedInputs       = 1000
)

// defaultSeed is the first program's seed: every run checks the same
// programs, so a verdict depends on the kernel alone. OREORE_GEN_SEED
// (on the kernel command line: make vm-test GUEST_APPEND=OREORE_GEN_SEED=N)
// starts elsewhere, and OREORE_GEN_PROGRAMS changes the count.
const defaultSeed = 14 << 32

const jitSysctl = "/proc/sys/net/core/bpf_jit_enable"

// requireAlone fails the test when another test binary is running: the
// differential flips a global switch that would change what they load.
func requireAlone(t *testing.T) {
	t.Helper()
	others, err := otherTests()
	if err != nil {
		t.Fatal(err)
	}
	if len(others) > 0 {
		t.Fatalf("other test binaries are running (this one belongs in the %q lane, which runs by itself): %q", "alone", others)
	}
}

// jit sets net.core.bpf_jit_enable for the programs loaded from now on;
// the test's end restores the value it found.
type jit struct{ orig []byte }

func newJIT(t *testing.T) *jit {
	t.Helper()
	orig, err := os.ReadFile(jitSysctl)
	if err != nil {
		t.Fatalf("%v (a kernel without the JIT, or with BPF_JIT_ALWAYS_ON, cannot run this differential)", err)
	}
	t.Cleanup(func() {
		if err := os.WriteFile(jitSysctl, orig, 0); err != nil {
			t.Errorf("restoring %s to %s: %v", jitSysctl, orig, err)
		}
	})
	return &jit{orig: orig}
}

func (j *jit) set(on bool) error {
	v := "0"
	if on {
		v = "1"
	}
	if err := os.WriteFile(jitSysctl, []byte(v), 0); err != nil {
		return fmt.Errorf("bpf_jit_enable=%s: %w (CONFIG_BPF_JIT_ALWAYS_ON refuses 0)", v, err)
	}
	return nil
}

// pair is one program loaded for each of the kernel's two runtimes.
type pair struct {
	interp, jited bpf.FD
}

func newPair() *pair { return &pair{interp: -1, jited: -1} }

func (p *pair) Close() {
	p.interp.Close()
	p.jited.Close()
}

// loadAs loads insns for the runtime that bpf_jit_enable (set by the
// caller) selects, and checks that the kernel did what was asked: no
// machine code with the JIT off, some with it on. A kernel that JITs
// regardless, or never, fails here instead of passing a differential of a
// runtime against itself.
func (p *pair) loadAs(k *progtype.Kernel, jited bool, name string, insns asm.Instructions) error {
	fd, err := quickLoad(k, name, insns)
	if err != nil {
		return err
	}
	info, err := bpf.ProgGetInfo(fd)
	switch {
	case err != nil:
	case !jited && info.JitedLen != 0:
		err = fmt.Errorf("loaded with bpf_jit_enable=0, the program has %d bytes of JITed code: the interpreter would not run", info.JitedLen)
	case jited && info.JitedLen == 0:
		err = errors.New("loaded with bpf_jit_enable=1, the program has no JITed code")
	}
	if err != nil {
		fd.Close()
		return err
	}
	if jited {
		p.jited = fd
	} else {
		p.interp = fd
	}
	return nil
}

// loadPair loads insns with the JIT off, then on.
func (j *jit) loadPair(k *progtype.Kernel, name string, insns asm.Instructions) (*pair, error) {
	p := newPair()
	for _, on := range []bool{false, true} {
		err := j.set(on)
		if err == nil {
			err = p.loadAs(k, on, name, insns)
		}
		if err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

// results is one input's answer from each path.
type results struct {
	interp, jited, goInterp uint32
	// goJIT is the Go interpreter as this machine's JIT computes what the
	// runtime leaves to it (interp.JITs): it differs from goInterp only
	// after a shift by a register at least the operand's width.
	goJIT uint32
	sysfs *uint32 // the interpreted program attached, for the fixed programs
}

func (r results) agree() bool {
	return r.interp == r.goInterp && r.jited == r.goJIT && (r.sysfs == nil || *r.sysfs == r.interp)
}

func (r results) String() string {
	s := fmt.Sprintf("kernel interpreter %#x, JIT %#x, Go interpreter %#x", r.interp, r.jited, r.goInterp)
	if r.goJIT != r.goInterp {
		s += fmt.Sprintf(", Go interpreter as %s's JIT %#x", runtime.GOARCH, r.goJIT)
	}
	if r.sysfs != nil {
		s += fmt.Sprintf(", interpreted through /sys/oreore/bpf %#x", *r.sysfs)
	}
	return s
}

// run runs the pair and the Go interpreter on one context, given as the
// bytes of ctx_in.
func run(p *pair, insns asm.Instructions, ctx []byte, maps map[int]*interp.ArrayMap) (results, error) {
	var r results
	testRun := func(fd bpf.FD) (uint32, error) {
		res, err := bpf.ProgTestRun(fd, bpf.TestRun{CtxIn: ctx})
		return res.Retval, err
	}
	var err error
	if r.interp, err = testRun(p.interp); err != nil {
		return r, fmt.Errorf("BPF_PROG_TEST_RUN, interpreted: %w", err)
	}
	if r.jited, err = testRun(p.jited); err != nil {
		return r, fmt.Errorf("BPF_PROG_TEST_RUN, JITed: %w", err)
	}
	if r.goInterp, err = interp.RunCtx(insns, append([]byte(nil), ctx...), maps); err != nil {
		return r, fmt.Errorf("Go interpreter: %w", err)
	}
	jit, ok := interp.JITs[runtime.GOARCH]
	if !ok {
		return r, fmt.Errorf("interp.JITs has no model of %s's JIT", runtime.GOARCH)
	}
	if r.goJIT, err = interp.RunCtxAs(jit, insns, append([]byte(nil), ctx...), maps); err != nil {
		return r, fmt.Errorf("Go interpreter as the JIT: %w", err)
	}
	return r, nil
}

// u32Ctx is oreore's context holding in.
func u32Ctx(in uint32) []byte { return binary.NativeEndian.AppendUint32(nil, in) }

// running describes typ on this kernel, or fails the test.
func running(t *testing.T, typ *progtype.Type) *progtype.Kernel {
	t.Helper()
	k, err := progtype.Running(typ)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// reads are the places in the context a generated program may load from:
// each readable input field, whole, where the type's rules allow it. (A
// field the kernel fills, such as the CPU, differs between the runs that
// are compared, and the Go interpreter cannot know it.)
func reads(k *progtype.Kernel) []gen.Read {
	var out []gen.Read
	for _, f := range k.Ctx.Fields {
		if !f.Input {
			continue
		}
		size, sized := map[int]asm.Size{1: asm.Byte, 2: asm.Half, 4: asm.Word, 8: asm.DWord}[f.Size]
		if _, ok := k.Ctx.Access(f.Off, f.Size, false); ok && sized {
			out = append(out, gen.Read{Off: int16(f.Off), Size: size})
		}
	}
	return out
}

// xlated is the kernel's rewrite of the program, for a failure's report.
func xlated(fd bpf.FD) string {
	insns, _, err := bpf.ProgXlated(fd)
	if err != nil {
		return err.Error()
	}
	return insns.String()
}

// The behaviour suite's programs, through the kernel's interpreter and its
// JIT by BPF_PROG_TEST_RUN, through the interpreter attached to
// /sys/oreore/bpf, and through the Go interpreter. (The behaviour suite
// runs them JITed through /sys/oreore/bpf.)
func TestFixedProgramsInterpreterAndJIT(t *testing.T) {
	requireAlone(t)
	j := newJIT(t)
	m, model := lookupMap(t)
	defer m.Close()
	maps := map[int]*interp.ArrayMap{int(m): model}
	k := running(t, progtype.Oreore) // programs.Behaviour are oreore programs
	for _, prog := range programs.Behaviour {
		t.Run(prog.Name, func(t *testing.T) {
			insns := prog.Build(int(m))
			p, err := j.loadPair(k, "fixed", insns)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if err := oreore.Attach(p.interp); err != nil {
				t.Fatal(err)
			}
			defer oreore.Detach(p.interp)
			port, err := oreore.OpenPort()
			if err != nil {
				t.Fatal(err)
			}
			defer port.Close()
			bad := 0
			for _, in := range gen.Inputs(0x0e0e, fixedInputs) {
				r, err := run(p, insns, u32Ctx(in), maps)
				if err != nil {
					t.Fatalf("input %#x: %v", in, err)
				}
				viaSysfs, err := port.Run(in)
				if err != nil {
					t.Fatalf("input %#x: /sys/oreore/bpf: %v", in, err)
				}
				r.sysfs = &viaSysfs
				if !r.agree() {
					t.Errorf("input %#x: %v", in, r)
					if bad++; bad == 5 {
						t.Fatalf("more disagreements left out; program:\n%v\nas the kernel rewrote it:\n%s", insns, xlated(p.interp))
					}
				}
			}
		})
	}
}

// Programs generated from seeds, each loaded for the kernel's interpreter
// and its JIT and run on inputs of its seed through BPF_PROG_TEST_RUN, and
// in the Go interpreter, for every described type. A failure names the
// seed: gen.ProgramFor(seed, reads) is the program on any machine.
//
// The programs go in batches: all of a batch are loaded with the JIT off,
// then all with it on, then run. On one CPU: under TCG two loaders at once
// ran at a third of one's rate (37 against 110 programs/s), likely because
// each load changes page permissions and MTTCG stops every vCPU for the
// TLB flush.
func TestGeneratedProgramsInterpreterAndJIT(t *testing.T) {
	requireAlone(t)
	j := newJIT(t)
	first, count := uint64(defaultSeed), generatedPrograms
	if v := os.Getenv("OREORE_GEN_SEED"); v != "" {
		var err error
		if first, err = strconv.ParseUint(v, 0, 64); err != nil {
			t.Fatalf("OREORE_GEN_SEED=%s: %v", v, err)
		}
	}
	if testing.Short() {
		count = generatedPrograms / 10
	}
	if v := os.Getenv("OREORE_GEN_PROGRAMS"); v != "" {
		var err error
		if count, err = strconv.Atoi(v); err != nil {
			t.Fatalf("OREORE_GEN_PROGRAMS=%s: %v", v, err)
		}
	}
	// Every described type: the programs read its context's fields.
	for _, typ := range progtype.All {
		t.Run(typ.Name, func(t *testing.T) { generated(t, j, running(t, typ), first, count) })
	}
}

// inputs are a generated program's contexts: a u32 context gets
// gen.Inputs' edges of u32, a struct gets bytes of the seed's stream.
func inputs(k *progtype.Kernel, seed uint64) [][]byte {
	if k.Ctx.Size != 4 {
		var out [][]byte
		for _, b := range gen.CtxInputs(seed, generatedInputs, k.Ctx.Size) {
			out = append(out, k.Ctx.Inputs(b))
		}
		return out
	}
	var out [][]byte
	for _, in := range gen.Inputs(seed, generatedInputs) {
		out = append(out, u32Ctx(in))
	}
	return out
}

func generated(t *testing.T, j *jit, k *progtype.Kernel, first uint64, count int) {
	rd := reads(k)
	if len(rd) == 0 {
		t.Fatalf("%s: no readable field for a generated program to read", k.Name)
	}
	start := time.Now()
	failed, wide := 0, 0
	for lo := 0; lo < count; lo += batchSize {
		n := min(batchSize, count-lo)
		progs := make([]asm.Instructions, n)
		pairs := make([]*pair, n)
		for i := range n {
			progs[i], pairs[i] = gen.ProgramFor(first+uint64(lo+i), rd), newPair()
		}
		step := func(what string, f func(i int) error) {
			for i := range n {
				if err := f(i); err != nil {
					seed := first + uint64(lo+i)
					t.Fatalf("seed %#x: %s: %v\nprogram:\n%v", seed, what, err, progs[i])
				}
			}
		}
		for _, on := range []bool{false, true} {
			if err := j.set(on); err != nil {
				t.Fatal(err)
			}
			step(fmt.Sprintf("load for the %s", map[bool]string{false: "interpreter", true: "JIT"}[on]), func(i int) error { return pairs[i].loadAs(k, on, "gen", progs[i]) })
		}
		reports := make([][]string, n)
		step("run", func(i int) error {
			seed := first + uint64(lo+i)
			for _, ctx := range inputs(k, seed) {
				r, err := run(pairs[i], progs[i], ctx, nil)
				if err != nil {
					return fmt.Errorf("context %x: %w", ctx, err)
				}
				if !r.agree() {
					reports[i] = append(reports[i], fmt.Sprintf("context %x: %v", ctx, r))
				}
				if r.goJIT != r.goInterp {
					wide++
				}
			}
			return nil
		})
		for i, report := range reports {
			if report != nil && failed < 5 {
				seed := first + uint64(lo+i)
				t.Errorf("seed %#x (gen.ProgramFor(%#x, %v)):\n\t%s\nprogram:\n%v\nas the kernel rewrote it:\n%s",
					seed, seed, rd, strings.Join(report, "\n\t"), progs[i], xlated(pairs[i].interp))
				failed++
			}
			pairs[i].Close()
		}
		if failed == 5 {
			t.Fatalf("stopped after %d disagreeing programs", failed)
		}
	}
	elapsed := time.Since(start)
	t.Logf("%s: %d programs from seed %#x, %d inputs each: %v (%.0f programs/s)",
		k.Name, count, first, generatedInputs, elapsed.Round(time.Millisecond), float64(count)/elapsed.Seconds())
	if wide > 0 {
		t.Logf("%s: on %d inputs %s's JIT returns another value than the interpreter, after a shift by a register at least the width (kernel/bpf/core.c leaves it to each JIT): it returned the value interp.JITs models",
			k.Name, wide, runtime.GOARCH)
	}
}

// batchSize is how many generated programs are loaded at a time (each
// twice: the fds stay well under the open-files limit).
const batchSize = 64

// lookupMap creates the array map that programs.MapLookup reads, and the
// interpreter's model of it.
func lookupMap(t *testing.T) (bpf.FD, *interp.ArrayMap) {
	t.Helper()
	m, model, err := programs.LookupMap()
	if err != nil {
		t.Fatal(err)
	}
	return m, model
}

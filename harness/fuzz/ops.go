// Package fuzz drives the described program types' syscall surface from
// structured inputs: a fuzzer's bytes decode into a sequence of calls
// (load, test_run, attach, detach, query, link create/update/detach/info,
// close, trigger writes, module reload), on one thread or two at once, for
// every type in progtype.All. The guest side (exec.go, under the guest
// build tag) runs them with KCOV on each thread and turns the kernel's
// coverage into the Go fuzzer's signal (signal.go).
//
// Decoding never fails: every byte string is a program, and a short one
// is a short program. That is what lets `go test -fuzz` mutate bytes
// while the kernel sees well-formed calls most of the time and edge cases
// (wrong sizes, flags, fds) some of the time.
package fuzz

import (
	"encoding/binary"
	"fmt"
	"strings"

	"oreore/harness/progtype"
)

// Kind is what one op does.
type Kind uint8

const (
	OpLoad Kind = iota
	OpTestRun
	OpAttach
	OpDetach
	OpQuery
	OpLinkCreate
	OpLinkUpdate
	OpLinkDetach
	OpLinkInfo
	OpClose
	OpTrigger
	OpTriggerRaw
	OpModuleReload
	numKinds
)

var kindNames = [numKinds]string{"load", "test_run", "attach", "detach", "query", "link_create", "link_update",
	"link_detach", "link_info", "close", "trigger", "trigger_raw", "module_reload"}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Slots is how many programs and how many links an input holds at once.
const Slots = 4

// MaxOps bounds an input's length, so that one input is one short run.
const MaxOps = 24

// MaxReloads bounds an input's module reloads: on the debug flavor each
// takes seconds (rmmod waits for DEBUG_KOBJECT_RELEASE's delayed release,
// which make fuzz's kernel is built without), and Go's fuzz worker ends itself ("deadlocked!", exit status 2) when one
// input runs for 10 s. Decode drops the reloads past it.
const MaxReloads = 1

// Op is one call. Which fields matter depends on Kind; Choice fields pick
// among a few values that matter to the kernel (the right size, zero,
// one off, a big one) rather than spreading over every number.
type Op struct {
	Kind Kind
	// Thread 1 ops run on a second thread, at the same time as thread 0's.
	Thread int
	Type   int // index in the types the input is decoded for
	// Prog, Prog2 and Link are slots (0..Slots-1).
	Prog, Prog2, Link int
	Choice            [4]uint8
	Flags             uint32
	N                 uint64 // a seed, a cookie, a run's input
	Bytes             []byte // a context, a raw write
}

// Program is a decoded input.
type Program struct {
	Types []*progtype.Type
	Ops   []Op
}

// reader hands out the input's bytes; past the end it gives zeros.
type reader struct{ b []byte }

func (r *reader) empty() bool { return len(r.b) == 0 }

func (r *reader) u8() uint8 {
	if len(r.b) == 0 {
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) take(n int) []byte {
	n = min(n, len(r.b))
	out := append([]byte(nil), r.b[:n]...)
	r.b = r.b[n:]
	return out
}

// An input's numbers are little-endian on every machine: this is the
// corpus format, not the kernel's memory, and a kept input must decode to
// the same calls on an arm64 or s390x guest as on x86_64.
func (r *reader) u32() uint32 {
	var b [4]byte
	copy(b[:], r.take(4))
	return binary.LittleEndian.Uint32(b[:])
}

func (r *reader) u64() uint64 {
	var b [8]byte
	copy(b[:], r.take(8))
	return binary.LittleEndian.Uint64(b[:])
}

// Decode turns any bytes into a program over types. The first byte of an
// op is its kind (low nibble) and thread (high bit); the rest are its
// arguments, in a fixed order per kind.
func Decode(data []byte, types []*progtype.Type) Program {
	p := Program{Types: types}
	if len(types) == 0 {
		return p
	}
	r := &reader{b: data}
	reloads := 0
	for !r.empty() && len(p.Ops) < MaxOps {
		head := r.u8()
		op := Op{Kind: Kind(head&0x0f) % numKinds, Thread: int(head >> 7)}
		op.Type = int(r.u8()) % len(types)
		switch op.Kind {
		case OpLoad:
			// Choice: variant, expected attach type, flags; N: seed.
			op.Prog = int(r.u8()) % Slots
			op.Choice = [4]uint8{r.u8(), r.u8(), r.u8(), r.u8()}
			op.N = uint64(r.u32())
		case OpTestRun:
			// Choice: ctx_size_in, ctx_size_out, data and repeat, flags and cpu.
			op.Prog = int(r.u8()) % Slots
			op.Choice = [4]uint8{r.u8(), r.u8(), r.u8(), r.u8()}
			op.Bytes = r.take(types[op.Type].Ctx.Size)
		case OpAttach, OpDetach:
			// Choice: attach type, flags, target; Prog2 replaces.
			op.Prog = int(r.u8()) % Slots
			op.Prog2 = int(r.u8()) % Slots
			op.Choice = [4]uint8{r.u8(), r.u8(), r.u8()}
		case OpQuery:
			// Choice: attach type, room for ids, flags, target.
			op.Choice = [4]uint8{r.u8(), r.u8(), r.u8(), r.u8()}
		case OpLinkCreate:
			// Choice: attach type, target, flags; N: cookie.
			op.Prog = int(r.u8()) % Slots
			op.Link = int(r.u8()) % Slots
			op.Choice = [4]uint8{r.u8(), r.u8(), r.u8()}
			op.N = r.u64()
		case OpLinkUpdate:
			// Choice: flags; Prog2: the old program for BPF_F_REPLACE.
			op.Link = int(r.u8()) % Slots
			op.Prog = int(r.u8()) % Slots
			op.Prog2 = int(r.u8()) % Slots
			op.Choice = [4]uint8{r.u8()}
		case OpLinkDetach:
			op.Link = int(r.u8()) % Slots
		case OpLinkInfo:
			op.Link = int(r.u8()) % Slots
		case OpClose:
			// Choice: a program's slot or a link's.
			op.Choice = [4]uint8{r.u8()}
			op.Prog = int(r.u8()) % Slots
		case OpTrigger:
			op.N = uint64(r.u32())
		case OpTriggerRaw:
			op.Bytes = r.take(int(r.u8()) % 24)
		case OpModuleReload:
			if reloads++; reloads > MaxReloads {
				continue
			}
		}
		p.Ops = append(p.Ops, op)
	}
	return p
}

// String is the program as a reproducer's report shows it, an op a line.
func (p Program) String() string {
	var b strings.Builder
	for i := range p.Ops {
		b.WriteString(p.call(i))
		b.WriteByte('\n')
	}
	return b.String()
}

// head is the start of op i's line: its index, thread, type and kind.
func (p Program) head(i int) string {
	op := p.Ops[i]
	return fmt.Sprintf("%2d: thread %d %s %s", i, op.Thread, p.Types[op.Type].Name, op.Kind)
}

// call is op i's line: its head and its arguments.
func (p Program) call(i int) string {
	var b strings.Builder
	b.WriteString(p.head(i))
	switch op := p.Ops[i]; op.Kind {
	case OpLoad:
		fmt.Fprintf(&b, " prog%d variant %d seed %#x choices %v", op.Prog, op.Choice[0]%loadVariants, op.N, op.Choice[1:3])
	case OpTestRun:
		fmt.Fprintf(&b, " prog%d choices %v ctx %x", op.Prog, op.Choice, op.Bytes)
	case OpAttach, OpDetach:
		fmt.Fprintf(&b, " prog%d replace prog%d choices %v", op.Prog, op.Prog2, op.Choice[:3])
	case OpQuery:
		fmt.Fprintf(&b, " choices %v", op.Choice)
	case OpLinkCreate:
		fmt.Fprintf(&b, " prog%d -> link%d choices %v cookie %#x", op.Prog, op.Link, op.Choice[:3], op.N)
	case OpLinkUpdate:
		fmt.Fprintf(&b, " link%d to prog%d old prog%d flags choice %d", op.Link, op.Prog, op.Prog2, op.Choice[0])
	case OpLinkDetach:
		fmt.Fprintf(&b, " link%d", op.Link)
	case OpLinkInfo:
		fmt.Fprintf(&b, " link%d", op.Link)
	case OpClose:
		what := "prog"
		if op.Choice[0]%2 == 1 {
			what = "link"
		}
		fmt.Fprintf(&b, " %s%d", what, op.Prog)
	case OpTrigger:
		fmt.Fprintf(&b, " input %d", uint32(op.N))
	case OpTriggerRaw:
		fmt.Fprintf(&b, " %q", op.Bytes)
	}
	return b.String()
}

// loadVariants is how many kinds of program OpLoad makes (exec.go).
const loadVariants = 6

// Encode is Decode's inverse for the ops' own fields: the seeds' and the
// tests' way to write an input by hand.
func Encode(types []*progtype.Type, ops ...Op) []byte {
	var out []byte
	u32 := func(v uint32) { out = binary.LittleEndian.AppendUint32(out, v) }
	for _, op := range ops {
		out = append(out, byte(op.Kind)|byte(op.Thread<<7), byte(op.Type))
		c := op.Choice
		switch op.Kind {
		case OpLoad:
			out = append(out, byte(op.Prog), c[0], c[1], c[2], c[3])
			u32(uint32(op.N))
		case OpTestRun:
			out = append(out, byte(op.Prog), c[0], c[1], c[2], c[3])
			ctx := make([]byte, types[op.Type].Ctx.Size)
			copy(ctx, op.Bytes)
			out = append(out, ctx...)
		case OpAttach, OpDetach:
			out = append(out, byte(op.Prog), byte(op.Prog2), c[0], c[1], c[2])
		case OpQuery:
			out = append(out, c[0], c[1], c[2], c[3])
		case OpLinkCreate:
			out = append(out, byte(op.Prog), byte(op.Link), c[0], c[1], c[2])
			out = binary.LittleEndian.AppendUint64(out, op.N)
		case OpLinkUpdate:
			out = append(out, byte(op.Link), byte(op.Prog), byte(op.Prog2), c[0])
		case OpLinkDetach:
			out = append(out, byte(op.Link))
		case OpLinkInfo:
			out = append(out, byte(op.Link))
		case OpClose:
			out = append(out, c[0], byte(op.Prog))
		case OpTrigger:
			u32(uint32(op.N))
		case OpTriggerRaw:
			out = append(out, byte(len(op.Bytes)))
			out = append(out, op.Bytes...)
		}
	}
	return out
}

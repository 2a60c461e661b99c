// Package progtype describes a BPF program type as data, the way libbpf's
// SEC_DEF table and test_verifier's per-case prog_type do: the enumerators
// that name its uapi numbers, its context's fields and their access rules,
// what BPF_PROG_TEST_RUN takes, its attach point, and the capability each
// command needs. The generic test families (harness/families) take a Type;
// only a type's own behaviour is written by hand, in its own suite.
//
// The numbers are not typed here: numbers_gen.go is generated from the
// series in kernel-patches/ (go generate, vm/cmd/uapinums), and in the guest
// the running kernel's BTF has the final word.
package progtype

//go:generate go run ../../vm/cmd/uapinums -o numbers_gen.go ../../kernel-patches

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Type is one program type.
type Type struct {
	// Name is the type's short name: libbpf's section, bpftool's name
	// ("oreore"), and the name the families' results carry.
	Name string
	// Enumerators of include/uapi/linux/bpf.h that the series adds.
	ProgTypeEnum   string // enum bpf_prog_type, "BPF_PROG_TYPE_OREORE"
	AttachTypeEnum string // enum bpf_attach_type, "BPF_OREORE_ATTACH"
	LinkTypeEnum   string // enum bpf_link_type, "BPF_LINK_TYPE_OREORE"

	// Ctx is the context a program gets in R1.
	Ctx Context
	// TestRun is what BPF_PROG_TEST_RUN accepts.
	TestRun TestRunRules
	// Attach is the attach point's shape.
	Attach AttachPoint
	// BaseHelpers: the type's func_proto falls back to
	// bpf_base_func_proto(), so its programs may call the base helpers.
	BaseHelpers bool
	// Caps is, per series, what each command needs.
	Caps map[string]CapMatrix
	// Trigger runs the attached program as the type's users do.
	Trigger Trigger

	// What the build needs to know, read by vm/cmd/types: the module that
	// triggers runs (kmod/<Module>.c), the kernel objects the series adds
	// (profiled by make vm-cover), and the kernel selftests it adds
	// (prog_tests/<name>.c, built and run by make vm-test).
	Module        string
	KernelObjects []string
	Selftests     []string
	// Kconfig is the series' option for the type (CONFIG_BPF_OREORE),
	// which the base kernel lacks.
	Kconfig string
	// GuestTests are the test binaries that hold the type's own behaviour
	// (what no family checks): make vm-test builds each from its package
	// and runs it in the slot lane, SHORT=1 included.
	GuestTests []GuestTest
}

// GuestTest is one in-guest test binary: its name (the binary is
// NAME.test, and the results carry NAME) and the Go package it is built
// from.
type GuestTest struct {
	Name    string // "suite"
	Package string // "./harness/suite"
}

// TraceFilter is what `make vm-test TRACE=1` traces for the type: the
// series' functions, which carry its name, and all of its module's.
func (t *Type) TraceFilter() string {
	return fmt.Sprintf("*%s* *:mod:%s", t.Name, t.Module)
}

// Context is the program's context: the uapi type a program sees (in
// struct bpf_ctx_convert, the member <ProgTypeEnum>_prog) and the rules of
// each field. The layout comes from BTF (Layout); Fields give the rules,
// which BTF cannot.
type Context struct {
	// Type is the uapi type's name as BTF spells it: "__u32" for a bare
	// scalar, "bpf_foo_md" for a struct.
	Type string
	// Size is the context's size in bytes: what ctx_in must hold.
	Size int
	// Fields, in offset order. A bare scalar is one field named "".
	Fields []Field
}

// Field is one member of the context and what programs may do with it.
type Field struct {
	Name      string
	Off, Size int
	Read      bool
	Write     bool // by a program (BPF_STX; BPF_ST is refused for every ctx)
	// Narrow allows loads narrower than Size at any aligned offset within
	// the field (convert_ctx_access rewrites them).
	Narrow bool
	// Input: test_run takes the field's value from ctx_in.
	Input bool
	// Output: test_run copies the field back through ctx_out.
	Output bool
	// Filled names what the kernel fills the field with at each run
	// (FilledCPU); ctx_in must leave such a field zero.
	Filled string
}

// FilledCPU: the field holds the CPU the program runs on.
const FilledCPU = "cpu"

// TestRunRules says which of BPF_PROG_TEST_RUN's fields the type accepts;
// a field it does not accept must be refused with EINVAL, alone.
type TestRunRules struct {
	CtxIn bool // required, of exactly Ctx.Size bytes (unless CtxInit)
	// CtxInit: ctx_in as bpf_ctx_init() takes it, upstream's rule: optional
	// (no ctx_in is a zero context), a shorter one zero-filled, a longer one
	// accepted if what lies past Ctx.Size is zero, E2BIG if not.
	CtxInit bool
	CtxOut  bool
	DataIn  bool
	DataOut bool
	Repeat  bool
	Flags   bool // BPF_F_TEST_RUN_ON_CPU and cpu
	Batch   bool // batch_size
}

// AttachPoint is how programs of the type are attached.
type AttachPoint struct {
	// Slots is how many programs the point holds at once: 1 for a
	// single-slot point such as the flow dissector's or oreore's, where
	// BPF_PROG_ATTACH replaces and a second link is E2BIG.
	Slots int
	// Link: BPF_LINK_CREATE gives a link of LinkTypeEnum.
	Link bool
	// Global: the point has no target; target_fd must be 0.
	Global bool
	// ProgAttach: BPF_PROG_ATTACH and BPF_PROG_DETACH work too; a
	// link-only point refuses them with EINVAL.
	ProgAttach bool
	// Cookie: BPF_LINK_CREATE takes a cookie that the program reads
	// with bpf_get_attach_cookie().
	Cookie bool
	// ReportsAttached: the link type's info starts with attach_type and
	// attached (u32s), and fdinfo prints both: attached is 0 once
	// BPF_LINK_DETACH took the link off the point.
	ReportsAttached bool
}

// Command names one bpf() command that the capability matrix covers.
type Command string

const (
	CmdLoad       Command = "load"
	CmdAttach     Command = "attach"
	CmdDetach     Command = "detach"
	CmdLinkCreate Command = "link create"
	CmdLinkUpdate Command = "link update"
	CmdLinkDetach Command = "link detach"
	CmdQuery      Command = "query"
	CmdTestRun    Command = "test_run"
	// A struct_ops type's: its map's create and the update that registers
	// it (or fills a BPF_F_LINK one).
	CmdMapCreate Command = "map create"
	CmdMapUpdate Command = "map update"
)

// CapSet is one set of capabilities the matrix tries. The guest runs each
// command on a thread whose capabilities are exactly Caps.
type CapSet struct {
	Name string
	Caps []int // CAP_* numbers
}

// CapSets are the matrix's columns.
var CapSets = []CapSet{
	{"none", nil},
	{"CAP_BPF", []int{unix.CAP_BPF}},
	{"CAP_BPF+CAP_NET_ADMIN", []int{unix.CAP_BPF, unix.CAP_NET_ADMIN}},
	{"CAP_BPF+CAP_PERFMON", []int{unix.CAP_BPF, unix.CAP_PERFMON}},
	{"CAP_SYS_ADMIN", []int{unix.CAP_SYS_ADMIN}},
}

// Cell is what one command does with one capability set: allowed or EPERM,
// and the kernel check that decides it, quoted from the tree.
type Cell struct {
	Allowed bool
	Check   string
}

// Allowed and EPERM make a matrix read like the capability table in kernel-patches/README.md.
func Allowed(check string) Cell { return Cell{true, check} }
func EPERM(check string) Cell   { return Cell{false, check} }

// CapMatrix is, per command, one cell per set in CapSets order.
type CapMatrix map[Command][]Cell

// SameChecks gives series to the matrix of like, for a tree whose checks
// for these commands read the same (the families hold each cell against the
// kernel all the same).
func SameChecks(m map[string]CapMatrix, series, like string) map[string]CapMatrix {
	m[series] = m[like]
	return m
}

// All lists every described type, in the order the families run them.
var All = []*Type{Oreore, Kore}

// ByName returns the described type called name.
func ByName(name string) (*Type, error) {
	for _, t := range All {
		if t.Name == name {
			return t, nil
		}
	}
	var names []string
	for _, t := range All {
		names = append(names, t.Name)
	}
	return nil, fmt.Errorf("no program type %q is described (progtype.All: %s)", name, strings.Join(names, ", "))
}

// Numbers are a type's uapi numbers in one series.
type Numbers struct {
	ProgType, AttachType, LinkType uint32
}

// Series lists the kernel series whose numbers numbers_gen.go holds.
func Series() []string {
	var out []string
	for s := range seriesNumbers {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// InSeries reports whether series carries the type: its patches add the
// type's program type. make new-type stacks a type only on the series with
// room for it (7.3 has none: its attach type would be the 65th).
func (t *Type) InSeries(series string) bool {
	_, ok := seriesNumbers[series][t.ProgTypeEnum]
	return ok
}

// Numbers returns the type's numbers in a series, as its patches define
// them.
func (t *Type) Numbers(series string) (Numbers, error) {
	enums, ok := seriesNumbers[series]
	if !ok {
		return Numbers{}, fmt.Errorf("no series %s in kernel-patches (numbers_gen.go has %s)", series, strings.Join(Series(), ", "))
	}
	var n Numbers
	for _, e := range []struct {
		name string
		dst  *uint32
	}{{t.ProgTypeEnum, &n.ProgType}, {t.AttachTypeEnum, &n.AttachType}, {t.LinkTypeEnum, &n.LinkType}} {
		if e.name == "" {
			continue
		}
		v, ok := enums[e.name]
		if !ok {
			return Numbers{}, fmt.Errorf("series %s does not add %s (numbers_gen.go: run go generate ./harness/progtype)", series, e.name)
		}
		*e.dst = v
	}
	return n, nil
}

// ForRelease returns the series that a kernel release such as "6.12.117"
// or "6.1.0-oreore" belongs to.
func ForRelease(release string) (string, error) {
	// The longest series first: "6.12" before "6.1".
	series := Series()
	sort.Slice(series, func(i, j int) bool { return len(series[i]) > len(series[j]) })
	for _, s := range series {
		if rest, ok := strings.CutPrefix(release, s); ok && (rest == "" || rest[0] == '.' || rest[0] == '-' || rest[0] == '+') {
			return s, nil
		}
	}
	return "", fmt.Errorf("kernel %s: no series for it (kernel-patches has %s)", release, strings.Join(Series(), ", "))
}

// Inputs keeps, of a context's bytes, those of its input fields, and
// zeroes the rest: what ctx_in may hold.
func (c Context) Inputs(b []byte) []byte {
	out := make([]byte, len(b))
	for _, f := range c.Fields {
		if f.Input && f.Off+f.Size <= len(b) {
			copy(out[f.Off:f.Off+f.Size], b[f.Off:])
		}
	}
	return out
}

// Field returns the context's field called name.
func (c Context) Field(name string) (Field, bool) {
	for _, f := range c.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Access is the verifier's verdict on one context access, from the
// fields' rules: which field it falls in, and whether it is allowed.
func (c Context) Access(off, size int, write bool) (Field, bool) {
	for _, f := range c.Fields {
		if off < f.Off || off+size > f.Off+f.Size {
			continue
		}
		if write {
			return f, f.Write && off == f.Off && size == f.Size
		}
		if !f.Read {
			return f, false
		}
		if size == f.Size && off == f.Off {
			return f, true
		}
		// A narrow load: smaller, aligned to its own size.
		return f, f.Narrow && size < f.Size && off%size == 0
	}
	return Field{}, false
}

// InputWord is the field a trigger's input lands in: the first readable
// 4-byte input field.
func (c Context) InputWord() (Field, bool) {
	for _, f := range c.Fields {
		if f.Input && f.Read && f.Size == 4 {
			return f, true
		}
	}
	return Field{}, false
}

// Trigger runs the attached program the way the type's users do, on one
// input (the context's Input field), and returns its result.
type Trigger interface {
	Run(in uint32) (uint32, error)
}

// SysfsTrigger is a trigger through a file that takes the input as a
// decimal number and, read back, gives the last result: what the module's
// /sys/oreore/bpf does, and what `make new-type` scaffolds. Runs is the
// module's count of the runs since it was loaded. Softirq, when set, is a
// file that does the same from softirq context (the module's tasklet), as
// the type's run function promises its callers may.
type SysfsTrigger struct{ Path, Runs, Softirq string }

// InSoftirq is the trigger that runs the program from softirq context, if
// the module has one.
func (s SysfsTrigger) InSoftirq() (Trigger, bool) {
	if s.Softirq == "" {
		return nil, false
	}
	return SysfsTrigger{Path: s.Softirq, Runs: s.Runs}, true
}

// Run writes in and reads back the result, in one open file.
func (s SysfsTrigger) Run(in uint32) (uint32, error) {
	f, err := os.OpenFile(s.Path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte(strconv.FormatUint(uint64(in), 10)+"\n"), 0); err != nil {
		return 0, err
	}
	buf := make([]byte, 32)
	n, err := f.ReadAt(buf, 0)
	if n == 0 && err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(strings.TrimSuffix(string(buf[:n]), "\n"), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s: %q: %w", s.Path, buf[:n], err)
	}
	return uint32(v), nil
}

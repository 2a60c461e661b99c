// Command oreore inspects and drives BPF programs the way bpftool does, and
// knows BPF_PROG_TYPE_OREORE. Every subcommand takes --json; `oreore help`
// and `oreore GROUP help` print the usage (the table in help.go).
//
// Programs and maps are named as bpftool names them, wherever a verb takes
// one (spec.go), and a bare number is an id:
//
//	PROG := { id PROG_ID | pinned FILE | tag PROG_TAG | name PROG_NAME }
//	MAP  := { id MAP_ID | pinned FILE | name MAP_NAME }
//
// A name or tag may match several: show and map dump print them all, as
// bpftool does; the verbs that act on one refuse and list the ids.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/arch/arm64/arm64asm"
	"golang.org/x/arch/s390x/s390xasm"
	"golang.org/x/arch/x86/x86asm"
	"golang.org/x/sys/unix"

	"oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/object"
	"oreore/harness/oreore"
	"oreore/harness/xdp"
	"oreore/programs"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "oreore:", err)
		os.Exit(1)
	}
}

type cmd struct {
	out     io.Writer
	jsonOut bool
}

// run parses global flags, then dispatches "group verb args...".
func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("oreore", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors go back on one line, help to out
	c := &cmd{out: out}
	fs.BoolVar(&c.jsonOut, "json", false, "print JSON")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return help(out, "", nil)
	} else if err != nil {
		return fmt.Errorf("%v: try \"oreore help\"", err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return errors.New(`no command: try "oreore help"`)
	}
	group, rest := rest[0], rest[1:]
	if group == "help" {
		if len(rest) > 1 || (len(rest) == 1 && groupVerbs(rest[0]) == nil) {
			return fmt.Errorf("unknown command %q: try \"oreore help\"", strings.Join(append([]string{"help"}, rest...), " "))
		}
		return help(out, strings.Join(rest, ""), nil)
	}
	vs := groupVerbs(group)
	if vs == nil {
		return fmt.Errorf("unknown command %q: try \"oreore help\"", group)
	}
	v := vs[0]
	if v.name != "" { // all but tracelog have verbs
		if len(rest) == 0 {
			return fmt.Errorf("%s: missing a verb: try \"oreore %s help\"", group, group)
		}
		if rest[0] == "help" || isHelpFlag(rest[0]) {
			return help(out, group, nil)
		}
		if v = findVerb(group, rest[0]); v == nil {
			return fmt.Errorf("unknown command \"%s %s\": try \"oreore %s help\"", group, rest[0], group)
		}
		rest = rest[1:]
	}
	if slices.ContainsFunc(rest, isHelpFlag) {
		return help(out, group, v)
	}
	err := v.run(c, rest)
	if errors.Is(err, errUsage) {
		return errors.New("usage: oreore " + v.usage)
	}
	return err
}

// print writes v as JSON, or text as given.
func (c *cmd) print(v any, text string) error {
	if c.jsonOut {
		enc := json.NewEncoder(c.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	_, err := io.WriteString(c.out, text)
	return err
}

// printFound prints one match as an object and several as an array, as
// bpftool's show does, so `show id N --json` stays an object.
func printFound[T any](c *cmd, all []T, text string) error {
	if len(all) == 1 {
		return c.print(all[0], text)
	}
	return c.print(all, text)
}

// withProg runs f on the one program the PROG at the front of args names;
// nargs more arguments must follow it (any number if nargs < 0), and f
// gets them.
func (c *cmd) withProg(args []string, nargs int, f func(bpf.FD, []string) error) error {
	s, rest, err := progKind.parse(args)
	if err != nil {
		return err
	}
	if nargs >= 0 && len(rest) != nargs {
		return errUsage
	}
	fd, err := s.openOne()
	if err != nil {
		return err
	}
	defer fd.Close()
	return f(fd, rest)
}

// progTypes names the prog types as bpftool does; the numbers are uapi.
var progTypes = []string{"unspec", "socket_filter", "kprobe", "sched_cls", "sched_act", "tracepoint", "xdp",
	"perf_event", "cgroup_skb", "cgroup_sock", "lwt_in", "lwt_out", "lwt_xmit", "sock_ops", "sk_skb",
	"cgroup_device", "sk_msg", "raw_tracepoint", "cgroup_sock_addr", "lwt_seg6local", "lirc_mode2",
	"sk_reuseport", "flow_dissector", "cgroup_sysctl", "raw_tracepoint_writable", "cgroup_sockopt",
	"tracing", "struct_ops", "ext", "lsm", "sk_lookup", "syscall", "netfilter"}

func typeName(t uint32) string {
	// The oreore number depends on the kernel series (it follows netfilter on 6.12).
	if u, err := oreore.Kernel(); err == nil && t == u.ProgType {
		return "oreore"
	}
	if int(t) < len(progTypes) {
		return progTypes[t]
	}
	return fmt.Sprintf("type %d", t)
}

// progJSON is a program as `prog show --json` prints it.
type progJSON struct {
	ID         uint32   `json:"id"`
	Type       string   `json:"type"`
	Name       string   `json:"name"`
	Tag        string   `json:"tag"`
	GPL        bool     `json:"gpl_compatible"`
	LoadedAt   uint64   `json:"loaded_at_ns"`
	UID        uint32   `json:"uid"`
	Xlated     uint32   `json:"bytes_xlated"`
	Jited      uint32   `json:"bytes_jited"`
	MapIDs     []uint32 `json:"map_ids"`
	Memlock    uint64   `json:"bytes_memlock"`
	BTFID      uint32   `json:"btf_id,omitempty"`
	RunCount   uint64   `json:"run_cnt,omitempty"`
	RunTimeNs  uint64   `json:"run_time_ns,omitempty"`
	VerifiedIn uint32   `json:"verified_insns"`
}

func describe(fd bpf.FD) (progJSON, error) {
	info, err := bpf.ProgGetInfo(fd)
	if err != nil {
		return progJSON{}, err
	}
	_, maps, err := bpf.ProgXlated(fd)
	if err != nil {
		return progJSON{}, err
	}
	return progJSON{
		Memlock: memlock(fd),
		ID:      info.ID, Type: typeName(info.Type), Name: info.Name, Tag: fmt.Sprintf("%x", info.Tag[:]),
		GPL: info.GPLCompatible, LoadedAt: uint64(info.LoadTime), UID: info.CreatedByUID,
		Xlated: info.XlatedLen, Jited: info.JitedLen, MapIDs: maps, BTFID: info.BTFID,
		RunCount: info.RunCount, RunTimeNs: uint64(info.RunTime), VerifiedIn: info.VerifiedInsns,
	}, nil
}

func (p progJSON) text() string {
	s := fmt.Sprintf("%d: %s  name %s  tag %s", p.ID, p.Type, p.Name, p.Tag)
	if p.GPL {
		s += "  gpl"
	}
	if p.RunCount > 0 {
		s += fmt.Sprintf(" run_time_ns %d run_cnt %d", p.RunTimeNs, p.RunCount)
	}
	s += fmt.Sprintf("\n\tloaded_at %dns  uid %d\n\txlated %dB  jited %dB  memlock %dB", p.LoadedAt, p.UID, p.Xlated, p.Jited, p.Memlock)
	if len(p.MapIDs) > 0 {
		var ids []string
		for _, id := range p.MapIDs {
			ids = append(ids, fmt.Sprint(id))
		}
		s += "\n\tmap_ids " + strings.Join(ids, ",")
	}
	if p.BTFID != 0 {
		s += fmt.Sprintf("\n\tbtf_id %d", p.BTFID)
	}
	return s + "\n"
}

func (c *cmd) progList() error {
	ids, err := bpf.ProgIDs()
	if err != nil {
		return err
	}
	all := []progJSON{}
	var text strings.Builder
	for _, id := range ids {
		fd, err := bpf.ProgGetFDByID(id)
		if errors.Is(err, unix.ENOENT) {
			continue // unloaded since it was listed
		}
		if err != nil {
			return err
		}
		p, err := describe(fd)
		fd.Close()
		if err != nil {
			return err
		}
		all = append(all, p)
		text.WriteString(p.text())
	}
	return c.print(all, text.String())
}

// xlatedLine prints an instruction of the kernel's view: map loads name
// the map by id, helper calls the helper, as bpftool does.
func xlatedLine(ins asm.Instruction, helpers map[uint64]string, callBase uint64) string {
	if ins.OpCode == asm.ClassJMP|asm.OpCode(asm.Call) && ins.Src == 0 && callBase != 0 {
		// The kernel stores a helper call as its address minus __bpf_call_base.
		if name, ok := helpers[callBase+uint64(ins.Constant)]; ok {
			return fmt.Sprintf("call %s#%d", name, ins.Constant)
		}
	}
	if ins.IsLoadImm64() {
		switch ins.Src {
		case asm.PseudoMapFD:
			return fmt.Sprintf("r%d = map[id:%d]", ins.Dst, uint32(ins.Constant))
		case 2: // BPF_PSEUDO_MAP_VALUE
			return fmt.Sprintf("r%d = map[id:%d][0]+%d", ins.Dst, uint32(ins.Constant), uint32(uint64(ins.Constant)>>32))
		}
	}
	return ins.String()
}

func (c *cmd) progDumpXlated(fd bpf.FD) error {
	insns, _, err := bpf.ProgXlated(fd)
	if err != nil {
		return err
	}
	if insns == nil {
		return errors.New("the kernel shows no xlated instructions to this caller")
	}
	helpers, callBase := kallsyms()
	lines := []string{}
	var text strings.Builder
	slot := 0
	for _, ins := range insns {
		line := xlatedLine(ins, helpers, callBase)
		lines = append(lines, line)
		fmt.Fprintf(&text, "%4d: %s\n", slot, line)
		slot += ins.Slots()
	}
	return c.print(lines, text.String())
}

func (c *cmd) progDump(args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	switch args[0] {
	case "xlated":
		return c.withProg(args[1:], 0, func(fd bpf.FD, _ []string) error { return c.progDumpXlated(fd) })
	case "jited":
		return c.withProg(args[1:], 0, func(fd bpf.FD, _ []string) error { return c.progDumpJited(fd) })
	}
	return errUsage
}

func (c *cmd) progRun(args []string) error {
	return c.withProg(args, -1, c.progRunFD)
}

func (c *cmd) progRunFD(fd bpf.FD, args []string) error {
	fs := flag.NewFlagSet("prog run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	ctxIn := fs.String("ctx-in", "", "file with the context")
	dataIn := fs.String("data-in", "", "file with the packet")
	repeat := fs.Uint("repeat", 1, "runs")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("prog run: %w", err)
	}
	if fs.NArg() != 0 {
		return errUsage
	}
	var in bpf.TestRun
	var err error
	if *ctxIn != "" {
		if in.CtxIn, err = os.ReadFile(*ctxIn); err != nil {
			return err
		}
	}
	if *dataIn != "" {
		if in.DataIn, err = os.ReadFile(*dataIn); err != nil {
			return err
		}
		in.DataOut = make([]byte, len(in.DataIn)+4096)
	}
	in.Repeat = uint32(*repeat)
	res, err := bpf.ProgTestRun(fd, in)
	if err != nil {
		return err
	}
	out := struct {
		Retval     uint32 `json:"retval"`
		DurationNs int64  `json:"duration_ns"`
		DataOut    []byte `json:"data_out,omitempty"`
	}{res.Retval, res.Duration.Nanoseconds(), res.DataOut}
	text := fmt.Sprintf("retval %d  duration %dns\n", res.Retval, res.Duration.Nanoseconds())
	if len(res.DataOut) > 0 {
		text += fmt.Sprintf("data_out %x\n", res.DataOut)
	}
	return c.print(out, text)
}

// builtins are the hand-assembled programs, loadable by name.
var builtins = map[string]func() asm.Instructions{"add42": programs.Add42}

func (c *cmd) progLoad(args []string) error {
	fs := flag.NewFlagSet("prog load", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	pin := fs.String("pin", "", "pin the program here, in a bpf file system")
	if len(args) < 1 {
		return errUsage
	}
	section, flags := "", args[1:]
	if len(flags) > 0 && !strings.HasPrefix(flags[0], "-") {
		section, flags = flags[0], flags[1:]
	}
	if err := fs.Parse(flags); err != nil {
		return fmt.Errorf("prog load: %w", err)
	}
	if fs.NArg() != 0 {
		return errUsage
	}
	if *pin == "" {
		return errors.New("a loaded program lives only as long as something holds it: give --pin PATH")
	}
	var fd bpf.FD
	if name, ok := strings.CutPrefix(args[0], "builtin:"); ok {
		build, ok := builtins[name]
		if !ok {
			return fmt.Errorf("no built-in program %q", name)
		}
		var err error
		if fd, err = oreore.Load(name, build()); err != nil {
			return err
		}
	} else {
		o, err := object.Open(args[0])
		if err != nil {
			return err
		}
		prog := o.Programs[0]
		if section != "" {
			prog = nil
			for _, p := range o.Programs {
				if p.Section == section {
					prog = p
					break
				}
			}
			if prog == nil {
				return fmt.Errorf("%s has no program in section %s", args[0], section)
			}
		}
		opts, err := loadOptions(o)
		if err != nil {
			return err
		}
		coll, err := o.LoadWith(opts)
		if err != nil {
			return err
		}
		defer coll.Close()
		fd = coll.Programs[prog.Name]
	}
	if err := bpf.ObjPin(fd, *pin); err != nil {
		return err
	}
	p, err := describe(fd)
	if err != nil {
		return err
	}
	return c.print(p, p.text())
}

// loadOptions gives the loader the oreore section, with the running
// kernel's numbers. Only an object with an oreore program asks for them, so
// that the generic sections load on any kernel.
func loadOptions(o *object.Object) (object.LoadOptions, error) {
	for _, p := range o.Programs {
		if p.Kind == "oreore" {
			u, err := oreore.Kernel()
			if err != nil {
				return object.LoadOptions{}, fmt.Errorf("program %s (section %s): %w", p.Name, p.Section, err)
			}
			return object.LoadOptions{Sections: map[string]object.ProgType{
				"oreore": {Type: u.ProgType, ExpectedAttachType: u.AttachType},
			}}, nil
		}
	}
	return object.LoadOptions{}, nil
}

func (c *cmd) oreoreRun(args []string) error {
	if len(args) != 1 {
		return errUsage
	}
	n, err := strconv.ParseUint(args[0], 0, 32)
	if err != nil {
		return err
	}
	got, err := oreore.Run(uint32(n))
	if err != nil {
		return err
	}
	return c.print(map[string]uint32{"input": uint32(n), "result": got}, fmt.Sprintf("%d\n", got))
}

// oreoreLink puts the program in the slot through a BPF link and pins the
// link: the command's fd goes when it exits, the pin keeps the link.
func oreoreLink(prog bpf.FD, path string) error {
	link, err := oreore.LinkCreate(prog)
	if err != nil {
		return err
	}
	defer link.Close()
	return bpf.ObjPin(link, path)
}

// oreoreStatus says which program the oreore slot holds (BPF_PROG_QUERY).
func (c *cmd) oreoreStatus() error {
	id, err := oreore.Attached()
	if err != nil {
		return err
	}
	if id == 0 {
		return c.print(map[string]any{"attached": nil}, "nothing attached\n")
	}
	fd, err := bpf.ProgGetFDByID(id)
	if err != nil {
		return err
	}
	defer fd.Close()
	p, err := describe(fd)
	if err != nil {
		return err
	}
	return c.print(map[string]any{"attached": p}, "attached: "+p.text())
}

// progDumpJited disassembles the machine code the JIT wrote, for the
// machine this runs on (x86-64, arm64 or s390x).
func (c *cmd) progDumpJited(fd bpf.FD) error {
	code, err := bpf.ProgJited(fd)
	if err != nil {
		return err
	}
	if code == nil {
		return errors.New("the program is not JITed, or the kernel hides its code from this caller")
	}
	decode, ok := disassemblers[runtime.GOARCH]
	if !ok {
		return fmt.Errorf("no disassembler for %s", runtime.GOARCH)
	}
	type line struct {
		Offset int    `json:"pc"`
		Insn   string `json:"insn"`
		Bytes  string `json:"bytes"`
	}
	lines := []line{}
	var text strings.Builder
	for pc := 0; pc < len(code); {
		asm, n := decode(code[pc:], pc)
		n = min(max(n, 1), len(code)-pc)
		l := line{pc, asm, fmt.Sprintf("%x", code[pc:pc+n])}
		lines = append(lines, l)
		fmt.Fprintf(&text, "%4x:\t%-24s %s\n", pc, l.Bytes, l.Insn)
		pc += n
	}
	return c.print(lines, text.String())
}

// disassemblers decode one instruction at pc: its text and length. As
// objdump does, what does not decode is "(bad)" and the next byte (x86) or
// word (the fixed-length machines) is tried.
var disassemblers = map[string]func(code []byte, pc int) (string, int){
	"amd64": func(code []byte, pc int) (string, int) {
		inst, err := x86asm.Decode(code, 64)
		if err != nil {
			return "(bad)", 1 // x86asm lacks some instructions newer JITs emit
		}
		return x86asm.IntelSyntax(inst, uint64(pc), nil), inst.Len
	},
	"arm64": func(code []byte, pc int) (string, int) {
		inst, err := arm64asm.Decode(code)
		if err != nil {
			return "(bad)", 4
		}
		return arm64asm.GNUSyntax(inst), 4
	},
	"s390x": func(code []byte, pc int) (string, int) {
		inst, err := s390xasm.Decode(code)
		if err != nil || inst.Len == 0 {
			return "(bad)", 2
		}
		return s390xasm.GNUSyntax(inst, uint64(pc)), inst.Len
	},
}

func (c *cmd) netList() error {
	all, err := xdp.List()
	if err != nil {
		return err
	}
	if all == nil {
		all = []xdp.Attachment{}
	}
	var text strings.Builder
	text.WriteString("xdp:\n")
	for _, a := range all {
		fmt.Fprintf(&text, "%s(%d) %s id %d\n", a.Name, a.Ifindex, a.Mode, a.ProgID)
	}
	return c.print(all, text.String())
}

// memlock is what the kernel charges the program, from its fdinfo.
func memlock(fd bpf.FD) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", fd))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "memlock:"); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// progShow shows every program the PROG names (a name or tag may match
// several), and without one all of them, as bpftool does.
func (c *cmd) progShow(args []string) error {
	if len(args) == 0 {
		return c.progList()
	}
	fds, err := progKind.openAll(args)
	if err != nil {
		return err
	}
	defer closeAll(fds)
	var all []progJSON
	var text strings.Builder
	for _, fd := range fds {
		p, err := describe(fd)
		if err != nil {
			return err
		}
		all = append(all, p)
		text.WriteString(p.text())
	}
	return printFound(c, all, text.String())
}

// netAttach: net attach xdp PROG dev IFACE.
func (c *cmd) netAttach(args []string) error {
	if len(args) < 1 || args[0] != "xdp" {
		return errUsage
	}
	return c.withProg(args[1:], 2, func(fd bpf.FD, rest []string) error {
		if rest[0] != "dev" {
			return errUsage
		}
		return xdp.AttachNetlink(rest[1], fd)
	})
}

// netDetach: net detach xdp dev IFACE.
func (c *cmd) netDetach(args []string) error {
	if len(args) != 3 || args[0] != "xdp" || args[1] != "dev" {
		return errUsage
	}
	return xdp.DetachNetlink(args[2])
}

// kallsyms maps kernel text addresses to names, and finds __bpf_call_base;
// without /proc/kallsyms (or with its addresses hidden) calls stay numeric.
func kallsyms() (map[uint64]string, uint64) {
	b, err := os.ReadFile("/proc/kallsyms")
	if err != nil {
		return nil, 0
	}
	syms := map[uint64]string{}
	var base uint64
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || (f[1] != "T" && f[1] != "t") {
			continue
		}
		addr, err := strconv.ParseUint(f[0], 16, 64)
		if err != nil || addr == 0 {
			continue
		}
		syms[addr] = f[2]
		if f[2] == "__bpf_call_base" {
			base = addr
		}
	}
	return syms, base
}

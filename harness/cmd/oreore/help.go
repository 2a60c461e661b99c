package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"oreore/harness/bpf"
	"oreore/harness/oreore"
)

// verb is one command. Its usage line feeds help, --help and the usage
// errors alike, so the three cannot drift apart.
type verb struct {
	group, name string // name "" for tracelog, which has no verbs
	usage       string // after "oreore [--json] "
	note        string // printed under the usage, once per help
	run         func(c *cmd, args []string) error
}

// errUsage from a verb makes run answer with the verb's usage line.
var errUsage = errors.New("usage")

const hexNote = `KEY, VALUE := hex bytes, "01 00 00 00" or 01000000`

// verbs in the order help prints them.
var verbs = []*verb{
	{group: "prog", name: "list", usage: "prog list", run: noArgs((*cmd).progList)},
	{group: "prog", name: "show", usage: "prog show [PROG]", run: (*cmd).progShow},
	{group: "prog", name: "dump", usage: "prog dump xlated|jited PROG", run: (*cmd).progDump},
	{group: "prog", name: "run", usage: "prog run PROG [--ctx-in FILE] [--data-in FILE] [--repeat N]", run: (*cmd).progRun},
	{group: "prog", name: "load", usage: "prog load OBJ [SECTION]|builtin:NAME --pin PATH", run: (*cmd).progLoad},
	{group: "prog", name: "pin", usage: "prog pin PROG PATH", run: func(c *cmd, args []string) error {
		return c.withProg(args, 1, func(fd bpf.FD, rest []string) error { return bpf.ObjPin(fd, rest[0]) })
	}},
	{group: "prog", name: "stats", usage: "prog stats on|off", run: (*cmd).progStats},
	{group: "map", name: "list", usage: "map list", run: noArgs((*cmd).mapList)},
	{group: "map", name: "show", usage: "map show [MAP]", run: (*cmd).mapShow},
	{group: "map", name: "dump", usage: "map dump MAP", run: (*cmd).mapDump},
	{group: "map", name: "lookup", usage: "map lookup MAP KEY", note: hexNote, run: func(c *cmd, args []string) error {
		return c.withMap(args, 1, c.mapLookup)
	}},
	{group: "map", name: "update", usage: "map update MAP KEY VALUE", note: hexNote, run: func(c *cmd, args []string) error {
		return c.withMap(args, 2, c.mapUpdate)
	}},
	{group: "map", name: "delete", usage: "map delete MAP KEY", note: hexNote, run: func(c *cmd, args []string) error {
		return c.withMap(args, 1, mapDelete)
	}},
	{group: "struct_ops", name: "list", usage: "struct_ops list [MAP]", run: (*cmd).structOpsList},
	{group: "struct_ops", name: "dump", usage: "struct_ops dump [MAP]", run: (*cmd).structOpsDump},
	{group: "struct_ops", name: "register", usage: "struct_ops register OBJ [LINK_DIR]", run: (*cmd).structOpsRegister,
		note: "a .struct_ops.link variable's link is pinned in LINK_DIR; without one it unregisters when the command ends"},
	{group: "struct_ops", name: "unregister", usage: "struct_ops unregister MAP", run: (*cmd).structOpsUnregister},
	{group: "link", name: "list", usage: "link list", run: noArgs((*cmd).linkList)},
	{group: "net", name: "list", usage: "net list", run: noArgs((*cmd).netList)},
	{group: "net", name: "attach", usage: "net attach xdp PROG dev IFACE", run: (*cmd).netAttach},
	{group: "net", name: "detach", usage: "net detach xdp dev IFACE", run: (*cmd).netDetach},
	{group: "oreore", name: "attach", usage: "oreore attach PROG", run: func(c *cmd, args []string) error {
		return c.withProg(args, 0, func(fd bpf.FD, _ []string) error { return oreore.Attach(fd) })
	}},
	{group: "oreore", name: "detach", usage: "oreore detach PROG", run: func(c *cmd, args []string) error {
		return c.withProg(args, 0, func(fd bpf.FD, _ []string) error { return oreore.Detach(fd) })
	}},
	{group: "oreore", name: "link", usage: "oreore link PROG PATH",
		note: "oreore link pins a BPF link at PATH: removing the pin detaches the program",
		run: func(c *cmd, args []string) error {
			return c.withProg(args, 1, func(fd bpf.FD, rest []string) error { return oreoreLink(fd, rest[0]) })
		}},
	{group: "oreore", name: "run", usage: "oreore run N", run: (*cmd).oreoreRun},
	{group: "oreore", name: "status", usage: "oreore status", run: noArgs((*cmd).oreoreStatus)},
	{group: "tracelog", usage: "tracelog", run: noArgs(func(c *cmd) error { return tracelog(context.Background(), c.out) })},
}

func noArgs(f func(*cmd) error) func(*cmd, []string) error {
	return func(c *cmd, args []string) error {
		if len(args) != 0 {
			return errUsage
		}
		return f(c)
	}
}

func groupVerbs(group string) []*verb {
	var vs []*verb
	for _, v := range verbs {
		if v.group == group {
			vs = append(vs, v)
		}
	}
	return vs
}

func findVerb(group, name string) *verb {
	for _, v := range verbs {
		if v.group == group && v.name == name {
			return v
		}
	}
	return nil
}

func isHelpFlag(arg string) bool { return arg == "-h" || arg == "--help" }

// help prints the usage of one verb, one group, or (group "") everything,
// with the PROG and MAP grammars the lines use. Asked for, help is output,
// not an error: it goes to out.
func help(out io.Writer, group string, only *verb) error {
	var lines, notes []string
	for _, v := range verbs {
		if (group == "" || v.group == group) && (only == nil || v == only) {
			lines = append(lines, "oreore [--json] "+v.usage)
			if v.note != "" && !slices.Contains(notes, v.note) {
				notes = append(notes, v.note)
			}
		}
	}
	switch {
	case group == "":
		lines = append(lines, "oreore help | oreore GROUP help | oreore GROUP VERB --help")
	case only == nil && group != "tracelog":
		lines = append(lines, "oreore "+group+" help")
	}
	all := strings.Join(lines, "\n")
	var defs []string
	for _, k := range []*kind{progKind, mapKind} {
		if strings.Contains(all, k.meta) {
			defs = append(defs, k.grammar())
		}
	}
	var b strings.Builder
	for i, l := range lines {
		fmt.Fprintf(&b, "%s%s\n", map[bool]string{true: "Usage: ", false: "       "}[i == 0], l)
	}
	if len(defs)+len(notes) > 0 {
		b.WriteString("\n")
	}
	for _, d := range append(defs, notes...) {
		fmt.Fprintf(&b, "       %s\n", d)
	}
	_, err := io.WriteString(out, b.String())
	return err
}

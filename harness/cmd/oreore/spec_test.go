package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/netns"
)

// These tests need root and bpf(2), but no compiled objects: the programs
// are two instructions assembled here, the maps created here.

// oreoreErr runs the command and returns its error, which must be one line.
func oreoreErr(t *testing.T, args ...string) error {
	t.Helper()
	var out bytes.Buffer
	err := run(args, &out)
	if err != nil && strings.Contains(err.Error(), "\n") {
		t.Errorf("oreore %s: the error is not one line: %q", strings.Join(args, " "), err)
	}
	return err
}

// uniqueName keeps the test's objects apart from everyone else's on the
// host, within the kernel's 15 bytes.
func uniqueName(t *testing.T, suffix string) string {
	name := fmt.Sprintf("s%d%s", os.Getpid(), suffix)
	if len(name) >= unix.BPF_OBJ_NAME_LEN {
		t.Fatalf("name %q is too long for the kernel", name)
	}
	return name
}

// retval makes each loaded program's instructions, hence its tag, unique.
var retval atomic.Int32

func init() { retval.Store(int32(time.Now().UnixNano() & 0xfffffff)) }

type loaded struct {
	id  string
	tag string
	ret int32
	fd  bpf.FD
}

// loadConst loads "r0 = K; exit" under name; with same, K is the previous
// program's, so the two share a tag as well.
func loadConst(t *testing.T, progType uint32, name string, same bool) loaded {
	t.Helper()
	if unix.Geteuid() != 0 {
		t.Fatal("the oreore command's tests need root")
	}
	ret := retval.Load()
	if !same {
		ret = retval.Add(1)
	}
	attr := bpf.ProgLoadAttr{Type: progType, Name: name, License: "GPL",
		Insns: asm.Instructions{asm.Mov.Imm(asm.R0, ret), asm.Return()}}
	fd, err := bpf.ProgLoad(attr)
	// The verifier gives up with EAGAIN when a signal is pending (Linux
	// c3494801cd17); libbpf retries 5 times, bpf.ProgLoad does not yet.
	for try := 1; errors.Is(err, unix.EAGAIN) && try < 5; try++ {
		fd, err = bpf.ProgLoad(attr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fd.Close() })
	info, err := bpf.ProgGetInfo(fd)
	if err != nil {
		t.Fatal(err)
	}
	return loaded{id: fmt.Sprint(info.ID), tag: fmt.Sprintf("%x", info.Tag[:]), ret: ret, fd: fd}
}

func createMap(t *testing.T, name string) (bpf.FD, string) {
	t.Helper()
	fd, err := bpf.MapCreate(bpf.MapCreateAttr{Type: unix.BPF_MAP_TYPE_HASH, KeySize: 4, ValueSize: 4, MaxEntries: 4, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fd.Close() })
	info, err := bpf.MapGetInfo(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fd, fmt.Sprint(info.ID)
}

func TestProgSpecParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		by, arg string
		rest    int
		err     string
	}{
		{name: "bare id, as before specs", args: []string{"42"}, by: "id", arg: "42"},
		{name: "bare id then the verb's args", args: []string{"42", "/sys/fs/bpf/p"}, by: "id", arg: "42", rest: 1},
		{name: "id", args: []string{"id", "42"}, by: "id", arg: "42"},
		{name: "pinned", args: []string{"pinned", "/sys/fs/bpf/p", "dev", "eth0"}, by: "pinned", arg: "/sys/fs/bpf/p", rest: 2},
		{name: "tag", args: []string{"tag", "0123456789abcdef"}, by: "tag", arg: "0123456789abcdef"},
		{name: "name", args: []string{"name", "xdp_count"}, by: "name", arg: "xdp_count"},
		{name: "name of 15 bytes", args: []string{"name", "abcdefghijklmno"}, by: "name", arg: "abcdefghijklmno"},
		{name: "no PROG", args: nil, err: "missing PROG: want { id PROG_ID | pinned FILE | tag PROG_TAG | name PROG_NAME }"},
		{name: "id without argument", args: []string{"id"}, err: "PROG id: missing PROG_ID"},
		{name: "pinned without argument", args: []string{"pinned"}, err: "PROG pinned: missing FILE"},
		{name: "tag without argument", args: []string{"tag"}, err: "PROG tag: missing PROG_TAG"},
		{name: "name without argument", args: []string{"name"}, err: "PROG name: missing PROG_NAME"},
		{name: "non-numeric id", args: []string{"id", "x1"}, err: `PROG id "x1": invalid syntax`},
		{name: "negative id", args: []string{"id", "-1"}, err: `PROG id "-1": invalid syntax`},
		{name: "id past u32", args: []string{"id", "4294967296"}, err: `PROG id "4294967296": value out of range`},
		{name: "tag of 15 digits", args: []string{"tag", "0123456789abcde"}, err: `PROG tag "0123456789abcde": want 16 hex digits`},
		{name: "tag of 18 digits", args: []string{"tag", "0123456789abcdef01"}, err: "want 16 hex digits"},
		{name: "tag not hex", args: []string{"tag", "0123456789abcdeg"}, err: "want 16 hex digits"},
		{name: "tag with colons", args: []string{"tag", "01:23:45:67:89:ab:cd:ef"}, err: "want 16 hex digits"},
		{name: "name longer than BPF_OBJ_NAME_LEN", args: []string{"name", "abcdefghijklmnop"}, err: "want 1 to 15 bytes"},
		{name: "empty name", args: []string{"name", ""}, err: "want 1 to 15 bytes"},
		{name: "unknown keyword", args: []string{"handle", "3"}, err: `PROG "handle": want {`},
		{name: "bare name", args: []string{"xdp_count"}, err: `PROG "xdp_count": want {`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, rest, err := progKind.parse(tc.args)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parse %q: %v, want an error with %q", tc.args, err, tc.err)
				}
				return
			}
			if err != nil || s.by != tc.by || s.arg != tc.arg || len(rest) != tc.rest {
				t.Fatalf("parse %q: %s %s, %d left, %v; want %s %s, %d left", tc.args, s.by, s.arg, len(rest), err, tc.by, tc.arg, tc.rest)
			}
		})
	}
}

func TestMapSpecParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		by, arg string
		err     string
	}{
		{name: "bare id", args: []string{"7", "00000000"}, by: "id", arg: "7"},
		{name: "id", args: []string{"id", "7"}, by: "id", arg: "7"},
		{name: "pinned", args: []string{"pinned", "/sys/fs/bpf/m"}, by: "pinned", arg: "/sys/fs/bpf/m"},
		{name: "name", args: []string{"name", "drop_flag"}, by: "name", arg: "drop_flag"},
		{name: "maps have no tag", args: []string{"tag", "0123456789abcdef"}, err: `MAP "tag": want { id MAP_ID | pinned FILE | name MAP_NAME }`},
		{name: "no MAP", args: nil, err: "missing MAP"},
		{name: "name without argument", args: []string{"name"}, err: "MAP name: missing MAP_NAME"},
		{name: "non-numeric id", args: []string{"id", "seven"}, err: `MAP id "seven": invalid syntax`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, err := mapKind.parse(tc.args)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parse %q: %v, want an error with %q", tc.args, err, tc.err)
				}
				return
			}
			if err != nil || s.by != tc.by || s.arg != tc.arg {
				t.Fatalf("parse %q: %s %s, %v; want %s %s", tc.args, s.by, s.arg, err, tc.by, tc.arg)
			}
		})
	}
}

// Every verb that takes a PROG finds it by id, pinned path, tag and name;
// two programs of one name (and tag) make the one-program verbs refuse.
func TestProgSpecResolve(t *testing.T) {
	dir := bpffs(t)
	one := loadConst(t, unix.BPF_PROG_TYPE_SOCKET_FILTER, uniqueName(t, "_one"), false)
	pin := filepath.Join(dir, "one")
	if err := bpf.ObjPin(one.fd, pin); err != nil {
		t.Fatal(err)
	}
	twin := uniqueName(t, "_twin")
	a := loadConst(t, unix.BPF_PROG_TYPE_SOCKET_FILTER, twin, false)
	b := loadConst(t, unix.BPF_PROG_TYPE_SOCKET_FILTER, twin, true)
	if a.tag != b.tag {
		t.Fatalf("the twins' tags differ: %s, %s", a.tag, b.tag)
	}
	mapFD, _ := createMap(t, uniqueName(t, "_m"))
	mapPin := filepath.Join(dir, "map")
	if err := bpf.ObjPin(mapFD, mapPin); err != nil {
		t.Fatal(err)
	}
	frame := filepath.Join(t.TempDir(), "frame")
	os.WriteFile(frame, make([]byte, 64), 0o644)
	wantShow := one.id + ": socket_filter  name " + uniqueName(t, "_one") + "  tag " + one.tag

	specs := [][]string{{one.id}, {"id", one.id}, {"pinned", pin}, {"tag", one.tag}, {"name", uniqueName(t, "_one")}}
	for _, spec := range specs {
		t.Run(spec[0], func(t *testing.T) {
			with := func(verb ...string) []string { return append(verb, spec...) }
			if out := oreoreCmd(t, with("prog", "show")...); !strings.HasPrefix(out, wantShow) {
				t.Errorf("prog show %s: %q, want %q", spec, out, wantShow)
			}
			var js struct{ ID uint32 }
			if err := json.Unmarshal([]byte(oreoreCmd(t, with("--json", "prog", "show")...)), &js); err != nil || fmt.Sprint(js.ID) != one.id {
				t.Errorf("prog show --json %s: %+v, %v; want one object of id %s", spec, js, err, one.id)
			}
			want := fmt.Sprintf("retval %d ", one.ret)
			if out := oreoreCmd(t, append(with("prog", "run"), "--data-in", frame)...); !strings.HasPrefix(out, want) {
				t.Errorf("prog run %s: %q, want %q", spec, out, want)
			}
			if out := oreoreCmd(t, with("prog", "dump", "xlated")...); !strings.Contains(out, fmt.Sprintf("r0 = %d", one.ret)) {
				t.Errorf("prog dump xlated %s:\n%s", spec, out)
			}
			if out := oreoreCmd(t, with("prog", "dump", "jited")...); out == "" {
				t.Errorf("prog dump jited %s printed nothing", spec)
			}
			again := filepath.Join(dir, "again-"+spec[0])
			oreoreCmd(t, append(with("prog", "pin"), again)...)
			fd, err := bpf.ObjGet(again)
			if err != nil {
				t.Fatal(err)
			}
			info, _ := bpf.ProgGetInfo(fd)
			fd.Close()
			if fmt.Sprint(info.ID) != one.id {
				t.Errorf("prog pin %s pinned program %d, want %s", spec, info.ID, one.id)
			}
		})
	}

	t.Run("show all matches of a name", func(t *testing.T) {
		out := oreoreCmd(t, "prog", "show", "name", twin)
		for _, id := range []string{a.id, b.id} {
			if !strings.Contains(out, id+": socket_filter  name "+twin) {
				t.Errorf("prog show name %s lacks id %s:\n%s", twin, id, out)
			}
		}
		var js []struct{ ID uint32 }
		if err := json.Unmarshal([]byte(oreoreCmd(t, "--json", "prog", "show", "tag", a.tag)), &js); err != nil || len(js) != 2 {
			t.Errorf("prog show --json tag %s: %+v, %v; want an array of the 2 twins", a.tag, js, err)
		}
	})

	ambiguous := fmt.Sprintf("name %s matches 2 programs (ids %s, %s): use id", twin, a.id, b.id)
	ambiguousTag := fmt.Sprintf("tag %s matches 2 programs (ids %s, %s): use id", a.tag, a.id, b.id)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		// The ambiguity is found before anything acts: no attach reaches
		// the kernel, and the device does not exist anyway.
		{"prog run by a shared name", []string{"prog", "run", "name", twin, "--data-in", frame}, ambiguous},
		{"prog run by a shared tag", []string{"prog", "run", "tag", a.tag}, ambiguousTag},
		{"prog dump xlated by a shared name", []string{"prog", "dump", "xlated", "name", twin}, ambiguous},
		{"prog dump jited by a shared tag", []string{"prog", "dump", "jited", "tag", a.tag}, ambiguousTag},
		{"prog pin by a shared name", []string{"prog", "pin", "name", twin, filepath.Join(dir, "x")}, ambiguous},
		{"oreore attach by a shared name", []string{"oreore", "attach", "name", twin}, ambiguous},
		{"oreore detach by a shared name", []string{"oreore", "detach", "name", twin}, ambiguous},
		{"oreore link by a shared name", []string{"oreore", "link", "name", twin, filepath.Join(dir, "l")}, ambiguous},
		{"net attach xdp by a shared name", []string{"net", "attach", "xdp", "name", twin, "dev", "oreore-none"}, ambiguous},
		{"no program of the name is ENOENT", []string{"prog", "show", "name", uniqueName(t, "_none")}, "no program with name " + uniqueName(t, "_none") + ": ENOENT"},
		{"no program of the id is ENOENT", []string{"prog", "run", "id", "4000000000"}, "program id 4000000000: BPF_PROG_GET_FD_BY_ID: ENOENT"},
		{"pinned map as PROG is EINVAL", []string{"prog", "show", "pinned", mapPin}, "pinned " + mapPin + " holds a map, not a program: EINVAL"},
		{"pinned nothing is ENOENT", []string{"prog", "dump", "xlated", "pinned", filepath.Join(dir, "none")}, "BPF_OBJ_GET: ENOENT"},
		{"bad tag reaches no verb", []string{"prog", "pin", "tag", "abc", filepath.Join(dir, "y")}, `PROG tag "abc": want 16 hex digits`},
		{"prog pin without PATH", []string{"prog", "pin", "name", twin}, "usage: oreore prog pin PROG PATH"},
		{"net attach without dev", []string{"net", "attach", "xdp", "id", a.id, "oreore-none"}, "usage: oreore net attach xdp PROG dev IFACE"},
		{"prog run with a stray argument", []string{"prog", "run", "id", one.id, "extra"}, "usage: oreore prog run PROG"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := oreoreErr(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("oreore %s: %v, want %q", strings.Join(tc.args, " "), err, tc.want)
			}
		})
	}
}

// Every verb that takes a MAP finds it by id, pinned path and name; show
// and dump take all the maps of a name, lookup, update and delete refuse.
func TestMapSpecResolve(t *testing.T) {
	dir := bpffs(t)
	name := uniqueName(t, "_map")
	fd, id := createMap(t, name)
	pin := filepath.Join(dir, "map")
	if err := bpf.ObjPin(fd, pin); err != nil {
		t.Fatal(err)
	}
	twin := uniqueName(t, "_mtwin")
	_, a := createMap(t, twin)
	_, b := createMap(t, twin)
	prog := loadConst(t, unix.BPF_PROG_TYPE_SOCKET_FILTER, uniqueName(t, "_p"), false)
	progPin := filepath.Join(dir, "prog")
	if err := bpf.ObjPin(prog.fd, progPin); err != nil {
		t.Fatal(err)
	}

	for i, spec := range [][]string{{id}, {"id", id}, {"pinned", pin}, {"name", name}} {
		t.Run(spec[0], func(t *testing.T) {
			with := func(args ...string) []string {
				return append(append(args[:2:2], spec...), args[2:]...)
			}
			if out := oreoreCmd(t, with("map", "show")...); !strings.HasPrefix(out, id+": hash  name "+name) {
				t.Errorf("map show %s: %q", spec, out)
			}
			key := fmt.Sprintf("%02x000000", i)
			oreoreCmd(t, with("map", "update", key, "2a 00 00 00")...)
			want := fmt.Sprintf("key: %02x 00 00 00  value: 2a 00 00 00\n", i)
			if out := oreoreCmd(t, with("map", "lookup", key)...); out != want {
				t.Errorf("map lookup %s: %q, want %q", spec, out, want)
			}
			if out := oreoreCmd(t, with("map", "dump")...); !strings.HasPrefix(out, want) || !strings.HasSuffix(out, "Found 1 elements\n") {
				t.Errorf("map dump %s:\n%s", spec, out)
			}
			oreoreCmd(t, with("map", "delete", key)...)
			if out := oreoreCmd(t, with("map", "dump")...); out != "Found 0 elements\n" {
				t.Errorf("map dump %s after delete: %q", spec, out)
			}
		})
	}

	t.Run("show and dump all maps of a name", func(t *testing.T) {
		show := oreoreCmd(t, "map", "show", "name", twin)
		dump := oreoreCmd(t, "map", "dump", "name", twin)
		for _, id := range []string{a, b} {
			line := id + ": hash  name " + twin
			if !strings.Contains(show, line) || !strings.Contains(dump, line) {
				t.Errorf("map show/dump name %s lack %q:\n%s\n%s", twin, line, show, dump)
			}
		}
		if strings.Count(dump, "Found 0 elements\n") != 2 {
			t.Errorf("map dump name %s does not dump both:\n%s", twin, dump)
		}
		var js []struct {
			ID       uint32
			Elements []any
		}
		if err := json.Unmarshal([]byte(oreoreCmd(t, "--json", "map", "dump", "name", twin)), &js); err != nil || len(js) != 2 || js[0].Elements == nil {
			t.Errorf("map dump --json name %s: %+v, %v; want 2 maps with their elements", twin, js, err)
		}
		var one struct{ ID uint32 }
		if err := json.Unmarshal([]byte(oreoreCmd(t, "--json", "map", "show", "name", name)), &one); err != nil || fmt.Sprint(one.ID) != id {
			t.Errorf("map show --json name %s: %+v, %v; want one object", name, one, err)
		}
	})

	ambiguous := fmt.Sprintf("name %s matches 2 maps (ids %s, %s): use id", twin, a, b)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"map lookup by a shared name", []string{"map", "lookup", "name", twin, "00000000"}, ambiguous},
		{"map update by a shared name", []string{"map", "update", "name", twin, "00000000", "00000000"}, ambiguous},
		{"map delete by a shared name", []string{"map", "delete", "name", twin, "00000000"}, ambiguous},
		{"no map of the name is ENOENT", []string{"map", "dump", "name", uniqueName(t, "_none")}, "no map with name " + uniqueName(t, "_none") + ": ENOENT"},
		{"pinned program as MAP is EINVAL", []string{"map", "show", "pinned", progPin}, "pinned " + progPin + " holds a program, not a map: EINVAL"},
		{"map tag is not a MAP", []string{"map", "show", "tag", prog.tag}, `MAP "tag": want {`},
		{"map update without VALUE", []string{"map", "update", "name", name, "00000000"}, "usage: oreore map update MAP KEY VALUE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := oreoreErr(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("oreore %s: %v, want %q", strings.Join(tc.args, " "), err, tc.want)
			}
		})
	}
}

// net attach xdp takes a PROG: here by pinned path and by name, on the
// veth of a namespace of the test's own.
func TestNetAttachXDPBySpec(t *testing.T) {
	dir := bpffs(t)
	name := uniqueName(t, "_xdp")
	p := loadConst(t, unix.BPF_PROG_TYPE_XDP, name, false)
	pin := filepath.Join(dir, "xdp")
	if err := bpf.ObjPin(p.fd, pin); err != nil {
		t.Fatal(err)
	}
	pair, err := netns.NewPair()
	if err != nil {
		t.Fatal(err)
	}
	defer pair.Close()
	want := fmt.Sprintf("%s(%d) driver id %s", netns.VethB, pair.IfindexB, p.id)
	for _, spec := range [][]string{{"pinned", pin}, {"name", name}} {
		var list string
		// Do's thread must not call t.Fatal: run, not oreoreCmd.
		err := pair.B.Do(func() error {
			var out bytes.Buffer
			args := append(append([]string{"net", "attach", "xdp"}, spec...), "dev", netns.VethB)
			if err := run(args, &out); err != nil {
				return err
			}
			if err := run([]string{"net", "list"}, &out); err != nil {
				return err
			}
			list = out.String()
			return run([]string{"net", "detach", "xdp", "dev", netns.VethB}, &out)
		})
		if err != nil {
			t.Fatalf("net attach xdp %s: %v", spec, err)
		}
		if !strings.Contains(list, want) {
			t.Errorf("net list after net attach xdp %s lacks %q:\n%s", spec, want, list)
		}
	}
}

var usageLine = regexp.MustCompile(`^Usage: oreore `)

// help, GROUP help, -h and --help print to stdout and succeed.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string // lines the help must hold
	}{
		{[]string{"help"}, []string{"prog show [PROG]", "map dump MAP", "link list", "net attach xdp PROG dev IFACE", "oreore attach PROG", "tracelog", "PROG := {", "MAP := {"}},
		{[]string{"-h"}, []string{"prog show [PROG]", "oreore GROUP help"}},
		{[]string{"--help"}, []string{"prog show [PROG]", "oreore GROUP help"}},
		{[]string{"help", "map"}, []string{"map lookup MAP KEY", "oreore map help"}},
		{[]string{"prog", "help"}, []string{"prog show [PROG]", "prog run PROG [--ctx-in FILE]", "prog dump xlated|jited PROG", "prog pin PROG PATH", "oreore prog help", "PROG := { id PROG_ID | pinned FILE | tag PROG_TAG | name PROG_NAME }"}},
		{[]string{"prog", "--help"}, []string{"prog load OBJ"}},
		{[]string{"map", "help"}, []string{"map show [MAP]", "map dump MAP", "map update MAP KEY VALUE", "MAP := { id MAP_ID | pinned FILE | name MAP_NAME }", "KEY, VALUE := hex bytes"}},
		{[]string{"link", "help"}, []string{"link list", "oreore link help"}},
		{[]string{"net", "help"}, []string{"net list", "net attach xdp PROG dev IFACE", "net detach xdp dev IFACE", "PROG := {"}},
		{[]string{"oreore", "help"}, []string{"oreore attach PROG", "oreore detach PROG", "oreore link PROG PATH", "oreore run N", "oreore status", "PROG := {"}},
		{[]string{"--json", "oreore", "-h"}, []string{"oreore status"}},
		{[]string{"tracelog", "--help"}, []string{"tracelog"}},
		{[]string{"prog", "show", "id", "4000000000", "--help"}, []string{"prog show [PROG]"}}, // help wins: nothing is looked up
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out := oreoreCmd(t, tc.args...)
			if !usageLine.MatchString(out) {
				t.Errorf("does not start with Usage:\n%s", out)
			}
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("lacks %q:\n%s", want, out)
				}
			}
		})
	}
	// Each verb's help is its own usage line, which its usage errors quote.
	for _, v := range verbs {
		for _, flag := range []string{"-h", "--help"} {
			args := append(strings.Fields(v.group+" "+v.name), flag)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				out := oreoreCmd(t, args...)
				if first, _, _ := strings.Cut(out, "\n"); first != "Usage: oreore [--json] "+v.usage {
					t.Errorf("first line %q, want the verb's usage %q", first, v.usage)
				}
			})
		}
	}
}

// Unknown commands fail on one line that says where help is.
func TestUnknownCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, `no command: try "oreore help"`},
		{[]string{"frob"}, `unknown command "frob": try "oreore help"`},
		{[]string{"help", "frob"}, `unknown command "help frob": try "oreore help"`},
		{[]string{"--bogus", "prog", "list"}, `flag provided but not defined: -bogus: try "oreore help"`},
		{[]string{"prog"}, `prog: missing a verb: try "oreore prog help"`},
		{[]string{"prog", "frob"}, `unknown command "prog frob": try "oreore prog help"`},
		{[]string{"map", "frob", "1"}, `unknown command "map frob": try "oreore map help"`},
		{[]string{"link", "show"}, `unknown command "link show": try "oreore link help"`},
		{[]string{"net", "frob"}, `unknown command "net frob": try "oreore net help"`},
		{[]string{"oreore", "frob"}, `unknown command "oreore frob": try "oreore oreore help"`},
		{[]string{"prog", "dump", "frob", "1"}, "usage: oreore prog dump xlated|jited PROG"},
		{[]string{"prog", "stats", "maybe"}, "usage: oreore prog stats on|off"},
		{[]string{"prog", "list", "extra"}, "usage: oreore prog list"},
		{[]string{"tracelog", "extra"}, "usage: oreore tracelog"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			if err := oreoreErr(t, tc.args...); err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"oreore/harness/bpf"
	"oreore/harness/netns"
	"oreore/harness/xdp"
)

// oreoreCmd runs the command in-process and returns what it printed.
func oreoreCmd(t *testing.T, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(args, &out); err != nil {
		t.Fatalf("oreore %s: %v", strings.Join(args, " "), err)
	}
	return out.String()
}

// bpffs mounts a private bpf file system for pins.
func bpffs(t *testing.T) string {
	t.Helper()
	if unix.Geteuid() != 0 {
		t.Fatal("the oreore command's tests need root")
	}
	dir := t.TempDir()
	if err := unix.Mount("bpffs", dir, "bpf", 0, ""); err != nil {
		t.Fatalf("mount bpffs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

func programsDir(t *testing.T) string {
	dir := os.Getenv("OREORE_PROGRAMS")
	if dir == "" {
		t.Fatal("OREORE_PROGRAMS is not set: run `make test`, which compiles programs/c first")
	}
	return dir
}

var idLine = regexp.MustCompile(`^(\d+): (\S+)  name (\S+)  tag ([0-9a-f]{16})`)

// load pins an object's program and returns its id, as `prog load` printed it.
func load(t *testing.T, obj string) string {
	t.Helper()
	pin := filepath.Join(bpffs(t), "prog")
	out := oreoreCmd(t, "prog", "load", obj, "--pin", pin)
	m := idLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("prog load printed no program line:\n%s", out)
	}
	return m[1]
}

// On any kernel with XDP: load, show (text and JSON), list and run a frame.
func TestProgLoadShowListRunXDP(t *testing.T) {
	id := load(t, filepath.Join(programsDir(t), "xdp_count.bpf.o"))

	show := oreoreCmd(t, "prog", "show", id)
	if m := idLine.FindStringSubmatch(show); m == nil || m[2] != "xdp" || m[3] != "xdp_count" || !strings.Contains(show, "gpl") || !strings.Contains(show, "map_ids") {
		t.Errorf("prog show:\n%s", show)
	}
	var js struct {
		ID     uint32   `json:"id"`
		Type   string   `json:"type"`
		Name   string   `json:"name"`
		MapIDs []uint32 `json:"map_ids"`
	}
	if err := json.Unmarshal([]byte(oreoreCmd(t, "--json", "prog", "show", id)), &js); err != nil {
		t.Fatal(err)
	}
	if js.Type != "xdp" || js.Name != "xdp_count" || len(js.MapIDs) != 3 {
		t.Errorf("prog show --json: %+v, want xdp_count with 3 maps (proto_count, .bss, .rodata)", js)
	}
	if list := oreoreCmd(t, "prog", "list"); !strings.Contains(list, id+": xdp  name xdp_count") {
		t.Errorf("prog list does not show %s:\n%s", id, list)
	}

	frame := make([]byte, 64)
	binary.BigEndian.PutUint16(frame[12:], unix.ETH_P_IP)
	frame[14], frame[23] = 0x45, unix.IPPROTO_UDP
	file := filepath.Join(t.TempDir(), "frame")
	os.WriteFile(file, frame, 0o644)
	if out := oreoreCmd(t, "prog", "run", id, "--data-in", file, "--repeat", "3"); !strings.HasPrefix(out, "retval 2 ") {
		t.Errorf("prog run on a UDP frame: %q, want retval 2 (XDP_PASS)", out)
	}
}

func TestProgDumpXlatedNamesMapsAndHelpers(t *testing.T) {
	id := load(t, filepath.Join(programsDir(t), "xdp_map_drop.bpf.o"))
	out := oreoreCmd(t, "prog", "dump", "xlated", id)
	if !regexp.MustCompile(`r1 = map\[id:\d+\]`).MatchString(out) || !strings.Contains(out, "exit") {
		t.Errorf("prog dump xlated does not name the map by id:\n%s", out)
	}
	id = load(t, filepath.Join(programsDir(t), "xdp_count.bpf.o"))
	if out := oreoreCmd(t, "prog", "dump", "xlated", id); !regexp.MustCompile(`call bpf_trace_printk#-?\d+`).MatchString(out) {
		t.Errorf("prog dump xlated does not name bpf_printk's helper:\n%s", out)
	}
}

func TestErrorsAreOneLine(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"prog", "show", "4000000000"}, &out)
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "ENOENT") {
		t.Errorf("show of a missing id: %v, want one line naming ENOENT", err)
	}
}

func TestMapSubcommands(t *testing.T) {
	id := load(t, filepath.Join(programsDir(t), "xdp_map_drop.bpf.o"))
	var prog struct {
		MapIDs []uint32 `json:"map_ids"`
	}
	json.Unmarshal([]byte(oreoreCmd(t, "--json", "prog", "show", id)), &prog)
	if len(prog.MapIDs) != 1 {
		t.Fatalf("xdp_map_drop uses %d maps, want 1", len(prog.MapIDs))
	}
	m := fmt.Sprint(prog.MapIDs[0])
	if show := oreoreCmd(t, "map", "show", m); !strings.HasPrefix(show, m+": array  name drop_flag") || !strings.Contains(show, "key 4B  value 4B  max_entries 1") {
		t.Errorf("map show:\n%s", show)
	}
	if list := oreoreCmd(t, "map", "list"); !strings.Contains(list, m+": array  name drop_flag") {
		t.Errorf("map list lacks %s:\n%s", m, list)
	}
	oreoreCmd(t, "map", "update", m, "00000000", "01 00 00 00")
	if got := oreoreCmd(t, "map", "lookup", m, "00000000"); got != "key: 00 00 00 00  value: 01 00 00 00\n" {
		t.Errorf("map lookup after update: %q", got)
	}
	if dump := oreoreCmd(t, "map", "dump", m); !strings.HasSuffix(dump, "Found 1 elements\n") {
		t.Errorf("map dump:\n%s", dump)
	}
	var entries []struct{ Key, Value string }
	json.Unmarshal([]byte(oreoreCmd(t, "--json", "map", "dump", m)), &entries)
	if len(entries) != 1 || entries[0].Value != "01 00 00 00" {
		t.Errorf("map dump --json: %+v", entries)
	}
	var out bytes.Buffer
	if err := run([]string{"map", "delete", m, "00000000"}, &out); err == nil || !strings.Contains(err.Error(), "EINVAL") {
		t.Errorf("delete from an array: %v, want EINVAL", err)
	}
	if err := run([]string{"map", "update", m, "00", "01000000"}, &out); err == nil || !strings.Contains(err.Error(), "the map wants 4") {
		t.Errorf("a 1-byte key: %v", err)
	}
}

func TestProgPin(t *testing.T) {
	id := load(t, filepath.Join(programsDir(t), "xdp_drop.bpf.o"))
	path := filepath.Join(bpffs(t), "again")
	oreoreCmd(t, "prog", "pin", id, path)
	fd, err := bpf.ObjGet(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	info, _ := bpf.ProgGetInfo(fd)
	if fmt.Sprint(info.ID) != id {
		t.Errorf("the pin holds program %d, want %s", info.ID, id)
	}
}

func TestLinkList(t *testing.T) {
	id := load(t, filepath.Join(programsDir(t), "xdp_drop.bpf.o"))
	pair, err := netns.NewPair()
	if err != nil {
		t.Fatal(err)
	}
	defer pair.Close()
	n, _ := strconv.ParseUint(id, 10, 32)
	fd, err := bpf.ProgGetFDByID(uint32(n))
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	link, err := xdp.Attach(pair.B, fd, pair.IfindexB)
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	want := fmt.Sprintf("xdp  prog %s  ifindex %d", id, pair.IfindexB)
	if list := oreoreCmd(t, "link", "list"); !strings.Contains(list, want) {
		t.Errorf("link list lacks %q:\n%s", want, list)
	}
}

func TestProgDumpJited(t *testing.T) {
	id := load(t, filepath.Join(programsDir(t), "xdp_drop.bpf.o"))
	out := oreoreCmd(t, "prog", "dump", "jited", id)
	// XDP_DROP is 1: the JIT loads it into the register that holds BPF's
	// r0 (x86-64: eax; arm64: x7; s390x: r14).
	want := map[string]string{"amd64": "mov eax, 0x1", "arm64": "mov x7, #0x1", "s390x": "lgfi %r14,1"}[runtime.GOARCH]
	if want == "" {
		t.Fatalf("no expected instruction for %s's JIT", runtime.GOARCH)
	}
	if !strings.Contains(out, want) {
		t.Errorf("the %s code of xdp_drop lacks %q:\n%s", runtime.GOARCH, want, out)
	}
}

// net attach, list and detach, inside a namespace of the test's own.
func TestNetAttachListDetach(t *testing.T) {
	id := load(t, filepath.Join(programsDir(t), "xdp_drop.bpf.o"))
	pair, err := netns.NewPair()
	if err != nil {
		t.Fatal(err)
	}
	defer pair.Close()
	// The command runs in B on a thread of Do's: it must not call t.Fatal.
	var list, listJSON, after string
	err = pair.B.Do(func() error {
		var out bytes.Buffer
		steps := []struct {
			args []string
			save *string
		}{
			{[]string{"net", "attach", "xdp", id, "dev", netns.VethB}, nil},
			{[]string{"net", "list"}, &list},
			{[]string{"--json", "net", "list"}, &listJSON},
			{[]string{"net", "detach", "xdp", "dev", netns.VethB}, nil},
			{[]string{"net", "list"}, &after},
		}
		for _, s := range steps {
			out.Reset()
			if err := run(s.args, &out); err != nil {
				return fmt.Errorf("oreore %s: %w", strings.Join(s.args, " "), err)
			}
			if s.save != nil {
				*s.save = out.String()
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%s(%d) driver id %s", netns.VethB, pair.IfindexB, id)
	if !strings.Contains(list, want) {
		t.Errorf("net list lacks %q:\n%s", want, list)
	}
	var js []struct {
		Devname string `json:"devname"`
		ID      uint32 `json:"id"`
	}
	if err := json.Unmarshal([]byte(listJSON), &js); err != nil || len(js) != 1 || js[0].Devname != netns.VethB {
		t.Errorf("net list --json: %+v, %v", js, err)
	}
	if strings.Contains(after, netns.VethB) {
		t.Errorf("still attached after net detach:\n%s", after)
	}
}

func TestProgShowSelectors(t *testing.T) {
	dir := bpffs(t)
	pin := filepath.Join(dir, "sel")
	out := oreoreCmd(t, "prog", "load", filepath.Join(programsDir(t), "xdp_drop.bpf.o"), "xdp", "--pin", pin)
	m := idLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("prog load: %s", out)
	}
	id, tag := m[1], m[4]
	for _, sel := range [][]string{{"id", id}, {"pinned", pin}, {"tag", tag}, {"name", "xdp_drop"}} {
		got := oreoreCmd(t, append([]string{"prog", "show"}, sel...)...)
		if !strings.Contains(got, id+": xdp  name xdp_drop  tag "+tag) || !regexp.MustCompile(`memlock [1-9]\d*B`).MatchString(got) {
			t.Errorf("prog show %s: %s", strings.Join(sel, " "), got)
		}
	}
}

// Maps with BTF dump typed: .bss by variable name, the counter map by
// key and value.
func TestMapDumpTyped(t *testing.T) {
	id := load(t, filepath.Join(programsDir(t), "xdp_count.bpf.o"))
	frame := make([]byte, 64)
	binary.BigEndian.PutUint16(frame[12:], unix.ETH_P_IP)
	frame[14], frame[23] = 0x45, unix.IPPROTO_UDP
	file := filepath.Join(t.TempDir(), "frame")
	os.WriteFile(file, frame, 0o644)
	oreoreCmd(t, "prog", "run", id, "--data-in", file, "--repeat", "5")
	var prog struct {
		MapIDs []uint32 `json:"map_ids"`
	}
	json.Unmarshal([]byte(oreoreCmd(t, "--json", "prog", "show", id)), &prog)
	var dumps []string
	for _, m := range prog.MapIDs {
		dumps = append(dumps, oreoreCmd(t, "map", "dump", fmt.Sprint(m)))
	}
	all := strings.Join(dumps, "\n")
	for _, want := range []string{"counter: 5", "verdict: 2", "key: 17  value: 5"} {
		if !strings.Contains(all, want) {
			t.Errorf("typed dumps lack %q:\n%s", want, all)
		}
	}
}

// The struct_ops verbs take only struct_ops maps: one named that is not is
// refused with what it is, and one that names no map says so.
func TestStructOpsVerbsRefuseOtherMaps(t *testing.T) {
	if unix.Geteuid() != 0 {
		t.Skip("bpf(2) needs root")
	}
	fd, err := bpf.MapCreate(bpf.MapCreateAttr{Type: unix.BPF_MAP_TYPE_ARRAY, KeySize: 4, ValueSize: 4, MaxEntries: 1, Name: "not_ops"})
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	info, err := bpf.MapGetInfo(fd)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("map %d (not_ops) is a array map, not struct_ops", info.ID)
	for _, verb := range []string{"list", "dump", "unregister"} {
		var out bytes.Buffer
		if err := run([]string{"struct_ops", verb, "id", fmt.Sprint(info.ID)}, &out); err == nil || err.Error() != want {
			t.Errorf("struct_ops %s of an array map: %v, want %q", verb, err, want)
		}
	}
	var out bytes.Buffer
	if err := run([]string{"struct_ops", "register", "/nonexistent.bpf.o"}, &out); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("struct_ops register of a missing object: %v", err)
	}
}

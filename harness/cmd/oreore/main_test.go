package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
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

func TestProgDumpXlatedNamesMaps(t *testing.T) {
	id := load(t, filepath.Join(programsDir(t), "xdp_map_drop.bpf.o"))
	out := oreoreCmd(t, "prog", "dump", "xlated", id)
	if !regexp.MustCompile(`r1 = map\[id:\d+\]`).MatchString(out) || !strings.Contains(out, "exit") {
		t.Errorf("prog dump xlated does not name the map by id:\n%s", out)
	}
}

func TestErrorsAreOneLine(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"prog", "show", "4000000000"}, &out)
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "ENOENT") {
		t.Errorf("show of a missing id: %v, want one line naming ENOENT", err)
	}
}

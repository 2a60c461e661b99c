//go:build guest

package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"oreore/harness/bpf"
	"oreore/harness/guest"
	"oreore/harness/progtype"
)

// opsTrigger runs the registered oreore_ops instance on in and returns what
// its run returned.
func opsTrigger(in string) (string, error) {
	if err := os.WriteFile("/sys/oreore_ops/run", []byte(in), 0); err != nil {
		return "", err
	}
	b, err := os.ReadFile("/sys/oreore_ops/run")
	return strings.TrimSpace(string(b)), err
}

// oreoreRun runs the command and returns its error, for the refusals.
func oreoreRun(args ...string) (string, error) {
	var out bytes.Buffer
	err := run(args, &out)
	return out.String(), err
}

func opsSeries(t *testing.T) string {
	t.Helper()
	s, why, err := progtype.OreoreOps.SeriesFor()
	if err != nil {
		t.Fatal(err)
	}
	if why != "" {
		t.Skip(why)
	}
	return s
}

// struct_ops register, list and dump on a module's type (bpftool up to 7.3
// looks its value type up in vmlinux's BTF and crashes): the object's
// .struct_ops.link instance is registered and its link pinned, the trigger
// runs it, list names the module's type, dump shows the programs the link's
// map holds, unregister is refused for a link's map, and removing the pin
// unregisters it.
func TestStructOpsRegisterFromObject(t *testing.T) {
	opsSeries(t)
	dir := bpffs(t)
	out := oreoreCmd(t, "struct_ops", "register", filepath.Join(guest.ProgramsDir, "oreore_ops.bpf.o"), dir)
	var mapID, linkID uint32
	if _, err := fmt.Sscanf(out, "Registered oreore_ops from_elf map id %d link id %d\n", &mapID, &linkID); err != nil {
		t.Fatalf("register said %q: %v", out, err)
	}
	pin := filepath.Join(dir, "from_elf")
	defer os.Remove(pin)
	if got, err := opsTrigger("5"); err != nil || got != "105" {
		t.Fatalf("the trigger after register: %q, %v; want 105 (from_elf's run)", got, err)
	}
	// The pinned link is the one register named, and holds that map.
	link, err := bpf.ObjGet(pin)
	if err != nil {
		t.Fatal(err)
	}
	li, err := bpf.LinkGetInfo(link)
	link.Close()
	if err != nil {
		t.Fatal(err)
	}
	if held := binary.NativeEndian.Uint32(li.Union[:4]); li.ID != linkID || held != mapID {
		t.Errorf("the pinned link is %d holding map %d; register said link %d, map %d", li.ID, held, linkID, mapID)
	}

	want := fmt.Sprintf("%d: %-15s %s\n", mapID, "from_elf", "oreore_ops")
	if list := oreoreCmd(t, "struct_ops", "list"); !strings.Contains(list, want) {
		t.Errorf("struct_ops list lacks %q:\n%s", want, list)
	}
	var shown struct {
		ID     uint32 `json:"id"`
		Name   string `json:"name"`
		Kernel string `json:"kernel_struct_ops"`
	}
	if err := json.Unmarshal([]byte(oreoreCmd(t, "--json", "struct_ops", "list", "id", fmt.Sprint(mapID))), &shown); err != nil ||
		shown.ID != mapID || shown.Name != "from_elf" || shown.Kernel != "oreore_ops" {
		t.Errorf("struct_ops list id %d --json: %+v, %v", mapID, shown, err)
	}

	if dump := oreoreCmd(t, "struct_ops", "dump", "id", fmt.Sprint(mapID)); !strings.Contains(dump, "\tname: \"from_elf\"\n") {
		t.Errorf("dump lacks the instance's name:\n%s", dump)
	}
	var dumped struct {
		Data map[string]string `json:"data"`
	}
	if err := json.Unmarshal([]byte(oreoreCmd(t, "--json", "struct_ops", "dump", "id", fmt.Sprint(mapID))), &dumped); err != nil {
		t.Fatal(err)
	}
	// The kernel keeps each op's program ID where the value had its fd:
	// the dump names that program, as bpftool does.
	for member, prog := range map[string]string{"run": "ops_run", "note": "ops_note"} {
		var id uint32
		if _, err := fmt.Sscanf(dumped.Data[member], prog+"/prog_id:%d", &id); err != nil {
			t.Errorf("dump's %s: %q, want %s/prog_id:ID", member, dumped.Data[member], prog)
			continue
		}
		fd, err := bpf.ProgGetFDByID(id)
		if err != nil {
			t.Errorf("dump's %s names program %d: %v", member, id, err)
			continue
		}
		info, err := bpf.ProgGetInfo(fd)
		fd.Close()
		if err != nil || info.Name != prog || info.Type != unix.BPF_PROG_TYPE_STRUCT_OPS {
			t.Errorf("dump's %s is program %d: %+v, %v; want struct_ops program %s", member, id, info, err, prog)
		}
	}

	if _, err := oreoreRun("struct_ops", "unregister", "id", fmt.Sprint(mapID)); !errors.Is(err, unix.EOPNOTSUPP) {
		t.Errorf("unregister of a link's map: %v, want EOPNOTSUPP", err)
	}
	if err := os.Remove(pin); err != nil {
		t.Fatal(err)
	}
	// The link is released from an RCU callback after the unlink.
	wait := guest.Patience(2 * time.Second)
	for deadline := time.Now().Add(wait); ; time.Sleep(10 * time.Millisecond) {
		_, err := opsTrigger("5")
		if errors.Is(err, unix.ENODEV) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the trigger %v after the pin was removed: %v, want ENODEV", wait, err)
		}
	}
}

// struct_ops unregister deletes a plain (not linked) map's element, which
// unregisters it; list and dump take the map by name, and another kind of
// map is refused by name.
func TestStructOpsUnregister(t *testing.T) {
	k, err := progtype.RunningStructOps(&progtype.OreoreOps, opsSeries(t))
	if err != nil {
		t.Fatal(err)
	}
	defer k.ModuleBTF.Close()
	m, value, release, err := k.ConstInstance("run", 7, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if err := bpf.MapUpdateElem(m, make([]byte, 4), value, 0); err != nil {
		t.Fatal(err)
	}
	info, err := bpf.MapGetInfo(m)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := opsTrigger("1"); err != nil || got != "7" {
		t.Fatalf("the trigger: %q, %v; want 7", got, err)
	}
	byName := []string{"name", info.Name}
	if list := oreoreCmd(t, append([]string{"struct_ops", "list"}, byName...)...); list != fmt.Sprintf("%d: %-15s oreore_ops\n", info.ID, info.Name) {
		t.Errorf("struct_ops list name %s: %q", info.Name, list)
	}
	if dump := oreoreCmd(t, append([]string{"struct_ops", "dump"}, byName...)...); !strings.Contains(dump, "\tnote: 0\n") {
		t.Errorf("dump of an instance without note lacks note: 0:\n%s", dump)
	}
	want := fmt.Sprintf("Unregistered oreore_ops %s id %d\n", info.Name, info.ID)
	if out := oreoreCmd(t, append([]string{"struct_ops", "unregister"}, byName...)...); out != want {
		t.Errorf("unregister: %q, want %q", out, want)
	}
	if _, err := opsTrigger("1"); !errors.Is(err, unix.ENODEV) {
		t.Errorf("the trigger after unregister: %v, want ENODEV", err)
	}
	// An unregistered map is not registered again: it waits to be freed.
	if _, err := oreoreRun("struct_ops", "unregister", "id", fmt.Sprint(info.ID)); !errors.Is(err, unix.EINPROGRESS) {
		t.Errorf("a second unregister: %v, want EINPROGRESS (bpf_struct_ops_map_delete_elem: TOBEFREE)", err)
	}
}

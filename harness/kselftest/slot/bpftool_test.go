//go:build guest

package slot

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/guest"
	"oreore/harness/kselftest"
	"oreore/harness/oreore"
	"oreore/harness/progtype"
	"oreore/programs"
)

// bpftool runs the bpftool built from the patched tree and returns its
// standard output.
func bpftool(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(kselftest.Binary(t, "bpftool"), args...).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("bpftool %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
	}
	return string(out)
}

func pinPath(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join("/sys/fs/bpf", name)
	os.Remove(p)
	t.Cleanup(func() { os.Remove(p) })
	return p
}

// libbpf in bpftool finds the type and the expected attach type from the
// section name alone, and bpftool names the type.
func TestBpftoolLoadsTheObjectBySectionName(t *testing.T) {
	pin := pinPath(t, "kselftest_add42")
	bpftool(t, "prog", "load", filepath.Join(guest.ProgramsDir, "oreore_add42.bpf.o"), pin)
	var show struct {
		ID   uint32 `json:"id"`
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal([]byte(bpftool(t, "--json", "prog", "show", "pinned", pin)), &show); err != nil {
		t.Fatal(err)
	}
	if show.Type != "oreore" {
		t.Errorf("bpftool prog show: type %q, want oreore", show.Type)
	}
	prog, err := bpf.ObjGet(pin)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	if got, err := oreore.TestRun(prog, 1); err != nil || got != 43 {
		t.Errorf("the object bpftool loaded: test_run(1) = %d, %v; want 43", got, err)
	}
	if plain := bpftool(t, "prog", "show", "pinned", pin); !strings.Contains(plain, ": oreore  name ") {
		t.Errorf("bpftool prog show does not name the type:\n%s", plain)
	}
}

// bpftool link show prints the oreore link's attach type and whether it
// still owns the slot, in JSON and in plain text.
func TestBpftoolShowsTheOreoreLink(t *testing.T) {
	prog, err := oreore.Load("add42", programs.Add42())
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	link, err := oreore.LinkCreate(prog)
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	pin := pinPath(t, "kselftest_link")
	if err := bpf.ObjPin(link, pin); err != nil {
		t.Fatal(err)
	}
	info, err := bpf.LinkGetInfo(link)
	if err != nil {
		t.Fatal(err)
	}
	type linkJSON struct {
		ID         uint32 `json:"id"`
		Type       string `json:"type"`
		AttachType string `json:"attach_type"`
		Attached   bool   `json:"attached"`
	}
	// All links, not `link show pinned`: 6.12's bpftool exits 255 after
	// showing one link when a stale errno is left (it returns
	// errno == ENOENT ? 0 : -1), which says nothing about our link.
	show := func() linkJSON {
		t.Helper()
		var all []linkJSON
		if err := json.Unmarshal([]byte(bpftool(t, "--json", "link", "show")), &all); err != nil {
			t.Fatal(err)
		}
		for _, l := range all {
			if l.ID == info.ID {
				return l
			}
		}
		t.Fatalf("bpftool --json link show does not list link %d: %+v", info.ID, all)
		return linkJSON{}
	}
	if got, want := show(), (linkJSON{info.ID, "oreore", "oreore_attach", true}); got != want {
		t.Errorf("bpftool --json link show: %+v, want %+v", got, want)
	}
	plain := bpftool(t, "link", "show")
	if !strings.Contains(plain, fmt.Sprintf("%d: oreore  prog ", info.ID)) || !strings.Contains(plain, "attach_type oreore_attach  attached  ") {
		t.Errorf("bpftool link show:\n%s", plain)
	}
	if err := bpf.LinkDetach(link); err != nil {
		t.Fatal(err)
	}
	if got := show(); got.Attached {
		t.Errorf("after BPF_LINK_DETACH bpftool says the link is attached: %+v", got)
	}
	if plain := bpftool(t, "link", "show"); !strings.Contains(plain, "attach_type oreore_attach  detached  ") {
		t.Errorf("bpftool link show after BPF_LINK_DETACH:\n%s", plain)
	}
}

// bpftool prog attach and detach take oreore_attach without a map: the
// hook is global.
func TestBpftoolAttachesAndDetaches(t *testing.T) {
	if id, err := oreore.Attached(); err != nil || id != 0 {
		t.Fatalf("the slot holds %d (%v) before the test", id, err)
	}
	pin := pinPath(t, "kselftest_attach")
	bpftool(t, "prog", "load", filepath.Join(guest.ProgramsDir, "oreore_add42.bpf.o"), pin)
	prog, err := bpf.ObjGet(pin)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	info, err := bpf.ProgGetInfo(prog)
	if err != nil {
		t.Fatal(err)
	}
	bpftool(t, "prog", "attach", "pinned", pin, "oreore_attach")
	t.Cleanup(func() { oreore.Detach(prog) })
	if id, err := oreore.Attached(); err != nil || id != info.ID {
		t.Errorf("after bpftool prog attach the slot holds %d (%v), want %d", id, err, info.ID)
	}
	bpftool(t, "prog", "detach", "pinned", pin, "oreore_attach")
	if id, err := oreore.Attached(); err != nil || id != 0 {
		t.Errorf("after bpftool prog detach the slot holds %d (%v), want none", id, err)
	}
}

// bpftool link show prints a kore link's attach type, whether it holds the
// hook, and its cookie, in JSON and in plain output.
func TestBpftoolShowsTheKoreLink(t *testing.T) {
	k, err := progtype.Running(progtype.Kore)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := bpf.ProgLoad(bpf.ProgLoadAttr{Type: k.Numbers.ProgType, Insns: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
		License: "GPL", Name: "kore0", ExpectedAttachType: k.Numbers.AttachType})
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	const cookie = 0x1122334455667788
	a := bpf.LinkCreateAttr{Prog: prog, AttachType: k.Numbers.AttachType}
	binary.NativeEndian.PutUint64(a.Union[:8], cookie)
	link, err := bpf.LinkCreate(a)
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	info, err := bpf.LinkGetInfo(link)
	if err != nil {
		t.Fatal(err)
	}
	type linkJSON struct {
		ID         uint32 `json:"id"`
		Type       string `json:"type"`
		AttachType string `json:"attach_type"`
		Attached   bool   `json:"attached"`
		Cookie     uint64 `json:"cookie"`
	}
	// bpftool --json link show lists the link as want says: asked for by
	// id, 7.3's bpftool exits 255 after printing a detached one.
	listed := func(when string, want linkJSON) {
		t.Helper()
		var all []linkJSON
		if err := json.Unmarshal([]byte(bpftool(t, "--json", "link", "show")), &all); err != nil {
			t.Fatal(err)
		}
		for _, l := range all {
			if l.ID == want.ID {
				if l != want {
					t.Errorf("%s: bpftool --json link show: %+v, want %+v", when, l, want)
				}
				return
			}
		}
		t.Errorf("%s: bpftool --json link show does not list link %d: %+v", when, want.ID, all)
	}
	want := linkJSON{info.ID, "kore", "kore_attach", true, cookie}
	listed("attached", want)
	plain := bpftool(t, "link", "show")
	if !strings.Contains(plain, fmt.Sprintf("%d: kore  prog ", info.ID)) || !strings.Contains(plain, fmt.Sprintf("attach_type kore_attach  attached  cookie %d  ", uint64(cookie))) {
		t.Errorf("bpftool link show:\n%s", plain)
	}

	// Detached, the link stays, and says it no longer holds the hook.
	if err := bpf.LinkDetach(link); err != nil {
		t.Fatal(err)
	}
	want.Attached = false
	listed("after BPF_LINK_DETACH", want)
	if plain := bpftool(t, "link", "show"); !strings.Contains(plain, fmt.Sprintf("attach_type kore_attach  detached  cookie %d  ", uint64(cookie))) {
		t.Errorf("bpftool link show after BPF_LINK_DETACH:\n%s", plain)
	}
}

// bpftool struct_ops on a module's type, which bpftool looked up in
// vmlinux's BTF and crashed on until the series' last patch ("bpftool: Find
// a module's struct_ops type in the module's BTF"): register pins the
// object's link, show names the module's type for the map that link holds,
// dump names each op's program as the kernel keeps it, map dump formats the
// value by the module's type, and unregister of a map registered without a
// link ends the trigger's runs.
func TestBpftoolStructOpsOfAModulesType(t *testing.T) {
	s, why, err := progtype.OreoreOps.SeriesFor()
	if err != nil {
		t.Fatal(err)
	}
	if why != "" {
		t.Skip(why)
	}
	dir := filepath.Join("/sys/fs/bpf", "kselftest_ops")
	os.RemoveAll(dir)
	defer os.RemoveAll(dir)
	bpftool(t, "struct_ops", "register", filepath.Join(guest.ProgramsDir, "oreore_ops.bpf.o"), dir)
	link, err := bpf.ObjGet(filepath.Join(dir, "from_elf"))
	if err != nil {
		t.Fatalf("bpftool struct_ops register pinned no link for from_elf: %v", err)
	}
	li, err := bpf.LinkGetInfo(link)
	link.Close()
	if err != nil {
		t.Fatal(err)
	}
	mapID := binary.NativeEndian.Uint32(li.Union[:4])
	if got, err := opsRun("5"); err != nil || got != "105" {
		t.Errorf("the trigger after bpftool struct_ops register: %q, %v; want 105", got, err)
	}

	var shown []struct {
		ID     uint32 `json:"id"`
		Name   string `json:"name"`
		Kernel string `json:"kernel_struct_ops"`
	}
	if err := json.Unmarshal([]byte(bpftool(t, "--json", "struct_ops", "show")), &shown); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range shown {
		if m.ID == mapID {
			found = true
			if m.Name != "from_elf" || m.Kernel != "oreore_ops" {
				t.Errorf("bpftool struct_ops show: map %d is %+v, want from_elf of oreore_ops", mapID, m)
			}
		}
	}
	if !found {
		t.Errorf("bpftool struct_ops show does not list map %d, which the pinned link holds: %+v", mapID, shown)
	}

	// The dump is the map's bpf_map_info, then its value by the module's
	// value type, each an object of the array.
	raw := bpftool(t, "--json", "struct_ops", "dump", "id", fmt.Sprint(mapID))
	var dumped []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &dumped); err != nil {
		t.Fatal(err)
	}
	var value struct {
		Data map[string]any `json:"data"`
	}
	for _, d := range dumped {
		if v, ok := d["bpf_struct_ops_oreore_ops"]; ok {
			if err := json.Unmarshal(v, &value); err != nil {
				t.Fatal(err)
			}
		}
	}
	if value.Data == nil {
		t.Fatalf("bpftool struct_ops dump id %d has no bpf_struct_ops_oreore_ops:\n%s", mapID, raw)
	}
	if value.Data["name"] != "from_elf" {
		t.Errorf("bpftool struct_ops dump: name %v, want from_elf", value.Data["name"])
	}
	for member, prog := range map[string]string{"run": "ops_run", "note": "ops_note"} {
		text, _ := value.Data[member].(string)
		_, after, ok := strings.Cut(text, " "+prog+"/prog_id:")
		fd, err := bpf.ProgGetFDByID(atoi(after))
		if !ok || err != nil {
			t.Errorf("bpftool struct_ops dump: %s is %q, want the program %s and its ID (%v)", member, text, prog, err)
			continue
		}
		info, err := bpf.ProgGetInfo(fd)
		fd.Close()
		if err != nil || info.Name != prog {
			t.Errorf("bpftool struct_ops dump: %s names program %s, which is %q (%v)", member, after, info.Name, err)
		}
	}

	// bpftool map dump formats the value with the same BTF: the module's.
	raw = bpftool(t, "--json", "map", "dump", "id", fmt.Sprint(mapID))
	var elems []struct {
		Formatted struct {
			Value struct {
				Data map[string]any `json:"data"`
			} `json:"value"`
		} `json:"formatted"`
	}
	if err := json.Unmarshal([]byte(raw), &elems); err != nil {
		t.Fatal(err)
	}
	if len(elems) != 1 || elems[0].Formatted.Value.Data["name"] != "from_elf" {
		t.Errorf("bpftool map dump id %d: want one value whose data names from_elf:\n%s", mapID, raw)
	}
	os.RemoveAll(dir)

	// A map registered without a link: bpftool unregister deletes it.
	k, err := progtype.RunningStructOps(&progtype.OreoreOps, s)
	if err != nil {
		t.Fatal(err)
	}
	defer k.ModuleBTF.Close()
	m, registration, release, err := k.ConstInstance("run", 7, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	// The pin's removal releases the link from an RCU callback: the one
	// instance the module takes may still be held for a moment.
	for deadline := time.Now().Add(guest.Patience(2 * time.Second)); ; time.Sleep(10 * time.Millisecond) {
		err = bpf.MapUpdateElem(m, make([]byte, 4), registration, 0)
		if !errors.Is(err, unix.EEXIST) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	mi, err := bpf.MapGetInfo(m)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := opsRun("1"); err != nil || got != "7" {
		t.Fatalf("the trigger: %q, %v; want 7", got, err)
	}
	bpftool(t, "struct_ops", "unregister", "id", fmt.Sprint(mi.ID))
	if _, err := opsRun("1"); !errors.Is(err, unix.ENODEV) {
		t.Errorf("the trigger after bpftool struct_ops unregister: %v, want ENODEV", err)
	}
}

// opsRun runs oreore_ops's registered instance through its trigger.
func opsRun(in string) (string, error) {
	if err := os.WriteFile("/sys/oreore_ops/run", []byte(in), 0); err != nil {
		return "", err
	}
	b, err := os.ReadFile("/sys/oreore_ops/run")
	return strings.TrimSpace(string(b)), err
}

func atoi(s string) uint32 {
	n, _ := strconv.ParseUint(s, 10, 32)
	return uint32(n)
}

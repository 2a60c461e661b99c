//go:build guest

package slot

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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

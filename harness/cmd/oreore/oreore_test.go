//go:build guest

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"oreore/harness/bpf"
	"oreore/harness/guest"
	"oreore/harness/oreore"
	"oreore/programs"
)

// In the guest: the oreore type by name, its xlated view, attach, run, detach.
func TestOreoreSubcommands(t *testing.T) {
	id := load(t, "builtin:add42")
	if show := oreoreCmd(t, "prog", "show", id); !strings.Contains(show, id+": oreore  name add42") {
		t.Errorf("prog show does not name the type oreore:\n%s", show)
	}
	dump := oreoreCmd(t, "prog", "dump", "xlated", id)
	want := []string{"0: r0 = *(u32 *)(r1 + 0)", "1: w0 += 42", "2: exit"}
	if guest.VerifierZeroExtends { // r0 is read whole at exit
		want = []string{"0: r0 = *(u32 *)(r1 + 0)", "1: w0 += 42", "2: w0 = w0", "3: exit"}
	}
	for _, want := range want {
		if !strings.Contains(dump, want) {
			t.Errorf("xlated dump lacks %q:\n%s", want, dump)
		}
	}
	if out := oreoreCmd(t, "oreore", "status"); out != "nothing attached\n" {
		t.Errorf("oreore status before attach: %q", out)
	}
	ctx := filepath.Join(t.TempDir(), "ctx")
	os.WriteFile(ctx, binary.NativeEndian.AppendUint32(nil, 7), 0o644)
	if out := oreoreCmd(t, "prog", "run", id, "--ctx-in", ctx, "--repeat", "10"); !strings.HasPrefix(out, "retval 49 ") {
		t.Errorf("prog run --ctx-in (7): %q, want retval 49", out)
	}
	oreoreCmd(t, "oreore", "attach", id)
	defer oreoreCmd(t, "oreore", "detach", id)
	if out := oreoreCmd(t, "oreore", "status"); !strings.HasPrefix(out, "attached: "+id+": oreore  name add42") {
		t.Errorf("oreore status after attach: %q", out)
	}
	if out := oreoreCmd(t, "oreore", "run", "100"); out != "142\n" {
		t.Errorf("oreore run 100: %q, want 142", out)
	}
	var res struct{ Input, Result uint32 }
	if err := json.Unmarshal([]byte(oreoreCmd(t, "--json", "oreore", "run", "0xffffffff")), &res); err != nil || res.Result != 41 {
		t.Errorf("oreore run --json: %+v, %v; want result 41", res, err)
	}
}

// prog load gives an object's oreore section the running kernel's numbers
// (the loader knows only the generic sections).
func TestProgLoadOreoreObject(t *testing.T) {
	id := load(t, "/programs/oreore_add42.bpf.o")
	if show := oreoreCmd(t, "prog", "show", id); !strings.Contains(show, id+": oreore  name add42") {
		t.Errorf("prog show does not name the type oreore:\n%s", show)
	}
	ctx := filepath.Join(t.TempDir(), "ctx")
	os.WriteFile(ctx, binary.NativeEndian.AppendUint32(nil, 7), 0o644)
	if out := oreoreCmd(t, "prog", "run", id, "--ctx-in", ctx); !strings.HasPrefix(out, "retval 49 ") {
		t.Errorf("prog run --ctx-in (7): %q, want retval 49", out)
	}
}

// Stats on: run_cnt counts the sysfs runs; off: the kernel stops counting.
func TestProgStats(t *testing.T) {
	id := load(t, "builtin:add42")
	oreoreCmd(t, "oreore", "attach", id)
	defer oreoreCmd(t, "oreore", "detach", id)
	oreoreCmd(t, "prog", "stats", "on")
	for i := 0; i < 3; i++ {
		oreoreCmd(t, "oreore", "run", "1")
	}
	oreoreCmd(t, "prog", "stats", "off")
	oreoreCmd(t, "oreore", "run", "1")
	var p struct {
		RunCount uint64 `json:"run_cnt"`
	}
	if err := json.Unmarshal([]byte(oreoreCmd(t, "--json", "prog", "show", id)), &p); err != nil || p.RunCount != 3 {
		t.Errorf("run_cnt %d, %v; want 3 (the run after stats off is not counted)", p.RunCount, err)
	}
}

// tracelog streams what bpf_printk writes.
func TestTracelog(t *testing.T) {
	id := load(t, "/programs/xdp_count.bpf.o")
	r, w := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan error)
	go func() { ended <- tracelog(ctx, w) }()
	// The reader ends with the test: left running it would take the lines
	// of every later trace_pipe reader.
	defer func() {
		cancel()
		r.Close()
		select {
		case err := <-ended:
			if err != nil {
				t.Errorf("tracelog: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("tracelog still reads trace_pipe 5 s after its context ended")
		}
	}()
	frame := filepath.Join(t.TempDir(), "frame")
	os.WriteFile(frame, make([]byte, 64), 0o644)
	oreoreCmd(t, "prog", "run", id, "--data-in", frame)
	lines := bufio.NewScanner(r)
	found := make(chan bool)
	go func() {
		for lines.Scan() {
			if strings.Contains(lines.Text(), "xdp_count: proto 0") {
				found <- true
				return
			}
		}
	}()
	select {
	case <-found:
	case <-time.After(5 * time.Second):
		t.Error("tracelog did not show xdp_count's bpf_printk line")
	}
}

// oreore link pins a link: the slot stays filled after the command exits,
// link list names it, and removing the pin empties the slot.
func TestOreoreLink(t *testing.T) {
	id := load(t, "builtin:add42")
	pin := filepath.Join("/sys/fs/bpf", "oreore-cmd-link")
	oreoreCmd(t, "oreore", "link", id, pin)
	if out := oreoreCmd(t, "oreore", "run", "1"); out != "43\n" {
		os.Remove(pin)
		t.Fatalf("oreore run 1 with the link pinned: %q, want 43", out)
	}
	if list := oreoreCmd(t, "link", "list"); !strings.Contains(list, "oreore  prog "+id) {
		t.Errorf("link list does not show the oreore link:\n%s", list)
	}
	if err := os.Remove(pin); err != nil {
		t.Fatal(err)
	}
	// The kernel releases an unpinned link from an RCU callback, a little
	// after unlink(2) returns.
	wait := guest.Patience(2 * time.Second)
	deadline := time.Now().Add(wait)
	for out := oreoreCmd(t, "oreore", "status"); out != "nothing attached\n"; out = oreoreCmd(t, "oreore", "status") {
		if time.Now().After(deadline) {
			t.Fatalf("oreore status %v after the pin was removed: %q", wait, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The oreore verbs take bpftool's PROG: attach by pinned path, detach by
// id, and a name two programs share is refused with both ids.
func TestOreoreAttachBySpec(t *testing.T) {
	const name = "spec_add42"
	pin := filepath.Join(bpffs(t), "add42")
	var ids []string
	for i := 0; i < 2; i++ {
		fd, err := oreore.Load(name, programs.Add42())
		if err != nil {
			t.Fatal(err)
		}
		defer fd.Close()
		info, err := bpf.ProgGetInfo(fd)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, fmt.Sprint(info.ID))
		if i == 0 {
			if err := bpf.ObjPin(fd, pin); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := fmt.Sprintf("name %s matches 2 programs (ids %s, %s): use id", name, ids[0], ids[1])
	var out bytes.Buffer
	if err := run([]string{"oreore", "attach", "name", name}, &out); err == nil || err.Error() != want {
		t.Fatalf("oreore attach name %s: %v, want %q", name, err, want)
	}
	if show := oreoreCmd(t, "prog", "show", "name", name); strings.Count(show, ": oreore  name "+name) != 2 {
		t.Errorf("prog show name %s does not show both:\n%s", name, show)
	}
	oreoreCmd(t, "oreore", "attach", "pinned", pin)
	defer oreoreCmd(t, "oreore", "detach", "id", ids[0])
	if out := oreoreCmd(t, "oreore", "status"); !strings.HasPrefix(out, "attached: "+ids[0]+": oreore  name "+name) {
		t.Errorf("oreore status after attach pinned: %q, want program %s", out, ids[0])
	}
	if out := oreoreCmd(t, "oreore", "run", "1"); out != "43\n" {
		t.Errorf("oreore run 1: %q, want 43", out)
	}
	ctx := filepath.Join(t.TempDir(), "ctx")
	os.WriteFile(ctx, binary.NativeEndian.AppendUint32(nil, 7), 0o644)
	if out := oreoreCmd(t, "prog", "run", "pinned", pin, "--ctx-in", ctx); !strings.HasPrefix(out, "retval 49 ") {
		t.Errorf("prog run pinned --ctx-in (7): %q, want retval 49", out)
	}
}

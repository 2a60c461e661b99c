package qmp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeQEMU answers as QEMU does: the greeting, then one scripted line per
// command it reads, and records the commands.
func fakeQEMU(t *testing.T, answers ...string) (*Client, <-chan string) {
	t.Helper()
	server, client := net.Pipe()
	got := make(chan string, 16)
	go func() {
		defer server.Close()
		server.Write([]byte(`{"QMP": {"version": {"qemu": {"major": 7}}, "capabilities": []}}` + "\n"))
		r := bufio.NewReader(server)
		answers = append([]string{`{"return": {}}`}, answers...)
		for _, a := range answers {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			got <- strings.TrimSpace(line)
			server.Write([]byte(a + "\n"))
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := handshake(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if cmd := <-got; cmd != `{"execute":"qmp_capabilities"}` {
		t.Fatalf("first command %s, want qmp_capabilities", cmd)
	}
	return c, got
}

func TestEventsArriveBetweenReplies(t *testing.T) {
	c, got := fakeQEMU(t,
		`{"event": "GUEST_PANICKED", "data": {"action": "pause"}, "timestamp": {"seconds": 1}}`+"\n"+`{"return": {"status": "guest-panicked", "running": false}}`)
	ret, err := c.Execute(context.Background(), "query-status", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cmd := <-got; cmd != `{"execute":"query-status"}` {
		t.Errorf("sent %s", cmd)
	}
	var st struct{ Status string }
	if json.Unmarshal(ret, &st); st.Status != "guest-panicked" {
		t.Errorf("the reply was %s, want the status after the event", ret)
	}
	select {
	case ev := <-c.Events():
		if ev.Name != "GUEST_PANICKED" || !strings.Contains(string(ev.Data), `"pause"`) {
			t.Errorf("event %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
}

func TestRefusedCommandIsAnError(t *testing.T) {
	c, _ := fakeQEMU(t, `{"error": {"class": "GenericError", "desc": "dump: failed to save memory: No space left on device"}}`)
	_, err := c.Execute(context.Background(), "dump-guest-memory", map[string]any{"paging": false, "protocol": "file:/x"})
	var qe *Error
	if !errors.As(err, &qe) || qe.Class != "GenericError" || !strings.Contains(err.Error(), "No space left on device") {
		t.Fatalf("err %v, want QEMU's GenericError with its description", err)
	}
}

func TestCommandAfterQEMUIsGone(t *testing.T) {
	c, _ := fakeQEMU(t) // answers nothing more, and hangs up
	_, err := c.Execute(context.Background(), "quit", nil)
	if err == nil {
		t.Fatal("a command on a closed connection succeeded")
	}
}

// The real thing: a QEMU with no machine, asked its status, then to quit.
func TestRealQEMU(t *testing.T) {
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 is not installed (make deps)")
	}
	sock := filepath.Join(t.TempDir(), "qmp.sock")
	cmd := exec.Command("qemu-system-x86_64", "-M", "none", "-nodefaults", "-display", "none", "-S",
		"-qmp", "unix:"+sock+",server=on,wait=off")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	ret, err := c.Execute(ctx, "query-status", nil)
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Status string }
	if json.Unmarshal(ret, &st); st.Status != "prelaunch" && st.Status != "paused" {
		t.Errorf("status %s, want a stopped machine (-S)", ret)
	}
	if _, err := c.Execute(ctx, "no-such-command", nil); err == nil || !strings.Contains(err.Error(), "CommandNotFound") {
		t.Errorf("an unknown command: %v, want CommandNotFound", err)
	}
	c.Execute(ctx, "quit", nil)
	done := make(chan error)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("QEMU after quit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("QEMU did not quit")
	}
}

package qemu

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A stand-in for QEMU: a process the watcher may kill.
func sleeper(t *testing.T) (*exec.Cmd, chan struct{}) {
	t.Helper()
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	return cmd, exited
}

func TestWatchStopsWhenTheConsoleGoesQuiet(t *testing.T) {
	start := time.Now()
	w := newWatcher(&Watch{Console: Rule{Stop: func(l string) bool { return strings.Contains(l, "Oops:") }, Quiet: 300 * time.Millisecond, Grace: 5 * time.Second}},
		start, filepath.Join(t.TempDir(), "results"))
	cmd, exited := sleeper(t)
	go w.stopAfterGrace(cmd.Process, exited)

	w.Write([]byte("[ 1.0] booting\r\n[ 2.0] Oo"))
	if w.stopped() != nil {
		t.Fatal("stopped on half a line")
	}
	w.Write([]byte("ps: 0000 [#1] SMP\r\n"))
	// The report goes on: each line puts the end off.
	for i := 0; i < 5; i++ {
		time.Sleep(100 * time.Millisecond)
		w.Write([]byte(" frame\n"))
	}
	lastLine := time.Now()
	select {
	case <-exited:
	case <-time.After(3 * time.Second):
		t.Fatal("not killed 3 s after the report")
	}
	quiet := time.Since(lastLine)
	s := w.stopped()
	if s == nil || !s.Killed || s.Results || s.Line != "[ 2.0] Oops: 0000 [#1] SMP" {
		t.Fatalf("stop %+v", s)
	}
	if quiet < 300*time.Millisecond || quiet > time.Second {
		t.Errorf("killed %v after the console's last line, want the quiet time, 300ms", quiet)
	}
}

func TestWatchGraceCapsAChattyConsole(t *testing.T) {
	w := newWatcher(&Watch{Console: Rule{Stop: func(l string) bool { return l == "BUG: x" }, Quiet: time.Second, Grace: 500 * time.Millisecond}},
		time.Now(), filepath.Join(t.TempDir(), "results"))
	cmd, exited := sleeper(t)
	go w.stopAfterGrace(cmd.Process, exited)
	w.Write([]byte("BUG: x\n"))
	at := time.Now()
	for done := false; !done; {
		select {
		case <-exited:
			done = true
		case <-time.After(50 * time.Millisecond):
			w.Write([]byte("more\n"))
		}
		if time.Since(at) > 3*time.Second {
			t.Fatal("a console that never goes quiet was not cut at the grace")
		}
	}
	if d := time.Since(at); d < 500*time.Millisecond || d > 1500*time.Millisecond {
		t.Errorf("killed %v after the report, want the grace, 500ms", d)
	}
}

func TestWatchFollowsTheResultsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results")
	w := newWatcher(&Watch{Results: Rule{Stop: func(l string) bool { return strings.Contains(l, `"watchdog"`) }, Quiet: 200 * time.Millisecond, Grace: time.Second}},
		time.Now(), path)
	cmd, exited := sleeper(t)
	go w.results(exited)
	go w.stopAfterGrace(cmd.Process, exited)
	time.Sleep(100 * time.Millisecond) // the file does not exist yet
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString(`{"Action":"run","Test":"TestA"}` + "\n" + `{"Guest":"watch`)
	time.Sleep(200 * time.Millisecond)
	if w.stopped() != nil {
		t.Fatal("stopped on half a line")
	}
	f.WriteString(`dog","Test":"TestA"}` + "\n")
	select {
	case <-exited:
	case <-time.After(3 * time.Second):
		t.Fatal("not killed after the watchdog record")
	}
	s := w.stopped()
	if s == nil || !s.Results || !s.Killed || s.ResultsSize != int64(len(`{"Action":"run","Test":"TestA"}`+"\n"+`{"Guest":"watchdog","Test":"TestA"}`+"\n")) {
		t.Fatalf("stop %+v", s)
	}
}

func TestNoWatchNoStop(t *testing.T) {
	w := newWatcher(nil, time.Now(), "")
	if n, err := w.Write([]byte("Oops: 0000\n")); n != 11 || err != nil || w.stopped() != nil {
		t.Errorf("Write: %d, %v, stop %+v", n, err, w.stopped())
	}
}

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The test binary runs as the command when PROGRESS_MAIN is set: the tests run it in a pipe, as make does.
func TestMain(m *testing.M) {
	if os.Getenv("PROGRESS_MAIN") == "1" {
		os.Args = append(os.Args[:1], strings.Fields(os.Getenv("PROGRESS_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func command(stdin []byte, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PROGRESS_MAIN=1", "PROGRESS_ARGS="+strings.Join(args, " "))
	cmd.Stdin = bytes.NewReader(stdin)
	return cmd
}

func run(t *testing.T, stdin []byte, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := command(stdin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

func TestPipeAndRecord(t *testing.T) {
	in, err := os.ReadFile("../../progress/testdata/kbuild.log")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	log, units := filepath.Join(dir, "build.log"), filepath.Join(dir, ".oreore-units")

	// First build: no count recorded, the default stands in.
	out, errOut, code := run(t, in, "-label", "kernel", "-log", log, "-estimate", units, "-default-estimate", "2900")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if out != "kernel: 38 objects in 0s\n" {
		t.Errorf("stdout %q (not a terminal: the final line only, for a step shorter than 30 s)", out)
	}
	if got, _ := os.ReadFile(log); !bytes.Equal(got, in) {
		t.Errorf("the log differs from the input")
	}
	if _, err := os.Stat(units); !os.IsNotExist(err) {
		t.Errorf("the pipe wrote the count (%v): only -record does, once the step has succeeded", err)
	}

	// The step succeeded: record its count.
	if _, errOut, code := run(t, nil, "-record", units, "-log", log); code != 0 || errOut != "" {
		t.Fatalf("-record: exit %d, stderr %q", code, errOut)
	}
	if got, _ := os.ReadFile(units); string(got) != "38\n" {
		t.Errorf("recorded %q, want 38", got)
	}

	// A log that cannot be written: the input is read all the same, and the exit status says so.
	_, errOut, code = run(t, in, "-label", "kernel", "-log", filepath.Join(dir, "missing", "build.log"))
	if code != 1 || !strings.Contains(errOut, "missing") {
		t.Errorf("unwritable log: exit %d, stderr %q", code, errOut)
	}
	// -record of a missing log fails and leaves the count alone.
	if _, _, code := run(t, nil, "-record", units, "-log", filepath.Join(dir, "nope.log")); code != 1 {
		t.Errorf("-record of a missing log: exit %d", code)
	}
	if got, _ := os.ReadFile(units); string(got) != "38\n" {
		t.Errorf("count after a failed -record: %q", got)
	}
}

func TestClosedStdout(t *testing.T) {
	// make ... | head: stdout's reader is gone. progress goes on copying to the log, and succeeds.
	in, err := os.ReadFile("../../progress/testdata/kbuild.log")
	if err != nil {
		t.Fatal(err)
	}
	in = bytes.Repeat(in, 50)
	log := filepath.Join(t.TempDir(), "build.log")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	cmd := command(in, "-label", "kernel", "-log", log, "-every", "1ns")
	cmd.Stdout = w
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	err = cmd.Run()
	w.Close()
	if err != nil {
		t.Errorf("%v, stderr %q", err, errOut.String())
	}
	if got, _ := os.ReadFile(log); !bytes.Equal(got, in) {
		t.Errorf("the log lost lines after stdout broke: %d bytes of %d", len(got), len(in))
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-label", "kernel"}, // no -log
		{"-log", "x", "-pattern", "("},
		{"-log", "x", "-every", "0s"},
		{"-log", "x", "extra"},
	} {
		if _, _, code := run(t, nil, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

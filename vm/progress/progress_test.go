package progress

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a time source the tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newMeter(c *clock, out io.Writer, tty bool, estimate int) *Meter {
	m := &Meter{Label: "kernel", Estimate: estimate, TTY: tty, Out: out, Now: c.now}
	m.Start()
	return m
}

// Units in testdata/kbuild.log: every kbuild "  TAG     target" line, not gcc's source lines or make's.
const kbuildUnits = 38

func TestCountKbuildLog(t *testing.T) {
	n, err := CountFile("testdata/kbuild.log", regexp.MustCompile(DefaultPattern))
	if err != nil {
		t.Fatal(err)
	}
	if n != kbuildUnits {
		t.Errorf("CountFile = %d, want %d", n, kbuildUnits)
	}
}

func TestCountSelftestsLog(t *testing.T) {
	// The selftests' tags have dashes and a bracketed runner: CLNG-BPF [test_progs], TEST-OBJ, EXT-COPY.
	n, err := CountFile("testdata/selftests.log", regexp.MustCompile(DefaultPattern))
	if err != nil {
		t.Fatal(err)
	}
	if n != 15 {
		t.Errorf("CountFile = %d, want 15", n)
	}
}

func TestDefaultPattern(t *testing.T) {
	re := regexp.MustCompile(DefaultPattern)
	for _, line := range []string{
		"  CC      kernel/bpf/oreore.o",
		"  CC [M]  drivers/net/veth.o",
		"  LD [M]  drivers/net/veth.ko",
		"  BTF [M] drivers/net/veth.ko",
		"  AR      kernel/built-in.a",
		"  GEN     Makefile",
		"  VDSO2C  arch/x86/entry/vdso/vdso-image-64.c",
		"  CLNG-BPF [test_progs] test_oreore.bpf.o",
		"  TEST-OBJ [test_progs] oreore.test.o",
		"  BINARY   test_progs",
	} {
		if !re.MatchString(line) {
			t.Errorf("%q not counted", line)
		}
	}
	for _, line := range []string{
		"  123 |         u32 x;",
		"      |             ^",
		"kernel/bpf/oreore.c:123:13: warning: unused variable 'x'",
		"Kernel: arch/x86/boot/bzImage is ready  (#1)",
		"make[2]: Entering directory '/work/main/build/kernel-6.12'",
		"...                                  libbfd: [ OFF ]",
		"   CC      three spaces",
		"  CC",
		"",
	} {
		if re.MatchString(line) {
			t.Errorf("%q counted", line)
		}
	}
}

func TestCopyKeepsTheLogWhole(t *testing.T) {
	in, err := os.ReadFile("testdata/kbuild.log")
	if err != nil {
		t.Fatal(err)
	}
	in = append(in, "no newline at the end"...)
	var log, out bytes.Buffer
	m := newMeter(newClock(), &out, false, 0)
	if err := Copy(bytes.NewReader(in), &log, m, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(log.Bytes(), in) {
		t.Errorf("the log differs from the input")
	}
	if m.Count() != kbuildUnits {
		t.Errorf("Count = %d, want %d (as CountFile)", m.Count(), kbuildUnits)
	}
	if got, want := out.String(), "kernel: 38 objects in 0s\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

func TestCopyLongLine(t *testing.T) {
	// A line longer than the read buffer is one line: counted once, by its start only.
	long := "  CC      " + strings.Repeat("x", 200<<10) + "  LD      y\n" + strings.Repeat("z", 100<<10) + "\n  AR      a.a\n"
	var log bytes.Buffer
	m := newMeter(newClock(), nil, false, 0)
	if err := Copy(strings.NewReader(long), &log, m, nil); err != nil {
		t.Fatal(err)
	}
	if log.String() != long {
		t.Errorf("the log differs from the input")
	}
	if m.Count() != 2 {
		t.Errorf("Count = %d, want 2", m.Count())
	}
}

func TestCopyWhenStdoutFails(t *testing.T) {
	in, _ := os.ReadFile("testdata/kbuild.log")
	var log bytes.Buffer
	out := &failingWriter{after: 1}
	c := newClock()
	m := newMeter(c, out, false, 0)
	// A line after each unit (a second passes each time the clock is read): the second write fails.
	m.Now = func() time.Time { c.advance(time.Second); return c.now() }
	if err := Copy(bytes.NewReader(in), &log, m, nil); err != nil {
		t.Fatalf("Copy: %v (stdout's failure is not the log's)", err)
	}
	if !bytes.Equal(log.Bytes(), in) {
		t.Errorf("the log lost lines after stdout failed")
	}
	if m.Err() == nil || out.writes != 2 {
		t.Errorf("Err %v after %d writes: want the failure and no write after it", m.Err(), out.writes)
	}
}

func TestCopyWhenTheLogFails(t *testing.T) {
	in, _ := os.ReadFile("testdata/kbuild.log")
	r := bytes.NewReader(in)
	var out bytes.Buffer
	m := newMeter(newClock(), &out, false, 0)
	err := Copy(r, &failingWriter{after: 3}, m, nil)
	if err == nil || !strings.Contains(err.Error(), "writing the log") {
		t.Errorf("Copy = %v, want the log's error", err)
	}
	if r.Len() != 0 {
		t.Errorf("%d bytes of input left unread: the writer would get a broken pipe", r.Len())
	}
	if m.Count() != kbuildUnits || out.String() != "kernel: 38 objects in 0s\n" {
		t.Errorf("count %d, output %q: want the whole input counted and the final line", m.Count(), out.String())
	}
}

func TestCopyTicks(t *testing.T) {
	// The ticks show the time moving while nothing is printed (the link).
	// (All writes to out are made before Copy returns, under the Meter's lock.)
	c := newClock()
	var out bytes.Buffer
	m := newMeter(c, &out, false, 0)
	pr, pw := io.Pipe()
	ticks := make(chan time.Time)
	done := make(chan error)
	go func() { done <- Copy(pr, io.Discard, m, ticks) }()
	io.WriteString(pw, "  LD      vmlinux\n")
	io.WriteString(pw, "make[1]: Leaving directory\n") // taken once the first line was counted
	c.advance(31 * time.Second)
	ticks <- c.now()
	ticks <- c.now() // the first tick was handled once the second one is taken
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := "kernel: 1 objects, 31s  LD vmlinux\nkernel: 1 objects in 31s\n"
	if got := out.String(); got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

func TestEstimateFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".oreore-units")
	if n, ok := ReadEstimate(path); ok {
		t.Errorf("missing file: %d, true", n)
	}
	for _, bad := range []string{"", "zero\n", "0\n", "-3\n", "12 objects\n"} {
		os.WriteFile(path, []byte(bad), 0o644)
		if n, ok := ReadEstimate(path); ok {
			t.Errorf("%q: %d, true", bad, n)
		}
	}
	if err := WriteEstimate(path, 2900); err != nil {
		t.Fatal(err)
	}
	if n, ok := ReadEstimate(path); !ok || n != 2900 {
		t.Errorf("after WriteEstimate(2900): %d, %v", n, ok)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the folder, want the estimate alone", len(entries))
	}
	if err := WriteEstimate(filepath.Join(dir, "missing", "x"), 1); err == nil {
		t.Errorf("WriteEstimate into a missing folder succeeded")
	}
}

// status after n units over elapsed, with the estimate given.
func statusAfter(estimate, n int, elapsed time.Duration, over string) string {
	c := newClock()
	m := newMeter(c, nil, false, estimate)
	m.Over = over
	for i := 0; i < n; i++ {
		m.Line([]byte("  CC      kernel/bpf/oreore.o\n"))
	}
	c.advance(elapsed)
	return m.status(c.now())
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		name     string
		estimate int
		n        int
		elapsed  time.Duration
		over     string
		want     string
	}{
		{"no estimate", 0, 1234, 190 * time.Second, "",
			"kernel: 1234 objects, 3m10s  CC kernel/bpf/oreore.o"},
		{"nothing yet", 0, 0, 0, "",
			"kernel: 0 objects, 0s"},
		{"under 5%: no time left", 2900, 144, 20 * time.Second, "",
			"kernel: 144/2900 objects (4%), 20s  CC kernel/bpf/oreore.o"},
		// 1218 in 190 s: 1682 more at that rate take 262.4 s, said as 4m30s (rounded up to 10 s).
		{"time left", 2900, 1218, 190 * time.Second, "",
			"kernel: 1218/2900 objects (42%), 3m10s, about 4m30s left  CC kernel/bpf/oreore.o"},
		{"almost done", 2900, 2899, 550 * time.Second, "",
			"kernel: 2899/2900 objects (99%), 9m10s, about 10s left  CC kernel/bpf/oreore.o"},
		{"reached", 2900, 2900, 552 * time.Second, "",
			"kernel: 2900/2900 objects (100%), 9m12s  CC kernel/bpf/oreore.o"},
		{"exceeded", 2900, 2901, 552 * time.Second, "",
			"kernel: 2901/2900 objects (more than last time), 9m12s  CC kernel/bpf/oreore.o"},
		{"exceeded the default", 100, 150, 70 * time.Second, "more than expected",
			"kernel: 150/100 objects (more than expected), 1m10s  CC kernel/bpf/oreore.o"},
		{"long", 0, 5, 2*time.Hour + 3*time.Minute + 4*time.Second, "",
			"kernel: 5 objects, 2h03m  CC kernel/bpf/oreore.o"},
	} {
		if got := statusAfter(tc.estimate, tc.n, tc.elapsed, tc.over); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestTimeLeft(t *testing.T) {
	for _, tc := range []struct {
		count, estimate int
		elapsed         time.Duration
		want            time.Duration
		ok              bool
	}{
		{0, 100, time.Minute, 0, false},
		{4, 100, time.Minute, 0, false},
		{5, 100, 5 * time.Second, 100 * time.Second, true},
		{50, 100, 0, 10 * time.Second, true}, // never less than "about 10s"
		{100, 100, time.Minute, 0, false},
		{150, 100, time.Minute, 0, false},
		{5, 0, time.Minute, 0, false},
	} {
		got, ok := timeLeft(tc.count, tc.estimate, tc.elapsed)
		if got != tc.want || ok != tc.ok {
			t.Errorf("timeLeft(%d, %d, %v) = %v, %v; want %v, %v", tc.count, tc.estimate, tc.elapsed, got, ok, tc.want, tc.ok)
		}
		if got < 0 {
			t.Errorf("timeLeft(%d, %d, %v) is negative", tc.count, tc.estimate, tc.elapsed)
		}
	}
}

func TestNotATerminal(t *testing.T) {
	// One line per 30 s, whatever the rate of units; none at all for a short step; no carriage return.
	c := newClock()
	var out bytes.Buffer
	m := newMeter(c, &out, false, 0)
	for i := 0; i < 95; i++ { // a unit every second
		c.advance(time.Second)
		m.Line([]byte("  CC      init/main.o\n"))
	}
	// 95 s: lines at 30, 60 and 90 s.
	want := "kernel: 30 objects, 30s  CC init/main.o\n" +
		"kernel: 60 objects, 1m00s  CC init/main.o\n" +
		"kernel: 90 objects, 1m30s  CC init/main.o\n"
	if got := out.String(); got != want {
		t.Errorf("output\n%s\nwant\n%s", got, want)
	}
	// Nothing printed for 40 s (the link): the tick prints on time, and the next line is 30 s after the last
	// boundary (120 s), not 30 s after the late tick.
	out.Reset()
	c.advance(40 * time.Second) // 135 s
	m.Tick()
	c.advance(10 * time.Second) // 145 s
	m.Tick()
	c.advance(5 * time.Second) // 150 s
	m.Tick()
	want = "kernel: 95 objects, 2m15s  CC init/main.o\n" +
		"kernel: 95 objects, 2m30s  CC init/main.o\n"
	if got := out.String(); got != want {
		t.Errorf("output\n%s\nwant\n%s", got, want)
	}
	m.Done()
	if !strings.HasSuffix(out.String(), "\nkernel: 95 objects in 2m30s\n") {
		t.Errorf("final line missing: %q", out.String())
	}
	if strings.ContainsAny(out.String(), "\r\x1b") {
		t.Errorf("carriage return or escape in a log: %q", out.String())
	}

	// A custom period.
	c = newClock()
	out.Reset()
	m = newMeter(c, &out, false, 0)
	m.Every = 5 * time.Second
	for i := 0; i < 12; i++ {
		c.advance(time.Second)
		m.Tick()
	}
	if n := strings.Count(out.String(), "\n"); n != 2 {
		t.Errorf("-every 5s over 12 s: %d lines, want 2:\n%s", n, out.String())
	}
}

func TestTerminal(t *testing.T) {
	c := newClock()
	var out bytes.Buffer
	m := newMeter(c, &out, true, 2900)
	m.Width = func() int { return 200 }
	// 1000 units in 2.5 s: the line is redrawn at most every 250 ms.
	for i := 0; i < 1000; i++ {
		c.advance(2500 * time.Microsecond)
		m.Line([]byte("  CC      kernel/bpf/oreore.o\n"))
	}
	s := out.String()
	if n := strings.Count(s, clearLine); n < 9 || n > 10 {
		t.Errorf("%d updates in 2.5 s, want 10 at most", n)
	}
	if strings.Contains(s, "\n") {
		t.Errorf("newline before the end: %q", s)
	}
	// 1000/2900 (5% and more) after 2.5 s: 1900 more take 4.75 s, said as 10s.
	if last := s[strings.LastIndex(s, clearLine)+len(clearLine):]; last !=
		"kernel: 1000/2900 objects (34%), 2s, about 10s left  CC kernel/bpf/oreore.o" {
		t.Errorf("last update %q", last)
	}
	// Nothing new: the same text is not drawn again.
	out.Reset()
	c.advance(100 * time.Millisecond)
	m.Tick()
	if out.Len() != 0 {
		t.Errorf("drawn within 250 ms of the last update: %q", out.String())
	}
	c.advance(time.Second)
	m.Tick() // 3.6 s: the time moved
	m.Tick()
	if got := out.String(); got != clearLine+"kernel: 1000/2900 objects (34%), 3s, about 10s left  CC kernel/bpf/oreore.o" {
		t.Errorf("tick drew %q", got)
	}
	out.Reset()
	c.advance(300 * time.Millisecond)
	m.Tick() // 3.9 s: due, but the text is the same
	if out.Len() != 0 {
		t.Errorf("the same text drawn again: %q", out.String())
	}
	// The final line replaces the progress line, and ends with a newline.
	c.advance(6 * time.Second)
	m.Done()
	if got, want := out.String(), clearLine+"kernel: 1000 objects in 9s\n"; got != want {
		t.Errorf("final %q, want %q", got, want)
	}
}

func TestTerminalWidth(t *testing.T) {
	c := newClock()
	var out bytes.Buffer
	m := newMeter(c, &out, true, 0)
	m.Width = func() int { return 30 }
	c.advance(time.Second)
	m.Line([]byte("  CC      /work/main/build/selftests-6.1/bpftool-static/libbpf/staticobjs/libbpf.o\n"))
	// Cut to 29 columns: a line as wide as the terminal wraps on some.
	if got, want := out.String(), clearLine+"kernel: 1 objects, 1s  CC /wo"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	out.Reset()
	m.Width = func() int { return 0 } // unknown: 80
	c.advance(time.Second)
	m.Tick()
	if got := out.String(); len(got) != len(clearLine)+79 {
		t.Errorf("width 0: %d columns, want 79: %q", len(got)-len(clearLine), got)
	}
}

func TestSilence(t *testing.T) {
	c := newClock()
	var out bytes.Buffer
	m := newMeter(c, &out, true, 0)
	c.advance(time.Second)
	m.Line([]byte("  CC      init/main.o\n"))
	m.Silence()
	c.advance(time.Second)
	m.Line([]byte("  CC      init/version.o\n"))
	m.Done()
	if got, want := out.String(), clearLine+"kernel: 1 objects, 1s  CC init/main.o\n"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:                   "0s",
		0:                              "0s",
		999 * time.Millisecond:         "0s",
		59 * time.Second:               "59s",
		60 * time.Second:               "1m00s",
		9*time.Minute + 12*time.Second: "9m12s",
		time.Hour + 2*time.Minute + 59*time.Second: "1h02m",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

type failingWriter struct {
	after  int // writes that succeed
	writes int
}

func (w *failingWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.writes > w.after {
		return 0, errors.New("broken pipe")
	}
	return len(p), nil
}

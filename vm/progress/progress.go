// Package progress shows how far a long build step is, from the lines it prints.
//
// A Meter counts the lines that match a pattern (kbuild's "  CC      kernel/bpf/oreore.o": one line per
// object built) against an estimate, the count the same step reached the last time it completed. On a
// terminal it keeps one line up to date in place, at most a few times a second; elsewhere (CI logs) it prints
// a line every Every; at the end it prints the count and the time taken. Copy feeds a Meter from a stream and
// copies every byte of it to a log.
package progress

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultPattern matches the line kbuild prints for each target it builds ("  CC      init/main.o",
// "  CC [M]  ...", "  LD      vmlinux", "  AR      ...", "  BTF     ...", "  GEN     ...") and the selftests'
// and tools' lines ("  CLNG-BPF [test_progs] x.bpf.o", "  TEST-OBJ ...", "  BINARY   test_progs"): two
// spaces, a capitalised tag, blanks, then the target. The tag starts with a letter so that the source lines
// of gcc's diagnostics ("  123 | x = y;") are not counted.
const DefaultPattern = `^\s{2}[A-Z][A-Z0-9_\[\]-]*\s+\S`

// Defaults for a Meter's intervals.
const (
	// DefaultRefresh is the shortest time between two updates of the line on a terminal.
	DefaultRefresh = 250 * time.Millisecond
	// DefaultEvery is the time between two lines when the output is not a terminal.
	DefaultEvery = 30 * time.Second
)

// minDoneForETA is the fraction of the estimate that must be done before the time left is shown: before
// that the rate says little (the first objects are headers and small files, or ccache hits).
const minDoneForETA = 0.05

// clearLine returns the cursor to the start of the line and clears it to the end.
const clearLine = "\r\x1b[K"

// A Meter counts a step's units and shows its progress on Out. Set the fields, call Start, then Line for each
// line of the step's output (and Tick now and then, so that the time shown moves while nothing is printed),
// and Done at the end. Its methods may be called from several goroutines.
type Meter struct {
	Label   string         // the step, first on each line: "kernel"
	Units   string         // what is counted: "objects"
	Pattern *regexp.Regexp // the lines counted; nil: DefaultPattern

	// Estimate is the number of units expected (0: unknown, then only the count and the time are shown).
	Estimate int
	// Over is said instead of a percentage once the count passes Estimate: "more than last time".
	Over string

	// TTY: Out is a terminal; the line is rewritten in place, at most once per Refresh.
	// Otherwise a line is printed once per Every, without carriage returns.
	TTY     bool
	Refresh time.Duration
	Every   time.Duration
	// Width gives the terminal's width (nil or <= 0: 80); the line is cut to fit, so that it never wraps.
	Width func() int

	Out io.Writer
	Now func() time.Time // nil: time.Now

	// Times, if set, gets every line with the seconds since Start ("12.345\t  LD      vmlinux.o"), and
	// "12.999\tEND" from Done: a step's timeline, which make bench splits into phases (vm/bench).
	Times io.Writer

	mu      sync.Mutex
	started bool
	start   time.Time
	last    time.Time // when the progress line was last written
	shown   string    // the line on the terminal
	count   int
	current string // the last counted line, blanks squeezed
	outErr  error  // the first failed write to Out; nothing more is written
	silent  bool   // Silence was called
}

// Start starts the clock. Line, Tick and Done start it if it was not.
func (m *Meter) Start() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.startLocked()
}

func (m *Meter) startLocked() {
	if m.started {
		return
	}
	m.started = true
	m.start = m.now()
	m.last = m.start
	if m.Pattern == nil {
		m.Pattern = regexp.MustCompile(DefaultPattern)
	}
}

func (m *Meter) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Line takes one line of the step's output (with or without its newline) and counts it if it matches.
func (m *Meter) Line(line []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.startLocked()
	if m.Times != nil {
		fmt.Fprintf(m.Times, "%.3f\t%s\n", m.now().Sub(m.start).Seconds(), strings.TrimRight(string(line), "\r\n"))
	}
	if !m.Pattern.Match(line) {
		return
	}
	m.count++
	m.current = strings.Join(strings.Fields(string(line)), " ")
	m.maybeShow()
}

// Tick shows the progress if it is due: the time moves on while the step prints nothing (a link).
func (m *Meter) Tick() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.startLocked()
	m.maybeShow()
}

// Count is the number of units counted so far.
func (m *Meter) Count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.count
}

// Done prints the final line, "kernel: 2900 objects in 9m12s", in place of the progress line on a terminal.
func (m *Meter) Done() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.startLocked()
	if m.Times != nil {
		fmt.Fprintf(m.Times, "%.3f\tEND\n", m.now().Sub(m.start).Seconds())
	}
	final := fmt.Sprintf("%s: %d %s in %s", m.Label, m.count, m.units(), formatDuration(m.now().Sub(m.start)))
	if m.TTY {
		m.write(clearLine + final + "\n")
	} else {
		m.write(final + "\n")
	}
	m.shown = ""
}

// Silence ends the progress line on a terminal and stops all output, Done's included: the step was
// interrupted.
func (m *Meter) Silence() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.TTY && m.shown != "" {
		m.write("\n")
	}
	m.shown = ""
	m.silent = true
}

// Err is the first error writing to Out (after which the Meter stopped writing).
func (m *Meter) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.outErr
}

func (m *Meter) maybeShow() {
	now := m.now()
	if m.TTY {
		if now.Sub(m.last) < durationOr(m.Refresh, DefaultRefresh) {
			return
		}
		m.last = now
		line := m.status(now)
		if w := m.width(); len([]rune(line)) > w-1 {
			line = string([]rune(line)[:w-1])
		}
		if line == m.shown {
			return
		}
		m.shown = line
		m.write(clearLine + line)
		return
	}
	every := durationOr(m.Every, DefaultEvery)
	if now.Sub(m.last) < every {
		return
	}
	// On the period's boundary, however late the tick: the lines stay 30 s apart.
	m.last = m.last.Add(now.Sub(m.last) / every * every)
	m.write(m.status(now) + "\n")
}

// status is the progress line: "kernel: 1234/2900 objects (42%), 3m10s, about 4m20s left  CC kernel/bpf/oreore.o".
func (m *Meter) status(now time.Time) string {
	elapsed := now.Sub(m.start)
	var b strings.Builder
	fmt.Fprintf(&b, "%s: ", m.Label)
	switch {
	case m.Estimate <= 0:
		fmt.Fprintf(&b, "%d %s, %s", m.count, m.units(), formatDuration(elapsed))
	case m.count > m.Estimate:
		over := m.Over
		if over == "" {
			over = "more than last time"
		}
		fmt.Fprintf(&b, "%d/%d %s (%s), %s", m.count, m.Estimate, m.units(), over, formatDuration(elapsed))
	default:
		fmt.Fprintf(&b, "%d/%d %s (%d%%), %s", m.count, m.Estimate, m.units(), m.count*100/m.Estimate,
			formatDuration(elapsed))
		if left, ok := timeLeft(m.count, m.Estimate, elapsed); ok {
			fmt.Fprintf(&b, ", about %s left", formatDuration(left))
		}
	}
	if m.current != "" {
		b.WriteString("  ")
		b.WriteString(m.current)
	}
	return b.String()
}

// timeLeft extrapolates the rate so far (count units in elapsed) to the rest of the estimate, rounded up to
// 10 s. It says nothing before minDoneForETA of the estimate is done, or once the count has reached it.
func timeLeft(count, estimate int, elapsed time.Duration) (time.Duration, bool) {
	if estimate <= 0 || count <= 0 || count >= estimate || float64(count) < minDoneForETA*float64(estimate) {
		return 0, false
	}
	left := time.Duration(float64(elapsed) * float64(estimate-count) / float64(count))
	const step = 10 * time.Second
	left = (left + step - 1) / step * step
	if left < step {
		left = step
	}
	return left, true
}

// formatDuration: "45s", "3m05s", "1h02m".
func formatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	default:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
}

func (m *Meter) units() string {
	if m.Units == "" {
		return "objects"
	}
	return m.Units
}

func (m *Meter) width() int {
	if m.Width != nil {
		if w := m.Width(); w > 0 {
			return w
		}
	}
	return 80
}

func (m *Meter) write(s string) {
	if m.outErr != nil || m.Out == nil || m.silent {
		return
	}
	if _, err := io.WriteString(m.Out, s); err != nil {
		m.outErr = err
	}
}

func durationOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Copy copies in to log byte for byte and gives each line to m, until in ends; ticks (nil: none) call m.Tick
// meanwhile. Then it calls m.Done. It reads in to its end even when writing to log fails, so that the
// command writing in is never stopped by a broken pipe; it returns the first error reading in or writing log.
func Copy(in io.Reader, log io.Writer, m *Meter, ticks <-chan time.Time) error {
	m.Start()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if ticks != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-ticks:
					m.Tick()
				}
			}
		}()
	}
	var logErr, readErr error
	r := bufio.NewReaderSize(in, 64<<10)
	lineStart := true
	for {
		chunk, err := r.ReadSlice('\n')
		if len(chunk) > 0 {
			if logErr == nil {
				if _, werr := log.Write(chunk); werr != nil {
					logErr = werr
				}
			}
			// A line longer than the buffer comes in several chunks; the pattern is anchored at its start.
			if lineStart {
				m.Line(chunk)
			}
			lineStart = chunk[len(chunk)-1] == '\n'
		}
		if err == nil || errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != io.EOF {
			readErr = err
		}
		break
	}
	close(stop)
	wg.Wait()
	m.Done()
	if logErr != nil {
		return fmt.Errorf("writing the log: %w", logErr)
	}
	return readErr
}

// CountFile counts the lines of the file at path that match re: the units a step's log records, the same
// count as Copy's Meter reached on that output.
func CountFile(path string, re *regexp.Regexp) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	m := &Meter{Pattern: re}
	if err := Copy(f, io.Discard, m, nil); err != nil {
		return 0, err
	}
	return m.Count(), nil
}

// ReadEstimate reads a count written by WriteEstimate; ok is false when the file is missing or holds no
// positive number.
func ReadEstimate(path string) (n int, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err = strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// WriteEstimate writes n to path, whole or not at all (a temporary file renamed over it).
func WriteEstimate(path string, n int) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(tmp, "%d\n", n)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

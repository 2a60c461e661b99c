// Command progress shows how far a long build step is while it copies the step's output to its log:
//
//	$(KMAKE) ... 2>&1 | progress -label kernel -log $(KOUT)/build.log -estimate $(KOUT)/.oreore-units -default-estimate 2900
//
// It counts the lines of the output that match -pattern (by default kbuild's "  CC      init/main.o": one
// per target built) against the estimate: the number in the -estimate file, else -default-estimate, else
// none (then only the count and the time are shown). On a terminal one line is kept up to date in place:
//
//	kernel: 1234/2900 objects (42%), 3m10s, about 4m20s left  CC kernel/bpf/oreore.o
//
// With -times FILE each line also goes to FILE with the seconds since the start, which make bench splits
// into the step's phases (vm/bench).
//
// Elsewhere (CI logs) such a line is printed every -every. When its input ends it prints
// "kernel: 2900 objects in 9m12s". Every byte of the input goes to the -log file, even when writing to
// stdout fails; the input is always read to its end.
//
// The estimate is recorded only for a step that succeeded, which progress cannot see at the end of a pipe.
// So recording is a second mode, for the recipe to run when the step has succeeded:
//
//	progress -record $(KOUT)/.oreore-units -log $(KOUT)/build.log
//
// counts the log's lines that match -pattern (the count the first mode showed at the end) and writes it to
// the -record file.
//
// Exit status: 0; 1 if the log could not be written (or read, with -record); 2 for bad flags. After an
// interrupt (SIGINT, SIGTERM) it stops showing progress, keeps copying to the log until its input ends or for
// at most 3 s, and exits 130.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"oreore/vm/progress"
)

func main() {
	label := flag.String("label", "progress", "the step's name, first on each line")
	logPath := flag.String("log", "", "the file the input is copied to (truncated first); with -record, the log to count")
	estimatePath := flag.String("estimate", "", "a file holding the number of units the step counted when it last succeeded (written by -record)")
	defaultEstimate := flag.Int("default-estimate", 0, "the number of units expected when the -estimate file is missing (0: unknown)")
	pattern := flag.String("pattern", progress.DefaultPattern, "a line that matches counts as one unit")
	units := flag.String("units", "objects", "what a unit is called")
	every := flag.Duration("every", progress.DefaultEvery, "when stdout is not a terminal, the time between two progress lines")
	timesPath := flag.String("times", "", "a file that gets each line of the input with the seconds since the start (make bench's phases)")
	record := flag.String("record", "", "instead of copying stdin: count the -log file's units and write the count to this file")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: CMD 2>&1 | progress -label NAME -log FILE [-estimate FILE] [-default-estimate N] [flags]\n"+
			"       progress -record FILE -log FILE [-pattern RE]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 || *logPath == "" || *every <= 0 || *defaultEstimate < 0 {
		flag.Usage()
		os.Exit(2)
	}
	re, err := regexp.Compile(*pattern)
	if err != nil {
		fmt.Fprintf(os.Stderr, "progress: -pattern: %v\n", err)
		os.Exit(2)
	}

	if *record != "" {
		n, err := progress.CountFile(*logPath, re)
		if err == nil {
			err = progress.WriteEstimate(*record, n)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "progress: %v\n", err)
			os.Exit(1)
		}
		return
	}

	m := &progress.Meter{
		Label:   *label,
		Units:   *units,
		Pattern: re,
		Every:   *every,
		Out:     os.Stdout,
	}
	if n, ok := progress.ReadEstimate(*estimatePath); ok {
		m.Estimate, m.Over = n, "more than last time"
	} else if *defaultEstimate > 0 {
		m.Estimate, m.Over = *defaultEstimate, "more than expected"
	}
	fd := int(os.Stdout.Fd())
	if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
		m.TTY = true
		m.Width = func() int {
			ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
			if err != nil {
				return 0
			}
			return int(ws.Col)
		}
	}

	// A closed stdout (make ... | head) must not kill progress, and with it the step by a broken pipe: the
	// writes fail instead, and the log gets the rest.
	signal.Ignore(syscall.SIGPIPE)
	var interrupted atomic.Bool
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-signals
		// The step is being stopped too: end the line on the terminal, let the rest of its output reach the
		// log, but do not wait for a writer that lingers.
		interrupted.Store(true)
		m.Silence()
		time.Sleep(3 * time.Second)
		os.Exit(130)
	}()

	log, err := os.Create(*logPath)
	if err != nil {
		// Read the input all the same: the command writing it must not die of a broken pipe.
		fmt.Fprintf(os.Stderr, "progress: %v\n", err)
		io.Copy(io.Discard, os.Stdin)
		os.Exit(1)
	}
	if *timesPath != "" {
		times, err := os.Create(*timesPath)
		if err != nil {
			fmt.Fprintf(os.Stderr, "progress: %v\n", err)
		} else {
			defer times.Close()
			tw := bufio.NewWriter(times)
			defer tw.Flush()
			m.Times = tw
		}
	}
	ticker := time.NewTicker(progress.DefaultRefresh)
	err = progress.Copy(os.Stdin, log, m, ticker.C)
	ticker.Stop()
	if cerr := log.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing the log: %w", cerr)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "progress: %s: %v\n", *logPath, err)
		os.Exit(1)
	}
	if interrupted.Load() {
		os.Exit(130)
	}
}

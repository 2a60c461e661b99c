package verdict

import (
	"regexp"
	"strings"

	"oreore/harness/guest"
)

// Dump is the stack dump the guest's watchdog had SysRq print.
type Dump struct {
	Line  int      // console line of its begin marker
	Lines []string // what is worth showing of it
	// Omitted counts the tasks of SysRq t (every task) left out of Lines.
	Omitted int
	// Ended is false when the console stops inside the dump.
	Ended bool
}

var (
	// stampRe strips printk's time and caller id, and the one space after
	// each: a frame's indent stays.
	stampRe   = regexp.MustCompile(`^(?:\[\s*\d+\.\d+\] ?)?(?:\[\s*[TC]\d+\] ?)?`)
	sysrqHead = regexp.MustCompile(timestamp + `sysrq: `)
	taskHead  = regexp.MustCompile(timestamp + `task:(.{1,15}?)\s+state:`)
)

// FindDump returns the watchdog's dump from the console, shortened to what
// names the hang: the blocked tasks (SysRq w) and the CPUs' backtraces (l)
// whole; of every task's stack (t) only those of the tasks named comm
// (guest.Comm of the test's package; "" keeps all), and the held locks and
// busy workqueues after them, not the scheduler's statistics.
func FindDump(console, comm string) (Dump, bool) {
	lines := strings.Split(strings.TrimRight(console, "\n"), "\n")
	d := Dump{Line: -1}
	allTasks := false // inside SysRq t
	keep := true      // the current task's block is shown
	for i, line := range lines {
		line = strings.TrimRight(line, "\r")
		if d.Line < 0 {
			if strings.Contains(line, guest.DumpBegin) {
				d.Line = i
				d.Lines = append(d.Lines, line)
			}
			continue
		}
		if strings.Contains(line, guest.DumpEnd) {
			d.Lines = append(d.Lines, line)
			d.Ended = true
			break
		}
		switch body := stampRe.ReplaceAllString(line, ""); {
		case sysrqHead.MatchString(line):
			allTasks = strings.HasPrefix(body, "sysrq: Show State")
			keep = true
		case allTasks && taskHead.MatchString(line):
			name := taskHead.FindStringSubmatch(line)[1]
			keep = comm == "" || name == comm
			if !keep {
				d.Omitted++
			}
		case allTasks && strings.HasPrefix(body, "Sched Debug Version"):
			keep = false
		case allTasks && strings.HasPrefix(body, "Showing "):
			keep = true // all locks held, busy workqueues
		}
		if keep {
			d.Lines = append(d.Lines, line)
		}
	}
	return d, d.Line >= 0
}

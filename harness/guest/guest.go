// Package guest is the contract between the host's runner (vm/) and the
// guest's init (harness/cmd/guest-init): where things are in the guest's
// file system, and what the results port carries.
//
// The results port is the guest's second serial port (ttyS1), or on a
// machine with one UART the virtio console the host names with ResultsParam
// on the kernel's command line. It carries JSON lines
// and nothing else, so kernel messages on the console can never interleave
// with them. A line is either a `go test -json` event, as cmd/test2json
// writes it, or a Guest record from the init, told apart by its Guest field.
package guest

import "strings"

// Paths in the guest.
const (
	Init       = "/init"
	Test2JSON  = "/bin/test2json"
	ModulesDir = "/lib/modules" // every *.ko, loaded in name order
	// TestsDir holds one folder per lane. The lanes run at the same time;
	// a lane runs its *.test one after another, in name order. The lane
	// AloneLane runs after all the others have ended.
	TestsDir    = "/tests"
	ProgramsDir = "/programs" // the C programs' objects, *.bpf.o
	// ResultsPort is the results port unless ResultsParam names another.
	ResultsPort = "/dev/ttyS1"
	// ResultsParam=DEVICE on the kernel's command line is the results
	// port on a machine whose second port is not ttyS1 (arm64's and
	// s390x's /dev/hvc0).
	ResultsParam = "oreore.results"
)

// ResultsPortFrom is the results port a kernel command line names.
func ResultsPortFrom(cmdline string) string {
	for _, f := range strings.Fields(cmdline) {
		if f == "--" {
			break // what follows is init's
		}
		if v, ok := strings.CutPrefix(f, ResultsParam+"="); ok && v != "" {
			return v
		}
	}
	return ResultsPort
}

// AloneLane is the lane whose binaries have the guest to themselves: they
// may change what is global (net.core.bpf_jit_enable: programs that the
// other lanes load meanwhile would be interpreted instead of JITed). It
// runs after every other lane has ended, under the same watchdog.
const AloneLane = "alone"

// RunSpecPath holds a RunSpec when the guest runs one command instead of
// the suites (vm-run, vm-shell). The host appends it to the initramfs as a
// second archive.
const RunSpecPath = "/etc/oreore/run.json"

// RunSpec is the command the init runs on the console. The init reports
// its exit status as the "done" record's Exit.
type RunSpec struct {
	Argv []string
	// Interactive gives the command the console as its controlling
	// terminal, so that a shell has job control and ^C.
	Interactive bool
	// Collect names folders whose files the init sends to the host after
	// the command, whatever its status (make fuzz: the corpus and the
	// coverage).
	Collect []string `json:",omitempty"`
}

// SelftestsDir holds the kernel's own test binaries and bpftool, built
// static from the patched tree (make selftests).
const SelftestsDir = "/selftests"

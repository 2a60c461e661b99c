package qemu

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
)

// Machine is what differs between the architectures a guest boots as:
// QEMU's emulator and board, the console, and the results port. The same
// kernel series, suites and verdict run on each.
type Machine struct {
	// Name is the Makefile's ARCH: x86_64, arm64, s390x.
	Name string
	// GOARCH is the guest's Go architecture: KVM is possible only where
	// it is the host's.
	GOARCH string
	QEMU   string
	// KbuildArch is kbuild's ARCH, CrossCompile its CROSS_COMPILE ("" for
	// the host's compiler), and KernelImage the boot image it makes.
	KbuildArch, CrossCompile, KernelImage string
	// BPFTarget is clang's target for the guest's BPF objects when it is
	// not the host's byte order ("bpfeb" on a big-endian machine).
	BPFTarget string
	// Packages are the Debian packages that bring the cross compiler and
	// QEMU's emulator (make deps ARCH=...).
	Packages []string
	// QEMUBackport, when set, is the Debian package of a newer emulator
	// than the host's suite has, which make deps fetches from the suite's
	// backports into build/debs without installing it (vm/cmd/backports),
	// and the runner is given (-qemu): the host's computes something wrong.
	QEMUBackport string
	// Board is the machine and what it needs on QEMU's command line.
	Board []string
	// TCGCPU is -cpu under TCG ("": the board's default).
	TCGCPU string
	// Console is the kernel's console device.
	Console string
	// ResultsDevice is the results port as the guest names it; the host
	// tells the guest's init with guest.ResultsParam when it is not the
	// default (ttyS1).
	ResultsDevice string
	// KernelArgs are the machine's own kernel parameters.
	KernelArgs []string
	// NoDump says why a panic's memory cannot be dumped on this machine
	// ("": it can, with pvpanic-pci and vmcoreinfo).
	NoDump string
	// resultsArgs attach the results port to a file.
	resultsArgs func(path string) []string
	// smp is -smp for n CPUs.
	smp func(n int) string
}

// Machines are the architectures a guest can be.
var Machines = map[string]Machine{
	"x86_64": {
		Name: "x86_64", GOARCH: "amd64", QEMU: "qemu-system-x86_64",
		KbuildArch: "x86", KernelImage: "bzImage",
		Board: []string{"-M", "q35"}, Console: "ttyS0", ResultsDevice: "/dev/ttyS1",
		// Without ACPI there is no HPET or PM timer; under TCG the watchdog then
		// drops the TSC for jiffies, and every duration the guest measures
		// (test_run, ktime) gets a 4 ms grain. TCG's TSC follows the host clock.
		// pty.legacy_count=0: tinyconfig's 256 legacy BSD pty pairs cost 0.24 s
		// of boot under TCG (initcall_debug), and nothing here uses them.
		// nolapic_timer: calibrating the local APIC timer against the PIT
		// costs 0.2 s under TCG; the PIT then drives the tick for all CPUs.
		KernelArgs: []string{"tsc=reliable", "pty.legacy_count=0", "nolapic_timer"},
		// The second serial port: the first is the console.
		resultsArgs: func(path string) []string { return []string{"-serial", "file:" + path} },
		// One CPU per socket: the kernel has no ACPI, so it finds CPUs in
		// SeaBIOS's MP table, which lists only the first CPU of each package.
		// QEMU's default topology puts all CPUs in one package: the guest then
		// brought up one CPU whatever -smp asked.
		smp: func(n int) string { return fmt.Sprintf("%d,sockets=%d,cores=1,threads=1", n, n) },
	},
	"arm64": {
		Name: "arm64", GOARCH: "arm64", QEMU: "qemu-system-aarch64",
		KbuildArch: "arm64", CrossCompile: "aarch64-linux-gnu-", KernelImage: "Image",
		Packages: []string{"gcc-aarch64-linux-gnu", "qemu-system-arm"},
		// virt with GICv3, as BPF CI boots aarch64; the PL011 is the console,
		// and virtio-mmio carries the results port.
		Board: []string{"-M", "virt,gic-version=3"}, TCGCPU: "max", Console: "ttyAMA0", ResultsDevice: "/dev/hvc0",
		resultsArgs: virtconsole("virtio-serial-device"),
		smp:         func(n int) string { return fmt.Sprint(n) },
	},
	"s390x": {
		Name: "s390x", GOARCH: "s390x", QEMU: "qemu-system-s390x",
		KbuildArch: "s390", CrossCompile: "s390x-linux-gnu-", KernelImage: "bzImage", BPFTarget: "bpfeb",
		Packages: []string{"gcc-s390x-linux-gnu", "qemu-system-misc"},
		// Debian 12's QEMU 7.2 computes VCKSM wrong on an x86-64 host (its
		// add2 op lacked an early clobber: 1+2+3+4 gave 0x1a), and 6.12's
		// csum_partial() uses VCKSM: every NDP message then failed its ICMPv6
		// checksum, so IPv6 never crossed a veth pair. Fixed in QEMU 8.1
		// (22d2e5351a18, "tcg/{i386, s390x}: Add earlyclobber to the
		// op_add2's first output"); bookworm-backports has 10.0.
		QEMUBackport: "qemu-system-s390x",
		// The SCLP console, and virtio-ccw for the results port.
		Board: []string{"-M", "s390-ccw-virtio"}, TCGCPU: "max", Console: "ttysclp0", ResultsDevice: "/dev/hvc0",
		NoDump:      "s390x's QEMU has no pvpanic-pci and the board no fw_cfg for vmcoreinfo",
		resultsArgs: virtconsole("virtio-serial-ccw"),
		smp:         func(n int) string { return fmt.Sprint(n) },
	},
}

// virtconsole is a results port on a virtio console (/dev/hvc0) behind
// the board's virtio-serial transport.
func virtconsole(transport string) func(string) []string {
	return func(path string) []string {
		return []string{"-chardev", "file,id=results,path=" + path, "-device", transport, "-device", "virtconsole,chardev=results"}
	}
}

// HostMachine is the machine of the host's own architecture, x86_64 where
// it has none here.
func HostMachine() Machine {
	for _, m := range Machines {
		if m.GOARCH == runtime.GOARCH {
			return m
		}
	}
	return Machines["x86_64"]
}

// MachineFor is the machine called name ("" for the host's).
func MachineFor(name string) (Machine, error) {
	if name == "" {
		return HostMachine(), nil
	}
	m, ok := Machines[name]
	if !ok {
		var names []string
		for n := range Machines {
			names = append(names, n)
		}
		sort.Strings(names)
		return Machine{}, fmt.Errorf("no machine %q (%s)", name, strings.Join(names, ", "))
	}
	return m, nil
}

// WithQEMU is m with its emulator at path ("": the machine's own).
func (m Machine) WithQEMU(path string) Machine {
	if path != "" {
		m.QEMU = path
	}
	return m
}

// Native says whether the host runs the machine's code itself: only then
// can KVM run it.
func (m Machine) Native() bool { return m.GOARCH == runtime.GOARCH }

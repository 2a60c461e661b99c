// Command machines writes what the Makefile needs to know about the
// machines a guest can be (vm/qemu's Machines), as make variables, so that
// kbuild's architecture, the cross compiler, the boot image, Go's GOARCH,
// clang's BPF target, QEMU and the Debian packages are said once, in Go:
//
//	MACHINES              the machines' names (the Makefile's ARCH)
//	KARCH_<m>             kbuild's ARCH
//	CROSS_<m>             kbuild's CROSS_COMPILE ("" for the host's gcc)
//	KIMAGE_<m>            the boot image kbuild makes
//	GOARCH_<m>            the guest's Go architecture
//	BPF_TARGET_<m>        clang's BPF target where it is not the host's
//	                      byte order (bpfeb)
//	QEMU_<m>              QEMU's emulator
//	ARCH_PACKAGES_<m>     the Debian packages of the cross compiler and QEMU
//	QEMU_BACKPORT_<m>     the package of the newer QEMU make deps fetches
//	                      from backports ("": the host's is used)
//
// The Makefile includes its output (build/machines.mk), which make rebuilds
// when vm/qemu changes.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"oreore/vm/qemu"
)

func main() {
	if err := write(os.Stdout, qemu.Machines); err != nil {
		fmt.Fprintln(os.Stderr, "machines:", err)
		os.Exit(1)
	}
}

func write(w io.Writer, machines map[string]qemu.Machine) error {
	names := make([]string, 0, len(machines))
	for name, m := range machines {
		if m.Name != name {
			return fmt.Errorf("machine %q is listed as %q", m.Name, name)
		}
		if m.KbuildArch == "" || m.KernelImage == "" || m.GOARCH == "" || m.QEMU == "" {
			return fmt.Errorf("machine %s lacks kbuild's ARCH, its boot image, GOARCH or QEMU", name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by vm/cmd/machines from vm/qemu's Machines: edit those, not this.\n")
	fmt.Fprintf(&b, "MACHINES := %s\n", strings.Join(names, " "))
	for _, name := range names {
		m := machines[name]
		for _, v := range [][2]string{
			{"KARCH", m.KbuildArch}, {"CROSS", m.CrossCompile}, {"KIMAGE", m.KernelImage}, {"GOARCH", m.GOARCH},
			{"BPF_TARGET", m.BPFTarget}, {"QEMU", m.QEMU}, {"ARCH_PACKAGES", strings.Join(m.Packages, " ")},
			{"QEMU_BACKPORT", m.QEMUBackport},
		} {
			fmt.Fprintf(&b, "%s_%s := %s\n", v[0], name, v[1])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

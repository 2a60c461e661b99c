// Package gdb finds a kernel build's debug files and builds the gdb command
// line that debugs the guest through QEMU's gdbstub: the kernel's lx-
// commands loaded, its sources found, and the oreore module's symbols
// loaded when the guest loads the module.
package gdb

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Kernel is where a kernel build keeps what a debugger reads.
type Kernel struct {
	// Build is kbuild's output folder (O=): vmlinux, and vmlinux-gdb.py
	// with the lx- commands (CONFIG_GDB_SCRIPTS and the scripts_gdb goal).
	Build string
	// Source is the tree it was built from (Build/source links to it).
	Source string
	// Modules is the out-of-tree module's build folder: oreore.ko and
	// its source. Empty when there is none.
	Modules string
}

// Find takes a bzImage in a kbuild output folder
// (BUILD/arch/x86/boot/bzImage) and finds the rest. The module's folder
// is modules when given, else the Makefile's sibling of BUILD: kmod-X
// beside kernel-X.
func Find(bzImage, modules string) (Kernel, error) {
	abs, err := filepath.Abs(bzImage)
	if err != nil {
		return Kernel{}, err
	}
	k := Kernel{Build: filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(abs))))}
	if _, err := os.Stat(k.Vmlinux()); err != nil {
		return k, fmt.Errorf("no vmlinux beside %s: %w", bzImage, err)
	}
	if src, err := filepath.EvalSymlinks(filepath.Join(k.Build, "source")); err == nil {
		k.Source = src
	}
	if modules == "" {
		if rest, ok := strings.CutPrefix(filepath.Base(k.Build), "kernel-"); ok {
			modules = filepath.Join(filepath.Dir(k.Build), "kmod-"+rest)
		}
	}
	if modules != "" {
		if _, err := os.Stat(modules); err == nil {
			k.Modules, _ = filepath.Abs(modules)
		}
	}
	return k, nil
}

// Vmlinux is the kernel with its symbols and DWARF.
func (k Kernel) Vmlinux() string { return filepath.Join(k.Build, "vmlinux") }

// Scripts is vmlinux-gdb.py, which loads the lx- commands.
func (k Kernel) Scripts() string { return filepath.Join(k.Build, "vmlinux-gdb.py") }

// Check says what is missing for gdb: the debugger, or the lx- commands.
func (k Kernel) Check() error {
	var errs []error
	if _, err := exec.LookPath("gdb"); err != nil {
		errs = append(errs, errors.New("gdb is not installed (Debian's gdb: make deps)"))
	}
	if _, err := os.Stat(k.Scripts()); err != nil {
		errs = append(errs, fmt.Errorf("%s is missing: the kernel needs CONFIG_GDB_SCRIPTS and the scripts_gdb goal", k.Scripts()))
	}
	return errors.Join(errs...)
}

// Commands are gdb's commands, in order, that attach to the gdbstub on
// port and leave the guest stopped at start_kernel with everything loaded:
//
//   - vmlinux-gdb.py, through auto-load (its folder is made safe), with
//     the lx- commands;
//   - the source tree as a source folder (the kernel is built with O=, and
//     a moved tree is found by the file names below it), and the module's;
//   - a temporary hardware breakpoint at start_kernel: before it the guest
//     runs without the kernel's page tables, which a software breakpoint
//     under KVM, and lx-symbols's reading of the module list, need;
//   - lx-symbols with the module's folder: it loads the symbols of the
//     modules already loaded (none yet) and breaks in do_init_module to
//     load each new one's, from the .ko it finds there;
//   - pending breakpoints allowed, so that `break` on a function of a
//     module not loaded yet waits for its symbols.
func (k Kernel) Commands(port int) []string {
	cmds := []string{
		"add-auto-load-safe-path " + k.Build,
		"set breakpoint pending on",
		"set pagination off",
	}
	if k.Source != "" {
		cmds = append(cmds, "directory "+k.Source)
	}
	if k.Modules != "" {
		cmds = append(cmds, "directory "+k.Modules)
	}
	cmds = append(cmds,
		"file "+k.Vmlinux(),
		fmt.Sprintf("target remote 127.0.0.1:%d", port),
		"thbreak start_kernel",
		"continue",
	)
	if k.Modules != "" {
		cmds = append(cmds, "lx-symbols "+k.Modules)
	}
	return cmds
}

// Args is gdb's argument list: the Commands, then the script (batch mode:
// gdb runs it and exits; it should end with detach or kill) or none (an
// interactive gdb, left at start_kernel). Batch mode skips the user's
// ~/.gdbinit, so that a test sees the same gdb everywhere.
func (k Kernel) Args(port int, script string) []string {
	var args []string
	if script != "" {
		args = append(args, "-batch", "-nx")
	}
	args = append(args, "-q")
	for _, c := range k.Commands(port) {
		args = append(args, "-ex", c)
	}
	if script != "" {
		args = append(args, "-x", script)
	}
	return args
}

// CommandLine is Args as one line for a shell, to print.
func CommandLine(args []string) string {
	quoted := []string{"gdb"}
	for _, a := range args {
		quoted = append(quoted, shellQuote(a))
	}
	return strings.Join(quoted, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// FreePort returns a local TCP port nobody listens on now, for QEMU's
// gdbstub. Another program may take it before QEMU does; QEMU then fails
// to start and says so.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Beside runs gdb while boot runs the guest with the gdbstub on port, and
// returns when both have ended. Without a script gdb gets this terminal
// (^C then stops the guest, not the runner); with one it runs in batch
// mode and writes to out. A gdb that fails calls stop, which must end the
// boot: a guest held for a debugger that is gone would wait forever.
func Beside(k Kernel, port int, script string, out io.Writer, boot, stop func()) error {
	cmd := exec.Command("gdb", k.Args(port, script)...)
	if script == "" {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	} else {
		cmd.Stdout, cmd.Stderr = out, out
	}
	booted := make(chan struct{})
	go func() {
		boot()
		close(booted)
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("gdb: %w", err)
		stop()
	}
	<-booted
	return err
}

// IsTerminal reports whether f is a terminal, as an interactive gdb needs.
func IsTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

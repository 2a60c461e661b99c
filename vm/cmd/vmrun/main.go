// Command vmrun boots the test guest (the patched kernel, the module, the
// oreore command) and runs one command in it instead of the suites, or an
// interactive shell with -shell. It exits with the command's exit status.
//
//	vmrun -kernel BZIMAGE -initramfs CPIO [-file HOST[:GUEST]]... -- CMD [ARG]...
//	vmrun -kernel BZIMAGE -initramfs CPIO -shell -bin DIR
//
// A CMD that is a file on the host (it has a slash and exists) is copied
// into the guest and run there: any static binary works. The command, and
// the extra files, go into a second cpio archive appended to the initramfs,
// so the suites' initramfs is not rebuilt. Exit 125 means the guest never
// reported an exit status (it panicked, hung or QEMU failed); the console
// says why.
//
// A kernel panic (an Oops too: the guest boots with oops=panic) leaves the
// guest's memory in vmcore in the -out folder, as vmtest does. -gdb holds
// the guest for gdb: on this terminal, or with -shell (which has the
// terminal) in another one, whose command line vmrun prints; -gdb-script
// runs gdb in batch mode beside the command.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"oreore/harness/guest"
	"oreore/vm/gdb"
	"oreore/vm/initramfs"
	"oreore/vm/qemu"
	"oreore/vm/verdict"
)

// noStatus is the exit code when the guest never reported the command's.
const noStatus = 125

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	cfg := qemu.Config{}
	var files, collect list
	flag.StringVar(&cfg.Kernel, "kernel", "", "bzImage to boot")
	flag.StringVar(&cfg.Initramfs, "initramfs", "", "initramfs built by mkinitramfs")
	arch := flag.String("arch", "", "the machine the guest boots as: x86_64, arm64 or s390x (default: the host's)")
	qemuBin := flag.String("qemu", "", "the emulator to run instead of the machine's (make passes the one make deps fetched where the host's is wrong)")
	flag.StringVar(&cfg.OutDir, "out", "build/vm-run", "folder for console.log and results.jsonl")
	flag.StringVar(&cfg.Memory, "m", "1G", "guest memory")
	flag.IntVar(&cfg.CPUs, "smp", 2, "guest CPUs")
	flag.DurationVar(&cfg.Timeout, "timeout", 10*time.Minute, "kill the guest after this long (0: never; -shell's default)")
	accel := flag.String("accel", qemu.DefaultAccel(), "auto (the faster of KVM and TCG here, measured once), kvm or tcg (default from $"+qemu.AccelEnv+")")
	appendArgs := flag.String("append", "", "extra kernel parameters")
	shell := flag.Bool("shell", false, "run an interactive shell (/bin/gosh) on this terminal")
	binDir := flag.String("bin", "", "add every file of this host folder to the guest's /bin")
	flag.Var(&files, "file", "add a host file to the guest, at GUEST or /extra/NAME (repeatable)")
	flag.Var(&collect, "collect", "after the command, bring this guest folder's files back into -out/collected (repeatable)")
	dump := flag.Bool("dump", true, "when the guest's kernel panics, write its memory to vmcore in -out (the guest boots with oops=panic)")
	panicOnWarn := flag.Bool("panic-on-warn", false, "a kernel WARN panics (panic_on_warn=1), so it gets a dump too")
	kmod := flag.String("kmod", "", "the module's build folder, for gdb and the dump's commands (default: kmod-X beside the kernel's build folder kernel-X)")
	useGDB := flag.Bool("gdb", false, "hold the guest for gdb: on this terminal, or with -shell in another (the command is printed)")
	gdbScript := flag.String("gdb-script", "", "run gdb in batch mode with this script beside the command (implies -gdb)")
	flag.Parse()
	if m, err := qemu.MachineFor(*arch); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(64)
	} else {
		cfg.Machine = m.WithQEMU(*qemuBin)
	}
	argv := flag.Args()
	if *shell && len(argv) == 0 {
		argv = []string{"/bin/gosh"}
	}
	if cfg.Kernel == "" || cfg.Initramfs == "" || len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "usage: vmrun -kernel BZIMAGE -initramfs CPIO [-file HOST[:GUEST]]... [-bin DIR] (-shell | -- CMD [ARG]...)")
		os.Exit(64)
	}
	if *shell && !isFlagSet("timeout") {
		cfg.Timeout = 0
	}
	a, err := qemu.ParseAccel(*accel)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(64)
	}
	cfg.Accel = a
	// quiet: the console shows the command's output, and kernel warnings.
	cfg.Append = append([]string{"quiet"}, strings.Fields(*appendArgs)...)
	if *panicOnWarn {
		cfg.Append = append(cfg.Append, "panic_on_warn=1")
	}
	if *dump {
		cfg.Dump = &qemu.Dump{Path: filepath.Join(cfg.OutDir, "vmcore")}
	}
	k, kerr := gdb.Find(cfg.Kernel, *kmod)
	if cfg.Dump != nil {
		cfg.Dump.Format = qemu.AutoFormat(k.Build)
	}
	dbg := gdb.Session{Kernel: k, Script: *gdbScript, Elsewhere: *shell && *gdbScript == ""}
	if *useGDB || *gdbScript != "" {
		port, err := dbg.Prepare(&cfg, kerr, false)
		if err != nil {
			fmt.Fprintln(os.Stderr, "vmrun:", err)
			os.Exit(64)
		}
		where := "gdb starts here"
		if dbg.Elsewhere {
			where = "run this in another terminal"
		} else if dbg.Script == "" {
			fmt.Fprintf(os.Stderr, "vmrun: the console goes to %s\n", filepath.Join(cfg.OutDir, "console.log"))
		}
		fmt.Fprintf(os.Stderr, "vmrun: the guest waits for gdb on 127.0.0.1:%d (%s):\n  %s\n", port, where,
			gdb.CommandLine(k.Args(port, dbg.Script)))
	}
	code, err := run(cfg, dbg, guest.RunSpec{Argv: argv, Interactive: *shell, Collect: collect}, files, *binDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmrun:", err)
	}
	os.Exit(code)
}

func isFlagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func run(cfg qemu.Config, dbg gdb.Session, spec guest.RunSpec, files []string, binDir string) (int, error) {
	extra, err := guestFiles(&spec, files, binDir)
	if err != nil {
		return noStatus, err
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return noStatus, err
	}
	combined := filepath.Join(cfg.OutDir, "initramfs.cpio")
	if err := appendOverlay(combined, cfg.Initramfs, spec, extra); err != nil {
		return noStatus, err
	}
	cfg.Initramfs = combined
	cfg.Console = os.Stdout
	if spec.Interactive {
		cfg.Stdin = os.Stdin
	}
	res, err := dbg.Boot(cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmrun:", err)
	}
	if res.Rebooted != "" {
		fmt.Fprintln(os.Stderr, "vmrun:", res.Rebooted)
	}

	console, _ := os.ReadFile(res.ConsolePath)
	for _, s := range verdict.FindSplats(string(console)) {
		fmt.Fprintf(os.Stderr, "vmrun: kernel report on the console: %s\n", s.Text)
	}
	switch d := res.Dump; {
	case d == nil && res.QMPErr != nil:
		fmt.Fprintf(os.Stderr, "vmrun: a panic would not have been dumped: %v\n", res.QMPErr)
	case d == nil:
	case d.Err != nil:
		fmt.Fprintf(os.Stderr, "vmrun: the guest panicked, but its memory could not be dumped: %v\n", d.Err)
	default:
		fmt.Fprintf(os.Stderr, "vmrun: the guest panicked: its memory is in %s; open it with\n  crash %s %s\n  drgn -c %s -s %s\n",
			d.Path, dbg.Kernel.Vmlinux(), d.Path, d.Path, dbg.Kernel.Vmlinux())
	}
	f, err := os.Open(res.ResultsPath)
	if err != nil {
		return noStatus, fmt.Errorf("no results from the guest (%v); console in %s", err, res.ConsolePath)
	}
	defer f.Close()
	stream, err := guest.Parse(f)
	if err != nil {
		return noStatus, err
	}
	for _, g := range stream.Guest {
		if g.Guest == "error" {
			fmt.Fprintln(os.Stderr, "vmrun: guest:", g.Msg)
		}
	}
	if err := writeCollected(filepath.Join(cfg.OutDir, "collected"), stream); err != nil {
		fmt.Fprintln(os.Stderr, "vmrun:", err)
	}
	done, ok := stream.Done()
	switch {
	case res.TimedOut:
		return noStatus, fmt.Errorf("timed out after %v; console in %s", cfg.Timeout, res.ConsolePath)
	case !ok && res.Err != nil:
		return noStatus, res.Err
	case !ok:
		return noStatus, fmt.Errorf("the guest ended without reporting an exit status; console in %s", res.ConsolePath)
	}
	return done.Exit, nil
}

// guestFiles maps guest paths to host files: -file arguments, the -bin
// folder, and the command itself when it is a host file.
func guestFiles(spec *guest.RunSpec, files []string, binDir string) (map[string]string, error) {
	extra := map[string]string{}
	add := func(host, guestPath string) error {
		if _, err := os.Stat(host); err != nil {
			return err
		}
		if prev, dup := extra[guestPath]; dup && prev != host {
			return fmt.Errorf("two files for %s: %s and %s", guestPath, prev, host)
		}
		extra[guestPath] = host
		return nil
	}
	for _, f := range files {
		host, guestPath, ok := strings.Cut(f, ":")
		if !ok {
			guestPath = path.Join("/extra", filepath.Base(host))
		}
		if err := add(host, guestPath); err != nil {
			return nil, fmt.Errorf("-file %s: %w", f, err)
		}
	}
	if binDir != "" {
		entries, err := os.ReadDir(binDir)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if err := add(filepath.Join(binDir, e.Name()), path.Join("/bin", e.Name())); err != nil {
				return nil, err
			}
		}
	}
	if cmd := spec.Argv[0]; strings.Contains(cmd, "/") {
		if _, err := os.Stat(cmd); err == nil {
			guestPath := path.Join("/extra", filepath.Base(cmd))
			if err := add(cmd, guestPath); err != nil {
				return nil, err
			}
			spec.Argv[0] = guestPath
		}
	}
	return extra, nil
}

// appendOverlay writes base followed by an archive with the run spec and
// the extra files: the kernel unpacks both, the second over the first.
func appendOverlay(out, base string, spec guest.RunSpec, extra map[string]string) (err error) {
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	dst, err := os.Create(out)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, dst.Close()) }()
	src, err := os.Open(base)
	if err != nil {
		return err
	}
	defer src.Close()
	n, err := io.Copy(dst, src)
	if err != nil {
		return err
	}
	// The kernel looks for the next archive at a 4-byte boundary.
	if pad := (4 - n%4) % 4; pad > 0 {
		if _, err := dst.Write(make([]byte, pad)); err != nil {
			return err
		}
	}
	return initramfs.WriteOverlay(dst, extra, map[string][]byte{guest.RunSpecPath: specJSON})
}

// writeCollected writes the files the guest sent back (-collect) under dir,
// at their guest paths; what an earlier run left there goes first.
func writeCollected(dir string, stream *guest.Stream) error {
	// What an earlier run collected must not pass for this one's, even
	// when this one sent nothing (its guest died first).
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	files, err := stream.Files(guest.Collected)
	if err != nil || len(files) == 0 {
		return err
	}
	for p, b := range files {
		rel := path.Clean("/" + p)[1:]
		if rel == "" {
			return fmt.Errorf("collected: bad path %q", p)
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "vmrun: %d files collected from the guest in %s\n", len(files), dir)
	return nil
}

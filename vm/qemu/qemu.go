// Package qemu boots a kernel and initramfs in qemu-system-x86_64 and keeps
// what the guest said: the console (ttyS0) and the results port (ttyS1).
package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Config describes one boot.
type Config struct {
	Kernel    string // bzImage
	Initramfs string
	Append    []string // kernel parameters added to the defaults
	InitArgs  []string // arguments for /init, after "--"
	Memory    string   // e.g. "1G"
	CPUs      int
	Timeout   time.Duration
	OutDir    string    // console.log and results.jsonl go here
	Console   io.Writer // a live copy of the console, or nil
}

// Result is what happened, without judging it: package verdict does that.
type Result struct {
	Accel       string // how QEMU ran the guest, and why
	ConsolePath string
	ResultsPath string
	TimedOut    bool
	// Err is QEMU's own failure: it could not start, or exited non-zero.
	Err  error
	Wall time.Duration
}

// Accel picks KVM when /dev/kvm can be opened, TCG otherwise, and says why.
func Accel() (args []string, desc string) {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err == nil {
		f.Close()
		return []string{"-accel", "kvm", "-cpu", "host"}, "kvm"
	}
	return []string{"-accel", "tcg"}, fmt.Sprintf("tcg (no usable /dev/kvm: %v)", errors.Unwrap(err))
}

// Args is the QEMU command line. ttyS0 is the console on stdout; ttyS1
// writes the results file. Without ACPI a power-off would hang QEMU, so the
// guest ends with a reboot, which -no-reboot turns into QEMU's exit, and a
// panic reboots at once (panic=-1).
func Args(cfg Config, accel []string, resultsPath string) []string {
	kernelArgs := append([]string{"console=ttyS0", "panic=-1", "rdinit=/init"}, cfg.Append...)
	if len(cfg.InitArgs) > 0 {
		kernelArgs = append(append(kernelArgs, "--"), cfg.InitArgs...)
	}
	args := []string{
		"-M", "q35", "-m", cfg.Memory, "-smp", fmt.Sprint(cfg.CPUs),
		"-nodefaults", "-nographic", "-no-reboot", "-net", "none",
	}
	args = append(args, accel...)
	return append(args,
		"-kernel", cfg.Kernel, "-initrd", cfg.Initramfs,
		"-append", strings.Join(kernelArgs, " "),
		"-serial", "stdio",
		"-serial", "file:"+resultsPath,
	)
}

// Run boots the guest and waits until QEMU exits or the timeout kills it.
func Run(cfg Config) Result {
	accel, desc := Accel()
	res := Result{
		Accel:       desc,
		ConsolePath: filepath.Join(cfg.OutDir, "console.log"),
		ResultsPath: filepath.Join(cfg.OutDir, "results.jsonl"),
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		res.Err = err
		return res
	}
	console, err := os.Create(res.ConsolePath)
	if err != nil {
		res.Err = err
		return res
	}
	defer console.Close()
	// A results file left from an earlier run must not pass for this one's.
	os.Remove(res.ResultsPath)

	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", Args(cfg, accel, res.ResultsPath)...)
	var stderr bytes.Buffer
	cmd.Stdout = console
	if cfg.Console != nil {
		cmd.Stdout = io.MultiWriter(console, cfg.Console)
	}
	cmd.Stderr = &stderr
	// QEMU must not share the caller's terminal settings or process group.
	cmd.SysProcAttr = &unix.SysProcAttr{Setpgid: true}

	start := time.Now()
	err = cmd.Run()
	res.Wall = time.Since(start)
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		res.TimedOut = true
	case err != nil:
		res.Err = fmt.Errorf("qemu-system-x86_64: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return res
}

package qemu

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A /dev/kvm that opens is not always a fast one: on a host whose KVM is
// paravirtual and nested (its log says kvm-pvm) our guest booted about four
// times slower than under TCG, and on others QEMU aborts at once with -cpu
// host ("failed to set MSR 0x10a"). So Auto measures instead of trusting the
// device: the kernel is booted without an initramfs to its "unable to mount
// root" panic, which panic=-1 and -no-reboot turn into QEMU's exit, once
// under TCG and then under KVM with TCG's time as its limit. The faster one
// is used, and the choice is kept for this host's boot, this QEMU and this
// kernel's path, so the two short boots are paid once (a rebuilt kernel keeps
// its path, and its choice).

// AccelEnv is the environment variable that gives the commands' -accel its
// default, so that every boot the Makefile starts, the runner's self-tests
// included, honours ACCEL.
const AccelEnv = "OREORE_ACCEL"

// AccelCacheEnv names the folder where Auto's choices are kept (the Makefile
// sets build/accel); without it, the user's cache folder.
const AccelCacheEnv = "OREORE_ACCEL_CACHE"

// DefaultAccel is the -accel flags' default: $OREORE_ACCEL, or auto.
func DefaultAccel() string {
	if a := os.Getenv(AccelEnv); a != "" {
		return a
	}
	return string(Auto)
}

// ParseAccel checks an -accel value.
func ParseAccel(s string) (Accelerator, error) {
	switch a := Accelerator(s); a {
	case Auto, KVM, TCG:
		return a, nil
	}
	return "", fmt.Errorf("accelerator %q: want auto, kvm or tcg", s)
}

// Choice is the accelerator Auto picked for a kernel, and why.
type Choice struct {
	Accel Accelerator
	Why   string
	// What the probe measured: QEMU's start to its exit at the kernel's
	// panic. KVM is 0 when it failed or was stopped at TCG's time.
	TCG, KVM time.Duration
	At       time.Time // when it was measured
	Key      string    // what it holds for: host boot, QEMU, kernel
	// Cached is the file the choice was read from ("" when measured now).
	Cached string `json:"-"`
}

// Reason says why, and where a kept choice came from.
func (c Choice) Reason() string {
	if c.Cached != "" {
		return fmt.Sprintf("%s; measured %s, kept in %s", c.Why, c.At.Format("2006-01-02 15:04"), c.Cached)
	}
	return c.Why
}

// Chooser resolves Auto for one kernel.
type Chooser struct {
	QEMU     string // the QEMU binary, looked up in PATH
	CacheDir string // "" keeps nothing
	// KVMOpens reports whether /dev/kvm can be opened, and why not.
	KVMOpens func() (bool, string)
	Log      io.Writer // where the probe says what it does; nil: nowhere
	// Limit bounds the TCG probe (a kernel that does not reach its panic
	// in that time makes the probe fail, and KVM is used as before).
	Limit time.Duration
}

// DefaultChooser is the one Run uses.
func DefaultChooser() Chooser {
	dir := os.Getenv(AccelCacheEnv)
	if dir == "" {
		if base, err := os.UserCacheDir(); err == nil {
			dir = filepath.Join(base, "oreore", "accel")
		}
	}
	return Chooser{QEMU: "qemu-system-x86_64", CacheDir: dir, KVMOpens: kvmUsable, Log: os.Stderr, Limit: 2 * time.Minute}
}

// Choose picks KVM or TCG for cfg's kernel.
func (c Chooser) Choose(cfg Config) Choice {
	ok, reason := c.KVMOpens()
	if !ok {
		return Choice{Accel: TCG, Why: "no usable /dev/kvm: " + reason}
	}
	key, err := c.key(cfg.Kernel)
	if err != nil {
		return Choice{Accel: KVM, Why: "/dev/kvm opens; not measured against TCG: " + err.Error()}
	}
	file := ""
	if c.CacheDir != "" {
		file = filepath.Join(c.CacheDir, fmt.Sprintf("%x", sha256.Sum256([]byte(key)))[:16]+".json")
		var kept Choice
		if b, err := os.ReadFile(file); err == nil && json.Unmarshal(b, &kept) == nil && kept.Key == key {
			kept.Cached = file
			return kept
		}
	}
	c.logf("vm: /dev/kvm opens, but a KVM can be slower than TCG: booting %s to its panic under each, to pick the faster (once per host boot, QEMU and kernel)\n", cfg.Kernel)
	choice := c.measure(cfg)
	choice.Key, choice.At = key, time.Now()
	c.logf("vm: chose %s (%s)\n", choice.Accel, choice.Why)
	if file != "" && choice.TCG > 0 {
		if err := os.MkdirAll(c.CacheDir, 0o755); err == nil {
			b, _ := json.MarshalIndent(choice, "", "\t")
			os.WriteFile(file, append(b, '\n'), 0o644)
		}
	}
	return choice
}

func (c Chooser) measure(cfg Config) Choice {
	tcg, err := c.probe(cfg, TCG, c.Limit)
	if err != nil {
		return Choice{Accel: KVM, Why: "/dev/kvm opens; the TCG probe failed, so KVM is used unmeasured: " + err.Error()}
	}
	kvm, err := c.probe(cfg, KVM, tcg)
	switch {
	case err == errSlower:
		return Choice{Accel: TCG, TCG: tcg, Why: fmt.Sprintf("TCG booted this kernel in %.2f s; KVM had not within that time: it is slower here (a nested or paravirtual KVM?)", tcg.Seconds())}
	case err != nil:
		return Choice{Accel: TCG, TCG: tcg, Why: "KVM fails here: " + err.Error()}
	case kvm >= tcg:
		return Choice{Accel: TCG, TCG: tcg, KVM: kvm, Why: fmt.Sprintf("TCG booted this kernel in %.2f s, KVM in %.2f s", tcg.Seconds(), kvm.Seconds())}
	}
	return Choice{Accel: KVM, TCG: tcg, KVM: kvm, Why: fmt.Sprintf("KVM booted this kernel in %.2f s, TCG in %.2f s", kvm.Seconds(), tcg.Seconds())}
}

var errSlower = fmt.Errorf("stopped at the limit")

// probeMark is what the kernel prints when it has booted as far as it can
// without an initramfs.
const probeMark = "Kernel panic"

// probe boots cfg's kernel alone under accel and returns the time to QEMU's
// exit at the kernel's panic; errSlower when limit passed first.
func (c Chooser) probe(cfg Config, accel Accelerator, limit time.Duration) (time.Duration, error) {
	pc := Config{Kernel: cfg.Kernel, Memory: cfg.Memory, CPUs: cfg.CPUs, TSCkHz: cfg.TSCkHz}
	if pc.Memory == "" {
		pc.Memory = "1G"
	}
	if pc.CPUs == 0 {
		pc.CPUs = 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.QEMU, Args(pc, accel, os.DevNull)...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	// Its own process group, killed whole: a QEMU started by a wrapper
	// must not outlive the limit.
	cmd.SysProcAttr = &unix.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return unix.Kill(-cmd.Process.Pid, unix.SIGKILL) }
	cmd.WaitDelay = time.Second
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return 0, errSlower
	case err != nil:
		return 0, fmt.Errorf("%s: %v: %s", accel, err, firstLine(strings.TrimSpace(stderr.String()+"\n"+out.String())))
	case !strings.Contains(out.String(), probeMark):
		return 0, fmt.Errorf("%s: QEMU exited before the kernel reached its panic (%d bytes of console)", accel, out.Len())
	}
	return took, nil
}

// key names what a choice holds for: this host's boot (a reboot may change
// what /dev/kvm is), this QEMU binary and this kernel's path.
func (c Chooser) key(kernel string) (string, error) {
	qemu, err := exec.LookPath(c.QEMU)
	if err != nil {
		return "", err
	}
	qi, err := os.Stat(qemu)
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(kernel)
	if err != nil {
		return "", err
	}
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("host boot %s, QEMU %s (%d bytes, %s), kernel %s", strings.TrimSpace(string(boot)), qemu, qi.Size(),
		qi.ModTime().UTC().Format(time.RFC3339Nano), abs), nil
}

func (c Chooser) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format, args...)
	}
}

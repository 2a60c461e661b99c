package qemu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeAccelQEMU writes a QEMU that boots "the kernel" to its panic in tcg
// under TCG and behaves as kvm says under KVM (a shell fragment), and logs
// each run's accelerator to the returned file.
func fakeAccelQEMU(t *testing.T, tcg, kvm string) (qemu, runs string) {
	dir := t.TempDir()
	runs = filepath.Join(dir, "runs")
	body := `#!/bin/sh
case "$*" in
*"-accel kvm -cpu host"*) echo kvm >> "` + runs + `"; ` + kvm + ` ;;
*"-accel tcg"*) echo tcg >> "` + runs + `"; sleep ` + tcg + `; echo "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)" ;;
*) echo "fake QEMU: no accelerator in $*" >&2; exit 9 ;;
esac
`
	qemu = filepath.Join(dir, "qemu-system-x86_64")
	if err := os.WriteFile(qemu, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return qemu, runs
}

func opens() (bool, string) { return true, "" }

func TestAutoPicksTheFasterAccelerator(t *testing.T) {
	const panicLine = `echo "Kernel panic - not syncing: VFS: Unable to mount root fs"`
	for _, tc := range []struct {
		name, kvm string
		kvmOpens  func() (bool, string)
		want      Accelerator
		why       string
		runs      string // the probes that ran, in order
	}{
		{"slow KVM (paravirtual, nested)", "sleep 5; " + panicLine, opens, TCG,
			"KVM had not within that time: it is slower here", "tcg kvm"},
		{"broken KVM (QEMU aborts with -cpu host)",
			`echo "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x0" >&2; exit 1`, opens, TCG,
			"KVM fails here: kvm: exit status 1: qemu-system-x86_64: error: failed to set MSR 0x10a", "tcg kvm"},
		{"KVM that prints nothing", "exit 0", opens, TCG,
			"QEMU exited before the kernel reached its panic", "tcg kvm"},
		{"good KVM", panicLine, opens, KVM, "KVM booted this kernel in", "tcg kvm"},
		{"no /dev/kvm", panicLine, func() (bool, string) { return false, "open /dev/kvm: no such file or directory" }, TCG,
			"no usable /dev/kvm: open /dev/kvm: no such file or directory", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			qemu, runs := fakeAccelQEMU(t, "0.5", tc.kvm)
			var log strings.Builder
			c := Chooser{QEMU: qemu, CacheDir: t.TempDir(), KVMOpens: tc.kvmOpens, Log: &log, Limit: time.Minute}
			start := time.Now()
			got := c.Choose(Config{Kernel: "bzImage", CPUs: 2, Memory: "1G"})
			if got.Accel != tc.want || !strings.Contains(got.Why, tc.why) {
				t.Errorf("chose %s (%s); want %s, why containing %q", got.Accel, got.Why, tc.want, tc.why)
			}
			// A slow KVM is stopped at TCG's time, not waited for.
			if took := time.Since(start); took > 4*time.Second {
				t.Errorf("choosing took %v: the KVM probe was not stopped at TCG's time", took)
			}
			b, _ := os.ReadFile(runs)
			if ran := strings.Join(strings.Fields(string(b)), " "); ran != tc.runs {
				t.Errorf("probes ran: %q, want %q", ran, tc.runs)
			}
			if tc.runs != "" && !strings.Contains(log.String(), "vm: chose "+string(tc.want)) {
				t.Errorf("the probe did not say what it chose:\n%s", log.String())
			}
		})
	}
}

// A choice is measured once per host boot, QEMU and kernel path: the second
// boot of the same kernel reads it, another kernel is measured again.
func TestAutoChoiceIsKept(t *testing.T) {
	qemu, runs := fakeAccelQEMU(t, "0.2", "sleep 3")
	c := Chooser{QEMU: qemu, CacheDir: t.TempDir(), KVMOpens: opens, Limit: time.Minute}
	first := c.Choose(Config{Kernel: "a/bzImage"})
	again := c.Choose(Config{Kernel: "a/bzImage"})
	if first.Accel != TCG || again.Accel != TCG || first.Cached != "" || again.Cached == "" {
		t.Fatalf("first %+v, again %+v: want TCG measured, then TCG read back", first, again)
	}
	if !strings.Contains(again.Reason(), "kept in "+again.Cached) {
		t.Errorf("a kept choice does not say where it came from: %s", again.Reason())
	}
	c.Choose(Config{Kernel: "b/bzImage"})
	b, _ := os.ReadFile(runs)
	if ran := strings.Join(strings.Fields(string(b)), " "); ran != "tcg kvm tcg kvm" {
		t.Errorf("probes ran %q: want two (kernel a), none (a again), two (kernel b)", ran)
	}
}

// A probe that cannot boot the kernel under TCG either says nothing of KVM:
// it is used as before, unmeasured, and nothing is kept.
func TestAutoWithoutAMeasurementUsesKVM(t *testing.T) {
	dir := t.TempDir()
	qemu := filepath.Join(dir, "qemu-system-x86_64")
	os.WriteFile(qemu, []byte("#!/bin/sh\necho 'qemu: could not load kernel' >&2; exit 1\n"), 0o755)
	cache := t.TempDir()
	got := Chooser{QEMU: qemu, CacheDir: cache, KVMOpens: opens, Limit: time.Minute}.Choose(Config{Kernel: "bzImage"})
	if got.Accel != KVM || !strings.Contains(got.Why, "could not load kernel") {
		t.Errorf("chose %s (%s); want KVM with the TCG probe's error", got.Accel, got.Why)
	}
	if kept, _ := os.ReadDir(cache); len(kept) != 0 {
		t.Errorf("a failed measurement was kept: %v", kept)
	}
}

// The probe boots the kernel alone: no initramfs, no results port to write.
func TestProbeBootsTheKernelAlone(t *testing.T) {
	args := strings.Join(Args(Config{Kernel: "bzImage", Memory: "1G", CPUs: 2}, KVM, os.DevNull), " ")
	if strings.Contains(args, "-initrd") || !strings.Contains(args, "-kernel bzImage -append") {
		t.Errorf("probe command line: %s", args)
	}
}

func TestDefaultAccelFromTheEnvironment(t *testing.T) {
	t.Setenv(AccelEnv, "")
	if got := DefaultAccel(); got != "auto" {
		t.Errorf("default %q, want auto", got)
	}
	t.Setenv(AccelEnv, "tcg")
	if got := DefaultAccel(); got != "tcg" {
		t.Errorf("with %s=tcg: %q", AccelEnv, got)
	}
	if _, err := ParseAccel("hvf"); err == nil {
		t.Error("ParseAccel took hvf")
	}
}

package qemu

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestArgs(t *testing.T) {
	cfg := Config{Kernel: "bzImage", Initramfs: "initrd", Memory: "1G", CPUs: 2, Timeout: time.Minute,
		Append: []string{"oreore.kmemleak=1"}, InitArgs: []string{"-test.run=X"}}
	args := strings.Join(Args(cfg, TCG, "/out/results.jsonl"), " ")
	for _, want := range []string{
		"-M q35", "-smp 2,sockets=2,cores=1,threads=1", "-nodefaults", "-no-reboot", "-net none", "-accel tcg,thread=multi",
		"-serial stdio -serial file:/out/results.jsonl",
		"-append console=ttyS0 panic=-1 rdinit=/init tsc=reliable pty.legacy_count=0 nolapic_timer oreore.kmemleak=1 -- -test.run=X",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("command line lacks %q:\n%s", want, args)
		}
	}
	cfg.Stdin = strings.NewReader("")
	if shell := strings.Join(Args(cfg, TCG, "r"), " "); !strings.Contains(shell, "-chardev stdio,id=console,signal=off -serial chardev:console -serial file:r") {
		t.Errorf("interactive command line: %s", shell)
	}
	if kvm := strings.Join(Args(cfg, KVM, "r"), " "); !strings.Contains(kvm, "-accel kvm -cpu host") {
		t.Errorf("KVM command line: %s", kvm)
	}
}

func TestFirstInitLineIsNoticedAcrossWrites(t *testing.T) {
	var sink strings.Builder
	c := &countingWriter{w: &sink, start: time.Now().Add(-time.Second), mark: []byte("oreore-init:")}
	for _, chunk := range []string{"[ 1.0] Run /init\noreore-", "init: loaded", " more\n"} {
		c.Write([]byte(chunk))
	}
	if c.markedAt < time.Second || c.n != int64(sink.Len()) {
		t.Errorf("marked at %v after %d bytes; want about 1s, all bytes counted", c.markedAt, c.n)
	}
}

// Two measurements agree, and the rate is one a CPU can have.
func TestHostTSCkHzIsSteady(t *testing.T) {
	a, b := HostTSCkHz(), HostTSCkHz()
	if a == 0 {
		t.Fatal("no TSC rate measured: the host's /proc/cpuinfo lacks constant_tsc or nonstop_tsc")
	}
	if a < 100_000 || a > 10_000_000 {
		t.Errorf("TSC rate %d kHz is not a CPU's", a)
	}
	if d := math.Abs(float64(a)-float64(b)) / float64(a); d > 0.001 {
		t.Errorf("two measurements differ by %.3f%%: %d and %d kHz", 100*d, a, b)
	}
}

// The panic's dump: a pvpanic device that pauses the guest (before
// panic=-1's reboot), QMP to hear of it, vmcoreinfo, and an Oops that
// panics. The gdbstub: a local port, the guest held, no KASLR.
func TestArgsForDumpAndGDB(t *testing.T) {
	cfg := Config{Kernel: "bzImage", Initramfs: "initrd", Memory: "1G", CPUs: 2}
	plain := strings.Join(Args(cfg, TCG, "r"), " ")
	for _, never := range []string{"pvpanic", "-qmp", "oops=panic", "-gdb", " -S", "nokaslr"} {
		if strings.Contains(plain, never) {
			t.Errorf("the default command line has %q:\n%s", never, plain)
		}
	}
	cfg.Dump, cfg.qmpSocket, cfg.GDBPort = &Dump{Path: "/out/vmcore"}, "/tmp/q/qmp.sock", 40001
	args := strings.Join(Args(cfg, TCG, "r"), " ")
	for _, want := range []string{"-device pvpanic-pci", "-device vmcoreinfo", "-action panic=pause",
		"-qmp unix:/tmp/q/qmp.sock,server=on,wait=off", "-gdb tcp:127.0.0.1:40001 -S",
		" oops=panic " + fwCfgParam, " nokaslr"} {
		if !strings.Contains(args, want) {
			t.Errorf("command line lacks %q:\n%s", want, args)
		}
	}
}

// fakeQEMU puts a qemu-system-x86_64 first on PATH that runs script, and
// returns the file each run appends a line to.
func fakeQEMU(t *testing.T, script string) (runs string) {
	dir := t.TempDir()
	runs = filepath.Join(dir, "runs")
	body := "#!/bin/sh\necho run >> " + runs + "\n" + script + "\n"
	if err := os.WriteFile(filepath.Join(dir, "qemu-system-x86_64"), []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	return runs
}

func countRuns(t *testing.T, runs string) int {
	b, err := os.ReadFile(runs)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "run\n")
}

// A QEMU that crashes (a signal of its own) is booted once more, and the
// result says so; the crashed boot's console is kept.
func TestCrashedQEMUIsBootedAgain(t *testing.T) {
	out := t.TempDir()
	runs := fakeQEMU(t, `n=$(wc -l < "$(dirname "$0")/runs")
if [ "$n" = 1 ]; then echo "first boot"; kill -SEGV $$; fi
echo "oreore-init: second boot"`)
	res := Run(Config{Accel: TCG, OutDir: out, Timeout: time.Minute, TSCkHz: 1})
	if n := countRuns(t, runs); n != 2 {
		t.Fatalf("QEMU ran %d times, want 2 (the crash, then the boot again)", n)
	}
	if res.Err != nil || !strings.Contains(res.Rebooted, "segmentation fault") {
		t.Errorf("err %v, rebooted %q: want no error and the crash named", res.Err, res.Rebooted)
	}
	for file, want := range map[string]string{"console.log": "second boot", "console-qemu-crashed.log": "first boot"} {
		if b, _ := os.ReadFile(filepath.Join(out, file)); !strings.Contains(string(b), want) {
			t.Errorf("%s holds %q, want %q", file, b, want)
		}
	}
}

// A QEMU that fails by its exit code is QEMU refusing the command line or
// the guest asking it to stop: no second boot.
func TestFailingQEMUIsNotBootedAgain(t *testing.T) {
	runs := fakeQEMU(t, "echo 'qemu-system-x86_64: -device nope: not found' >&2; exit 1")
	res := Run(Config{Accel: TCG, OutDir: t.TempDir(), Timeout: time.Minute, TSCkHz: 1})
	if n := countRuns(t, runs); n != 1 || res.Err == nil || res.Rebooted != "" {
		t.Errorf("QEMU ran %d times, err %v, rebooted %q: want 1 run, its error, no reboot", n, res.Err, res.Rebooted)
	}
}

// A KASAN kernel's dump is kdump-zlib (QEMU's paging walk of the shadow
// takes minutes), others' elf; a kernel whose config is unknown gets the
// format that cannot take minutes.
func TestAutoFormat(t *testing.T) {
	for config, want := range map[string]string{
		"CONFIG_BPF=y\nCONFIG_KASAN=y\nCONFIG_KASAN_GENERIC=y\n": "kdump-zlib",
		"CONFIG_BPF=y\n# CONFIG_KASAN is not set\n":              "elf",
		"": "kdump-zlib", // no .config at all
	} {
		dir := t.TempDir()
		if config != "" {
			if err := os.WriteFile(filepath.Join(dir, ".config"), []byte(config), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if got := AutoFormat(dir); got != want {
			t.Errorf("config %q: %s, want %s", config, got, want)
		}
	}
}

// Each machine boots its board with its console and its results port, and
// one with another architecture's instructions runs under TCG with -cpu
// max, telling the guest's init where its results port is.
func TestArgsPerMachine(t *testing.T) {
	for _, tt := range []struct {
		machine string
		want    []string
	}{
		{"x86_64", []string{"-M q35", "console=ttyS0", "-serial stdio -serial file:/r"}},
		{"arm64", []string{"-M virt,gic-version=3", "-smp 2 ", "-accel tcg,thread=multi -cpu max", "console=ttyAMA0 panic=-1 rdinit=/init oreore.results=/dev/hvc0",
			"-serial stdio -chardev file,id=results,path=/r -device virtio-serial-device -device virtconsole,chardev=results"}},
		{"s390x", []string{"-M s390-ccw-virtio", "-cpu max", "console=ttysclp0", "oreore.results=/dev/hvc0", "-device virtio-serial-ccw"}},
	} {
		m, err := MachineFor(tt.machine)
		if err != nil {
			t.Fatal(err)
		}
		cfg := Config{Machine: m, Kernel: "k", Memory: "1G", CPUs: 2, TSCkHz: 1000}
		args := strings.Join(Args(cfg, TCG, "/r"), " ")
		for _, want := range tt.want {
			if !strings.Contains(args, want) {
				t.Errorf("%s: command line lacks %q:\n%s", tt.machine, want, args)
			}
		}
		if tt.machine != "x86_64" && (strings.Contains(args, "tsc") || strings.Contains(args, "ttyS")) {
			t.Errorf("%s: x86's parameters on its command line:\n%s", tt.machine, args)
		}
	}
	if _, err := MachineFor("riscv64"); err == nil || !strings.Contains(err.Error(), "arm64, s390x, x86_64") {
		t.Errorf("an unknown machine: %v", err)
	}
}

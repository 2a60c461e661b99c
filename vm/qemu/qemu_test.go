package qemu

import (
	"math"
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

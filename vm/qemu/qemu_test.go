package qemu

import (
	"strings"
	"testing"
	"time"
)

func TestArgs(t *testing.T) {
	cfg := Config{Kernel: "bzImage", Initramfs: "initrd", Memory: "1G", CPUs: 2, Timeout: time.Minute,
		Append: []string{"oreore.kmemleak=1"}, InitArgs: []string{"-test.run=X"}}
	args := strings.Join(Args(cfg, TCG, "/out/results.jsonl"), " ")
	for _, want := range []string{
		"-M q35", "-nodefaults", "-no-reboot", "-net none", "-accel tcg,thread=multi",
		"-serial stdio -serial file:/out/results.jsonl",
		"-append console=ttyS0 panic=-1 rdinit=/init tsc=reliable oreore.kmemleak=1 -- -test.run=X",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("command line lacks %q:\n%s", want, args)
		}
	}
	if kvm := strings.Join(Args(cfg, KVM, "r"), " "); !strings.Contains(kvm, "-accel kvm -cpu host") {
		t.Errorf("KVM command line: %s", kvm)
	}
}

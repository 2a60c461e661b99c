package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"oreore/vm/qemu"
)

// The variables for every machine, read back by make itself: what the
// Makefile used to say by hand for each architecture.
func TestMakeReadsEachMachine(t *testing.T) {
	var b strings.Builder
	if err := write(&b, qemu.Machines); err != nil {
		t.Fatal(err)
	}
	mk := filepath.Join(t.TempDir(), "machines.mk")
	if err := os.WriteFile(mk, []byte(b.String()+`
print: ; @echo "$(MACHINES)|$(foreach m,$(MACHINES),$(m):$(KARCH_$(m)),$(CROSS_$(m)),$(KIMAGE_$(m)),$(GOARCH_$(m)),$(BPF_TARGET_$(m)),$(QEMU_$(m)),$(ARCH_PACKAGES_$(m)),$(QEMU_BACKPORT_$(m));)"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("make", "-s", "-f", mk, "print").CombinedOutput()
	if err != nil {
		t.Fatalf("make: %v\n%s", err, out)
	}
	want := "arm64 s390x x86_64|" +
		"arm64:arm64,aarch64-linux-gnu-,Image,arm64,,qemu-system-aarch64,gcc-aarch64-linux-gnu qemu-system-arm,; " +
		"s390x:s390,s390x-linux-gnu-,bzImage,s390x,bpfeb,qemu-system-s390x,gcc-s390x-linux-gnu qemu-system-misc,qemu-system-s390x; " +
		"x86_64:x86,,bzImage,amd64,,qemu-system-x86_64,,;\n"
	if string(out) != want {
		t.Errorf("make read\n%s\nwant\n%s", out, want)
	}
}

// A machine without what kbuild or QEMU need is refused, not written as an
// empty variable that the build would only trip over later.
func TestIncompleteMachineRefused(t *testing.T) {
	m := qemu.Machines["arm64"]
	m.KernelImage = ""
	if err := write(&strings.Builder{}, map[string]qemu.Machine{"arm64": m}); err == nil || !strings.Contains(err.Error(), "arm64") {
		t.Errorf("a machine without its boot image: %v", err)
	}
	if err := write(&strings.Builder{}, map[string]qemu.Machine{"aarch64": qemu.Machines["arm64"]}); err == nil {
		t.Error("a machine listed under another name was written")
	}
}

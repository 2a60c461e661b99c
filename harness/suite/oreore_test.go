//go:build guest

package suite

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/oreore"
	"oreore/programs"
)

var add42Inputs = []uint32{0, 1, 42, 0xffffffd6, 0xffffffff}

func loadAdd42(t *testing.T) bpf.FD {
	t.Helper()
	return load(t, "add42", programs.Add42())
}

// attach attaches prog and detaches it when the test ends.
func attach(t *testing.T, prog bpf.FD) {
	t.Helper()
	if err := oreore.Attach(prog); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := oreore.Detach(prog); err != nil {
			t.Errorf("detach at cleanup: %v", err)
		}
	})
}

func TestWriteWithNothingAttachedIsENODEV(t *testing.T) {
	_, err := rawWrite([]byte("1"))
	if !errors.Is(err, unix.ENODEV) {
		t.Fatalf("write with nothing attached: %v, want ENODEV", err)
	}
}

func TestAdd42ThroughSysfs(t *testing.T) {
	requireEmptySlot(t)
	attach(t, loadAdd42(t))
	for _, in := range add42Inputs {
		got, err := oreore.Run(in)
		if err != nil {
			t.Fatalf("input %#x: %v", in, err)
		}
		if want := in + 42; got != want {
			t.Errorf("input %#x: %s gives %#x, want %#x", in, oreore.SysfsPath, got, want)
		}
	}
}

func TestAdd42ThroughTestRun(t *testing.T) {
	prog := loadAdd42(t)
	for _, in := range add42Inputs {
		got, err := oreore.TestRun(prog, in)
		if err != nil {
			t.Fatalf("input %#x: %v", in, err)
		}
		if want := in + 42; got != want {
			t.Errorf("input %#x: BPF_PROG_TEST_RUN gives %#x, want %#x", in, got, want)
		}
	}
}

func TestProgInfoSaysOreore(t *testing.T) {
	info, err := bpf.ProgGetInfo(loadAdd42(t))
	if err != nil {
		t.Fatal(err)
	}
	if info.Type != uapi(t).ProgType || info.Name != "add42" {
		t.Errorf("prog info: type %d name %q, want type %d name add42", info.Type, info.Name, uapi(t).ProgType)
	}
}

func TestVerifierRejectsCtxReadAtOffset4(t *testing.T) {
	_, err := oreore.Load("ctx_off4", asm.Instructions{
		asm.LoadMem(asm.R0, asm.R1, 4, asm.Word),
		asm.Return(),
	})
	var verr *bpf.VerifierError
	if !errors.As(err, &verr) {
		t.Fatalf("load: %v, want a verifier error", err)
	}
	if !errors.Is(err, unix.EACCES) || !verr.Contains("invalid bpf_context access") {
		t.Errorf("load: %v\nwant EACCES and `invalid bpf_context access` in the log", err)
	}
}

package qemu

import "testing"

// bigEndian are the Go architectures of big-endian machines (go/build's
// list, those a guest could be).
var bigEndian = map[string]bool{"s390x": true, "ppc64": true, "mips": true, "mips64": true, "sparc64": true}

// Each machine's BPF objects are built in its byte order: bpfeb where the
// machine is big-endian, the host's (little-endian) bpf elsewhere. A
// machine added with the wrong target would load objects whose constants
// and BTF the kernel reads backwards.
func TestBPFTargetFollowsByteOrder(t *testing.T) {
	for name, m := range Machines {
		if want := map[bool]string{true: "bpfeb", false: ""}[bigEndian[m.GOARCH]]; m.BPFTarget != want {
			t.Errorf("%s (%s): BPF target %q, want %q", name, m.GOARCH, m.BPFTarget, want)
		}
	}
}

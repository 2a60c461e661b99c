//go:build guest

package suite

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"oreore/harness/bpf"
)

// Load attributes the oreore type has no use for are refused, each by the
// kernel check named.
func TestLoadAttributesRejected(t *testing.T) {
	tests := []struct {
		name string
		edit func(*bpf.ProgLoadAttr)
		log  string // a line of the verifier log, if the verifier refuses it
	}{
		// check_attach_btf_id: only tracing, lsm, kprobe/uprobe (6.1) and
		// iter, struct_ops (6.12) programs may sleep.
		// 7.3's verifier words it "Program of this type cannot be sleepable".
		{"BPF_F_SLEEPABLE rejected", func(a *bpf.ProgLoadAttr) { a.Flags = unix.BPF_F_SLEEPABLE }, "be sleepable"},
		// bpf_prog_offload_init (6.1), bpf_prog_dev_bound_init (6.12): only
		// XDP and tc programs are bound to a device.
		{"prog_ifindex rejected", func(a *bpf.ProgLoadAttr) { a.Ifindex = 1 }, ""},
		{"unknown prog_flags bit rejected", func(a *bpf.ProgLoadAttr) { a.Flags = 1 << 30 }, ""},
		// bpf_prog_load_check_attach: the type takes BPF_OREORE_ATTACH only.
		{"expected_attach_type 0 rejected", func(a *bpf.ProgLoadAttr) { a.ExpectedAttachType = 0 }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := uapi(t)
			attr := bpf.ProgLoadAttr{Type: u.ProgType, Insns: constProg(1), License: "GPL", ExpectedAttachType: u.AttachType}
			tt.edit(&attr)
			fd, err := bpf.ProgLoad(attr)
			if err == nil {
				fd.Close()
			}
			if !errors.Is(err, unix.EINVAL) {
				t.Fatalf("got %v, want EINVAL", err)
			}
			var verr *bpf.VerifierError
			if tt.log != "" && (!errors.As(err, &verr) || !verr.Contains(tt.log)) {
				t.Errorf("the verifier log does not say %q:\n%v", tt.log, err)
			}
		})
	}
}

// The multi-program fields of attach and detach (relative_fd,
// expected_revision) mean nothing to a single slot. 6.1 has no such fields:
// CHECK_ATTR refuses a non-zero byte past replace_bpf_fd (attach) or
// attach_type (detach). 6.12's core refuses them for a type without mprog
// support (bpf_prog_attach, bpf_prog_detach).
func TestAttachMultiProgFieldsRejected(t *testing.T) {
	requireEmptySlot(t)
	prog := load(t, "c21", constProg(21))
	for _, tt := range []struct {
		name string
		attr bpf.ProgAttachAttr
	}{
		{"relative_fd", bpf.ProgAttachAttr{Prog: prog, RelativeFD: uint32(prog)}},
		{"expected_revision", bpf.ProgAttachAttr{Prog: prog, ExpectedRevision: 1}},
	} {
		t.Run("attach with "+tt.name+" rejected", func(t *testing.T) {
			tt.attr.AttachType = uapi(t).AttachType
			if err := bpf.ProgAttach(tt.attr); !errors.Is(err, unix.EINVAL) {
				t.Errorf("got %v, want EINVAL", err)
			}
			requireEmptySlot(t)
		})
		t.Run("detach with "+tt.name+" rejected", func(t *testing.T) {
			attach(t, prog)
			tt.attr.AttachType = uapi(t).AttachType
			if err := bpf.ProgDetach(tt.attr); !errors.Is(err, unix.EINVAL) {
				t.Errorf("got %v, want EINVAL", err)
			}
			wantRun(t, "after the refused detach", 21)
		})
	}
}

// link_ids in a query: 6.1 has no such field (CHECK_ATTR past
// prog_attach_flags); 6.12's core takes it, and the series' query, like
// the netns and lirc ones, fills prog_ids alone.
func TestQueryLinkIDsBySeries(t *testing.T) {
	requireEmptySlot(t)
	prog := load(t, "c22", constProg(22))
	linkCreate(t, prog)
	linkIDs := make([]uint32, 1)
	res, err := bpf.ProgQueryWith(bpf.ProgQueryAttr{AttachType: uapi(t).AttachType, ProgIDs: make([]uint32, 1), LinkIDs: linkIDs})
	switch uapi(t).Series {
	case "6.1":
		if !errors.Is(err, unix.EINVAL) {
			t.Errorf("6.1: got %+v, %v; want EINVAL", res, err)
		}
	default:
		if err != nil || len(res.ProgIDs) != 1 || res.ProgIDs[0] != progID(t, prog) {
			t.Errorf("got %+v, %v; want the link's program %d", res, err, progID(t, prog))
		}
		if linkIDs[0] != 0 {
			t.Errorf("link_ids[0] = %d: the series' query now fills link ids; update this test", linkIDs[0])
		}
	}
}

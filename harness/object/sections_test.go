package object

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"oreore/harness/bpf"
)

// The loader knows only the generic sections: an oreore object without
// the caller's numbers is refused before anything is created, naming the
// section and the program.
func TestUnknownSectionIsNamed(t *testing.T) {
	o := open(t, "oreore_add42.bpf.o")
	c, err := o.Load()
	if err == nil {
		c.Close()
		t.Fatal("an oreore object loaded with no oreore section given")
	}
	for _, want := range []string{`section "oreore"`, "program add42", "LoadOptions.Sections"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	// Another section's entry does not cover it.
	_, err = o.LoadWith(LoadOptions{Sections: map[string]ProgType{"oreore/other": {Type: unix.BPF_PROG_TYPE_SOCKET_FILTER}}})
	if err == nil || !strings.Contains(err.Error(), `section "oreore"`) {
		t.Errorf("with only oreore/other given: %v", err)
	}
}

// The caller's entry gives the section its type. add42 reads a u32 at
// offset 0 of its context and adds 42; as a socket filter that u32 is
// __sk_buff.len, which BPF_PROG_TEST_RUN sets to the frame less its
// Ethernet header.
func TestCallerGivesTheSectionItsType(t *testing.T) {
	requireRoot(t)
	o := open(t, "oreore_add42.bpf.o")
	c, err := o.LoadWith(LoadOptions{Sections: map[string]ProgType{"oreore": {Type: unix.BPF_PROG_TYPE_SOCKET_FILTER}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	prog := c.Programs["add42"]
	info, err := bpf.ProgGetInfo(prog)
	if err != nil {
		t.Fatal(err)
	}
	if info.Type != unix.BPF_PROG_TYPE_SOCKET_FILTER {
		t.Errorf("program type %d, want BPF_PROG_TYPE_SOCKET_FILTER (%d)", info.Type, unix.BPF_PROG_TYPE_SOCKET_FILTER)
	}
	frame := udpFrame(false)
	res, err := bpf.ProgTestRun(prog, bpf.TestRun{DataIn: frame})
	if err != nil {
		t.Fatal(err)
	}
	if want := uint32(len(frame) - 14 + 42); res.Retval != want {
		t.Errorf("add42 as a socket filter on a %d-byte frame: %d, want %d", len(frame), res.Retval, want)
	}
}

// A key may name a whole section, which wins over its kind.
func TestSectionEntryWinsOverKind(t *testing.T) {
	p := &Program{Name: "f", Section: "xdp/devmap", Kind: "xdp"}
	opts := LoadOptions{Sections: map[string]ProgType{"xdp/devmap": {Type: unix.BPF_PROG_TYPE_XDP, ExpectedAttachType: unix.BPF_XDP_DEVMAP}}}
	if got, err := opts.progType(p); err != nil || got.ExpectedAttachType != unix.BPF_XDP_DEVMAP {
		t.Errorf("xdp/devmap: %+v, %v; want the caller's BPF_XDP_DEVMAP", got, err)
	}
	if got, err := (LoadOptions{}).progType(p); err != nil || got != (ProgType{unix.BPF_PROG_TYPE_XDP, unix.BPF_XDP}) {
		t.Errorf("xdp/devmap with no entry: %+v, %v; want the generic xdp", got, err)
	}
}

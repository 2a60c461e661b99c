package object

import (
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// ProgType is what a section makes of its programs: the uapi program type
// and expected attach type that BPF_PROG_LOAD gets.
type ProgType struct {
	Type, ExpectedAttachType uint32
}

// genericSections are the sections whose numbers every kernel shares, as
// libbpf names them. A section of a new program type (oreore's numbers
// differ from series to series) comes from the caller, in
// LoadOptions.Sections.
var genericSections = map[string]ProgType{
	"xdp":        {unix.BPF_PROG_TYPE_XDP, unix.BPF_XDP},
	"socket":     {unix.BPF_PROG_TYPE_SOCKET_FILTER, 0},
	"tc":         {unix.BPF_PROG_TYPE_SCHED_CLS, 0},
	"classifier": {unix.BPF_PROG_TYPE_SCHED_CLS, 0},
}

// progType looks the program's section up: by its whole name, then by its
// Kind (the name up to a '/'), in the caller's sections first.
func (opts LoadOptions) progType(p *Program) (ProgType, error) {
	for _, name := range []string{p.Section, p.Kind} {
		for _, m := range []map[string]ProgType{opts.Sections, genericSections} {
			if t, ok := m[name]; ok {
				return t, nil
			}
		}
	}
	var known []string
	for name := range genericSections {
		known = append(known, name)
	}
	for name := range opts.Sections {
		if _, dup := genericSections[name]; !dup {
			known = append(known, name)
		}
	}
	sort.Strings(known)
	return ProgType{}, fmt.Errorf("section %q has no program type: the loader knows %s; give others in LoadOptions.Sections",
		p.Section, strings.Join(known, ", "))
}

package btf

import (
	"debug/elf"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: any blob gives a Spec or an error, never a panic, and every
// type of a parsed Spec can be sized or refused without a panic.
func FuzzParse(f *testing.F) {
	if dir := os.Getenv("OREORE_PROGRAMS"); dir != "" {
		objs, _ := filepath.Glob(filepath.Join(dir, "*.bpf.o"))
		for _, o := range objs {
			if ef, err := elf.Open(o); err == nil {
				if s := ef.Section(".BTF"); s != nil {
					if b, err := s.Data(); err == nil {
						f.Add(b)
					}
				}
				ef.Close()
			}
		}
	}
	f.Add([]byte{0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			return
		}
		for _, typ := range s.Types {
			s.Size(typ.ID)
			s.Skip(typ.ID)
		}
		if len(b) > 24 {
			ParseExt(b, s)
		}
	})
}

// An array that is its own element must give an error, not a runaway recursion.
func TestSizeOfACycleIsAnError(t *testing.T) {
	s := &Spec{Types: []*Type{{}, {ID: 1, Kind: KindArray, Array: Array{Elem: 1, Nelems: 2}}}}
	if _, err := s.Size(1); err == nil {
		t.Error("the size of a self-containing array: no error")
	}
}

package btf

import (
	"fmt"
)

// CORERelo is one bpf_core_relo record of .BTF.ext.
type CORERelo struct {
	InsnOff   uint32 // bytes into the section
	TypeID    uint32 // the local type, in the object's BTF
	AccessStr string // "0:1:2": indexes from the root type
	Kind      COREKind
}

// COREKind is enum bpf_core_relo_kind.
type COREKind uint32

const (
	FieldByteOffset COREKind = iota
	FieldByteSize
	FieldExists
	FieldSigned
	FieldLShiftU64
	FieldRShiftU64
	TypeIDLocal
	TypeIDTarget
	TypeExists
	TypeSize
	EnumvalExists
	EnumvalValue
	TypeMatches
)

var coreKindNames = []string{"field_byte_offset", "field_byte_size", "field_exists", "field_signed",
	"field_lshift_u64", "field_rshift_u64", "type_id_local", "type_id_target", "type_exists", "type_size",
	"enumval_exists", "enumval_value", "type_matches"}

func (k COREKind) String() string {
	if int(k) < len(coreKindNames) {
		return coreKindNames[k]
	}
	return fmt.Sprintf("core_relo_kind(%d)", uint32(k))
}

// Ext is .BTF.ext, by section name: function and line records for the
// verifier, and CO-RE relocations.
type Ext struct {
	FuncInfos map[string][]FuncInfo
	LineInfos map[string][]LineInfo
	CORERelos map[string][]CORERelo
}

// FuncInfo is a bpf_func_info: a function's BTF type at its first
// instruction (bytes into the section here, instructions for the kernel).
type FuncInfo struct {
	InsnOff uint32
	TypeID  uint32
}

// LineInfo is a bpf_line_info: which source line an instruction is from.
type LineInfo struct {
	InsnOff     uint32
	FileNameOff uint32
	LineOff     uint32
	LineCol     uint32
}

// ParseExt reads .BTF.ext; names resolve against spec's strings.
func ParseExt(b []byte, spec *Spec) (*Ext, error) {
	le := spec.Order
	if len(b) < 8 {
		return nil, fmt.Errorf("btf.ext: %d bytes is shorter than the header", len(b))
	}
	if le.Uint16(b) != magic {
		return nil, fmt.Errorf("btf.ext: bad magic %#x", le.Uint16(b))
	}
	hdrLen := le.Uint32(b[4:])
	if hdrLen < 24 || uint64(hdrLen) > uint64(len(b)) {
		return nil, fmt.Errorf("btf.ext: header length %d out of range", hdrLen)
	}
	ext := &Ext{FuncInfos: map[string][]FuncInfo{}, LineInfos: map[string][]LineInfo{}, CORERelos: map[string][]CORERelo{}}
	body := b[hdrLen:]
	// Three sections, each an (offset, length) pair after the header's
	// first 8 bytes; CO-RE's pair is only there in longer headers. min is
	// what each record holds: bpf_func_info 8 bytes, bpf_line_info and
	// bpf_core_relo 16.
	for i, min := range []int{8, 16, 16} {
		at := 8 + 8*i
		if int(hdrLen) < at+8 {
			break
		}
		off, length := le.Uint32(b[at:]), le.Uint32(b[at+4:])
		if uint64(off)+uint64(length) > uint64(len(body)) {
			return nil, fmt.Errorf("btf.ext: section %d [%d, +%d) past the end", i, off, length)
		}
		err := eachRecord(body[off:off+length], min, spec, func(sec string, r []byte) error {
			switch i {
			case 0:
				ext.FuncInfos[sec] = append(ext.FuncInfos[sec], FuncInfo{InsnOff: le.Uint32(r), TypeID: le.Uint32(r[4:])})
			case 1:
				ext.LineInfos[sec] = append(ext.LineInfos[sec], LineInfo{
					InsnOff: le.Uint32(r), FileNameOff: le.Uint32(r[4:]), LineOff: le.Uint32(r[8:]), LineCol: le.Uint32(r[12:]),
				})
			case 2:
				access, err := spec.Name(le.Uint32(r[8:]))
				if err != nil {
					return err
				}
				ext.CORERelos[sec] = append(ext.CORERelos[sec], CORERelo{
					InsnOff: le.Uint32(r), TypeID: le.Uint32(r[4:]), AccessStr: access, Kind: COREKind(le.Uint32(r[12:])),
				})
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("btf.ext: %s: %w", []string{"func_info", "line_info", "core_relo"}[i], err)
		}
	}
	return ext, nil
}

// eachRecord walks an info section: a record size, then per ELF section
// its name, a count and the records. min is the record size this parser
// reads; larger records (a newer format) are read by their prefix.
func eachRecord(sec []byte, min int, spec *Spec, f func(sec string, rec []byte) error) error {
	le := spec.Order
	if len(sec) == 0 {
		return nil
	}
	if len(sec) < 4 {
		return fmt.Errorf("truncated")
	}
	recSize := uint64(le.Uint32(sec))
	if recSize < uint64(min) {
		return fmt.Errorf("record size %d, want at least %d", recSize, min)
	}
	for p := sec[4:]; len(p) > 0; {
		if len(p) < 8 {
			return fmt.Errorf("truncated section header")
		}
		name, err := spec.Name(le.Uint32(p))
		if err != nil {
			return err
		}
		n := uint64(le.Uint32(p[4:]))
		p = p[8:]
		if n*recSize > uint64(len(p)) {
			return fmt.Errorf("section %s: %d records past the end", name, n)
		}
		for i := uint64(0); i < n; i++ {
			if err := f(name, p[i*recSize:(i+1)*recSize]); err != nil {
				return fmt.Errorf("section %s, record %d: %w", name, i, err)
			}
		}
		p = p[n*recSize:]
	}
	return nil
}

package btf

import (
	"encoding/binary"
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

// Ext is the part of .BTF.ext the loader uses: CO-RE relocations by
// section name.
type Ext struct {
	CORERelos map[string][]CORERelo
}

// ParseExt reads .BTF.ext; names resolve against spec's strings.
func ParseExt(b []byte, spec *Spec) (*Ext, error) {
	le := binary.LittleEndian
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
	ext := &Ext{CORERelos: map[string][]CORERelo{}}
	if hdrLen < 32 {
		return ext, nil // no CO-RE section
	}
	off, length := le.Uint32(b[24:]), le.Uint32(b[28:])
	body := b[hdrLen:]
	if uint64(off)+uint64(length) > uint64(len(body)) {
		return nil, fmt.Errorf("btf.ext: core_relo section [%d, +%d) past the end", off, length)
	}
	sec := body[off : off+length]
	if len(sec) == 0 {
		return ext, nil
	}
	if len(sec) < 4 {
		return nil, fmt.Errorf("btf.ext: truncated core_relo section")
	}
	recSize := le.Uint32(sec)
	if recSize < 16 {
		return nil, fmt.Errorf("btf.ext: core_relo record size %d, want at least 16", recSize)
	}
	for p := sec[4:]; len(p) > 0; {
		if len(p) < 8 {
			return nil, fmt.Errorf("btf.ext: truncated core_relo section header")
		}
		name, err := spec.Name(le.Uint32(p))
		if err != nil {
			return nil, fmt.Errorf("btf.ext: %w", err)
		}
		n := uint64(le.Uint32(p[4:]))
		p = p[8:]
		if n*uint64(recSize) > uint64(len(p)) {
			return nil, fmt.Errorf("btf.ext: section %s: %d records past the end", name, n)
		}
		for i := uint64(0); i < n; i++ {
			r := p[i*uint64(recSize):]
			access, err := spec.Name(le.Uint32(r[8:]))
			if err != nil {
				return nil, fmt.Errorf("btf.ext: section %s, record %d: %w", name, i, err)
			}
			ext.CORERelos[name] = append(ext.CORERelos[name], CORERelo{
				InsnOff: le.Uint32(r), TypeID: le.Uint32(r[4:]), AccessStr: access, Kind: COREKind(le.Uint32(r[12:])),
			})
		}
		p = p[n*uint64(recSize):]
	}
	return ext, nil
}

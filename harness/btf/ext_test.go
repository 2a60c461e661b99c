package btf

import (
	"encoding/binary"
	"strings"
	"testing"
)

// A line_info record is 16 bytes: a .BTF.ext claiming 8 must be refused,
// not read past the record (FuzzParse in harness/object found it).
func TestShortLineInfoRecordIsAnError(t *testing.T) {
	var b blob
	sec := b.name("xdp")
	spec, err := Parse(b.bytes())
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	var lines []byte
	for _, v := range []uint32{8, sec, 1, 0, 0} { // rec_size 8, "xdp", 1 record of 8 bytes
		lines = le.AppendUint32(lines, v)
	}
	var ext []byte
	ext = le.AppendUint16(ext, magic)
	ext = append(ext, 1, 0)
	for _, v := range []uint32{24, 0, 0, 0, uint32(len(lines))} { // hdr_len, func_info, line_info
		ext = le.AppendUint32(ext, v)
	}
	ext = append(ext, lines...)
	_, err = ParseExt(ext, spec)
	if err == nil || !strings.Contains(err.Error(), "line_info") {
		t.Errorf("an 8-byte line_info record: %v, want an error about line_info", err)
	}
}

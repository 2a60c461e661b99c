package object

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"strings"
	"testing"
)

// elfHeader is an ELF64 little-endian BPF relocatable header with no
// program headers; the caller sets the section header fields.
func elfHeader(shoff uint64, shnum, shstrndx uint16) []byte {
	b := make([]byte, 64)
	copy(b, "\x7fELF\x02\x01\x01")
	le := binary.LittleEndian
	le.PutUint16(b[16:], uint16(elf.ET_REL))
	le.PutUint16(b[18:], uint16(elf.EM_BPF))
	le.PutUint32(b[20:], uint32(elf.EV_CURRENT))
	le.PutUint64(b[40:], shoff)
	le.PutUint16(b[52:], 64) // e_ehsize
	le.PutUint16(b[58:], 64) // e_shentsize
	le.PutUint16(b[60:], shnum)
	le.PutUint16(b[62:], shstrndx)
	return b
}

// shstrndxPastTheSections has 0xff00 section headers, counted (as ELF
// does from SHN_LORESERVE up) in section 0's sh_size with e_shnum 0, and
// e_shstrndx 0xfffe beyond them. debug/elf checks e_shstrndx against
// e_shnum before it reads the real count, then indexes its sections with
// it.
func shstrndxPastTheSections() []byte {
	const n = 0xff00
	b := append(elfHeader(64, 0, 0xfffe), make([]byte, 64*n)...)
	binary.LittleEndian.PutUint64(b[64+32:], n) // section 0's sh_size
	return b
}

func TestDebugELFPanicIsAnError(t *testing.T) {
	b := shstrndxPastTheSections()
	panicked := func() (p any) {
		defer func() { p = recover() }()
		elf.NewFile(bytes.NewReader(b))
		return nil
	}()
	if panicked == nil {
		t.Log("debug/elf no longer panics on this file; Parse must still refuse it")
	}
	_, err := Parse(b)
	if err == nil {
		t.Fatal("Parse accepted a file whose section name table is past its sections")
	}
	if panicked != nil && !strings.Contains(err.Error(), "debug/elf panicked") {
		t.Errorf("the error does not say debug/elf panicked: %v", err)
	}
}

// A panic in the loader's own code is a bug: Parse must not turn it into
// an error, or FuzzParse could never report one.
func TestLoaderPanicIsNotSwallowed(t *testing.T) {
	type bug struct{}
	testHookRead = func() { panic(bug{}) }
	defer func() { testHookRead = nil }()
	b := elfHeader(0, 0, 0) // a valid BPF ELF, no sections: read() runs
	var err error
	got := func() (p any) {
		defer func() { p = recover() }()
		_, err = Parse(b)
		return nil
	}()
	if _, ok := got.(bug); !ok {
		t.Fatalf("the loader's panic did not reach the caller: Parse returned %v, recovered %v", err, got)
	}
	testHookRead = nil
	if _, err := Parse(b); err == nil || !strings.Contains(err.Error(), "license") {
		t.Errorf("without the hook: %v, want the missing license", err)
	}
}

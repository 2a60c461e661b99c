package qemu

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// A flattened file whose records come out of order and overlap a block
// boundary is rewritten as the plain file; any other file is left alone.
func TestUnflatten(t *testing.T) {
	var flat bytes.Buffer
	head := make([]byte, flatHeaderSize)
	copy(head, flatSignature)
	binary.BigEndian.PutUint64(head[16:], 1)
	binary.BigEndian.PutUint64(head[24:], 1)
	flat.Write(head)
	record := func(off int64, data []byte) {
		binary.Write(&flat, binary.BigEndian, [2]int64{off, int64(len(data))})
		flat.Write(data)
	}
	big := bytes.Repeat([]byte("x"), 3<<20)
	record(10, []byte("world"))
	record(0, []byte("KDUMP   h"))
	record(20, big)
	binary.Write(&flat, binary.BigEndian, [2]int64{-1, 0})
	path := filepath.Join(t.TempDir(), "vmcore")
	if err := os.WriteFile(path, flat.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if was, err := unflatten(path); err != nil || !was {
		t.Fatalf("unflatten: %v, %v", was, err)
	}
	got, _ := os.ReadFile(path)
	want := append([]byte("KDUMP   h\x00world"), make([]byte, 5)...)
	want = append(want, big...)
	if !bytes.Equal(got, want) {
		t.Errorf("got %d bytes starting %q, want %d starting %q", len(got), got[:min(20, len(got))], len(want), want[:20])
	}
	if was, err := unflatten(path); was || err != nil {
		t.Errorf("a plain file was taken for a flattened one: %v, %v", was, err)
	}

	// A file cut short is an error, and the file stays as it was.
	cut := flat.Bytes()[:flatHeaderSize+16+4]
	os.WriteFile(path, cut, 0o600)
	if _, err := unflatten(path); err == nil {
		t.Error("a truncated flattened file was accepted")
	}
}

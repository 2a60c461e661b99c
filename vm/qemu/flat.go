package qemu

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// QEMU before 8.2 writes kdump-compressed dumps in makedumpfile's
// "flattened" format, made for pipes: a header, then (offset, size, data)
// records ending with offset -1. crash reads it, drgn (libkdumpfile) does
// not; `makedumpfile -R` turns it back into the plain file, and so does
// unflatten.
const (
	flatSignature  = "makedumpfile"
	flatHeaderSize = 4096
)

// unflatten rewrites path, when it is a flattened dump, as the file its
// records describe. It reports whether it was flattened.
func unflatten(path string) (bool, error) {
	src, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer src.Close()
	r := bufio.NewReaderSize(src, 1<<20)
	head, err := r.Peek(flatHeaderSize)
	if err != nil || !bytes.Equal(bytes.TrimRight(head[:16], "\x00"), []byte(flatSignature)) {
		return false, nil
	}
	r.Discard(flatHeaderSize)
	tmp := path + ".unflat"
	dst, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o400)
	if err != nil {
		return true, err
	}
	defer os.Remove(tmp) // gone after the rename, unless something failed
	if err := writeRecords(dst, r); err != nil {
		dst.Close()
		return true, fmt.Errorf("unflattening %s: %w", path, err)
	}
	if err := dst.Close(); err != nil {
		return true, err
	}
	return true, os.Rename(tmp, path)
}

func writeRecords(dst *os.File, r io.Reader) error {
	buf := make([]byte, 1<<20)
	for {
		var rec struct{ Offset, Size int64 }
		if err := binary.Read(r, binary.BigEndian, &rec); err != nil {
			return fmt.Errorf("record header: %w", err)
		}
		if rec.Offset == -1 {
			return nil
		}
		if rec.Offset < 0 || rec.Size < 0 {
			return errors.New("bad record")
		}
		for rec.Size > 0 {
			n := min(rec.Size, int64(len(buf)))
			if _, err := io.ReadFull(r, buf[:n]); err != nil {
				return fmt.Errorf("record data: %w", err)
			}
			if _, err := dst.WriteAt(buf[:n], rec.Offset); err != nil {
				return err
			}
			rec.Offset += n
			rec.Size -= n
		}
	}
}

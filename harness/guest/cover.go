package guest

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// CoverParam on the kernel command line (oreore.cover=1) has the init send
// the kernel's gcov counters to the host once the tests have ended. The
// cover flavor's kernel has CONFIG_GCOV_KERNEL and profiles only the
// series' files and the module (the Makefile's vm-cover).
const CoverParam = "oreore.cover"

// GcovRoot is where the kernel shows its counters: one .gcda file per
// profiled object, under the absolute path the object was built at.
const GcovRoot = "/sys/kernel/debug/gcov"

// GoCoverDir is where the guest's test binaries, built with -cover for
// the cover flavor, write their Go coverage (-test.gocoverdir).
const GoCoverDir = "/tmp/gocover"

// GoCoverPrefix starts the path of a Go coverage file in a Counters record.
const GoCoverPrefix = "gocover/"

// Counters is the Guest value of a record that carries a piece of one
// coverage file, base64 in Text; Package holds the file's path: a .gcda
// file's under GcovRoot, or a Go coverage file's under GoCoverPrefix. A
// file comes in pieces, in order, as a trace does.
const Counters = "gcda"

// CounterPieces cuts a coverage file into the records that carry it.
func CounterPieces(path string, data []byte) []Guest { return FilePieces(Counters, path, data) }

// Collected is the Guest value of a record that carries a piece of a file
// that a run spec asked back (RunSpec.Collect), as Counters records do.
const Collected = "file"

// FilePieces cuts a file into records of the given kind.
func FilePieces(kind, path string, data []byte) []Guest {
	// base64 is ASCII and TraceChunk a multiple of 4, so each piece is
	// whole 4-character groups and decodes alone. The first record, with
	// no text, makes an empty file arrive too.
	head := Guest{Guest: kind, Package: path}
	return append([]Guest{head}, pieces(head, base64.StdEncoding.EncodeToString(data))...)
}

// TraceChunk must keep base64 pieces whole: see FilePieces.
var _ [1 - TraceChunk%4]struct{}

// CounterFiles joins the Counters records' pieces: each file's bytes, by
// its path.
func (s *Stream) CounterFiles() (map[string][]byte, error) { return s.Files(Counters) }

// Files joins the pieces of the records of one kind: each file's bytes,
// by its path.
func (s *Stream) Files(kind string) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, g := range s.Guest {
		if g.Guest != kind {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(g.Text)
		if err != nil {
			return nil, fmt.Errorf("%s records of %s: %w", kind, g.Package, err)
		}
		files[g.Package] = append(files[g.Package], b...)
	}
	return files, nil
}

// CleanCounterPath refuses a path that would leave the folder it is
// written under.
func CleanCounterPath(p string) (string, error) {
	p = strings.TrimPrefix(p, "/")
	for _, part := range strings.Split(p, "/") {
		if part == ".." || part == "" {
			return "", fmt.Errorf("counters: bad path %q", p)
		}
	}
	if !strings.HasSuffix(p, ".gcda") && !strings.HasPrefix(p, GoCoverPrefix) {
		return "", fmt.Errorf("counters: %q is neither a .gcda file nor Go coverage", p)
	}
	return p, nil
}

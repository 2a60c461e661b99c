package initramfs

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/u-root/u-root/pkg/cpio"
)

func TestArchiveHoldsEverythingWhereTheGuestLooks(t *testing.T) {
	dir := t.TempDir()
	host := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c := Contents{
		Init:      host("guest-init", "init"),
		Test2JSON: host("test2json", "t2j"),
		Modules:   []string{host("oreore.ko", "ko")},
		Tests:     []Test{{"slot", host("suite.test", "suite")}},
		Selftests: []string{host("test_verifier", "tv")},
	}
	var a, b bytes.Buffer
	if err := Write(&a, c); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, c); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the same contents gave different archives")
	}

	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(a.Bytes())))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]cpio.Record{}
	for _, r := range recs {
		got[r.Name] = r
	}
	want := map[string]string{
		"init": "init", "bin/test2json": "t2j", "lib/modules/oreore.ko": "ko", "tests/slot/suite.test": "suite",
		"selftests/test_verifier": "tv",
	}
	for name, content := range want {
		r, ok := got[name]
		if !ok {
			t.Errorf("%s is missing from the archive", name)
			continue
		}
		body, _ := io.ReadAll(io.NewSectionReader(r.ReaderAt, 0, int64(r.FileSize)))
		if string(body) != content || r.Mode&0o777 != 0o755 {
			t.Errorf("%s: content %q mode %o, want %q 755", name, body, r.Mode&0o777, content)
		}
	}
	if d, ok := got["tests/slot"]; !ok || d.Mode&cpio.S_IFMT != cpio.S_IFDIR {
		t.Errorf("the lane's folder tests/slot is not a folder in the archive")
	}
	if c, ok := got["dev/console"]; !ok || c.Mode&cpio.S_IFMT != cpio.S_IFCHR || c.Rmajor != 5 || c.Rminor != 1 {
		t.Errorf("dev/console is not char device 5:1: %+v", c.Info)
	}
}

func TestTwoFilesForOnePathIsAnError(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.test")
	os.WriteFile(p, nil, 0o644)
	err := Write(io.Discard, Contents{Init: p, Test2JSON: p, Tests: []Test{{"a", p}, {"a", p}}})
	if err == nil {
		t.Fatal("two tests named a.test: no error")
	}
}

func TestALaneIsOneFolderName(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.test")
	os.WriteFile(p, nil, 0o644)
	for _, lane := range []string{"", "a/b"} {
		if err := Write(io.Discard, Contents{Init: p, Test2JSON: p, Tests: []Test{{lane, p}}}); err == nil {
			t.Errorf("lane %q: no error", lane)
		}
	}
}

// Package initramfs writes the guest's root file system: a newc cpio
// archive, written with u-root's pkg/cpio, holding the init, test2json, the
// modules and the test binaries at the paths package guest names.
package initramfs

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/u-root/u-root/pkg/cpio"

	"oreore/harness/guest"
)

// Contents names the host files that go into the archive.
type Contents struct {
	Init      string   // static binary, becomes /init
	Test2JSON string   // static cmd/test2json, becomes /bin/test2json
	Modules   []string // *.ko, go to /lib/modules
	Tests     []Test   // go to /tests/LANE
	Programs  []string // *.bpf.o, go to /programs
	Commands  []string // static binaries for a shell or a test, go to /bin
	// Selftests are the kernel's own test binaries and bpftool, built
	// static from the patched tree; they go to /selftests.
	Selftests []string
}

// Test is a test binary and the lane it runs in: the guest runs the lanes
// at the same time and each lane's binaries one after another.
type Test struct {
	Lane string
	Path string
}

// Write writes the archive. Records are reproducible (no host mtimes,
// owners or inode numbers), so the same inputs give the same bytes.
func Write(w io.Writer, c Contents) error {
	files := map[string]string{} // guest path -> host path
	add := func(guestPath, host string) error {
		if _, dup := files[guestPath]; dup {
			return fmt.Errorf("initramfs: two files for %s", guestPath)
		}
		files[guestPath] = host
		return nil
	}
	if err := add(guest.Init, c.Init); err != nil {
		return err
	}
	if err := add(guest.Test2JSON, c.Test2JSON); err != nil {
		return err
	}
	for _, m := range c.Modules {
		if err := add(path.Join(guest.ModulesDir, filepath.Base(m)), m); err != nil {
			return err
		}
	}
	lanes := map[string]bool{}
	for _, t := range c.Tests {
		if t.Lane == "" || strings.Contains(t.Lane, "/") {
			return fmt.Errorf("initramfs: %s: lane %q is not a folder name", t.Path, t.Lane)
		}
		lanes[path.Join(guest.TestsDir, t.Lane)] = true
		if err := add(path.Join(guest.TestsDir, t.Lane, filepath.Base(t.Path)), t.Path); err != nil {
			return err
		}
	}
	for _, b := range c.Commands {
		if err := add(path.Join("/bin", filepath.Base(b)), b); err != nil {
			return err
		}
	}
	for _, p := range c.Programs {
		if err := add(path.Join(guest.ProgramsDir, filepath.Base(p)), p); err != nil {
			return err
		}
	}
	dirs := []string{"bin", "lib", guest.ModulesDir, guest.TestsDir, guest.ProgramsDir, "proc", "sys", "tmp"}
	for _, s := range c.Selftests {
		if err := add(path.Join(guest.SelftestsDir, filepath.Base(s)), s); err != nil {
			return err
		}
	}
	if len(c.Selftests) > 0 {
		dirs = append(dirs, guest.SelftestsDir)
	}

	// The kernel opens /dev/console for init's stdio before init can mount
	// devtmpfs; without the node init runs with no output at all.
	records := []cpio.Record{
		cpio.Directory("dev", 0o755),
		cpio.CharDev("dev/console", 0o600, 5, 1),
	}
	for _, d := range append(dirs, sorted(lanes)...) {
		records = append(records, cpio.Directory(cpio.Normalize(d), 0o755))
	}
	return writeArchive(w, records, files, nil)
}

// WriteOverlay writes a second archive to append to one that Write wrote:
// the kernel unpacks concatenated archives in order, so the overlay adds
// files (host files, and data given in memory) without rebuilding the first.
func WriteOverlay(w io.Writer, files map[string]string, data map[string][]byte) error {
	dirs := map[string]bool{}
	for _, m := range []map[string]bool{keys(files), keys(data)} {
		for p := range m {
			for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
				dirs[d] = true
			}
		}
	}
	var records []cpio.Record
	for _, d := range sorted(dirs) {
		records = append(records, cpio.Directory(cpio.Normalize(d), 0o755))
	}
	return writeArchive(w, records, files, data)
}

func keys[V any](m map[string]V) map[string]bool {
	k := map[string]bool{}
	for p := range m {
		k[p] = true
	}
	return k
}

func sorted[V any](m map[string]V) []string {
	s := make([]string, 0, len(m))
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// writeArchive writes records, then the host files and in-memory data by
// guest path, reproducibly.
func writeArchive(w io.Writer, records []cpio.Record, files map[string]string, data map[string][]byte) error {
	var opened []*os.File
	defer func() {
		for _, f := range opened {
			f.Close()
		}
	}()
	for _, p := range sorted(files) {
		f, err := os.Open(files[p])
		if err != nil {
			return fmt.Errorf("initramfs: %s: %w", p, err)
		}
		opened = append(opened, f)
		st, err := f.Stat()
		if err != nil {
			return err
		}
		records = append(records, cpio.Record{
			ReaderAt: f,
			Info: cpio.Info{
				Name:     cpio.Normalize(p),
				Mode:     cpio.S_IFREG | 0o755,
				FileSize: uint64(st.Size()),
			},
		})
	}
	for _, p := range sorted(data) {
		records = append(records, cpio.StaticFile(cpio.Normalize(p), string(data[p]), 0o644))
	}
	for i := range records {
		records[i] = cpio.MakeReproducible(records[i])
	}
	rw := cpio.Newc.Writer(w)
	if err := cpio.WriteRecords(rw, records); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	return cpio.WriteTrailer(rw)
}

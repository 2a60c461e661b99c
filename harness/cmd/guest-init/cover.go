package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"oreore/harness/guest"
)

// wantCover reports whether the kernel command line asks for the gcov
// counters (make vm-cover).
func wantCover() bool {
	v, _ := kernelParam(guest.CoverParam)
	return v == "1"
}

// sendCounters sends every .gcda file the kernel shows to the host. The
// module's are there after it is unloaded too: gcov_persist keeps them.
func sendCounters(out *port) error {
	n := 0
	err := filepath.WalkDir(guest.GcovRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".gcda") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, g := range guest.CounterPieces(strings.TrimPrefix(path, guest.GcovRoot), b) {
			out.emit(g)
		}
		n++
		return nil
	})
	if err != nil {
		return fmt.Errorf("coverage: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("coverage: no .gcda file under %s: the kernel has no profiled object (CONFIG_GCOV_KERNEL, GCOV_PROFILE_*)", guest.GcovRoot)
	}
	// The Go side: meta-data and counter files of the test binaries built
	// with -cover; none when they were not.
	goFiles, _ := os.ReadDir(guest.GoCoverDir)
	for _, e := range goFiles {
		b, err := os.ReadFile(filepath.Join(guest.GoCoverDir, e.Name()))
		if err != nil {
			return fmt.Errorf("coverage: %w", err)
		}
		for _, g := range guest.CounterPieces(guest.GoCoverPrefix+e.Name(), b) {
			out.emit(g)
		}
	}
	logf("coverage: sent the counters of %d kernel objects and %d Go coverage files", n, len(goFiles))
	return nil
}

// goCoverArgs has the test binaries write their Go coverage where
// sendCounters looks (binaries built without -cover write none).
func goCoverArgs() []string {
	os.MkdirAll(guest.GoCoverDir, 0o755)
	return []string{"-test.gocoverdir=" + guest.GoCoverDir}
}

// sendCollected sends every file under the folders a run spec names.
func sendCollected(out *port, dirs []string) error {
	for _, dir := range dirs {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			logf("collect: no %s", dir)
			continue
		}
		n := 0
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, g := range guest.FilePieces(guest.Collected, path, b) {
				out.emit(g)
			}
			n++
			return nil
		})
		if err != nil {
			return fmt.Errorf("collect %s: %w", dir, err)
		}
		logf("collect: sent %d files of %s", n, dir)
	}
	return nil
}

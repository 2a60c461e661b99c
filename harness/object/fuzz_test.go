package object

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: any file gives an Object or an error, never a panic.
func FuzzParse(f *testing.F) {
	if dir := os.Getenv("OREORE_PROGRAMS"); dir != "" {
		objs, _ := filepath.Glob(filepath.Join(dir, "*.bpf.o"))
		for _, o := range objs {
			if b, err := os.ReadFile(o); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := Parse(b)
		if err != nil {
			return
		}
		if len(o.Programs) == 0 {
			t.Fatal("Parse succeeded with no programs")
		}
	})
}

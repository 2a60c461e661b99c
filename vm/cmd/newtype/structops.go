package main

import (
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"regexp"
)

// opsTests is the struct_ops descriptor's list of the module's own tests.
var opsTests = regexp.MustCompile(`GuestTests:\s*\[\]GuestTest\{.*\},`)

// structOps scaffolds a struct_ops type and kfunc set from oreore_ops's:
// kmod/NAME_ops.c (the module), harness/progtype/NAME_ops.go (its
// descriptor, which registers itself) and harness/NAMEops, the package of
// the module's own tests, with one test to start from. No kernel patch: a
// module registers both from Linux 6.9 on.
func (c config) structOps() error {
	r := newRenamer(c.name)
	for _, f := range []struct{ from, to string }{
		{"kmod/oreore_ops.c", filepath.Join("kmod", c.name+"_ops.c")},
		{"harness/progtype/oreore_ops.go", filepath.Join("harness", "progtype", c.name+"_ops.go")},
	} {
		src, err := os.ReadFile(filepath.Join(c.repo, f.from))
		if err != nil {
			return err
		}
		text := r.text(string(src))
		if filepath.Ext(f.to) == ".c" {
			text = realign(text, r)
		} else {
			text = opsTests.ReplaceAllString(text, fmt.Sprintf("GuestTests: []GuestTest{{Name: %q, Package: %q}},", c.name+"ops", "./harness/"+c.name+"ops"))
			b, err := format.Source([]byte(text))
			if err != nil {
				return fmt.Errorf("%s: %w", f.to, err)
			}
			text = string(b)
		}
		if err := c.write(f.to, text); err != nil {
			return err
		}
	}
	pkg := c.name + "ops"
	test := fmt.Sprintf(`//go:build guest

// Package %[1]s holds kmod/%[2]s_ops.c's own behaviour: what no family can
// know from the descriptors (harness/progtype/%[2]s_ops.go). The families
// (harness/families: TestStructOps, TestKfuncs) check the rest.
package %[1]s

import (
	"os"
	"testing"
)

// The module registered its type: its BTF is the kernel's. (The module's
// tests are named Test%[3]s...: make bench's module loop runs them by that.)
func Test%[3]sBTF(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/btf/%[2]s_ops"); err != nil {
		t.Fatal(err)
	}
}
`, pkg, c.name, r.title+"Ops")
	if err := c.write(filepath.Join("harness", pkg, pkg+"_test.go"), test); err != nil {
		return err
	}
	fmt.Printf(`newtype: next: make vm-test KVER=6.12 SHORT=1 runs the families for %[1]s_ops; then make the
  module yours (kmod/%[1]s_ops.c), the descriptor to match (harness/progtype/%[1]s_ops.go), and write
  what only it does in harness/%[1]sops (harness/README.md: "struct_ops types and kfunc sets from a module").
`, c.name)
	return nil
}

func (c config) write(rel, text string) error {
	dst := filepath.Join(c.out, rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(dst, []byte(text), 0o644); err != nil {
		return err
	}
	fmt.Printf("newtype: %s\n", dst)
	return nil
}

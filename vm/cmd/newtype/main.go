// Command newtype scaffolds a new program type from oreore's: the series
// skeleton (oreore's patches of each kernel series, renamed, realigned and
// re-exported against the base tree, where they apply, pass checkpatch and
// build), the type's descriptor (harness/progtype/NAME.go) and its trigger
// module (kmod/NAME.c). `make new-type NAME=foo` runs it.
//
// The skeleton stands alone on the base tree, as the developer's own
// series would: to stack it after the series in kernel-patches/vKVER
// (where make vm-test builds it), apply it there with `git am -3` and
// resolve the neighbouring lines (enum order, switch cases), as kore's was.
// harness/README.md's "Adding your own program type" walks through it.
package main

import (
	"flag"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// ownTests is the descriptor's list of the type's own test binaries.
var ownTests = regexp.MustCompile(`GuestTests:\s*\[\]GuestTest\{.*\},`)

func main() {
	var c config
	flag.StringVar(&c.name, "name", "", "the new type's name: lower case letters, digits and _, such as foo")
	flag.StringVar(&c.patches, "patches", "kernel-patches", "the folder of the series (v6.1, v6.12)")
	flag.StringVar(&c.trees, "trees", "build/src", "the folder of the extracted kernel trees, each with a base tag (make kernel-src)")
	flag.StringVar(&c.out, "out", ".", "where to write: OUT/kernel-patches/new-types/NAME/vKVER, OUT/harness/progtype/NAME.go, OUT/kmod/NAME.c")
	flag.StringVar(&c.repo, "repo", ".", "this repository: the source of oreore's descriptor and module")
	kind := flag.String("kind", "program", "program (a program type: series, descriptor, module) or struct_ops (a module's struct_ops type and kfuncs: module, descriptor, tests)")
	flag.Parse()
	run := c.run
	switch *kind {
	case "program":
	case "struct_ops":
		run = func() error {
			if err := c.checkName(); err != nil {
				return err
			}
			return c.structOps()
		}
	default:
		fmt.Fprintf(os.Stderr, "newtype: -kind %q: want program or struct_ops\n", *kind)
		os.Exit(2)
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "newtype:", err)
		os.Exit(1)
	}
}

type config struct {
	name, patches, trees, out, repo string
}

var validName = regexp.MustCompile(`^[a-z][a-z0-9_]{1,15}$`)

func (c config) checkName() error {
	if !validName.MatchString(c.name) {
		return fmt.Errorf("-name %q: want 2 to 16 of a-z, 0-9 and _, starting with a letter", c.name)
	}
	if c.name == "oreore" || strings.Contains(c.name, "oreore") {
		return fmt.Errorf("-name %q: the new type needs a name of its own", c.name)
	}
	return nil
}

func (c config) run() error {
	if err := c.checkName(); err != nil {
		return err
	}
	r := newRenamer(c.name)
	series, _ := filepath.Glob(filepath.Join(c.patches, "v*"))
	sort.Strings(series)
	if len(series) == 0 {
		return fmt.Errorf("%s holds no series (v6.1, v6.12)", c.patches)
	}
	for _, dir := range series {
		kver := strings.TrimPrefix(filepath.Base(dir), "v")
		tree, err := filepath.Abs(filepath.Join(c.trees, "linux-source-"+kver))
		if err != nil {
			return err
		}
		out := filepath.Join(c.out, "kernel-patches", "new-types", c.name, "v"+kver)
		n, err := scaffoldSeries(r, dir, tree, out)
		if err != nil {
			return fmt.Errorf("series %s: %w", kver, err)
		}
		fmt.Printf("newtype: %s: %d patches in %s\n", kver, n, out)
	}
	for _, f := range []struct{ from, to string }{
		{"harness/progtype/oreore.go", filepath.Join("harness", "progtype", c.name+".go")},
		{"kmod/oreore.c", filepath.Join("kmod", c.name+".c")},
	} {
		src, err := os.ReadFile(filepath.Join(c.repo, f.from))
		if err != nil {
			return err
		}
		text := r.text(string(src))
		// oreore's own tests are not the new type's: it starts with none.
		text = ownTests.ReplaceAllString(text, "GuestTests: nil, // the type's own tests: []GuestTest{{Name: \"NAME\", Package: \"./harness/NAME\"}}")
		switch {
		case strings.HasSuffix(f.to, ".c"):
			text = realign(text, r)
		case strings.HasSuffix(f.to, ".go"):
			b, err := format.Source([]byte(text))
			if err != nil {
				return fmt.Errorf("%s: %w", f.to, err)
			}
			text = string(b)
		}
		dst := filepath.Join(c.out, f.to)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, []byte(text), 0o644); err != nil {
			return err
		}
		fmt.Printf("newtype: %s\n", dst)
	}
	fmt.Printf(`newtype: next, as harness/README.md's "Adding your own program type" says:
  1. edit the series (context, rules, attach point) in a tree that has it, and re-export it;
  2. stack it after kernel-patches/vKVER with git am -3, and add %s to progtype.All;
  3. write the type's own tests: kmod/%s.c is built because the descriptor names its module.
`, r.lower, r.lower)
	return nil
}

// Command newtype scaffolds a new program type from oreore's: the series
// skeleton (oreore's patches of each kernel series, renamed and realigned
// against the base tree, then stacked after the series in
// kernel-patches/vKVER, numbered after it, where make vm-test builds it),
// its kernel option, the type's descriptor (harness/progtype/NAME.go, which
// adds itself to progtype.All with Register), the numbers its patches give it
// (numbers_gen.go) and its trigger module (kmod/NAME.c). A series with no
// room for another type (a 65th attach type) gets none, and says why.
// `make new-type NAME=foo` runs it; -kind struct_ops scaffolds a module's
// struct_ops type instead. harness/README.md's "Adding your own program
// type" walks through what is left to the developer.
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

	"oreore/harness/progtype"
)

// ownTests is the descriptor's list of the type's own test binaries.
var ownTests = regexp.MustCompile(`GuestTests:\s*\[\]GuestTest\{.*\},`)

func main() {
	var c config
	flag.StringVar(&c.name, "name", "", "the new type's name: lower case letters, digits and _, such as foo")
	flag.StringVar(&c.patches, "patches", "kernel-patches", "the folder of the series (v6.1, v6.12)")
	flag.StringVar(&c.trees, "trees", "build/src", "the folder of the extracted kernel trees, each with a base tag (make kernel-src)")
	flag.StringVar(&c.out, "out", ".", "where to write: OUT/kernel-patches/vKVER (the series, continued), OUT/kernel-patches/oreore-KVER.config, OUT/harness/progtype/NAME.go, OUT/kmod/NAME.c")
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

// seriesPatches counts the patches of the series in dir, and refuses a
// series that has the new type already.
func seriesPatches(dir string, r renamer) (int, error) {
	all, _ := filepath.Glob(filepath.Join(dir, "[0-9][0-9][0-9][0-9]-*.patch"))
	n := 0
	for _, p := range all {
		if strings.HasPrefix(filepath.Base(p), "0000-") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return 0, err
		}
		if m := subjectLine.FindSubmatch(b); m != nil && r.names(string(m[1])) {
			return 0, fmt.Errorf("%s: the series has %s already (%s)", dir, r.lower, filepath.Base(p))
		}
		n++
	}
	return n, nil
}

func appendFile(path, text string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
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
	var stacked []string
	for _, dir := range series {
		kver := strings.TrimPrefix(filepath.Base(dir), "v")
		tree, err := filepath.Abs(filepath.Join(c.trees, "linux-source-"+kver))
		if err != nil {
			return err
		}
		why, err := room(tree)
		if err != nil {
			return fmt.Errorf("series %s: %w", kver, err)
		}
		if why != "" {
			fmt.Printf("newtype: %s: no series for %s: %s\n", kver, r.lower, why)
			continue
		}
		own, err := seriesPatches(dir, r)
		if err != nil {
			return err
		}
		out := filepath.Join(c.out, "kernel-patches", "v"+kver)
		n, err := scaffoldSeries(r, dir, tree, out, own+1)
		if err != nil {
			return fmt.Errorf("series %s: %w", kver, err)
		}
		// The type's option, in the series' own fragment: a series that
		// lacks the type must not ask for it.
		frag := filepath.Join(c.out, "kernel-patches", "oreore-"+kver+".config")
		if err := appendFile(frag, fmt.Sprintf("# %s, stacked by make new-type NAME=%s\nCONFIG_BPF_%s=y\n", r.lower, r.lower, r.upper)); err != nil {
			return err
		}
		fmt.Printf("newtype: %s: %d patches after the series' %d in %s, CONFIG_BPF_%s=y in %s\n", kver, n, own, out, r.upper, frag)
		stacked = append(stacked, kver)
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
			// Described, it runs: the families take every type in All.
			text += fmt.Sprintf("\nfunc init() {\n\t// make new-type NAME=%s: the families run it on each series that carries it.\n\tRegister(%s)\n}\n", r.lower, r.title)
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
	// The numbers the stacked patches give the type, beside the series'.
	gen, numbers, err := c.numbers()
	if err != nil {
		return err
	}
	fmt.Printf("newtype: %s\n", gen)
	for _, kver := range stacked {
		letter := filepath.Join(c.out, "kernel-patches", "v"+kver, "cover-letter.txt")
		if err := appendFile(letter, coverText(r, numbers[kver])); err != nil {
			return err
		}
		fmt.Printf("newtype: %s: %s states %s's numbers\n", kver, letter, r.lower)
	}
	fmt.Printf(`newtype: make vm-test now builds the series with %[1]s and runs every family for it; next, as
harness/README.md's "Adding your own program type" says:
  1. make the type yours in the tree make kernel-src leaves (context, rules, attach point), and make patches;
  2. edit the descriptor (harness/progtype/%[1]s.go) to match, and kmod/%[1]s.c;
  3. write what only %[1]s does in a package of its own, named in the descriptor's GuestTests.
`, r.lower)
	return nil
}

// numbers writes OUT/harness/progtype/numbers_gen.go from the series and
// the patches stacked on them, as go generate ./harness/progtype would
// once they are in kernel-patches.
func (c config) numbers() (string, map[string]map[string]uint32, error) {
	tmp, err := os.MkdirTemp("", "newtype-numbers-")
	if err != nil {
		return "", nil, err
	}
	defer os.RemoveAll(tmp)
	series, _ := filepath.Glob(filepath.Join(c.patches, "v*"))
	for _, dir := range series {
		v := filepath.Base(dir)
		if err := os.MkdirAll(filepath.Join(tmp, v), 0o755); err != nil {
			return "", nil, err
		}
		for _, from := range []string{dir, filepath.Join(c.out, "kernel-patches", v)} {
			patches, _ := filepath.Glob(filepath.Join(from, "*.patch"))
			for _, p := range patches {
				abs, err := filepath.Abs(p)
				if err != nil {
					return "", nil, err
				}
				// The same folder twice (OUT is the repository): once.
				if err := os.Symlink(abs, filepath.Join(tmp, v, filepath.Base(p))); err != nil && !os.IsExist(err) {
					return "", nil, err
				}
			}
		}
	}
	numbers, err := progtype.SeriesEnumerators(tmp, progtype.KnownEnumerator)
	if err != nil {
		return "", nil, err
	}
	src, err := progtype.GenerateNumbers(numbers)
	if err != nil {
		return "", nil, err
	}
	dst := filepath.Join(c.out, "harness", "progtype", "numbers_gen.go")
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", nil, err
	}
	return dst, numbers, os.WriteFile(dst, src, 0o644)
}

// coverText is the cover letter's paragraph on the stacked type: the
// values it takes in a series (numbers: the enumerators the series' patches
// add), and the released enumerators of the same enum that have them in
// later kernels, as the series' own paragraph states oreore's and kore's.
func coverText(r renamer, numbers map[string]uint32) string {
	var took, clash []string
	for _, name := range []string{"BPF_PROG_TYPE_" + r.upper, "BPF_" + r.upper + "_ATTACH", "BPF_LINK_TYPE_" + r.upper} {
		v, ok := numbers[name]
		if !ok {
			continue
		}
		took = append(took, fmt.Sprintf("%s = %d", name, v))
		var same []string
		for rname, rv := range progtype.Released {
			if rv == v && progtype.EnumOf(rname) == progtype.EnumOf(name) {
				same = append(same, rname)
			}
		}
		sort.Strings(same)
		if len(same) > 0 {
			clash = append(clash, fmt.Sprintf("%s is %s's value in later kernels", name, strings.Join(same, " and ")))
		}
	}
	text := fmt.Sprintf("\nThe last patches add BPF_PROG_TYPE_%s, scaffolded from oreore's by make\nnew-type, and take the next values: %s.", r.upper, strings.Join(took, ", "))
	if len(clash) > 0 {
		text += " " + strings.Join(clash, "; ") + "."
	}
	return wrap(text, 72) + "\n"
}

// wrap fills text's paragraphs to width columns.
func wrap(text string, width int) string {
	var out []string
	for _, para := range strings.Split(text, "\n") {
		line := ""
		for _, w := range strings.Fields(para) {
			if line != "" && len(line)+1+len(w) > width {
				out = append(out, line)
				line = w
				continue
			}
			if line != "" {
				line += " "
			}
			line += w
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

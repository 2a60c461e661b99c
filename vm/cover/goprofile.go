package cover

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Profile is Go coverage in `go test -coverprofile`'s text form: each
// block (file:start,end) with its statement count and how often it ran.
type Profile struct {
	Mode   string
	Blocks map[string]Block
}

// Block is one basic block of a profile.
type Block struct {
	Stmts int
	Count int64
}

// ReadProfile parses a text profile.
func ReadProfile(r io.Reader) (*Profile, error) {
	p := &Profile{Blocks: map[string]Block{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if mode, ok := strings.CutPrefix(line, "mode: "); ok {
			p.Mode = mode
			continue
		}
		if line == "" {
			continue
		}
		// name.go:12.34,15.2 3 1
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("profile line %q", line)
		}
		stmts, err1 := strconv.Atoi(f[1])
		count, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("profile line %q", line)
		}
		// A package's blocks appear once per test binary that covers
		// it: they add up.
		b := p.Blocks[f[0]]
		b.Stmts = stmts
		b.Count += count
		p.Blocks[f[0]] = b
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if p.Mode == "" {
		return nil, fmt.Errorf("not a coverage profile: no mode line")
	}
	return p, nil
}

// GuestProfile converts the coverage files the guest's test binaries
// wrote (-test.gocoverdir) into a text profile, with go tool covdata.
func GuestProfile(dir string) (*Profile, error) {
	f, err := os.CreateTemp("", "oreore-guest-*.cover")
	if err != nil {
		return nil, err
	}
	f.Close()
	defer os.Remove(f.Name())
	out, err := exec.Command("go", "tool", "covdata", "textfmt", "-i="+dir, "-o="+f.Name()).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go tool covdata textfmt -i=%s: %v\n%s", dir, err, out)
	}
	r, err := os.Open(f.Name())
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return ReadProfile(r)
}

// Merge is the union of profiles: a block ran if it ran in any.
func Merge(profiles ...*Profile) *Profile {
	m := &Profile{Blocks: map[string]Block{}}
	for _, p := range profiles {
		if p == nil {
			continue
		}
		m.Mode = p.Mode
		for k, b := range p.Blocks {
			c := m.Blocks[k]
			c.Stmts = b.Stmts
			c.Count += b.Count
			m.Blocks[k] = c
		}
	}
	return m
}

// Packages sums a profile per package (the file's import path's folder):
// statements, and statements that ran.
func (p *Profile) Packages() map[string][2]int {
	out := map[string][2]int{}
	if p == nil {
		return out
	}
	for k, b := range p.Blocks {
		file, _, _ := strings.Cut(k, ":")
		pkg := path.Dir(file)
		s := out[pkg]
		s[0] += b.Stmts
		if b.Count > 0 {
			s[1] += b.Stmts
		}
		out[pkg] = s
	}
	return out
}

// GoTable prints each package's statement coverage in the guest, on the
// host and in both together.
func GoTable(w io.Writer, guest, host *Profile) {
	g, h, both := guest.Packages(), host.Packages(), Merge(guest, host).Packages()
	var pkgs []string
	for pkg := range both {
		pkgs = append(pkgs, pkg)
	}
	sort.Strings(pkgs)
	pct := func(s [2]int) string {
		if s[0] == 0 {
			return "     -"
		}
		return fmt.Sprintf("%5.1f%%", Percent(s[1], s[0]))
	}
	fmt.Fprintf(w, "  %-36s %7s %7s %7s  (statements)\n", "package", "guest", "host", "both")
	var total [3][2]int
	for _, pkg := range pkgs {
		fmt.Fprintf(w, "  %-36s %7s %7s %7s  %d\n", pkg, pct(g[pkg]), pct(h[pkg]), pct(both[pkg]), both[pkg][0])
		for i, s := range [][2]int{g[pkg], h[pkg], both[pkg]} {
			total[i][0] += s[0]
			total[i][1] += s[1]
		}
	}
	fmt.Fprintf(w, "  %-36s %7s %7s %7s  %d\n", "total", pct(total[0]), pct(total[1]), pct(total[2]), total[2][0])
}

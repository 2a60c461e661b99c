// Package syzlang checks syzkaller descriptions without syzkaller, which is
// not available here as a Go module or a Debian package: it parses the
// subset of the language the series' descriptions use (include, resource,
// flags, define, structs, unions, syscalls) and checks that every type a
// description names is a builtin, its own, or one that syzkaller's
// sys/linux/bpf.txt defines, and that every constant is one the caller
// knows. syz-extract and syz-sysgen still have the last word upstream.
package syzlang

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
)

// Builtins are syzlang's own types.
var Builtins = map[string]bool{
	"int8": true, "int16": true, "int32": true, "int64": true, "intptr": true,
	"int16be": true, "int32be": true, "int64be": true, "bool8": true, "bool16": true, "bool32": true, "bool64": true,
	"const": true, "flags": true, "len": true, "bytesize": true, "bytesize8": true, "bitsize": true,
	"ptr": true, "ptr64": true, "array": true, "string": true, "stringnoz": true, "filename": true,
	"fd": true, "void": true, "vma": true, "proc": true, "text": true, "offsetof": true,
	"in": true, "out": true, "inout": true, "opt": true,
}

// File is what a description defines and uses.
type File struct {
	Includes  []string
	Resources map[string]string // name: its base type
	Flags     map[string][]string
	Types     map[string]bool // structs and unions
	Syscalls  []string
	// Uses are the identifiers in type positions, with a line each.
	Uses map[string]int
	// Consts are the identifiers in const[...] and flags' values, with a line each.
	Consts map[string]int
}

type tok struct {
	s    string
	line int
}

func lex(src string) ([]tok, error) {
	var out []tok
	for n, line := range strings.Split(src, "\n") {
		ln := n + 1
		if i := strings.Index(line, "#"); i >= 0 && !strings.Contains(line[:i], "\"") {
			line = line[:i]
		}
		for i := 0; i < len(line); {
			c := rune(line[i])
			switch {
			case unicode.IsSpace(c):
				i++
			case c == '"':
				j := strings.IndexByte(line[i+1:], '"')
				if j < 0 {
					return nil, fmt.Errorf("line %d: unterminated string", ln)
				}
				out = append(out, tok{line[i : i+j+2], ln})
				i += j + 2
			case strings.ContainsRune("()[]{},=:<>", c):
				out = append(out, tok{string(c), ln})
				i++
			case c == '_' || c == '$' || c == '-' || c == '/' || c == '.' || unicode.IsLetter(c) || unicode.IsDigit(c):
				j := i
				for j < len(line) && (line[j] == '_' || line[j] == '$' || line[j] == '-' || line[j] == '/' || line[j] == '.' ||
					unicode.IsLetter(rune(line[j])) || unicode.IsDigit(rune(line[j]))) {
					j++
				}
				out = append(out, tok{line[i:j], ln})
				i = j
			default:
				return nil, fmt.Errorf("line %d: unexpected %q", ln, c)
			}
		}
		out = append(out, tok{"\n", ln})
	}
	return out, nil
}

type parser struct {
	t []tok
	i int
	f *File
}

func (p *parser) peek() tok {
	if p.i < len(p.t) {
		return p.t[p.i]
	}
	return tok{"", -1}
}

func (p *parser) next() tok { t := p.peek(); p.i++; return t }

func (p *parser) skipNL() {
	for p.peek().s == "\n" {
		p.i++
	}
}

func (p *parser) expect(s string) error {
	if t := p.next(); t.s != s {
		return fmt.Errorf("line %d: want %q, got %q", t.line, s, t.s)
	}
	return nil
}

func isIdent(s string) bool {
	return s != "" && (s[0] == '_' || unicode.IsLetter(rune(s[0])))
}

// Parse reads a description.
func Parse(src string) (*File, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	f := &File{Resources: map[string]string{}, Flags: map[string][]string{}, Types: map[string]bool{}, Uses: map[string]int{}, Consts: map[string]int{}}
	p := &parser{t: toks, f: f}
	for {
		p.skipNL()
		t := p.next()
		if t.s == "" {
			return f, nil
		}
		if !isIdent(t.s) {
			return nil, fmt.Errorf("line %d: a statement starts with %q", t.line, t.s)
		}
		switch {
		case t.s == "include":
			if err := p.expect("<"); err != nil {
				return nil, err
			}
			f.Includes = append(f.Includes, p.next().s)
			if err := p.expect(">"); err != nil {
				return nil, err
			}
		case t.s == "resource":
			name := p.next().s
			if err := p.expect("["); err != nil {
				return nil, err
			}
			base := p.next()
			f.Resources[name] = base.s
			f.Uses[base.s] = base.line
			if err := p.expect("]"); err != nil {
				return nil, err
			}
		case p.peek().s == "=":
			p.next()
			vals, err := p.list("\n")
			if err != nil {
				return nil, err
			}
			for _, v := range vals {
				if isIdent(v.s) {
					f.Consts[v.s] = v.line
				}
				f.Flags[t.s] = append(f.Flags[t.s], v.s)
			}
		case p.peek().s == "(":
			p.next()
			f.Syscalls = append(f.Syscalls, t.s)
			if err := p.fields(")", ","); err != nil {
				return nil, err
			}
			if r := p.peek(); r.s != "\n" {
				f.Uses[r.s] = r.line
				p.next()
			}
		case p.peek().s == "{" || p.peek().s == "[":
			open := p.next().s
			close := map[string]string{"{": "}", "[": "]"}[open]
			f.Types[t.s] = true
			if err := p.fields(close, "\n"); err != nil {
				return nil, err
			}
			if p.peek().s == "[" { // attributes: [packed], [varlen], [align_8]
				p.next()
				if _, err := p.list("]"); err != nil {
					return nil, err
				}
			}
		default:
			return nil, fmt.Errorf("line %d: cannot read a statement starting %q %q", t.line, t.s, p.peek().s)
		}
		if t := p.next(); t.s != "\n" && t.s != "" {
			return nil, fmt.Errorf("line %d: %q after the statement", t.line, t.s)
		}
	}
}

// list reads comma-separated values up to end, which it consumes ("\n"
// stays for the statement's end).
func (p *parser) list(end string) ([]tok, error) {
	var out []tok
	for {
		t := p.next()
		if t.s == "" {
			return nil, fmt.Errorf("unexpected end in a list")
		}
		if t.s == end {
			if end == "\n" {
				p.i--
			}
			return out, nil
		}
		if t.s != "," {
			out = append(out, t)
		}
	}
}

// fields reads "name type" items separated by sep up to close.
func (p *parser) fields(close, sep string) error {
	for {
		p.skipNL()
		t := p.next()
		switch {
		case t.s == close:
			return nil
		case t.s == sep:
			continue
		case !isIdent(t.s):
			return fmt.Errorf("line %d: a field's name, got %q", t.line, t.s)
		}
		if err := p.typ(); err != nil {
			return err
		}
	}
}

// typ reads a type expression: NAME or NAME[ARG, ...], an argument being a
// type, a number, a string, a range or a constant.
func (p *parser) typ() error {
	t := p.next()
	if !isIdent(t.s) {
		return fmt.Errorf("line %d: a type, got %q", t.line, t.s)
	}
	p.f.Uses[t.s] = t.line
	if p.peek().s != "[" {
		return nil
	}
	p.next()
	for i := 0; ; i++ {
		a := p.peek()
		switch {
		case a.s == "]":
			p.next()
			return nil
		case a.s == "," || a.s == ":":
			p.next()
		case strings.HasPrefix(a.s, "\"") || !isIdent(a.s):
			p.next() // a number or a string
		case t.s == "const" && i == 0, t.s == "len" || t.s == "bytesize" || t.s == "bytesize8":
			p.next()
			if t.s == "const" {
				p.f.Consts[a.s] = a.line
			}
		case t.s == "array" && i > 0, t.s == "int32" || t.s == "int64" || t.s == "int8" || t.s == "int16":
			p.next()
			p.f.Consts[a.s] = a.line
		default:
			if err := p.typ(); err != nil {
				return err
			}
		}
	}
}

// Check returns what a parsed description names but nobody defines: types
// that are neither builtins, its own, nor in external; constants not in
// consts.
func (f *File) Check(external, consts map[string]bool) []string {
	var out []string
	for name, line := range f.Uses {
		if Builtins[name] || f.Types[name] || f.Flags[name] != nil || external[name] {
			continue
		}
		if _, ok := f.Resources[name]; ok {
			continue
		}
		out = append(out, fmt.Sprintf("line %d: type %s is not defined here, not a builtin, and not in sys/linux/bpf.txt", line, name))
	}
	for name, line := range f.Consts {
		if !consts[name] && f.Flags[name] == nil {
			out = append(out, fmt.Sprintf("line %d: constant %s is unknown", line, name))
		}
	}
	sort.Strings(out)
	return out
}

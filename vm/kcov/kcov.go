// Package kcov turns the PCs KCOV recorded in a guest into covered source
// lines of the kernel, with the lines that could have been covered: every
// call to __sanitizer_cov_trace_pc in vmlinux is a place KCOV reports from
// (its return address is what the guest sees), so the calls' lines are the
// executable lines and the recorded PCs' lines are the covered ones.
package kcov

import (
	"debug/dwarf"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"oreore/vm/cover"
)

// traceFunc is the function the compiler calls at the start of every basic
// block of an instrumented object (-fsanitize-coverage=trace-pc).
const traceFunc = "__sanitizer_cov_trace_pc"

// Image is the kernel's instrumented places, and where each is in the
// source.
type Image struct {
	// Sites are the return addresses of the calls to traceFunc: the PCs
	// KCOV can record.
	Sites []uint64
	// lines maps a site to its source file and line.
	lines map[uint64]Pos
}

// Pos is a place in the source: the file as the compiler named it.
type Pos struct {
	File string
	Line int
}

// Open reads the sites of an executable (vmlinux) and their lines, for the
// compilation units whose file name ends in one of suffixes ("kernel/bpf/
// oreore.c"); every unit when suffixes is empty.
func Open(path string, suffixes []string) (*Image, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	target, err := symbol(f, traceFunc)
	if err != nil {
		return nil, err
	}
	img := &Image{lines: map[uint64]Pos{}}
	text := f.Section(".text")
	if text == nil {
		return nil, fmt.Errorf("%s: no .text section", path)
	}
	code, err := text.Data()
	if err != nil {
		return nil, err
	}
	// x86_64 only (the debug flavor's fuzzing is an x86_64 lane): a call
	// is e8 and a little-endian rel32 from the next instruction: scan for the
	// ones that land on traceFunc. A stray e8 whose next four bytes happen
	// to point exactly there would need a site's line too, which the
	// filter below asks for: it does not count unless it is in the units.
	for i := 0; i+5 <= len(code); i++ {
		if code[i] != 0xe8 {
			continue
		}
		next := text.Addr + uint64(i) + 5
		if next+uint64(int64(int32(binary.LittleEndian.Uint32(code[i+1:])))) == target {
			img.Sites = append(img.Sites, next)
		}
	}
	d, err := f.DWARF()
	if err != nil {
		return nil, fmt.Errorf("%s: %w (the kernel needs CONFIG_DEBUG_INFO)", path, err)
	}
	rows, err := lineRows(d, suffixes)
	if err != nil {
		return nil, err
	}
	// A site's line is that of the row holding its call instruction
	// (the return address minus one).
	var kept []uint64
	for _, s := range img.Sites {
		if p, ok := lookup(rows, s-1); ok {
			img.lines[s] = p
			kept = append(kept, s)
		}
	}
	img.Sites = kept
	return img, nil
}

func symbol(f *elf.File, name string) (uint64, error) {
	syms, err := f.Symbols()
	if err != nil {
		return 0, fmt.Errorf("symbols: %w", err)
	}
	for _, s := range syms {
		if s.Name == name {
			return s.Value, nil
		}
	}
	return 0, fmt.Errorf("no %s: nothing is instrumented for KCOV (CONFIG_KCOV, KCOV_INSTRUMENT_<obj>=y)", name)
}

// row is a line table row's address range and place.
type row struct {
	lo, hi uint64
	pos    Pos
}

// lineRows reads the line tables of the wanted units, sorted by address.
func lineRows(d *dwarf.Data, suffixes []string) ([]row, error) {
	var rows []row
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return nil, err
		}
		if e == nil {
			break
		}
		if e.Tag != dwarf.TagCompileUnit {
			r.SkipChildren()
			continue
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		r.SkipChildren()
		if !wanted(name, suffixes) {
			continue
		}
		lr, err := d.LineReader(e)
		if err != nil || lr == nil {
			continue
		}
		var prev dwarf.LineEntry
		havePrev := false
		for {
			var le dwarf.LineEntry
			if err := lr.Next(&le); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, err
			}
			if havePrev && !prev.EndSequence && le.Address > prev.Address {
				rows = append(rows, row{prev.Address, le.Address, Pos{prev.File.Name, prev.Line}})
			}
			prev, havePrev = le, true
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].lo < rows[j].lo })
	return rows, nil
}

func wanted(name string, suffixes []string) bool {
	if len(suffixes) == 0 {
		return true
	}
	for _, s := range suffixes {
		if name == s || strings.HasSuffix(name, "/"+s) {
			return true
		}
	}
	return false
}

func lookup(rows []row, addr uint64) (Pos, bool) {
	i := sort.Search(len(rows), func(i int) bool { return rows[i].hi > addr })
	if i < len(rows) && rows[i].lo <= addr {
		return rows[i].pos, true
	}
	return Pos{}, false
}

// Files is the coverage of the image's sites by the recorded PCs, per
// source file, as vm/cover reads gcov's: a line counts once per PC.
func (img *Image) Files(pcs []uint64) map[string]*cover.File {
	files := map[string]*cover.File{}
	line := func(p Pos) *cover.Line {
		f := files[p.File]
		if f == nil {
			f = &cover.File{Path: p.File, Lines: map[int]*cover.Line{}}
			files[p.File] = f
		}
		l := f.Lines[p.Line]
		if l == nil {
			l = &cover.Line{Number: p.Line}
			f.Lines[p.Line] = l
		}
		return l
	}
	for _, s := range img.Sites {
		line(img.lines[s])
	}
	for _, pc := range pcs {
		if p, ok := img.lines[pc]; ok {
			line(p).Count++
		}
	}
	return files
}

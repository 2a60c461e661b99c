package fuzz

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// PC is a place KCOV reported: an address in vmlinux, or an offset into a
// module's .text. A module is loaded wherever vmalloc finds room, and an
// input may reload it (OpModuleReload): its absolute PCs would make the
// same edge look new after each reload, so a module's are kept relative.
type PC struct {
	// Module is the module's name; empty for vmlinux.
	Module string
	// Addr is the address in vmlinux, or the offset from the module's
	// .text.
	Addr uint64
}

// String is how the PC file make fuzz reads writes it: 0xADDR for
// vmlinux, MODULE+0xOFF for a module.
func (p PC) String() string {
	if p.Module == "" {
		return fmt.Sprintf("%#x", p.Addr)
	}
	return fmt.Sprintf("%s+%#x", p.Module, p.Addr)
}

// ParsePC reads what String wrote.
func ParsePC(s string) (PC, error) {
	mod, off, rel := strings.Cut(s, "+")
	if !rel {
		mod, off = "", s
	}
	a, err := strconv.ParseUint(strings.TrimPrefix(off, "0x"), 16, 64)
	if err != nil || !strings.HasPrefix(off, "0x") {
		return PC{}, fmt.Errorf("not a PC: %q", s)
	}
	return PC{Module: mod, Addr: a}, nil
}

// key is the PC as the signal hashes it: the same for every load of a
// module.
func (p PC) key() uint64 {
	if p.Module == "" {
		return p.Addr
	}
	h := fnv.New64a()
	h.Write([]byte(p.Module))
	return h.Sum64() ^ p.Addr
}

// modText is where one load of a module's .text starts.
type modText struct {
	name string
	base uint64
}

// PCMap tells vmlinux's PCs from the modules': kernel text is
// [_stext, _etext) from kallsyms; any other PC belongs to the module whose
// .text starts nearest below it. Each load a module had stays in the map,
// so that a trace spanning a reload attributes the PCs of both loads.
type PCMap struct {
	root         string // "/" in the guest; a fake tree in host tests
	stext, etext uint64
	mods         []modText // by base
}

// NewPCMap reads kernel text's bounds and the loaded modules' .text. root
// is prefixed to /proc and /sys.
func NewPCMap(root string) (*PCMap, error) {
	m := &PCMap{root: root}
	f, err := os.Open(filepath.Join(root, "proc/kallsyms"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() && (m.stext == 0 || m.etext == 0) {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 {
			continue
		}
		a, _ := strconv.ParseUint(fields[0], 16, 64)
		switch fields[2] {
		case "_stext":
			m.stext = a
		case "_etext":
			m.etext = a
		}
	}
	if m.stext == 0 || m.etext <= m.stext {
		return nil, fmt.Errorf("%s gives no kernel text bounds (_stext %#x, _etext %#x): are addresses hidden (kptr_restrict)?",
			f.Name(), m.stext, m.etext)
	}
	return m, m.Refresh()
}

// Refresh adds the modules' current loads: after an input that reloaded
// one.
func (m *PCMap) Refresh() error {
	texts, err := filepath.Glob(filepath.Join(m.root, "sys/module/*/sections/.text"))
	if err != nil {
		return err
	}
	for _, t := range texts {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // unloaded since the glob
		}
		base, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(string(b)), "0x"), 16, 64)
		if err != nil || base == 0 {
			return fmt.Errorf("%s: %q is not an address: are addresses hidden (kptr_restrict)?", t, b)
		}
		name := filepath.Base(filepath.Dir(filepath.Dir(t)))
		if !m.has(name, base) {
			m.mods = append(m.mods, modText{name, base})
		}
	}
	sort.Slice(m.mods, func(i, j int) bool { return m.mods[i].base < m.mods[j].base })
	return nil
}

func (m *PCMap) has(name string, base uint64) bool {
	for _, t := range m.mods {
		if t.name == name && t.base == base {
			return true
		}
	}
	return false
}

// PC places one address KCOV reported. One no module's .text precedes
// outside kernel text (init text, say) stays absolute.
func (m *PCMap) PC(addr uint64) PC {
	if addr >= m.stext && addr < m.etext {
		return PC{Addr: addr}
	}
	i := sort.Search(len(m.mods), func(i int) bool { return m.mods[i].base > addr }) - 1
	if i < 0 {
		return PC{Addr: addr}
	}
	return PC{Module: m.mods[i].name, Addr: addr - m.mods[i].base}
}

// PCs places a trace.
func (m *PCMap) PCs(addrs []uint64) []PC {
	out := make([]PC, len(addrs))
	for i, a := range addrs {
		out[i] = m.PC(a)
	}
	return out
}

package object

import (
	"encoding/binary"
	"fmt"
	"os"

	"github.com/hashicorp/go-multierror"

	"oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/btf"
)

// pseudoMapValue in an ld_imm64's source register: the immediate is a map
// fd in the low half and an offset into its value in the high half
// (BPF_PSEUDO_MAP_VALUE).
const pseudoMapValue asm.Register = 2

// Collection is a loaded object: its maps and programs by name.
type Collection struct {
	Maps     map[string]bpf.FD
	Programs map[string]bpf.FD
	BTF      bpf.FD // the object's BTF, or -1
	// StructOps are the struct_ops variables' maps, not yet registered
	// (StructOpsInstance.Register), by variable name.
	StructOps map[string]*StructOpsInstance
}

// Close releases every map and program, reporting every failure. It marks
// each closed entry -1, so that a second Close closes nothing.
func (c *Collection) Close() error {
	var errs *multierror.Error
	closeAll := func(what string, fds map[string]bpf.FD) {
		for name, fd := range fds {
			if fd < 0 {
				continue
			}
			if err := fd.Close(); err != nil {
				errs = multierror.Append(errs, fmt.Errorf("%s %s: %w", what, name, err))
			}
			fds[name] = -1
		}
	}
	closeAll("program", c.Programs)
	closeAll("map", c.Maps)
	for name, so := range c.StructOps {
		if so.Map < 0 {
			continue
		}
		if err := so.Map.Close(); err != nil {
			errs = multierror.Append(errs, fmt.Errorf("struct_ops map %s: %w", name, err))
		}
	}
	if c.BTF > 0 {
		if err := c.BTF.Close(); err != nil {
			errs = multierror.Append(errs, fmt.Errorf("BTF: %w", err))
		}
	}
	return errs.ErrorOrNil()
}

// LoadOptions change how Load treats the object.
type LoadOptions struct {
	// TargetBTF resolves CO-RE relocations; nil reads the running kernel's
	// /sys/kernel/btf/vmlinux.
	TargetBTF *btf.Spec
	// SkipCORE loads the instructions as compiled, to show what the
	// relocations change.
	SkipCORE bool
	// Sections gives the program types of sections the loader does not
	// know, or overrides those it does (xdp, socket, tc, classifier). A
	// key is a section's whole name or its Kind, the name up to a '/':
	// "oreore" covers "oreore" and "oreore/anything". The oreore
	// section's numbers depend on the kernel series: callers take them
	// from harness/oreore.
	Sections map[string]ProgType
}

// LoadFile opens the object at path and loads it.
func LoadFile(path string) (*Collection, error) {
	return LoadFileWith(path, LoadOptions{})
}

// LoadFileWith is LoadFile with options.
func LoadFileWith(path string, opts LoadOptions) (*Collection, error) {
	o, err := Open(path)
	if err != nil {
		return nil, err
	}
	c, err := o.LoadWith(opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Load creates the maps, fills the global data, and loads every program,
// with CO-RE relocations resolved against the running kernel. It knows
// only the generic sections: an oreore object needs LoadWith and
// LoadOptions.Sections.
func (o *Object) Load() (*Collection, error) {
	return o.LoadWith(LoadOptions{})
}

// KernelBTF is where the running kernel describes its types.
const KernelBTF = "/sys/kernel/btf/vmlinux"

// LoadWith is Load with options.
func (o *Object) LoadWith(opts LoadOptions) (*Collection, error) {
	// The kernel reads instructions, BTF and map values in its own order,
	// as libbpf checks ("endianness mismatch").
	if o.ByteOrder != nil && bigEndian(o.ByteOrder) != bigEndian(binary.NativeEndian) {
		return nil, fmt.Errorf("the object is %s, this kernel %s: build it with clang -target %s",
			orderName(o.ByteOrder), orderName(binary.NativeEndian), map[bool]string{true: "bpfeb", false: "bpfel"}[bigEndian(binary.NativeEndian)])
	}
	// Every program's type first: an unknown section creates nothing.
	types := make([]ProgType, len(o.Programs))
	for i, p := range o.Programs {
		if isStructOpsKind(p.Kind) {
			continue // typed by the .struct_ops variable that names it
		}
		t, err := opts.progType(p)
		if err != nil {
			return nil, fmt.Errorf("program %s: %w", p.Name, err)
		}
		types[i] = t
	}
	target := opts.TargetBTF
	if target == nil && !opts.SkipCORE && o.hasCORE() {
		b, err := os.ReadFile(KernelBTF)
		if err != nil {
			return nil, fmt.Errorf("CO-RE relocations need the kernel's BTF: %w", err)
		}
		if target, err = btf.Parse(b); err != nil {
			return nil, fmt.Errorf("%s: %w", KernelBTF, err)
		}
	}
	// Each struct_ops variable's type, in vmlinux's BTF or a module's.
	var structOps *structOpsLoad
	if len(o.StructOps) > 0 {
		var err error
		if structOps, err = o.resolveStructOps(); err != nil {
			return nil, err
		}
		defer structOps.close()
	}
	c := &Collection{Maps: map[string]bpf.FD{}, Programs: map[string]bpf.FD{}, BTF: -1, StructOps: map[string]*StructOpsInstance{}}
	// The object's BTF lets the verifier name functions and quote source
	// lines in its log.
	if o.btfBlob != nil {
		fd, err := bpf.BTFLoad(o.btfBlob)
		if err != nil {
			return nil, fmt.Errorf("the object's BTF: %w", err)
		}
		c.BTF = fd
	}
	for _, m := range o.Maps {
		fd, err := createMap(m, c.BTF)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("map %s: %w", m.Name, err)
		}
		c.Maps[m.Name] = fd
	}
	for i, p := range o.Programs {
		insns, err := p.Relocated(c.Maps)
		if err == nil && !opts.SkipCORE && len(p.CORE) > 0 {
			err = applyCORE(insns, p.CORE, o.BTF, target)
		}
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("program %s (section %s): %w", p.Name, p.Section, err)
		}
		name := p.Name
		if len(name) > 15 {
			name = name[:15]
		}
		attr := bpf.ProgLoadAttr{
			Type: types[i].Type, Insns: insns, License: o.License, Name: name, ExpectedAttachType: types[i].ExpectedAttachType,
		}
		if c.BTF > 0 && len(p.FuncInfo) > 0 {
			attr.BTF, attr.FuncInfo, attr.LineInfo = c.BTF, p.funcInfoRecords(), p.lineInfoRecords()
		}
		if isStructOpsKind(p.Kind) {
			if structOps == nil {
				c.Close()
				return nil, fmt.Errorf("program %s (section %s): the object has no .struct_ops variable", p.Name, p.Section)
			}
			if err := structOps.progAttr(o, p, &attr); err != nil {
				c.Close()
				return nil, err
			}
		}
		fd, err := bpf.ProgLoad(attr)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("program %s (section %s): %w", p.Name, p.Section, err)
		}
		c.Programs[p.Name] = fd
	}
	for _, so := range o.StructOps {
		inst, err := structOps.instance(so, c.Programs)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.StructOps[so.Name] = inst
	}
	return c, nil
}

func (o *Object) hasCORE() bool {
	for _, p := range o.Programs {
		if len(p.CORE) > 0 {
			return true
		}
	}
	return false
}

// Relocated returns the program with each map reference pointing at the
// given map fds.
func (p *Program) Relocated(maps map[string]bpf.FD) (asm.Instructions, error) {
	insns := append(asm.Instructions(nil), p.Insns...)
	for _, ref := range p.Refs {
		fd, ok := maps[ref.Map]
		if !ok {
			return nil, fmt.Errorf("instruction %d refers to map %q, which the object does not define", ref.Insn, ref.Map)
		}
		ins := &insns[ref.Insn]
		if ref.Offset < 0 {
			ins.Src = asm.PseudoMapFD
			ins.Constant = int64(fd)
			continue
		}
		ins.Src = pseudoMapValue
		ins.Constant = ref.Offset<<32 | int64(uint32(fd))
	}
	return insns, nil
}

func createMap(m *Map, btfFD bpf.FD) (bpf.FD, error) {
	name := m.Name
	if len(name) > 15 {
		name = name[:15]
	}
	fd, err := bpf.MapCreate(bpf.MapCreateAttr{
		Type: m.Type, KeySize: m.KeySize, ValueSize: m.ValueSize, MaxEntries: m.MaxEntries, Flags: m.Flags, Name: name,
		BTF: btfFD, BTFKeyTypeID: m.BTFKeyTypeID, BTFValueTypeID: m.BTFValueTypeID,
	})
	if err != nil {
		return -1, err
	}
	if m.Data != nil {
		if err := bpf.MapUpdateElem(fd, make([]byte, 4), m.Data, 0); err != nil {
			fd.Close()
			return -1, fmt.Errorf("initial value: %w", err)
		}
	}
	if m.Freeze {
		if err := bpf.MapFreeze(fd); err != nil {
			fd.Close()
			return -1, err
		}
	}
	return fd, nil
}

func (p *Program) funcInfoRecords() []byte {
	var b []byte
	for _, fi := range p.FuncInfo {
		b = binary.NativeEndian.AppendUint32(b, fi.InsnOff)
		b = binary.NativeEndian.AppendUint32(b, fi.TypeID)
	}
	return b
}

func (p *Program) lineInfoRecords() []byte {
	var b []byte
	for _, li := range p.LineInfo {
		for _, v := range []uint32{li.InsnOff, li.FileNameOff, li.LineOff, li.LineCol} {
			b = binary.NativeEndian.AppendUint32(b, v)
		}
	}
	return b
}

package object

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"oreore/harness/bpf"
	"oreore/harness/btf"
)

// rBPF64Abs64 is R_BPF_64_ABS64: a function's address in a .struct_ops
// variable's member, which the loader replaces with the program's fd.
const rBPF64Abs64 = 2

// StructOps is a variable of a .struct_ops or .struct_ops.link section: an
// instance of a struct_ops type that the kernel or a module defines, as
// libbpf reads it. Its struct and members are matched with the kernel's by
// name at Load.
type StructOps struct {
	Name string // the variable's
	Type string // its struct's name, the kernel's struct_ops type
	// Link: from .struct_ops.link, registered by a link (BPF_F_LINK);
	// otherwise by the map's update.
	Link bool
	// Data is the variable's bytes: the members that are not programs.
	Data []byte
	// Progs are the members set to a function: member name -> program.
	Progs map[string]string
	// members are the object's struct's members by name: offset, size.
	members map[string][2]uint32
}

// isStructOpsKind reports whether a program's section makes it a
// struct_ops program ("struct_ops.s/": sleepable).
func isStructOpsKind(kind string) bool { return kind == "struct_ops" || kind == "struct_ops.s" }

// readStructOps reads each variable of the .struct_ops sections, with its
// BTF type and the relocations that put programs in its members.
func (r *reader) readStructOps() error {
	for i, s := range r.f.Sections {
		if s.Name != ".struct_ops" && s.Name != ".struct_ops.link" {
			continue
		}
		if r.obj.BTF == nil {
			return fmt.Errorf("section %s: struct_ops variables need the object's BTF (compile with -g)", s.Name)
		}
		data, err := sectionData(s)
		if err != nil {
			return fmt.Errorf("section %s: %w", s.Name, err)
		}
		secs := r.obj.BTF.Named(s.Name, btf.KindDatasec)
		if len(secs) != 1 {
			return fmt.Errorf("section %s: no DATASEC of that name in the object's BTF", s.Name)
		}
		var vars []*StructOps
		var offs []uint32
		for _, v := range secs[0].Vars {
			vt, err := r.obj.BTF.Type(v.Type)
			if err != nil {
				return fmt.Errorf("section %s: %w", s.Name, err)
			}
			st, err := r.obj.BTF.Skip(vt.Ref)
			if err != nil || st.Kind != btf.KindStruct {
				return fmt.Errorf("section %s: variable %s is not a struct", s.Name, vt.Name)
			}
			// FixDatasecs put the symbol's offset in the blob, not in Vars.
			off, ok := r.symbolValue(vt.Name)
			if !ok || uint64(off)+uint64(st.Size) > uint64(len(data)) {
				return fmt.Errorf("section %s: variable %s has no symbol within the section", s.Name, vt.Name)
			}
			so := &StructOps{Name: vt.Name, Type: st.Name, Link: s.Name == ".struct_ops.link",
				Data: data[off : off+st.Size], Progs: map[string]string{}, members: map[string][2]uint32{}}
			for _, m := range st.Members {
				size, err := r.obj.BTF.Size(m.Type)
				if err != nil {
					return fmt.Errorf("section %s: %s.%s: %w", s.Name, st.Name, m.Name, err)
				}
				so.members[m.Name] = [2]uint32{m.BitOffset / 8, size}
			}
			vars, offs = append(vars, so), append(offs, off)
		}
		if err := r.structOpsRelocations(i, s.Name, vars, offs); err != nil {
			return err
		}
		r.obj.StructOps = append(r.obj.StructOps, vars...)
	}
	return nil
}

// structOpsRelocations puts each relocated function in the member it
// points from.
func (r *reader) structOpsRelocations(idx int, name string, vars []*StructOps, offs []uint32) error {
	for _, s := range r.f.Sections {
		if s.Type != elf.SHT_REL || int(s.Info) != idx {
			continue
		}
		data, err := sectionData(s)
		if err != nil || len(data)%16 != 0 {
			return fmt.Errorf("section %s: %d bytes, %v", s.Name, len(data), err)
		}
		for off := 0; off < len(data); off += 16 {
			rOff := r.f.ByteOrder.Uint64(data[off:])
			info := r.f.ByteOrder.Uint64(data[off+8:])
			symIdx, typ := info>>32, uint32(info)
			if typ != rBPF64Abs64 || symIdx == 0 || symIdx > uint64(len(r.syms)) {
				return fmt.Errorf("section %s: relocation %d: type %d, symbol %d: want R_BPF_64_ABS64 of a function", s.Name, off/16, typ, symIdx)
			}
			sym := r.syms[symIdx-1]
			member := ""
			for i, v := range vars {
				for mname, m := range v.members {
					if uint64(offs[i]+m[0]) == rOff {
						v.Progs[mname], member = sym.Name, mname
					}
				}
			}
			if member == "" {
				return fmt.Errorf("section %s: relocation at %#x (function %s) is in no member of a variable", name, rOff, sym.Name)
			}
		}
	}
	return nil
}

// structOpsProgram returns, for a program in a struct_ops section, the
// variable and member that name it.
func (o *Object) structOpsProgram(p *Program) (*StructOps, string, error) {
	for _, so := range o.StructOps {
		for member, prog := range so.Progs {
			if prog == p.Name {
				return so, member, nil
			}
		}
	}
	return nil, "", fmt.Errorf("program %s (section %s) is in no .struct_ops variable's member", p.Name, p.Section)
}

// kernelStructOps is a struct_ops type as the kernel or a module defines
// it: the spec it is in, the struct, the value type, and the module's BTF
// object (-1 for vmlinux's).
type kernelStructOps struct {
	spec   *btf.Spec
	st     *btf.Type
	value  *btf.Type
	module string
	btfFD  bpf.FD
}

// findStructOps finds the struct_ops type name in vmlinux's BTF, then in
// each module's, by its value type bpf_struct_ops_<name>.
func findStructOps(name string) (*kernelStructOps, error) {
	raw, err := os.ReadFile(KernelBTF)
	if err != nil {
		return nil, err
	}
	base, err := btf.Parse(raw)
	if err != nil {
		return nil, err
	}
	look := func(spec *btf.Spec) (st, value *btf.Type) {
		vs := spec.Named("bpf_struct_ops_"+name, btf.KindStruct)
		ss := spec.Named(name, btf.KindStruct)
		if len(vs) == 1 && len(ss) == 1 {
			return ss[0], vs[0]
		}
		return nil, nil
	}
	if st, value := look(base); st != nil {
		return &kernelStructOps{spec: base, st: st, value: value, btfFD: -1}, nil
	}
	mods, _ := filepath.Glob("/sys/kernel/btf/*")
	sort.Strings(mods)
	for _, path := range mods {
		mod := filepath.Base(path)
		if mod == "vmlinux" {
			continue
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		spec, err := btf.ParseSplit(raw, base)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if st, value := look(spec); st != nil && st.ID > uint32(len(base.Types)) {
			fd, err := bpf.KernelBTF(mod)
			if err != nil {
				return nil, err
			}
			return &kernelStructOps{spec: spec, st: st, value: value, module: mod, btfFD: fd}, nil
		}
	}
	return nil, fmt.Errorf("struct_ops type %s: neither vmlinux nor a loaded module defines it (no struct bpf_struct_ops_%s)", name, name)
}

// member returns the kernel struct's member's index, byte offset and size.
func (k *kernelStructOps) member(name string) (int, uint32, uint32, error) {
	for i, m := range k.st.Members {
		if m.Name == name {
			size, err := k.spec.Size(m.Type)
			return i, m.BitOffset / 8, size, err
		}
	}
	return 0, 0, 0, fmt.Errorf("struct %s in %s has no member %s", k.st.Name, k.where(), name)
}

func (k *kernelStructOps) where() string {
	if k.module == "" {
		return "vmlinux"
	}
	return "module " + k.module
}

// dataOffset is where the value type holds the struct.
func (k *kernelStructOps) dataOffset() (uint32, error) {
	for _, m := range k.value.Members {
		if m.Name == "data" {
			return m.BitOffset / 8, nil
		}
	}
	return 0, fmt.Errorf("%s has no member data", k.value.Name)
}

// StructOpsInstance is a loaded struct_ops variable: its map, and the value
// that registers it (its programs' fds in their members).
type StructOpsInstance struct {
	Map   bpf.FD
	Value []byte
	Link  bool
}

// Register registers the instance: the map's update, and for a
// .struct_ops.link variable the link, which it returns (-1 otherwise:
// deleting the map's element unregisters).
func (s *StructOpsInstance) Register() (bpf.FD, error) {
	if err := bpf.MapUpdateElem(s.Map, make([]byte, 4), s.Value, 0); err != nil {
		return -1, err
	}
	if !s.Link {
		return -1, nil
	}
	return bpf.LinkCreate(bpf.LinkCreateAttr{Prog: s.Map, AttachType: unix.BPF_STRUCT_OPS})
}

// structOpsLoad is what Load learns of the object's struct_ops variables
// before it loads their programs.
type structOpsLoad struct {
	kernel map[string]*kernelStructOps // by variable
}

// resolveStructOps finds every variable's kernel type.
func (o *Object) resolveStructOps() (*structOpsLoad, error) {
	l := &structOpsLoad{kernel: map[string]*kernelStructOps{}}
	for _, so := range o.StructOps {
		k, err := findStructOps(so.Type)
		if err != nil {
			l.close()
			return nil, fmt.Errorf("%s: %w", so.Name, err)
		}
		l.kernel[so.Name] = k
	}
	return l, nil
}

func (l *structOpsLoad) close() {
	for _, k := range l.kernel {
		if k.btfFD > 0 {
			k.btfFD.Close()
		}
	}
}

// progAttr sets a struct_ops program's attach attributes from the
// variable member that names it.
func (l *structOpsLoad) progAttr(o *Object, p *Program, attr *bpf.ProgLoadAttr) error {
	so, member, err := o.structOpsProgram(p)
	if err != nil {
		return err
	}
	k := l.kernel[so.Name]
	idx, _, _, err := k.member(member)
	if err != nil {
		return err
	}
	attr.Type, attr.ExpectedAttachType, attr.AttachBTFID = unix.BPF_PROG_TYPE_STRUCT_OPS, uint32(idx), k.st.ID
	if k.btfFD > 0 {
		attr.AttachFD = uint32(k.btfFD)
	}
	if p.Kind == "struct_ops.s" {
		attr.Flags |= unix.BPF_F_SLEEPABLE
	}
	return nil
}

// instance creates the variable's map and builds its value: each program's
// fd in the kernel member of its name, and every other member the object
// sets copied to the kernel member of the same name and size.
func (l *structOpsLoad) instance(so *StructOps, progs map[string]bpf.FD) (*StructOpsInstance, error) {
	k := l.kernel[so.Name]
	dataOff, err := k.dataOffset()
	if err != nil {
		return nil, err
	}
	value := make([]byte, k.value.Size)
	for name, m := range so.members {
		_, off, size, err := k.member(name)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", so.Name, name, err)
		}
		if prog, ok := so.Progs[name]; ok {
			binary.NativeEndian.PutUint64(value[dataOff+off:], uint64(progs[prog]))
			continue
		}
		local := so.Data[m[0] : m[0]+m[1]]
		if strings.Trim(string(local), "\x00") == "" {
			continue
		}
		if size != m[1] {
			return nil, fmt.Errorf("%s.%s: %d bytes in the object, %d in %s", so.Name, name, m[1], size, k.where())
		}
		copy(value[dataOff+off:], local)
	}
	var flags uint32
	if so.Link {
		flags = unix.BPF_F_LINK
	}
	fd, err := bpf.StructOpsMapCreate(bpf.StructOpsMapAttr{Name: truncName(so.Name), ValueTypeID: k.value.ID, ValueSize: k.value.Size,
		ModuleBTF: k.btfFD, Flags: flags})
	if err != nil {
		return nil, fmt.Errorf("struct_ops map %s (%s in %s): %w", so.Name, so.Type, k.where(), err)
	}
	return &StructOpsInstance{Map: fd, Value: value, Link: so.Link}, nil
}

func truncName(name string) string {
	if len(name) > 15 {
		return name[:15]
	}
	return name
}

package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"oreore/harness/bpf"
	"oreore/harness/btf"
	"oreore/harness/object"
)

// The struct_ops verbs are bpftool's: list (its show), dump, register and
// unregister. Unlike bpftool up to 7.3, they name a module's struct_ops
// type: its value type's ID is in the module's BTF, which the map's info
// names (btf_vmlinux_id, 6.9 on), and bpftool looks it up in vmlinux's.

const structOpsValuePrefix = "bpf_struct_ops_"

type structOpsOut struct {
	ID     uint32 `json:"id"`
	Name   string `json:"name"`
	Kernel string `json:"kernel_struct_ops"`
}

func (s structOpsOut) text() string { return fmt.Sprintf("%d: %-15s %s\n", s.ID, s.Name, s.Kernel) }

// structOpsValue is a struct_ops map's kernel value type and the BTF it is
// in: vmlinux's, or the module's split on top of it.
func structOpsValue(info bpf.MapInfo) (*btf.Spec, *btf.Type, error) {
	raw, err := os.ReadFile(object.KernelBTF)
	if err != nil {
		return nil, nil, err
	}
	spec, err := btf.Parse(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", object.KernelBTF, err)
	}
	if info.BTFVmlinuxValueTypeID >= uint32(len(spec.Types)) {
		// Past vmlinux's types: the module's BTF object holds it.
		if info.BTFVmlinuxID == 0 {
			return nil, nil, fmt.Errorf("map %d: value type %d is not vmlinux's and the kernel names no BTF object for it",
				info.ID, info.BTFVmlinuxValueTypeID)
		}
		blob, err := bpf.BTFByID(info.BTFVmlinuxID)
		if err != nil {
			return nil, nil, fmt.Errorf("map %d: BTF object %d: %w", info.ID, info.BTFVmlinuxID, err)
		}
		if spec, err = btf.ParseSplit(blob, spec); err != nil {
			return nil, nil, fmt.Errorf("map %d: BTF object %d: %w", info.ID, info.BTFVmlinuxID, err)
		}
	}
	t, err := spec.Type(info.BTFVmlinuxValueTypeID)
	if err != nil {
		return nil, nil, fmt.Errorf("map %d: %w", info.ID, err)
	}
	if !strings.HasPrefix(t.Name, structOpsValuePrefix) {
		return nil, nil, fmt.Errorf("map %d: value type %d is %q, not a %s<name>", info.ID, t.ID, t.Name, structOpsValuePrefix)
	}
	return spec, t, nil
}

func structOpsJSON(info bpf.MapInfo) (structOpsOut, error) {
	_, t, err := structOpsValue(info)
	if err != nil {
		return structOpsOut{}, err
	}
	return structOpsOut{ID: info.ID, Name: info.Name, Kernel: strings.TrimPrefix(t.Name, structOpsValuePrefix)}, nil
}

// withStructOps runs f on each struct_ops map MAP names, or on every one
// without a MAP. A MAP that names another kind of map is an error.
func withStructOps(args []string, f func(bpf.FD, bpf.MapInfo) error) error {
	if len(args) > 0 {
		return withMaps(args, func(fd bpf.FD, info bpf.MapInfo) error {
			if info.Type != unix.BPF_MAP_TYPE_STRUCT_OPS {
				return fmt.Errorf("map %d (%s) is a %s map, not struct_ops", info.ID, info.Name, mapJSON(info).Type)
			}
			return f(fd, info)
		})
	}
	return eachMap(func(fd bpf.FD, info bpf.MapInfo) error {
		if info.Type != unix.BPF_MAP_TYPE_STRUCT_OPS {
			return nil
		}
		return f(fd, info)
	})
}

// structOpsList lists the struct_ops maps MAP names, or all of them.
func (c *cmd) structOpsList(args []string) error {
	all := []structOpsOut{}
	var text strings.Builder
	err := withStructOps(args, func(_ bpf.FD, info bpf.MapInfo) error {
		s, err := structOpsJSON(info)
		all = append(all, s)
		text.WriteString(s.text())
		return err
	})
	if err != nil {
		return err
	}
	if len(args) > 0 {
		return printFound(c, all, text.String())
	}
	return c.print(all, text.String())
}

type structOpsDumped struct {
	structOpsOut
	Value  string            `json:"value"`
	Common string            `json:"common"` // refcnt and state, by the kernel's type
	Data   map[string]string `json:"data"`   // each member, ops as bpftool prints them
}

// structOpsDump prints each map's value as the kernel's value type: its
// common part, and each member of the struct, an op as the program the
// kernel keeps there (bpf_struct_ops_map_sys_lookup_elem gives its ID),
// "NAME/prog_id:ID" as bpftool prints it, or 0 where none is.
func (c *cmd) structOpsDump(args []string) error {
	all := []structOpsDumped{}
	var text strings.Builder
	err := withStructOps(args, func(fd bpf.FD, info bpf.MapInfo) error {
		spec, t, err := structOpsValue(info)
		if err != nil {
			return err
		}
		value := make([]byte, info.ValueSize)
		if err := bpf.MapLookupElem(fd, make([]byte, info.KeySize), value); err != nil {
			return fmt.Errorf("map %d (%s): lookup: %w", info.ID, info.Name, err)
		}
		d := structOpsDumped{
			structOpsOut: structOpsOut{ID: info.ID, Name: info.Name, Kernel: strings.TrimPrefix(t.Name, structOpsValuePrefix)},
			Value:        spaced(value),
			Data:         map[string]string{},
		}
		text.WriteString(d.text())
		for _, m := range t.Members {
			mt, err := spec.Skip(m.Type)
			if err != nil {
				return err
			}
			size, err := spec.Size(m.Type)
			off := m.BitOffset / 8
			if err != nil || uint64(off)+uint64(size) > uint64(len(value)) {
				return fmt.Errorf("map %d: %s.%s does not fit the value", info.ID, t.Name, m.Name)
			}
			switch {
			case m.Name == "common":
				d.Common = spec.Format(m.Type, value[off:off+size])
				fmt.Fprintf(&text, "\tcommon: %s\n", d.Common)
			case m.Name == "data" && mt.Kind == btf.KindStruct:
				for _, dm := range mt.Members {
					dsize, err := spec.Size(dm.Type)
					doff := off + dm.BitOffset/8
					if err != nil || dm.BitSize != 0 || uint64(doff)+uint64(dsize) > uint64(len(value)) {
						d.Data[dm.Name] = "?"
					} else {
						d.Data[dm.Name] = formatMember(spec, dm.Type, value[doff:doff+dsize])
					}
					fmt.Fprintf(&text, "\t%s: %s\n", dm.Name, d.Data[dm.Name])
				}
			}
		}
		all = append(all, d)
		return nil
	})
	if err != nil {
		return err
	}
	if len(args) > 0 {
		return printFound(c, all, text.String())
	}
	return c.print(all, text.String())
}

// formatMember prints an op (a pointer to a function) as the program whose
// ID the kernel keeps in it, and any other member by its type.
func formatMember(spec *btf.Spec, typ uint32, b []byte) string {
	t, err := spec.Skip(typ)
	if err != nil || t.Kind != btf.KindPtr || len(b) != 8 {
		return spec.Format(typ, b)
	}
	if target, err := spec.Skip(t.Ref); err != nil || target.Kind != btf.KindFuncProto {
		return spec.Format(typ, b)
	}
	id := binary.NativeEndian.Uint64(b)
	if id == 0 {
		return "0"
	}
	name := "<unknown_prog_name>"
	if fd, err := bpf.ProgGetFDByID(uint32(id)); err == nil {
		if info, err := bpf.ProgGetInfo(fd); err == nil {
			name = info.Name
		}
		fd.Close()
	}
	return fmt.Sprintf("%s/prog_id:%d", name, id)
}

// structOpsRegister loads OBJ and registers each of its struct_ops
// variables, as bpftool does: a .struct_ops map stays registered when the
// command ends; a .struct_ops.link map's link is pinned in LINK_DIR when
// one is given, and otherwise unregisters when the command ends.
func (c *cmd) structOpsRegister(args []string) error {
	if len(args) != 1 && len(args) != 2 {
		return errUsage
	}
	coll, err := object.LoadFile(args[0])
	if err != nil {
		return err
	}
	defer coll.Close()
	if len(coll.StructOps) == 0 {
		return fmt.Errorf("%s has no .struct_ops or .struct_ops.link variable", args[0])
	}
	names := make([]string, 0, len(coll.StructOps))
	for name := range coll.StructOps {
		names = append(names, name)
	}
	sort.Strings(names)
	type registered struct {
		structOpsOut
		LinkID uint32 `json:"link_id,omitempty"`
		Pinned string `json:"pinned,omitempty"`
	}
	all := []registered{}
	var text strings.Builder
	for _, name := range names {
		inst := coll.StructOps[name]
		link, err := inst.Register()
		if err != nil {
			return fmt.Errorf("registering %s: %w", name, err)
		}
		if link >= 0 {
			defer link.Close()
		}
		info, err := bpf.MapGetInfo(inst.Map)
		if err != nil {
			return err
		}
		s, err := structOpsJSON(info)
		if err != nil {
			return err
		}
		r := registered{structOpsOut: s}
		if !inst.Link {
			fmt.Fprintf(&text, "Registered %s %s id %d\n", s.Kernel, s.Name, s.ID)
			all = append(all, r)
			continue
		}
		li, err := bpf.LinkGetInfo(link)
		if err != nil {
			return err
		}
		r.LinkID = li.ID
		if len(args) == 2 {
			r.Pinned = filepath.Join(args[1], info.Name)
			if err := bpf.ObjPin(link, r.Pinned); err != nil {
				return fmt.Errorf("pinning the link of %s: %w", name, err)
			}
		}
		fmt.Fprintf(&text, "Registered %s %s map id %d link id %d\n", s.Kernel, s.Name, s.ID, r.LinkID)
		if r.Pinned == "" {
			text.WriteString("\t(no LINK_DIR: it unregisters when this command ends)\n")
		}
		all = append(all, r)
	}
	return c.print(all, text.String())
}

// structOpsUnregister deletes the element of each map MAP names. A link's
// map refuses (EOPNOTSUPP): removing its link's pin unregisters it.
func (c *cmd) structOpsUnregister(args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	var text strings.Builder
	err := withStructOps(args, func(fd bpf.FD, info bpf.MapInfo) error {
		s, err := structOpsJSON(info)
		if err != nil {
			return err
		}
		if err := bpf.MapDeleteElem(fd, make([]byte, info.KeySize)); err != nil {
			return fmt.Errorf("unregistering %s %s id %d: %w", s.Kernel, s.Name, s.ID, err)
		}
		fmt.Fprintf(&text, "Unregistered %s %s id %d\n", s.Kernel, s.Name, s.ID)
		return nil
	})
	if err != nil {
		return err
	}
	if c.jsonOut {
		return nil
	}
	return c.print(nil, text.String())
}

package progtype

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"oreore/harness/btf"
)

// Kernel is a described type as the running kernel has it: its series,
// the numbers that series' patches give it, and the numbers and context
// layout that the kernel's BTF records.
type Kernel struct {
	*Type
	Series  string
	Numbers Numbers // from the series' patches (numbers_gen.go)
	BTF     Numbers // from /sys/kernel/btf/vmlinux, by enumerator name
	// Enums holds every enumerator of the uapi's prog, attach and link
	// type enums as the kernel's BTF has them.
	Enums map[string]uint32
	// CtxSize is the size of the context type in struct bpf_ctx_convert
	// (the member <ProgTypeEnum>_prog), and CtxMembers its members by name
	// with their byte offsets and sizes (none for a scalar context).
	CtxSize    int
	CtxMembers map[string][2]int
	// CtxType is the context type's name in BTF.
	CtxType string
}

// RunningSeries is the series of the running kernel's release.
func RunningSeries() (string, error) {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return "", fmt.Errorf("uname: %w", err)
	}
	return ForRelease(unix.ByteSliceToString(uts.Release[:]))
}

// Running describes typ on the running kernel. It fails when the kernel's
// release belongs to no series, or its BTF lacks the type.
func Running(typ *Type) (*Kernel, error) {
	series, err := RunningSeries()
	if err != nil {
		return nil, err
	}
	k := &Kernel{Type: typ, Series: series}
	if k.Numbers, err = typ.Numbers(series); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		return nil, err
	}
	spec, err := btf.Parse(raw)
	if err != nil {
		return nil, err
	}
	for _, e := range []struct {
		enum, name string
		dst        *uint32
	}{
		{"bpf_prog_type", typ.ProgTypeEnum, &k.BTF.ProgType},
		{"bpf_attach_type", typ.AttachTypeEnum, &k.BTF.AttachType},
		{"bpf_link_type", typ.LinkTypeEnum, &k.BTF.LinkType},
	} {
		if *e.dst, err = enumValue(spec, e.enum, e.name); err != nil {
			return nil, err
		}
	}
	k.Enums = map[string]uint32{}
	for _, enum := range uapiEnums {
		for _, t := range spec.Named(enum, btf.KindEnum) {
			for _, e := range t.Enums {
				k.Enums[e.Name] = uint32(e.Value)
			}
		}
	}
	if err := k.ctxLayout(spec); err != nil {
		return nil, err
	}
	return k, nil
}

func enumValue(spec *btf.Spec, enum, name string) (uint32, error) {
	for _, t := range spec.Named(enum, btf.KindEnum) {
		for _, e := range t.Enums {
			if e.Name == name {
				return uint32(e.Value), nil
			}
		}
	}
	return 0, fmt.Errorf("enum %s has no %s in the kernel's BTF", enum, name)
}

// ctxLayout reads the context type from struct bpf_ctx_convert, which
// include/linux/bpf_types.h fills with one <type>_prog member per program
// type: the uapi context that the verifier checks accesses against.
func (k *Kernel) ctxLayout(spec *btf.Spec) error {
	convert := spec.Named("bpf_ctx_convert", btf.KindStruct)
	if len(convert) == 0 {
		return fmt.Errorf("the kernel's BTF has no struct bpf_ctx_convert")
	}
	member := k.ProgTypeEnum + "_prog"
	for _, m := range convert[0].Members {
		if m.Name != member {
			continue
		}
		size, err := spec.Size(m.Type)
		if err != nil {
			return err
		}
		k.CtxSize = int(size)
		typ, err := spec.Skip(m.Type)
		if err != nil {
			return err
		}
		name := typ.Name
		if t, err := spec.Type(m.Type); err == nil && t.Name != "" {
			name = t.Name // a typedef such as __u32 keeps its own name
		}
		k.CtxType = name
		k.CtxMembers = map[string][2]int{}
		if typ.Kind == btf.KindStruct {
			for _, f := range typ.Members {
				fs, err := spec.Size(f.Type)
				if err != nil {
					return err
				}
				k.CtxMembers[f.Name] = [2]int{int(f.BitOffset / 8), int(fs)}
			}
		}
		return nil
	}
	return fmt.Errorf("struct bpf_ctx_convert has no member %s: the kernel does not build %s in", member, k.ProgTypeEnum)
}

// LayoutMismatches lists where the descriptor's fields disagree with the
// kernel's BTF: size, offsets, sizes, and members it does not describe.
func (k *Kernel) LayoutMismatches() []string {
	var out []string
	if k.CtxType != k.Ctx.Type {
		out = append(out, fmt.Sprintf("the context is %s in BTF (struct bpf_ctx_convert's %s_prog), %s in the descriptor", k.CtxType, k.ProgTypeEnum, k.Ctx.Type))
	}
	if k.CtxSize != k.Ctx.Size {
		out = append(out, fmt.Sprintf("the context is %d bytes in BTF, %d in the descriptor", k.CtxSize, k.Ctx.Size))
	}
	if len(k.CtxMembers) == 0 {
		return out // a scalar context: one unnamed field
	}
	described := map[string]bool{}
	for _, f := range k.Ctx.Fields {
		described[f.Name] = true
		m, ok := k.CtxMembers[f.Name]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("field %s is not a member of %s in BTF", f.Name, k.Ctx.Type))
		case m != [2]int{f.Off, f.Size}:
			out = append(out, fmt.Sprintf("field %s is at %d, %d bytes in BTF; the descriptor says %d, %d bytes", f.Name, m[0], m[1], f.Off, f.Size))
		}
	}
	var missing []string
	for name := range k.CtxMembers {
		if !described[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		out = append(out, fmt.Sprintf("members %s of %s have no rule in the descriptor", strings.Join(missing, ", "), k.Ctx.Type))
	}
	return out
}

// AtLeast reports whether the kernel's series is major.minor or later:
// the families use it where the verifier's rules changed between series.
func (k *Kernel) AtLeast(major, minor int) bool {
	var maj, min int
	if _, err := fmt.Sscanf(k.Series, "%d.%d", &maj, &min); err != nil {
		return false
	}
	return maj > major || maj == major && min >= minor
}

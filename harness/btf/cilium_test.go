package btf_test

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	cbtf "github.com/cilium/ebpf/btf"

	"oreore/harness/btf"
)

// harness/btf against cilium/ebpf's btf package, a parser written by
// others, on the same bytes: every type's kind, name, size, references,
// members, enumerators (the sign of values ≥ 2³¹ included), parameters and
// variables. A misparse that the loader's own tests share with the loader
// (both use this package) shows up here. cilium/ebpf is a test-only
// dependency.

// The running kernel's BTF: on the host, 6.18's, with every kind the
// kernel emits and enums with values of both signs.
func TestParseAgreesWithCiliumOnVmlinux(t *testing.T) {
	raw, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		t.Fatalf("the kernel's BTF: %v (CONFIG_DEBUG_INFO_BTF)", err)
	}
	n := agree(t, raw)
	t.Logf("/sys/kernel/btf/vmlinux: %d types agree", n)
}

// The .BTF sections of programs/c, as clang wrote them (datasecs not yet
// fixed up by a loader).
func TestParseAgreesWithCiliumOnPrograms(t *testing.T) {
	dir := os.Getenv("OREORE_PROGRAMS")
	if dir == "" {
		t.Fatal("OREORE_PROGRAMS is not set: run `make test`, which compiles programs/c first")
	}
	objs, _ := filepath.Glob(filepath.Join(dir, "*.bpf.o"))
	if len(objs) == 0 {
		t.Fatalf("no *.bpf.o in %s", dir)
	}
	for _, obj := range objs {
		t.Run(filepath.Base(obj), func(t *testing.T) {
			f, err := elf.Open(obj)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sec := f.Section(".BTF")
			if sec == nil {
				t.Fatalf("%s has no .BTF", obj)
			}
			raw, err := sec.Data()
			if err != nil {
				t.Fatal(err)
			}
			agree(t, raw)
		})
	}
}

// agree parses raw with both and compares every type; it returns how many
// types it compared.
func agree(t *testing.T, raw []byte) int {
	t.Helper()
	ours, err := btf.Parse(raw)
	if err != nil {
		t.Fatalf("harness/btf: %v", err)
	}
	theirs, err := cbtf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("cilium/ebpf: %v", err)
	}
	bad := 0
	for id := 1; id < len(ours.Types); id++ {
		o := ours.Types[id]
		c, err := theirs.TypeByID(cbtf.TypeID(id))
		if err != nil {
			t.Fatalf("type %d (%v %q): cilium/ebpf has none: %v", id, o.Kind, o.Name, err)
		}
		if d := differ(o, c, theirs); d != "" {
			t.Errorf("type %d (%v %q): %s; cilium/ebpf: %v", id, o.Kind, o.Name, d, c)
			if bad++; bad == 20 {
				t.Fatal("20 types differ: stopping")
			}
		}
	}
	if _, err := theirs.TypeByID(cbtf.TypeID(len(ours.Types))); err == nil {
		t.Errorf("cilium/ebpf has a type %d, harness/btf has %d types", len(ours.Types), len(ours.Types))
	}
	return len(ours.Types) - 1
}

// differ says how o and c differ, or "" when they agree.
func differ(o *btf.Type, c cbtf.Type, s *cbtf.Spec) string {
	id := func(t cbtf.Type) uint32 {
		n, err := s.TypeID(t)
		if err != nil {
			return ^uint32(0)
		}
		return uint32(n)
	}
	want := func(kinds ...btf.Kind) string {
		for _, k := range kinds {
			if o.Kind == k {
				return ""
			}
		}
		return fmt.Sprintf("kind %v, cilium/ebpf has %T", o.Kind, c)
	}
	// A tag's string is its name in BTF; cilium/ebpf calls it the value.
	name := c.TypeName()
	if tag, ok := c.(*cbtf.TypeTag); ok {
		name = tag.Value
	}
	decl := reflect.TypeOf(c).String() == "*btf.declTag" // unexported in cilium/ebpf
	if decl {
		name = reflect.ValueOf(c).Elem().FieldByName("Value").String()
	}
	if name != o.Name {
		return fmt.Sprintf("name %q, cilium/ebpf %q", o.Name, name)
	}
	switch c := c.(type) {
	case *cbtf.Int:
		if d := want(btf.KindInt); d != "" {
			return d
		}
		// BTF_INT_ENCODING is bits 24-27 of the word after the type.
		if o.Size != c.Size || cbtf.IntEncoding(o.Extra>>24&0xf) != c.Encoding {
			return fmt.Sprintf("size %d encoding %#x", o.Size, o.Extra>>24&0xf)
		}
	case *cbtf.Pointer:
		return refers(want(btf.KindPtr), o.Ref, id(c.Target))
	case *cbtf.Typedef:
		return refers(want(btf.KindTypedef), o.Ref, id(c.Type))
	case *cbtf.Volatile:
		return refers(want(btf.KindVolatile), o.Ref, id(c.Type))
	case *cbtf.Const:
		return refers(want(btf.KindConst), o.Ref, id(c.Type))
	case *cbtf.Restrict:
		return refers(want(btf.KindRestrict), o.Ref, id(c.Type))
	case *cbtf.TypeTag:
		return refers(want(btf.KindTypeTag), o.Ref, id(c.Type))
	case *cbtf.Func:
		return refers(want(btf.KindFunc), o.Ref, id(c.Type))
	case *cbtf.Array:
		if d := want(btf.KindArray); d != "" {
			return d
		}
		if got := (btf.Array{Elem: id(c.Type), Index: id(c.Index), Nelems: c.Nelems}); o.Array != got {
			return fmt.Sprintf("array %+v, cilium/ebpf %+v", o.Array, got)
		}
	case *cbtf.Struct:
		return members(want(btf.KindStruct), o, c.Size, c.Members, id)
	case *cbtf.Union:
		return members(want(btf.KindUnion), o, c.Size, c.Members, id)
	case *cbtf.Enum:
		if d := want(btf.KindEnum, btf.KindEnum64); d != "" {
			return d
		}
		if o.Size != c.Size || o.KindFlag != c.Signed || len(o.Enums) != len(c.Values) {
			return fmt.Sprintf("size %d signed %v %d values, cilium/ebpf size %d signed %v %d values",
				o.Size, o.KindFlag, len(o.Enums), c.Size, c.Signed, len(c.Values))
		}
		for i, v := range c.Values {
			if o.Enums[i].Name != v.Name || o.Enums[i].Value != v.Value {
				return fmt.Sprintf("value %d: %s = %#x, cilium/ebpf %s = %#x", i, o.Enums[i].Name, o.Enums[i].Value, v.Name, v.Value)
			}
		}
	case *cbtf.Fwd:
		if d := want(btf.KindFwd); d != "" {
			return d
		}
		if o.KindFlag != (c.Kind == cbtf.FwdUnion) {
			return fmt.Sprintf("kind_flag %v, cilium/ebpf %v", o.KindFlag, c.Kind)
		}
	case *cbtf.FuncProto:
		if d := refers(want(btf.KindFuncProto), o.Ref, id(c.Return)); d != "" {
			return d
		}
		if len(o.Params) != len(c.Params) {
			return fmt.Sprintf("%d params, cilium/ebpf %d", len(o.Params), len(c.Params))
		}
		for i, p := range c.Params {
			if o.Params[i] != (btf.Param{Name: p.Name, Type: id(p.Type)}) {
				return fmt.Sprintf("param %d %+v, cilium/ebpf %s %d", i, o.Params[i], p.Name, id(p.Type))
			}
		}
	case *cbtf.Var:
		if d := refers(want(btf.KindVar), o.Ref, id(c.Type)); d != "" {
			return d
		}
		if o.Extra != uint32(c.Linkage) {
			return fmt.Sprintf("linkage %d, cilium/ebpf %d", o.Extra, c.Linkage)
		}
	case *cbtf.Datasec:
		if d := want(btf.KindDatasec); d != "" {
			return d
		}
		if o.Size != c.Size || len(o.Vars) != len(c.Vars) {
			return fmt.Sprintf("size %d %d vars, cilium/ebpf size %d %d vars", o.Size, len(o.Vars), c.Size, len(c.Vars))
		}
		for i, v := range c.Vars {
			if got := (btf.SecInfo{Type: id(v.Type), Offset: v.Offset, Size: v.Size}); o.Vars[i] != got {
				return fmt.Sprintf("var %d %+v, cilium/ebpf %+v", i, o.Vars[i], got)
			}
		}
	case *cbtf.Float:
		if d := want(btf.KindFloat); d != "" {
			return d
		}
		if o.Size != c.Size {
			return fmt.Sprintf("size %d, cilium/ebpf %d", o.Size, c.Size)
		}
	default:
		if decl {
			v := reflect.ValueOf(c).Elem()
			target, _ := v.FieldByName("Type").Interface().(cbtf.Type)
			if d := refers(want(btf.KindDeclTag), o.Ref, id(target)); d != "" {
				return d
			}
			// component_idx: -1 for the whole type.
			if index := v.FieldByName("Index").Int(); int32(o.Extra) != int32(index) {
				return fmt.Sprintf("component %d, cilium/ebpf %d", int32(o.Extra), index)
			}
			return ""
		}
		return fmt.Sprintf("cilium/ebpf has an unexpected %T", c)
	}
	return ""
}

func refers(kind string, got, want uint32) string {
	if kind != "" {
		return kind
	}
	if got != want {
		return fmt.Sprintf("refers to %d, cilium/ebpf to %d", got, want)
	}
	return ""
}

func members(kind string, o *btf.Type, size uint32, ms []cbtf.Member, id func(cbtf.Type) uint32) string {
	if kind != "" {
		return kind
	}
	if o.Size != size || len(o.Members) != len(ms) {
		return fmt.Sprintf("size %d %d members, cilium/ebpf size %d %d members", o.Size, len(o.Members), size, len(ms))
	}
	for i, m := range ms {
		got := btf.Member{Name: m.Name, Type: id(m.Type), BitOffset: uint32(m.Offset), BitSize: uint32(m.BitfieldSize)}
		if o.Members[i] != got {
			return fmt.Sprintf("member %d %+v, cilium/ebpf %+v", i, o.Members[i], got)
		}
	}
	return ""
}

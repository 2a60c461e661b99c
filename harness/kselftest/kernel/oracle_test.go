//go:build guest

package kernel

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"oreore/harness/guest"
	"oreore/harness/kselftest"
	"oreore/harness/object"
)

// progShow is what both tools print for `--json prog show`: bpftool's
// field names, which the oreore command uses too.
type progShow struct {
	ID     uint32   `json:"id"`
	Type   string   `json:"type"`
	Name   string   `json:"name"`
	Tag    string   `json:"tag"`
	GPL    bool     `json:"gpl_compatible"`
	Xlated uint32   `json:"bytes_xlated"`
	Jited  uint32   `json:"bytes_jited"`
	MapIDs []uint32 `json:"map_ids"`
}

type mapShow struct {
	ID         uint32 `json:"id"`
	Type       string `json:"type"`
	Name       string `json:"name"`
	KeySize    uint32 `json:"bytes_key"`
	ValueSize  uint32 `json:"bytes_value"`
	MaxEntries uint32 `json:"max_entries"`
	Flags      uint32 `json:"flags"`
}

func tool(t *testing.T, bin string, args ...string) ([]byte, error) {
	t.Helper()
	out, err := exec.Command(bin, args...).Output()
	if ee, ok := err.(*exec.ExitError); ok {
		err = fmt.Errorf("%s %s: %v: %s", filepath.Base(bin), strings.Join(args, " "), err, ee.Stderr)
	}
	return out, err
}

func decode[T any](t *testing.T, what string, out []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, out)
	}
	return v
}

// bpftool, built from the patched tree, is the oracle for the oreore
// command: on every program the guest has, both load the same pinned
// program and must agree on what the kernel reports about it and its maps,
// and on the number of instructions the kernel kept (xlated).
func TestOreoreCommandAgreesWithBpftool(t *testing.T) {
	bpftool := kselftest.Binary(t, "bpftool")
	oreore := "/bin/oreore"
	objs, _ := filepath.Glob(filepath.Join(guest.ProgramsDir, "*.bpf.o"))
	if len(objs) == 0 {
		t.Fatalf("no objects in %s", guest.ProgramsDir)
	}
	for _, obj := range append(objs, "builtin:add42") {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(obj), "builtin:"), ".bpf.o")
		t.Run(name, func(t *testing.T) {
			// A struct_ops instance of a module's type belongs to the slot
			// lane, which removes and reloads the module while this lane
			// runs; harness/oreoreops loads and runs it there.
			if o, err := object.Open(obj); err == nil && len(o.StructOps) > 0 {
				t.Skipf("%s holds struct_ops instances (%s of %s): loaded in the slot lane, whose tests reload their module", name, o.StructOps[0].Name, o.StructOps[0].Type)
			}
			pin := filepath.Join("/sys/fs/bpf", "oracle_"+name)
			os.Remove(pin)
			defer os.Remove(pin)
			if out, err := tool(t, oreore, "prog", "load", obj, "--pin", pin); err != nil {
				// The objects that the verifier rejects on purpose are
				// rejected by libbpf too.
				if _, berr := tool(t, bpftool, "prog", "load", obj, pin+"_bpftool"); berr == nil {
					os.Remove(pin + "_bpftool")
					t.Fatalf("oreore cannot load what bpftool loads: %v\n%s", err, out)
				}
				t.Skipf("neither tool loads it: %v", err)
			}
			o, err := tool(t, oreore, "--json", "prog", "show", "pinned", pin)
			if err != nil {
				t.Fatal(err)
			}
			b, err := tool(t, bpftool, "--json", "prog", "show", "pinned", pin)
			if err != nil {
				t.Fatal(err)
			}
			op, bp := decode[progShow](t, "oreore", o), decode[progShow](t, "bpftool", b)
			// No maps is [] for one tool and absent for the other.
			if len(op.MapIDs) == 0 && len(bp.MapIDs) == 0 {
				op.MapIDs, bp.MapIDs = nil, nil
			}
			if !reflect.DeepEqual(op, bp) {
				t.Errorf("prog show disagrees:\noreore:  %+v\nbpftool: %+v", op, bp)
			}
			for _, id := range bp.MapIDs {
				om, err := tool(t, oreore, "--json", "map", "show", "id", fmt.Sprint(id))
				if err != nil {
					t.Fatal(err)
				}
				bm, err := tool(t, bpftool, "--json", "map", "show", "id", fmt.Sprint(id))
				if err != nil {
					t.Fatal(err)
				}
				if o, b := decode[mapShow](t, "oreore", om), decode[mapShow](t, "bpftool", bm); o != b {
					t.Errorf("map show id %d disagrees:\noreore:  %+v\nbpftool: %+v", id, o, b)
				}
			}
			ox, err := tool(t, oreore, "--json", "prog", "dump", "xlated", "pinned", pin)
			if err != nil {
				t.Fatal(err)
			}
			bx, err := tool(t, bpftool, "--json", "prog", "dump", "xlated", "pinned", pin)
			if err != nil {
				t.Fatal(err)
			}
			// One element per instruction in both (a string for oreore, an
			// object for bpftool; ld_imm64 is one instruction in both).
			oi, bi := decode[[]any](t, "oreore", ox), decode[[]any](t, "bpftool", bx)
			if len(oi) != len(bi) {
				t.Errorf("xlated: oreore prints %d instructions, bpftool %d\noreore:  %s\nbpftool: %s", len(oi), len(bi), ox, bx)
			}
		})
	}
}

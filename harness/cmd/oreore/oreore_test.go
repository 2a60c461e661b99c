//go:build guest

package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// In the guest: the oreore type by name, its xlated view, attach, run, detach.
func TestOreoreSubcommands(t *testing.T) {
	id := load(t, "builtin:add42")
	if show := oreoreCmd(t, "prog", "show", id); !strings.Contains(show, id+": oreore  name add42") {
		t.Errorf("prog show does not name the type oreore:\n%s", show)
	}
	dump := oreoreCmd(t, "prog", "dump", "xlated", id)
	for _, want := range []string{"0: r0 = *(u32 *)(r1 + 0)", "1: w0 += 42", "2: exit"} {
		if !strings.Contains(dump, want) {
			t.Errorf("xlated dump lacks %q:\n%s", want, dump)
		}
	}
	if out := oreoreCmd(t, "oreore", "status"); out != "nothing attached\n" {
		t.Errorf("oreore status before attach: %q", out)
	}
	oreoreCmd(t, "oreore", "attach", id)
	defer oreoreCmd(t, "oreore", "detach", id)
	if out := oreoreCmd(t, "oreore", "status"); !strings.HasPrefix(out, "attached: "+id+": oreore  name add42") {
		t.Errorf("oreore status after attach: %q", out)
	}
	if out := oreoreCmd(t, "oreore", "run", "100"); out != "142\n" {
		t.Errorf("oreore run 100: %q, want 142", out)
	}
	var res struct{ Input, Result uint32 }
	if err := json.Unmarshal([]byte(oreoreCmd(t, "--json", "oreore", "run", "0xffffffff")), &res); err != nil || res.Result != 41 {
		t.Errorf("oreore run --json: %+v, %v; want result 41", res, err)
	}
}

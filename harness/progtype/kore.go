package progtype

import "strings"

// Kore is BPF_PROG_TYPE_KORE: a program gets a struct bpf_kore (in, read
// by narrow loads too; cpu, which the kernel fills; out, which the program
// writes and test_run copies back) and returns a u32. One global slot that
// only a link holds, with a cookie the program reads with
// bpf_get_attach_cookie(). What oreore does not have, it has.
var Kore = &Type{
	Name:           "kore",
	ProgTypeEnum:   "BPF_PROG_TYPE_KORE",
	AttachTypeEnum: "BPF_KORE_ATTACH",
	LinkTypeEnum:   "BPF_LINK_TYPE_KORE",
	Ctx: Context{
		Type: "bpf_kore",
		Size: 12,
		Fields: []Field{
			{Name: "in", Off: 0, Size: 4, Read: true, Narrow: true, Input: true},
			{Name: "cpu", Off: 4, Size: 4, Read: true, Narrow: true, Output: true, Filled: FilledCPU},
			{Name: "out", Off: 8, Size: 4, Read: true, Write: true, Input: true, Output: true},
		},
	},
	TestRun:     TestRunRules{CtxIn: true, CtxInit: true, CtxOut: true, Repeat: true},
	Attach:      AttachPoint{Slots: 1, Link: true, Global: true, Cookie: true, ReportsAttached: true},
	Caps:        koreCaps(),
	BaseHelpers: true,
	Trigger:     SysfsTrigger{Path: "/sys/kore/bpf", Runs: "/sys/kore/runs", Softirq: "/sys/kore/softirq"},

	Module:        "kore",
	KernelObjects: []string{"kore.o"},
	Selftests:     []string{"kore"},
	Kconfig:       "CONFIG_BPF_KORE",
	GuestTests:    []GuestTest{{Name: "kore", Package: "./harness/kore"}},
}

// koreCaps: kore's attach point checks what oreore's does, in its own
// functions (bpf_kore_link_create), and has no BPF_PROG_ATTACH or
// BPF_PROG_DETACH to check.
func koreCaps() map[string]CapMatrix {
	out := map[string]CapMatrix{}
	for series, m := range oreoreCaps {
		km := CapMatrix{}
		for cmd, cells := range m {
			if cmd == CmdAttach || cmd == CmdDetach {
				continue
			}
			for _, c := range cells {
				c.Check = strings.NewReplacer("oreore", "kore", "OREORE", "KORE").Replace(c.Check)
				km[cmd] = append(km[cmd], c)
			}
		}
		out[series] = km
	}
	return out
}

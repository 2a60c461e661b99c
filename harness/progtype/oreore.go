package progtype

// Oreore is BPF_PROG_TYPE_OREORE: a program gets one u32, read-only, and
// returns a u32; one global slot that BPF_PROG_ATTACH fills or a link owns.
var Oreore = &Type{
	Name:           "oreore",
	ProgTypeEnum:   "BPF_PROG_TYPE_OREORE",
	AttachTypeEnum: "BPF_OREORE_ATTACH",
	LinkTypeEnum:   "BPF_LINK_TYPE_OREORE",
	Ctx: Context{
		Type: "__u32",
		Size: 4,
		// lirc_mode2's rule: one 4-byte read at offset 0.
		Fields: []Field{{Name: "", Off: 0, Size: 4, Read: true, Input: true}},
	},
	TestRun:     TestRunRules{CtxIn: true, Repeat: true},
	Attach:      AttachPoint{Slots: 1, Link: true, Global: true, ProgAttach: true, ReportsAttached: true},
	Caps:        oreoreCaps,
	BaseHelpers: true,
	Trigger:     SysfsTrigger{Path: "/sys/oreore/bpf", Runs: "/sys/oreore/runs", Softirq: "/sys/oreore/softirq"},

	Module:        "oreore",
	KernelObjects: []string{"oreore.o"},
	Selftests:     []string{"oreore"},
	Kconfig:       "CONFIG_BPF_OREORE",
	GuestTests:    []GuestTest{{Name: "suite", Package: "./harness/suite"}, {Name: "oreorecmd", Package: "./harness/cmd/oreore"}},
}

// oreoreCaps is, per series and command, one cell per set in CapSets order:
// none, CAP_BPF, CAP_BPF+CAP_NET_ADMIN, CAP_BPF+CAP_PERFMON, CAP_SYS_ADMIN.
// bpf_capable() is CAP_BPF or CAP_SYS_ADMIN (include/linux/capability.h);
// 6.12's bpf_token_capable(NULL, cap) is capable(cap) or, for any cap but
// CAP_SYS_ADMIN itself, capable(CAP_SYS_ADMIN) (kernel/bpf/token.c), and
// bpf_net_capable() is CAP_NET_ADMIN or CAP_SYS_ADMIN (include/linux/bpf.h).
// 7.3 makes the checks 6.12 makes, in the same functions.
var oreoreCaps = SameChecks(map[string]CapMatrix{
	"6.1": {
		CmdLoad: {
			// __sys_bpf refuses BPF_PROG_LOAD without bpf_capable() when
			// kernel.unprivileged_bpf_disabled is set; when it is 0,
			// bpf_prog_load's type check does (TestCapUnprivilegedBPFDisabled).
			EPERM("__sys_bpf: !bpf_capable() && sysctl_unprivileged_bpf_disabled, else bpf_prog_load: type != SOCKET_FILTER/CGROUP_SKB && !bpf_capable()"),
			Allowed("bpf_prog_load: bpf_capable() (CAP_BPF); is_net_admin_prog_type() and is_perfmon_prog_type() leave OREORE out"),
			Allowed("bpf_prog_load: bpf_capable() (CAP_BPF)"),
			Allowed("bpf_prog_load: bpf_capable() (CAP_BPF)"),
			Allowed("bpf_prog_load: bpf_capable() (CAP_SYS_ADMIN stands for CAP_BPF)"),
		},
		CmdAttach: {
			EPERM("bpf_oreore_prog_attach: !capable(CAP_NET_ADMIN) (bpf_prog_attach checks none)"),
			EPERM("bpf_oreore_prog_attach: !capable(CAP_NET_ADMIN)"),
			Allowed("bpf_oreore_prog_attach: capable(CAP_NET_ADMIN), the check the core's query makes"),
			EPERM("bpf_oreore_prog_attach: !capable(CAP_NET_ADMIN)"),
			EPERM("bpf_oreore_prog_attach: !capable(CAP_NET_ADMIN); 6.1 has no bpf_net_capable(), CAP_SYS_ADMIN does not stand for it"),
		},
		CmdDetach: {
			EPERM("bpf_oreore_prog_detach: !capable(CAP_NET_ADMIN) (bpf_prog_detach checks none)"),
			EPERM("bpf_oreore_prog_detach: !capable(CAP_NET_ADMIN)"),
			Allowed("bpf_oreore_prog_detach: capable(CAP_NET_ADMIN), the check the core's query makes"),
			EPERM("bpf_oreore_prog_detach: !capable(CAP_NET_ADMIN)"),
			EPERM("bpf_oreore_prog_detach: !capable(CAP_NET_ADMIN); 6.1 has no bpf_net_capable(), CAP_SYS_ADMIN does not stand for it"),
		},
		CmdLinkCreate: {
			EPERM("bpf_oreore_link_create: !capable(CAP_NET_ADMIN) (link_create checks none)"),
			EPERM("bpf_oreore_link_create: !capable(CAP_NET_ADMIN)"),
			Allowed("bpf_oreore_link_create: capable(CAP_NET_ADMIN), the check the core's query makes"),
			EPERM("bpf_oreore_link_create: !capable(CAP_NET_ADMIN)"),
			EPERM("bpf_oreore_link_create: !capable(CAP_NET_ADMIN); 6.1 has no bpf_net_capable(), CAP_SYS_ADMIN does not stand for it"),
		},
		// The link's fd is the permission: link_update and
		// bpf_oreore_link_update_prog check no capability, as for every
		// link type, so whoever holds the link (and a program fd) may
		// swap its program.
		CmdLinkUpdate: {
			Allowed("link_update, bpf_oreore_link_update_prog: no capability check"),
			Allowed("link_update: no capability check"),
			Allowed("link_update: no capability check"),
			Allowed("link_update: no capability check"),
			Allowed("link_update: no capability check"),
		},
		// As for an update: the link's fd is the permission.
		CmdLinkDetach: {
			Allowed("link_detach, bpf_oreore_link_detach: no capability check"),
			Allowed("link_detach: no capability check"),
			Allowed("link_detach: no capability check"),
			Allowed("link_detach: no capability check"),
			Allowed("link_detach: no capability check"),
		},
		CmdQuery: {
			EPERM("bpf_prog_query: !capable(CAP_NET_ADMIN)"),
			EPERM("bpf_prog_query: !capable(CAP_NET_ADMIN)"),
			Allowed("bpf_prog_query: capable(CAP_NET_ADMIN)"),
			EPERM("bpf_prog_query: !capable(CAP_NET_ADMIN)"),
			EPERM("bpf_prog_query: !capable(CAP_NET_ADMIN); 6.1 has no bpf_net_capable(), CAP_SYS_ADMIN does not stand for it"),
		},
		// The program's fd is the permission: bpf_prog_test_run and
		// bpf_prog_test_run_oreore check no capability.
		CmdTestRun: {
			Allowed("bpf_prog_test_run, bpf_prog_test_run_oreore: no capability check"),
			Allowed("bpf_prog_test_run: no capability check"),
			Allowed("bpf_prog_test_run: no capability check"),
			Allowed("bpf_prog_test_run: no capability check"),
			Allowed("bpf_prog_test_run: no capability check"),
		},
	},
	"6.12": {
		CmdLoad: {
			// The sysctl check moved from __sys_bpf into bpf_prog_load.
			EPERM("bpf_prog_load: sysctl_unprivileged_bpf_disabled && !bpf_cap, else type != SOCKET_FILTER/CGROUP_SKB && !bpf_cap (bpf_token_capable(token, CAP_BPF))"),
			Allowed("bpf_prog_load: bpf_token_capable(CAP_BPF); is_net_admin_prog_type() and is_perfmon_prog_type() leave OREORE out"),
			Allowed("bpf_prog_load: bpf_token_capable(CAP_BPF)"),
			Allowed("bpf_prog_load: bpf_token_capable(CAP_BPF)"),
			Allowed("bpf_prog_load: bpf_token_capable(CAP_BPF) (CAP_SYS_ADMIN stands for CAP_BPF in bpf_ns_capable)"),
		},
		CmdAttach: {
			EPERM("bpf_oreore_prog_attach: !bpf_net_capable() (bpf_prog_attach checks none)"),
			EPERM("bpf_oreore_prog_attach: !bpf_net_capable()"),
			Allowed("bpf_oreore_prog_attach: bpf_net_capable() (CAP_NET_ADMIN), the check the core's query makes"),
			EPERM("bpf_oreore_prog_attach: !bpf_net_capable()"),
			Allowed("bpf_oreore_prog_attach: bpf_net_capable() (CAP_SYS_ADMIN stands for CAP_NET_ADMIN since 6.6)"),
		},
		CmdDetach: {
			EPERM("bpf_oreore_prog_detach: !bpf_net_capable() (bpf_prog_detach checks none)"),
			EPERM("bpf_oreore_prog_detach: !bpf_net_capable()"),
			Allowed("bpf_oreore_prog_detach: bpf_net_capable() (CAP_NET_ADMIN), the check the core's query makes"),
			EPERM("bpf_oreore_prog_detach: !bpf_net_capable()"),
			Allowed("bpf_oreore_prog_detach: bpf_net_capable() (CAP_SYS_ADMIN stands for CAP_NET_ADMIN since 6.6)"),
		},
		CmdLinkCreate: {
			EPERM("bpf_oreore_link_create: !bpf_net_capable() (link_create checks none)"),
			EPERM("bpf_oreore_link_create: !bpf_net_capable()"),
			Allowed("bpf_oreore_link_create: bpf_net_capable() (CAP_NET_ADMIN), the check the core's query makes"),
			EPERM("bpf_oreore_link_create: !bpf_net_capable()"),
			Allowed("bpf_oreore_link_create: bpf_net_capable() (CAP_SYS_ADMIN stands for CAP_NET_ADMIN since 6.6)"),
		},
		CmdLinkUpdate: {
			Allowed("link_update, bpf_oreore_link_update_prog: no capability check"),
			Allowed("link_update: no capability check"),
			Allowed("link_update: no capability check"),
			Allowed("link_update: no capability check"),
			Allowed("link_update: no capability check"),
		},
		CmdLinkDetach: {
			Allowed("link_detach, bpf_oreore_link_detach: no capability check"),
			Allowed("link_detach: no capability check"),
			Allowed("link_detach: no capability check"),
			Allowed("link_detach: no capability check"),
			Allowed("link_detach: no capability check"),
		},
		CmdQuery: {
			EPERM("bpf_prog_query: !bpf_net_capable()"),
			EPERM("bpf_prog_query: !bpf_net_capable()"),
			Allowed("bpf_prog_query: bpf_net_capable() (CAP_NET_ADMIN)"),
			EPERM("bpf_prog_query: !bpf_net_capable()"),
			Allowed("bpf_prog_query: bpf_net_capable() (CAP_SYS_ADMIN stands for CAP_NET_ADMIN since 6.6)"),
		},
		CmdTestRun: {
			Allowed("bpf_prog_test_run, bpf_prog_test_run_oreore: no capability check"),
			Allowed("bpf_prog_test_run: no capability check"),
			Allowed("bpf_prog_test_run: no capability check"),
			Allowed("bpf_prog_test_run: no capability check"),
			Allowed("bpf_prog_test_run: no capability check"),
		},
	},
}, "7.3", "6.12")

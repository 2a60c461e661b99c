package main

import (
	"strings"
	"testing"
)

// conflict writes a diff3-style conflict as git leaves it.
func conflict(ours, base, theirs string) string {
	return "before\n<<<<<<< HEAD\n" + ours + "||||||| base\n" + base + "=======\n" + theirs + ">>>>>>> zzz\nafter\n"
}

// Each conflict the series and a stacked type's patches meet, settled as a
// developer would: the cases are the ones the three series have.
func TestResolveSettlesWhatStackingMeets(t *testing.T) {
	r := newRenamer("zzz")
	for _, c := range []struct {
		name, file, ours, base, theirs, want string
	}{{
		name:   "an enum keeps the series' values: the new value goes last",
		file:   "include/uapi/linux/bpf.h",
		ours:   "\tBPF_PROG_TYPE_OREORE,\n\tBPF_PROG_TYPE_KORE,\n",
		theirs: "\tBPF_PROG_TYPE_ZZZ,\n",
		want:   "\tBPF_PROG_TYPE_OREORE,\n\tBPF_PROG_TYPE_KORE,\n\tBPF_PROG_TYPE_ZZZ,\n",
	}, {
		name:   "a case keeps its break",
		file:   "kernel/bpf/syscall.c",
		ours:   "\tcase BPF_PROG_TYPE_OREORE:\n\t\tret = bpf_oreore_prog_attach(attr, prog);\n\t\tbreak;\n",
		theirs: "\tcase BPF_PROG_TYPE_ZZZ:\n\t\tret = bpf_zzz_prog_attach(attr, prog);\n\t\tbreak;\n",
		want: "\tcase BPF_PROG_TYPE_OREORE:\n\t\tret = bpf_oreore_prog_attach(attr, prog);\n\t\tbreak;\n" +
			"\tcase BPF_PROG_TYPE_ZZZ:\n\t\tret = bpf_zzz_prog_attach(attr, prog);\n\t\tbreak;\n",
	}, {
		name:   "libbpf.map opens a version node once",
		file:   "tools/lib/bpf/libbpf.map",
		ours:   "\nLIBBPF_1.6.0 {\n\tglobal:\n\t\tbpf_program__attach_kore;\n\t\tbpf_program__attach_oreore;\n\t\tbpf_program__attach_oreore_opts;\n} LIBBPF_1.5.0;\n",
		theirs: "\nLIBBPF_1.6.0 {\n\tglobal:\n\t\tbpf_program__attach_zzz;\n\t\tbpf_program__attach_zzz_opts;\n} LIBBPF_1.5.0;\n",
		want: "\nLIBBPF_1.6.0 {\n\tglobal:\n\t\tbpf_program__attach_kore;\n\t\tbpf_program__attach_oreore;\n\t\tbpf_program__attach_zzz;\n" +
			"\t\tbpf_program__attach_oreore_opts;\n\t\tbpf_program__attach_zzz_opts;\n} LIBBPF_1.5.0;\n",
	}, {
		name:   "a comment the series wrote for every type stands",
		file:   "tools/testing/selftests/bpf/progs/bpf_misc.h",
		ours:   " * __ctx_u32         The u32 to pass as the context\n *                   (BPF_PROG_TYPE_OREORE) or (BPF_PROG_TYPE_KORE)\n *\n",
		theirs: " * __ctx_u32         The u32 to pass as the context\n *                   (BPF_PROG_TYPE_ZZZ)\n *\n",
		want:   " * __ctx_u32         The u32 to pass as the context\n *                   (BPF_PROG_TYPE_OREORE) or (BPF_PROG_TYPE_KORE)\n *\n",
	}, {
		name:   "code under a comment the series has is the type's own",
		file:   "tools/lib/bpf/libbpf.h",
		ours:   "/* No options yet */\nstruct bpf_oreore_opts {\n\tsize_t sz;\n};\n",
		theirs: "/* No options yet */\nstruct bpf_zzz_opts {\n\tsize_t sz;\n};\n",
		want:   "/* No options yet */\nstruct bpf_oreore_opts {\n\tsize_t sz;\n};\n/* No options yet */\nstruct bpf_zzz_opts {\n\tsize_t sz;\n};\n",
	}, {
		name:   "a list gains the name after oreore's",
		file:   "tools/bpf/bpftool/bash-completion/bpftool",
		ours:   "                                flow_dissector oreore_attach'\n",
		base:   "                                flow_dissector'\n",
		theirs: "                                flow_dissector zzz_attach'\n",
		want:   "                                flow_dissector oreore_attach zzz_attach'\n",
	}, {
		name: "a condition continued, and its comment",
		file: "tools/bpf/bpftool/prog.c",
		ours: "\t/* Hooks without a map: the netns's flow dissector, the global oreore */\n" +
			"\tif (*attach_type == BPF_FLOW_DISSECTOR ||\n\t    *attach_type == BPF_OREORE_ATTACH) {\n",
		base: "\tif (*attach_type == BPF_FLOW_DISSECTOR) {\n",
		theirs: "\t/* Hooks without a map: the netns's flow dissector, the global zzz */\n" +
			"\tif (*attach_type == BPF_FLOW_DISSECTOR ||\n\t    *attach_type == BPF_ZZZ_ATTACH) {\n",
		want: "\t/* Hooks without a map: the netns's flow dissector, the global oreore */\n" +
			"\t/* Hooks without a map: the netns's flow dissector, the global zzz */\n" +
			"\tif (*attach_type == BPF_FLOW_DISSECTOR ||\n\t    *attach_type == BPF_OREORE_ATTACH ||\n\t    *attach_type == BPF_ZZZ_ATTACH) {\n",
	}, {
		name:   "a help line that another type continued",
		file:   "tools/bpf/bpftool/Documentation/bpftool-prog.rst",
		ours:   "|\t\t**sk_lookup** |\n|\t\t**oreore** | **kore**\n",
		base:   "|\t\t**sk_lookup**\n",
		theirs: "|\t\t**sk_lookup** |\n|\t\t**zzz**\n",
		want:   "|\t\t**sk_lookup** |\n|\t\t**oreore** |\n|\t\t**zzz** | **kore**\n",
	}, {
		name:   "an init chain of checked calls",
		file:   "tools/testing/selftests/bpf/bpf_testmod/bpf_testmod.c",
		ours:   "\tret = a();\n\tif (ret < 0)\n\t\treturn ret;\n\tret = b_oreore();\n\tif (ret < 0)\n\t\treturn ret;\n\treturn c_kore();\n",
		base:   "\treturn a();\n",
		theirs: "\tret = a();\n\tif (ret < 0)\n\t\treturn ret;\n\treturn b_zzz();\n",
		want: "\tret = a();\n\tif (ret < 0)\n\t\treturn ret;\n\tret = b_oreore();\n\tif (ret < 0)\n\t\treturn ret;\n" +
			"\tret = c_kore();\n\tif (ret < 0)\n\t\treturn ret;\n\treturn b_zzz();\n",
	}} {
		t.Run(c.name, func(t *testing.T) {
			got, err := resolve(c.file, conflict(c.ours, c.base, c.theirs), r)
			if err != nil {
				t.Fatal(err)
			}
			if want := "before\n" + c.want + "after\n"; got != want {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// What resolve cannot read as insertions it refuses, naming the conflict,
// rather than guess.
func TestResolveRefusesRewrites(t *testing.T) {
	r := newRenamer("zzz")
	for name, c := range map[string][3]string{
		"a deletion":          {"\tx = oreore;\n", "\tx = 1;\n\ty = 2;\n", "\tx = zzz;\n"},
		"a rewrite":           {"\treturn oreore(1);\n", "\treturn 1;\n", "\treturn zzz(2) + 1;\n"},
		"no twin in the list": {"\tflow_dissector kore_attach'\n", "\tflow_dissector'\n", "\tflow_dissector zzz_attach'\n"},
	} {
		if got, err := resolve("f.c", conflict(c[0], c[1], c[2]), r); err == nil || !strings.Contains(err.Error(), "<<<<<<< series") {
			t.Errorf("%s: got %q, %v; want an error that shows the conflict", name, got, err)
		}
	}
}

// The renamed patch's explicit enum values become the next free ones, and
// the enumerators are counted as the kernel numbers them.
func TestRenumberAndRoom(t *testing.T) {
	r := newRenamer("zzz")
	in := "enum bpf_link_type {\n\tBPF_LINK_TYPE_UNSPEC = 0,\n\tBPF_LINK_TYPE_OREORE = 1,\n\tBPF_LINK_TYPE_KORE = 2,\n\tBPF_LINK_TYPE_ZZZ = 1,\n\t__MAX_BPF_LINK_TYPE,\n};\n"
	if got := renumber(in, r); !strings.Contains(got, "\tBPF_LINK_TYPE_ZZZ = 3,\n") || !strings.Contains(got, "\tBPF_LINK_TYPE_OREORE = 1,\n") {
		t.Errorf("renumber:\n%s", got)
	}
	header := "enum bpf_attach_type {\n\tBPF_A,\n\tBPF_B, /* two */\n\tBPF_C = 2,\n\t__MAX_BPF_ATTACH_TYPE\n};\n"
	if n, err := enumerators(header, "bpf_attach_type", "__MAX_BPF_ATTACH_TYPE"); err != nil || n != 3 {
		t.Errorf("enumerators: %d, %v; want 3", n, err)
	}
}

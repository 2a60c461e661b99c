// Command syzdesc writes syzkaller's descriptions of every described
// program type (harness/progtype) into kernel-patches/syzkaller/: an
// upstream submission of a new type is expected to teach syzkaller its
// calls. Each file builds on syzkaller's sys/linux/bpf.txt (fd_bpf_prog,
// fd_bpf_link, bpf_instructions, ...) and describes what the type adds:
// its load attributes, test_run with its context, its attach point, its
// link, and its trigger file. syzdesc's test checks that the files are up
// to date and that vm/syzlang reads them.
//
//	go run ./vm/cmd/syzdesc [-o kernel-patches/syzkaller]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"oreore/harness/progtype"
)

func main() {
	out := flag.String("o", "kernel-patches/syzkaller", "the folder the descriptions go to")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "syzdesc:", err)
		os.Exit(1)
	}
	for _, t := range progtype.All {
		if err := os.WriteFile(filepath.Join(*out, FileName(t)), []byte(Describe(t)), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "syzdesc:", err)
			os.Exit(1)
		}
	}
}

// FileName is the description's name in syzkaller's sys/linux.
func FileName(t *progtype.Type) string { return "bpf_" + t.Name + ".txt" }

// Describe writes one type's description.
func Describe(t *progtype.Type) string {
	n := t.Name
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# syzkaller's description of %s (sys/linux/%s), written by vm/cmd/syzdesc from", t.ProgTypeEnum, FileName(t))
	p("# harness/progtype; do not edit. It builds on sys/linux/bpf.txt; upstream, %s", t.ProgTypeEnum)
	p("# and %s also join bpf.txt's bpf_prog_type and bpf_attach_type flags.", t.AttachTypeEnum)
	p("")
	p("include <uapi/linux/bpf.h>")
	p("include <uapi/linux/fcntl.h>")
	p("")
	p("resource fd_%s[fd]", n)
	p("")
	p("bpf$PROG_LOAD_%s(cmd const[BPF_PROG_LOAD], arg ptr[in, bpf_prog_%s], size len[arg]) fd_bpf_prog", strings.ToUpper(n), n)
	p("bpf$BPF_PROG_TEST_RUN_%s(cmd const[BPF_PROG_TEST_RUN], arg ptr[in, bpf_test_run_%s], size len[arg])", strings.ToUpper(n), n)
	if t.Attach.ProgAttach {
		p("bpf$BPF_PROG_ATTACH_%s(cmd const[BPF_PROG_ATTACH], arg ptr[in, bpf_attach_%s], size len[arg])", strings.ToUpper(n), n)
		p("bpf$BPF_PROG_DETACH_%s(cmd const[BPF_PROG_DETACH], arg ptr[in, bpf_attach_%s], size len[arg])", strings.ToUpper(n), n)
	}
	p("bpf$BPF_PROG_QUERY_%s(cmd const[BPF_PROG_QUERY], arg ptr[inout, bpf_query_%s], size len[arg])", strings.ToUpper(n), n)
	if t.Attach.Link {
		p("bpf$BPF_LINK_CREATE_%s(cmd const[BPF_LINK_CREATE], arg ptr[in, bpf_link_create_%s], size len[arg]) fd_bpf_link", strings.ToUpper(n), n)
	}
	if s, ok := t.Trigger.(progtype.SysfsTrigger); ok {
		p("")
		p("# The trigger: a number written to the file runs the attached program; reading gives the result.")
		p("openat$%s(fd const[AT_FDCWD], file ptr[in, string[\"%s\"]], flags const[O_RDWR], mode const[0]) fd_%s", n, s.Path, n)
		p("write$%s(fd fd_%s, buf ptr[in, %s_input], len bytesize[buf])", n, n, n)
		p("read$%s(fd fd_%s, buf ptr[out, array[int8]], len bytesize[buf])", n, n)
		p("")
		p("%s_input [", n)
		p("\tnumber\tstring[%s_numbers]", n)
		p("\tbytes\tarray[int8]")
		p("] [varlen]")
		p("")
		p("%s_numbers = \"0\", \"1\", \"42\", \"4294967295\", \"4294967296\", \"-1\", \"+16\", \"0x10\", \"+0x10\"", n)
	}
	p("")
	p("bpf_prog_%s {", n)
	p("\ttype\t\t\tconst[%s, int32]", t.ProgTypeEnum)
	p("\tninsn\t\t\tbytesize8[insns, int32]")
	p("\tinsns\t\t\tptr64[in, bpf_instructions]")
	p("\tlicense\t\t\tptr64[in, string[bpf_licenses]]")
	p("\tloglev\t\t\tint32")
	p("\tlogsize\t\t\tlen[log, int32]")
	p("\tlog\t\t\tptr64[out, array[int8], opt]")
	p("\tkern_version\t\tconst[0, int32]")
	p("\tflags\t\t\tflags[bpf_prog_load_flags, int32]")
	p("\tprog_name\t\tarray[const[0, int8], BPF_OBJ_NAME_LEN]")
	p("\tprog_ifindex\t\tconst[0, int32]")
	p("\texpected_attach_type\tconst[%s, int32]", t.AttachTypeEnum)
	p("}")
	p("")
	p("# The context a program gets, as test_run's ctx_in takes it.")
	p("bpf_ctx_%s {", n)
	for _, f := range t.Ctx.Fields {
		name := f.Name
		if name == "" {
			name = "value"
		}
		typ := fmt.Sprintf("int%d", f.Size*8)
		if f.Filled != "" {
			typ = fmt.Sprintf("const[0, int%d]", f.Size*8) // the kernel's to fill; ctx_in leaves it zero
		}
		p("\t%s\t%s", name, typ)
	}
	p("}")
	p("")
	p("bpf_test_run_%s {", n)
	p("\tprog\t\tfd_bpf_prog")
	p("\tretval\t\tconst[0, int32]")
	p("\tdata_size_in\tconst[0, int32]")
	p("\tdata_size_out\tconst[0, int32]")
	p("\tdata_in\t\tconst[0, int64]")
	p("\tdata_out\tconst[0, int64]")
	if t.TestRun.Repeat {
		p("\trepeat\t\tint32[0:100]")
	} else {
		p("\trepeat\t\tconst[0, int32]")
	}
	p("\tduration\tconst[0, int32]")
	p("\tctx_size_in\tlen[ctx_in, int32]")
	if t.TestRun.CtxOut {
		p("\tctx_size_out\tlen[ctx_out, int32]")
	} else {
		p("\tctx_size_out\tconst[0, int32]")
	}
	p("\tctx_in\t\tptr64[in, bpf_ctx_%s]", n)
	if t.TestRun.CtxOut {
		p("\tctx_out\t\tptr64[out, bpf_ctx_%s, opt]", n)
	} else {
		p("\tctx_out\t\tconst[0, int64]")
	}
	p("\tflags\t\tconst[0, int32]")
	p("\tcpu\t\tconst[0, int32]")
	p("\tbatch_size\tconst[0, int32]")
	p("} [align_8]")
	if t.Attach.ProgAttach {
		p("")
		p("bpf_attach_%s {", n)
		p("\ttarget_fd\tconst[0, int32]")
		p("\tattach_bpf_fd\tfd_bpf_prog")
		p("\tattach_type\tconst[%s, int32]", t.AttachTypeEnum)
		p("\tattach_flags\tconst[0, int32]")
		p("\treplace_bpf_fd\tconst[0, int32]")
		p("}")
	}
	p("")
	p("bpf_query_%s {", n)
	p("\ttarget_fd\tconst[0, int32]")
	p("\tattach_type\tconst[%s, int32]", t.AttachTypeEnum)
	p("\tquery_flags\tconst[0, int32]")
	p("\tattach_flags\tint32")
	p("\tprog_ids\tptr64[out, array[int32]]")
	p("\tprog_cnt\tlen[prog_ids, int32]")
	p("} [align_8]")
	if t.Attach.Link {
		p("")
		p("bpf_link_create_%s {", n)
		p("\tprog_fd\t\tfd_bpf_prog")
		p("\ttarget_fd\tconst[0, int32]")
		p("\tattach_type\tconst[%s, int32]", t.AttachTypeEnum)
		p("\tflags\t\tconst[0, int32]")
		if t.Attach.Cookie {
			p("\tcookie\t\tint64")
		}
		p("} [align_8]")
	}
	return b.String()
}

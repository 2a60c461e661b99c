package main

import (
	"os"
	"path/filepath"
	"testing"

	"oreore/harness/progtype"
	"oreore/vm/syzlang"
)

// What the descriptions take from syzkaller's sys/linux/bpf.txt.
var fromBPFTxt = map[string]bool{"fd_bpf_prog": true, "fd_bpf_link": true, "bpf_instructions": true, "bpf_licenses": true, "bpf_prog_load_flags": true}

// The constants they use besides the series' own enumerators.
var uapiConsts = map[string]bool{"BPF_PROG_LOAD": true, "BPF_PROG_TEST_RUN": true, "BPF_PROG_ATTACH": true, "BPF_PROG_DETACH": true,
	"BPF_PROG_QUERY": true, "BPF_LINK_CREATE": true, "BPF_OBJ_NAME_LEN": true, "AT_FDCWD": true, "O_RDWR": true}

// Every described type has a description in kernel-patches/syzkaller, up
// to date with its descriptor, which reads as syzlang and names only what
// it, syzkaller's bpf.txt or the uapi defines.
func TestDescriptionsAreCurrentAndRead(t *testing.T) {
	consts := map[string]bool{}
	for k := range uapiConsts {
		consts[k] = true
	}
	for _, typ := range progtype.All {
		consts[typ.ProgTypeEnum], consts[typ.AttachTypeEnum], consts[typ.LinkTypeEnum] = true, true, true
	}
	for _, typ := range progtype.All {
		path := filepath.Join("../../../kernel-patches/syzkaller", FileName(typ))
		have, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go run ./vm/cmd/syzdesc writes it)", err)
		}
		want := Describe(typ)
		if string(have) != want {
			t.Errorf("%s is not what the descriptor gives: go run ./vm/cmd/syzdesc", path)
		}
		f, err := syzlang.Parse(want)
		if err != nil {
			t.Fatalf("%s: %v", typ.Name, err)
		}
		for _, problem := range f.Check(fromBPFTxt, consts) {
			t.Errorf("%s: %s", typ.Name, problem)
		}
		if len(f.Syscalls) < 3 {
			t.Errorf("%s: %d syscalls described: %v", typ.Name, len(f.Syscalls), f.Syscalls)
		}
	}
}

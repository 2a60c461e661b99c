package syzlang

import (
	"strings"
	"testing"
)

const sample = `# a comment
include <uapi/linux/bpf.h>

resource fd_foo[fd]

bpf$FOO(cmd const[BPF_PROG_LOAD], arg ptr[in, foo_arg], size len[arg]) fd_bpf_prog
openat$foo(fd const[AT_FDCWD], file ptr[in, string["/sys/foo"]], flags const[O_RDWR], mode const[0]) fd_foo

foo_arg {
	prog	fd_bpf_prog
	n	int32[0:100]
	names	array[const[0, int8], BPF_OBJ_NAME_LEN]
	opt	ptr64[out, array[int8], opt]
} [align_8]

foo_input [
	number	string[foo_numbers]
	bytes	array[int8]
] [varlen]

foo_numbers = "0", "+0x10"
`

var external = map[string]bool{"fd_bpf_prog": true}
var consts = map[string]bool{"BPF_PROG_LOAD": true, "AT_FDCWD": true, "O_RDWR": true, "BPF_OBJ_NAME_LEN": true}

func TestParseAndCheck(t *testing.T) {
	f, err := Parse(sample)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.Syscalls, " "); got != "bpf$FOO openat$foo" {
		t.Errorf("syscalls %q", got)
	}
	if !f.Types["foo_arg"] || !f.Types["foo_input"] || f.Resources["fd_foo"] != "fd" || len(f.Flags["foo_numbers"]) != 2 {
		t.Errorf("definitions: %+v", f)
	}
	if problems := f.Check(external, consts); len(problems) != 0 {
		t.Errorf("problems in a good description: %v", problems)
	}
}

// Each kind of mistake is reported: a type nobody defines, an unknown
// constant, and text that is not syzlang.
func TestCheckFindsMistakes(t *testing.T) {
	for _, c := range []struct{ from, to, want string }{
		{"prog\tfd_bpf_prog", "prog\tfd_bpf_prg", "type fd_bpf_prg is not defined"},
		{"const[BPF_PROG_LOAD]", "const[BPF_PROG_LOAF]", "constant BPF_PROG_LOAF is unknown"},
		{"ptr[in, foo_arg]", "ptr[in, foo_arg", "line"},
		{"foo_arg {", "foo_arg {{", "line"},
	} {
		src := strings.Replace(sample, c.from, c.to, 1)
		f, err := Parse(src)
		var got string
		if err != nil {
			got = err.Error()
		} else {
			got = strings.Join(f.Check(external, consts), "; ")
		}
		if !strings.Contains(got, c.want) {
			t.Errorf("%q -> %q: got %q, want %q", c.from, c.to, got, c.want)
		}
	}
}

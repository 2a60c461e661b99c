package progtype

import "golang.org/x/sys/unix"

// knownEnumerators are the released enumerators that the series append
// after: a patch's context line names one, and the new enumerator's value
// is its plus one. x/sys/unix knows most from released kernels;
// BPF_TRACE_KPROBE_SESSION (Linux 6.10) it does not yet, so its value is
// taken from include/uapi/linux/bpf.h.
var knownEnumerators = map[string]uint32{
	"BPF_PROG_TYPE_SYSCALL":    unix.BPF_PROG_TYPE_SYSCALL,
	"BPF_PROG_TYPE_NETFILTER":  unix.BPF_PROG_TYPE_NETFILTER,
	"BPF_LSM_CGROUP":           unix.BPF_LSM_CGROUP,
	"BPF_TRACE_KPROBE_SESSION": 56,
}

// KnownEnumerator gives the value of a released enumerator that a series'
// context lines name.
func KnownEnumerator(name string) (uint32, bool) {
	v, ok := knownEnumerators[name]
	return v, ok
}

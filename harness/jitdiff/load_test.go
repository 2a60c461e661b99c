//go:build guest

package jitdiff

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/oreore"
)

// progLoadAttr is the head of union bpf_attr's BPF_PROG_LOAD member, up to
// expected_attach_type; the kernel reads the rest as zero.
type progLoadAttr struct {
	progType           uint32
	insnCnt            uint32
	insns              unsafe.Pointer
	license            unsafe.Pointer
	logLevel           uint32
	logSize            uint32
	logBuf             unsafe.Pointer
	kernVersion        uint32
	progFlags          uint32
	progName           [unix.BPF_OBJ_NAME_LEN]byte
	progIfindex        uint32
	expectedAttachType uint32
}

var license = []byte("GPL\x00")

// quickLoad loads an oreore program without a verifier log: bpf.ProgLoad
// always asks for one, and under TCG writing it took a third of a
// generated program's load. On failure it loads again through
// oreore.Load, whose error carries the log.
func quickLoad(name string, insns asm.Instructions) (bpf.FD, error) {
	u, err := oreore.Kernel()
	if err != nil {
		return -1, err
	}
	code, err := insns.Marshal()
	if err != nil {
		return -1, err
	}
	attr := progLoadAttr{
		progType:           u.ProgType,
		insnCnt:            uint32(len(code) / 8),
		insns:              unsafe.Pointer(&code[0]),
		license:            unsafe.Pointer(&license[0]),
		expectedAttachType: u.AttachType,
	}
	copy(attr.progName[:], name)
	for range 5 { // EAGAIN: a signal was pending (the Go runtime's preemption)
		fd, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
		runtime.KeepAlive(code)
		if errno == 0 {
			return bpf.FD(fd), nil
		}
		if errno != unix.EAGAIN {
			break
		}
	}
	return oreore.Load(name, insns)
}

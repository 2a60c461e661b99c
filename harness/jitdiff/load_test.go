//go:build guest

package jitdiff

import (
	"oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/oreore"
)

// quickLoad loads an oreore program without a verifier log (bpf.ProgLoad's
// NoLog): under TCG writing the log took a third of a generated program's
// load. On failure it loads again through oreore.Load, whose error carries
// the log.
func quickLoad(name string, insns asm.Instructions) (bpf.FD, error) {
	u, err := oreore.Kernel()
	if err != nil {
		return -1, err
	}
	fd, err := bpf.ProgLoad(bpf.ProgLoadAttr{
		Type: u.ProgType, Insns: insns, License: "GPL", Name: name, ExpectedAttachType: u.AttachType, NoLog: true,
	})
	if err == nil {
		return fd, nil
	}
	return oreore.Load(name, insns)
}

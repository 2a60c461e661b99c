package oreore

import (
	"fmt"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// UAPI holds the numbers one kernel series gives the oreore type. The
// series append to enums that grow between releases (6.12 already has
// BPF_PROG_TYPE_NETFILTER and a dozen more attach and link types), so the
// numbers differ from series to series.
type UAPI struct {
	Series     string // kernel-patches/v<Series>
	ProgType   uint32 // BPF_PROG_TYPE_OREORE
	AttachType uint32 // BPF_OREORE_ATTACH
	LinkType   uint32 // BPF_LINK_TYPE_OREORE
}

// Series lists every kernel-patches/v* series. TestUAPIMatchesPatch checks
// them against the patches; the guest suite checks the running kernel's
// against its BTF.
var Series = []UAPI{
	{Series: "6.1", ProgType: 32, AttachType: 44, LinkType: 10},
	{Series: "6.12", ProgType: 33, AttachType: 57, LinkType: 15},
}

// ForRelease returns the numbers of the series that a kernel release such
// as "6.12.117" or "6.1.0-oreore" belongs to.
func ForRelease(release string) (UAPI, error) {
	for _, u := range Series {
		if rest, ok := strings.CutPrefix(release, u.Series); ok && (rest == "" || rest[0] == '.' || rest[0] == '-' || rest[0] == '+') {
			return u, nil
		}
	}
	var known []string
	for _, u := range Series {
		known = append(known, u.Series)
	}
	return UAPI{}, fmt.Errorf("kernel %s: no oreore series for it (kernel-patches has %s)", release, strings.Join(known, ", "))
}

var running = sync.OnceValues(func() (UAPI, error) {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return UAPI{}, fmt.Errorf("uname: %w", err)
	}
	return ForRelease(unix.ByteSliceToString(uts.Release[:]))
})

// Kernel returns the numbers of the running kernel's series.
func Kernel() (UAPI, error) { return running() }

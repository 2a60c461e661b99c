package oreore

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"oreore/harness/progtype"
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

// Series lists every kernel-patches/v* series with the numbers its patches
// give the type (harness/progtype's numbers_gen.go, generated from them);
// the guest suite checks the running kernel's against its BTF.
var Series = func() []UAPI {
	var out []UAPI
	for _, s := range progtype.Series() {
		n, err := progtype.Oreore.Numbers(s)
		if err != nil {
			panic(err) // progtype's host tests keep this from happening
		}
		out = append(out, UAPI{Series: s, ProgType: n.ProgType, AttachType: n.AttachType, LinkType: n.LinkType})
	}
	return out
}()

// ForRelease returns the numbers of the series that a kernel release such
// as "6.12.117" or "6.1.0-oreore" belongs to.
func ForRelease(release string) (UAPI, error) {
	series, err := progtype.ForRelease(release)
	if err != nil {
		return UAPI{}, err
	}
	for _, u := range Series {
		if u.Series == series {
			return u, nil
		}
	}
	return UAPI{}, fmt.Errorf("kernel %s: series %s has no oreore numbers", release, series)
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

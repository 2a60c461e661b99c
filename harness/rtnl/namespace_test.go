package rtnl_test

import (
	"encoding/binary"
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"oreore/harness/netns"
	. "oreore/harness/rtnl"
)

// In a namespace of its own: a dump lists its loopback, requests that
// succeed are acknowledged and done (lo goes down and up, as the next
// dumps show), and one the kernel refuses comes back as its errno.
func TestRequestAndDumpInANamespace(t *testing.T) {
	if unix.Geteuid() != 0 {
		t.Fatal("rtnl's tests need root (a network namespace): run `make test` as root")
	}
	ns, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	err = ns.Do(func() error {
		lo := loopback(t)
		// netns.New sets lo up with an ioctl: take it down and up again
		// here, each through an acknowledged request (ifi_flags, and
		// ifi_change naming the flag).
		for _, want := range []uint32{0, unix.IFF_UP} {
			h := Ifinfomsg(lo.index)
			binary.NativeEndian.PutUint32(h[8:], want)
			binary.NativeEndian.PutUint32(h[12:], unix.IFF_UP)
			if err := Request(unix.RTM_NEWLINK, 0, h); err != nil {
				t.Errorf("setting lo's IFF_UP to %#x: %v", want, err)
			}
			if got := loopback(t).flags & unix.IFF_UP; got != want {
				t.Errorf("lo's IFF_UP is %#x after an acknowledged request for %#x", got, want)
			}
		}
		err := Request(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL, Ifinfomsg(0),
			String(unix.IFLA_IFNAME, "lo"),
			Attr{Type: unix.IFLA_LINKINFO, Children: []Attr{String(unix.IFLA_INFO_KIND, "veth")}})
		if !errors.Is(err, unix.EEXIST) {
			t.Errorf("creating a second lo: %v, want EEXIST", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

type link struct {
	index int32
	flags uint32
}

// loopback finds lo in an RTM_GETLINK dump.
func loopback(t *testing.T) link {
	t.Helper()
	msgs, err := Dump(unix.RTM_GETLINK, Ifinfomsg(0))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if len(m) < unix.SizeofIfInfomsg {
			t.Fatalf("a link message of %d bytes", len(m))
		}
		if string(Attrs(m[unix.SizeofIfInfomsg:])[unix.IFLA_IFNAME]) == "lo\x00" {
			return link{index: int32(binary.NativeEndian.Uint32(m[4:])), flags: binary.NativeEndian.Uint32(m[8:])}
		}
	}
	t.Fatalf("no lo among %d links", len(msgs))
	return link{}
}

// Package netns builds the network the XDP tests send packets across: two
// fresh network namespaces joined by a veth pair, configured with raw
// rtnetlink through golang.org/x/sys/unix. Nothing touches the namespace
// the process started in.
package netns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"

	"golang.org/x/sys/unix"

	"oreore/harness/rtnl"
)

// NS is a network namespace held open by a file descriptor.
type NS struct{ fd int }

// Close releases the namespace; it goes away with its last user.
func (ns NS) Close() error { return unix.Close(ns.fd) }

// Do runs f on an OS thread that has entered ns, and returns that thread
// to the caller's namespace afterwards. Sockets and netlink requests made
// in f belong to ns.
func (ns NS) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		sent := false
		defer func() {
			if !sent { // f ended its goroutine (runtime.Goexit, t.Fatal)
				errc <- errors.New("netns: the function given to Do did not return")
			}
		}()
		send := func(err error) { sent = true; errc <- err }
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			send(err)
			return
		}
		defer unix.Close(orig)
		if err := unix.Setns(ns.fd, unix.CLONE_NEWNET); err != nil {
			send(fmt.Errorf("setns: %w", err))
			return
		}
		ferr := f()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			// The thread is in the wrong namespace: let it die with the goroutine.
			send(errors.Join(ferr, fmt.Errorf("setns back: %w", err)))
			return
		}
		runtime.UnlockOSThread()
		send(ferr)
	}()
	return <-errc
}

// New creates a network namespace with its loopback up.
func New() (NS, error) {
	fdc := make(chan int, 1)
	errc := make(chan error, 1)
	go func() {
		// This thread is never unlocked: it ends with the goroutine, so the
		// namespace it moved into cannot leak into other goroutines.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
			return
		}
		fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		if err := setUp("lo"); err != nil {
			unix.Close(fd)
			errc <- err
			return
		}
		fdc <- fd
	}()
	select {
	case fd := <-fdc:
		return NS{fd: fd}, nil
	case err := <-errc:
		return NS{}, err
	}
}

// Pair is two namespaces joined by a veth pair: A's end is VethA with
// 10.199.0.1/24 and fd00:199::1/64, B's is VethB with .2 and ::2.
type Pair struct {
	A, B         NS
	IfindexA     int // in A
	IfindexB     int // in B
	AddrA, AddrB net.IP
	Addr6A       net.IP
	Addr6B       net.IP
}

const (
	VethA = "oreore-a"
	VethB = "oreore-b"
)

// NewPair builds the two namespaces and the veth pair between them.
func NewPair() (*Pair, error) {
	a, err := New()
	if err != nil {
		return nil, err
	}
	b, err := New()
	if err != nil {
		a.Close()
		return nil, err
	}
	p := &Pair{A: a, B: b,
		AddrA: net.IPv4(10, 199, 0, 1).To4(), AddrB: net.IPv4(10, 199, 0, 2).To4(),
		Addr6A: net.ParseIP("fd00:199::1"), Addr6B: net.ParseIP("fd00:199::2"),
	}
	err = a.Do(func() error {
		if err := addVeth(VethA, VethB, b.fd); err != nil {
			return err
		}
		ifi, err := net.InterfaceByName(VethA)
		if err != nil {
			return err
		}
		p.IfindexA = ifi.Index
		return configure(ifi.Index, VethA, p.AddrA, p.Addr6A)
	})
	if err == nil {
		err = b.Do(func() error {
			ifi, err := net.InterfaceByName(VethB)
			if err != nil {
				return err
			}
			p.IfindexB = ifi.Index
			return configure(ifi.Index, VethB, p.AddrB, p.Addr6B)
		})
	}
	if err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Close releases both namespaces, and with them the veth pair.
func (p *Pair) Close() error {
	return errors.Join(p.A.Close(), p.B.Close())
}

func configure(ifindex int, name string, v4, v6 net.IP) error {
	if err := addAddr(ifindex, unix.AF_INET, v4, 24); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := addAddr(ifindex, unix.AF_INET6, v6, 64); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return setUp(name)
}

// setUp sets IFF_UP on a link with SIOCSIFFLAGS.
func setUp(name string) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("%s: SIOCGIFFLAGS: %w", name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("%s: SIOCSIFFLAGS: %w", name, err)
	}
	return nil
}

// addVeth creates name with its peer directly in the namespace peerNS.
func addVeth(name, peer string, peerNS int) error {
	const vethInfoPeer = 1 // VETH_INFO_PEER
	peerInfo := rtnl.Attr{Type: vethInfoPeer, Data: rtnl.Ifinfomsg(0), Children: []rtnl.Attr{
		rtnl.String(unix.IFLA_IFNAME, peer),
		rtnl.U32(unix.IFLA_NET_NS_FD, uint32(peerNS)),
	}}
	err := rtnl.Request(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL, rtnl.Ifinfomsg(0),
		rtnl.String(unix.IFLA_IFNAME, name),
		rtnl.Attr{Type: unix.IFLA_LINKINFO, Children: []rtnl.Attr{
			rtnl.String(unix.IFLA_INFO_KIND, "veth"),
			{Type: unix.IFLA_INFO_DATA, Children: []rtnl.Attr{peerInfo}},
		}},
	)
	if err != nil {
		return fmt.Errorf("RTM_NEWLINK veth %s/%s: %w", name, peer, err)
	}
	return nil
}

// addAddr adds an address; IPv6 skips duplicate address detection, which
// would hold the address back for a second or more.
func addAddr(ifindex int, family int, ip net.IP, prefix int) error {
	raw := ip.To4()
	if family == unix.AF_INET6 {
		raw = ip.To16()
	}
	hdr := make([]byte, unix.SizeofIfAddrmsg)
	hdr[0] = byte(family)
	hdr[1] = byte(prefix)
	if family == unix.AF_INET6 {
		hdr[2] = unix.IFA_F_NODAD
	}
	binary.NativeEndian.PutUint32(hdr[4:], uint32(ifindex))
	err := rtnl.Request(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, hdr,
		rtnl.Attr{Type: unix.IFA_LOCAL, Data: raw}, rtnl.Attr{Type: unix.IFA_ADDRESS, Data: raw})
	if err != nil {
		return fmt.Errorf("RTM_NEWADDR %v/%d: %w", ip, prefix, err)
	}
	return nil
}

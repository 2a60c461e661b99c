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
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(orig)
		if err := unix.Setns(ns.fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		ferr := f()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			// The thread is in the wrong namespace: let it die with the goroutine.
			errc <- errors.Join(ferr, fmt.Errorf("setns back: %w", err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
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

// --- rtnetlink -------------------------------------------------------------

// attr is a netlink attribute; nested attributes go in children.
type attr struct {
	typ      uint16
	data     []byte
	children []attr
}

func (a attr) encode() []byte {
	body := a.data
	for _, c := range a.children {
		body = append(body, c.encode()...)
	}
	b := make([]byte, 4, 4+len(body)+3)
	binary.LittleEndian.PutUint16(b, uint16(4+len(body)))
	binary.LittleEndian.PutUint16(b[2:], a.typ)
	b = append(b, body...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func strAttr(typ uint16, s string) attr { return attr{typ: typ, data: append([]byte(s), 0)} }

func u32Attr(typ uint16, v uint32) attr {
	return attr{typ: typ, data: binary.LittleEndian.AppendUint32(nil, v)}
}

// request sends one rtnetlink request and waits for its acknowledgement.
func request(typ uint16, flags uint16, header []byte, attrs ...attr) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	body := append([]byte(nil), header...)
	for _, a := range attrs {
		body = append(body, a.encode()...)
	}
	msg := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(body))
	binary.LittleEndian.PutUint32(msg, uint32(unix.NLMSG_HDRLEN+len(body)))
	binary.LittleEndian.PutUint16(msg[4:], typ)
	binary.LittleEndian.PutUint16(msg[6:], flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	binary.LittleEndian.PutUint32(msg[8:], 1)
	msg = append(msg, body...)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 8192)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return err
	}
	// The answer is one nlmsgerr: a header, then the error (0 for an ack).
	if n < unix.NLMSG_HDRLEN+4 || binary.LittleEndian.Uint16(buf[4:]) != unix.NLMSG_ERROR {
		return errors.New("netlink: the answer is not an acknowledgement")
	}
	if errno := -int32(binary.LittleEndian.Uint32(buf[unix.NLMSG_HDRLEN:])); errno != 0 {
		return unix.Errno(errno)
	}
	return nil
}

func ifinfomsg(index int32) []byte {
	b := make([]byte, unix.SizeofIfInfomsg)
	b[0] = unix.AF_UNSPEC
	binary.LittleEndian.PutUint32(b[4:], uint32(index))
	return b
}

// addVeth creates name with its peer directly in the namespace peerNS.
func addVeth(name, peer string, peerNS int) error {
	const vethInfoPeer = 1 // VETH_INFO_PEER
	peerInfo := attr{typ: vethInfoPeer, data: ifinfomsg(0), children: []attr{
		strAttr(unix.IFLA_IFNAME, peer),
		u32Attr(unix.IFLA_NET_NS_FD, uint32(peerNS)),
	}}
	err := request(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL, ifinfomsg(0),
		strAttr(unix.IFLA_IFNAME, name),
		attr{typ: unix.IFLA_LINKINFO, children: []attr{
			strAttr(unix.IFLA_INFO_KIND, "veth"),
			{typ: unix.IFLA_INFO_DATA, children: []attr{peerInfo}},
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
	binary.LittleEndian.PutUint32(hdr[4:], uint32(ifindex))
	err := request(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, hdr,
		attr{typ: unix.IFA_LOCAL, data: raw}, attr{typ: unix.IFA_ADDRESS, data: raw})
	if err != nil {
		return fmt.Errorf("RTM_NEWADDR %v/%d: %w", ip, prefix, err)
	}
	return nil
}

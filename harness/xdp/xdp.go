// Package xdp attaches XDP programs to interfaces with BPF links and sends
// UDP through them, so a test can see what a program drops and passes.
package xdp

import (
	"errors"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"oreore/harness/bpf"
	"oreore/harness/netns"
)

// Actions an XDP program returns.
const (
	Aborted = 0
	Drop    = 1
	Pass    = 2
)

// Attach attaches prog to the interface with ifindex in ns and returns the
// link; closing it detaches.
func Attach(ns netns.NS, prog bpf.FD, ifindex int) (bpf.FD, error) {
	var link bpf.FD
	err := ns.Do(func() (err error) {
		link, err = bpf.LinkCreate(bpf.LinkCreateAttr{Prog: prog, Target: uint32(ifindex), AttachType: unix.BPF_XDP})
		return err
	})
	return link, err
}

// Receiver counts the datagrams that reach B on one port.
type Receiver struct {
	conn *net.UDPConn
}

// Listen opens a receiver in p.B on the address family of network.
func Listen(p *netns.Pair, network string, port int) (*Receiver, error) {
	ip := p.AddrB
	if network == "udp6" {
		ip = p.Addr6B
	}
	var conn *net.UDPConn
	err := p.B.Do(func() (err error) {
		conn, err = net.ListenUDP(network, &net.UDPAddr{IP: ip, Port: port})
		return err
	})
	return &Receiver{conn: conn}, err
}

// Close closes the socket.
func (r *Receiver) Close() error { return r.conn.Close() }

// Count reads until max datagrams came or nothing arrived for quiet, and
// returns how many came. Stopping at max saves the quiet wait when all that
// was sent arrived; only a shortfall (drops) costs the wait.
func (r *Receiver) Count(max int, quiet time.Duration) (int, error) {
	buf := make([]byte, 2048)
	n := 0
	for n < max {
		r.conn.SetReadDeadline(time.Now().Add(quiet))
		if _, _, err := r.conn.ReadFromUDP(buf); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return n, nil
			}
			return n, err
		}
		n++
	}
	return n, nil
}

// Next reads one datagram and returns its payload, or an error wrapping
// os.ErrDeadlineExceeded when none came within quiet.
func (r *Receiver) Next(quiet time.Duration) ([]byte, error) {
	buf := make([]byte, 2048)
	r.conn.SetReadDeadline(time.Now().Add(quiet))
	n, _, err := r.conn.ReadFromUDP(buf)
	return buf[:max(n, 0)], err
}

// Send sends count datagrams from A to B's port.
func Send(p *netns.Pair, network string, port, count int) error {
	payloads := make([][]byte, count)
	for i := range payloads {
		payloads[i] = []byte("oreore xdp test")
	}
	return SendPayloads(p, network, port, payloads...)
}

// SendPayloads sends one datagram per payload from A to B's port.
func SendPayloads(p *netns.Pair, network string, port int, payloads ...[]byte) error {
	ip := p.AddrB
	if network == "udp6" {
		ip = p.Addr6B
	}
	return p.A.Do(func() error {
		c, err := net.DialUDP(network, nil, &net.UDPAddr{IP: ip, Port: port})
		if err != nil {
			return err
		}
		defer c.Close()
		for _, b := range payloads {
			if _, err := c.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
}

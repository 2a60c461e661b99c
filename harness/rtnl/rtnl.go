// Package rtnl speaks just enough rtnetlink, on golang.org/x/sys/unix, for
// the harness: requests that want an acknowledgement, link dumps, and
// attributes nested as deep as veth and XDP need.
package rtnl

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Attr is a netlink attribute; nested attributes go in Children.
type Attr struct {
	Type     uint16
	Data     []byte
	Children []Attr
}

func (a Attr) encode() []byte {
	body := a.Data
	for _, c := range a.Children {
		body = append(body, c.encode()...)
	}
	b := make([]byte, 4, 4+len(body)+3)
	binary.NativeEndian.PutUint16(b, uint16(4+len(body)))
	binary.NativeEndian.PutUint16(b[2:], a.Type)
	b = append(b, body...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// String is a NUL-terminated string attribute.
func String(typ uint16, s string) Attr { return Attr{Type: typ, Data: append([]byte(s), 0)} }

// U32 is a u32 attribute.
func U32(typ uint16, v uint32) Attr {
	return Attr{Type: typ, Data: binary.NativeEndian.AppendUint32(nil, v)}
}

// Ifinfomsg is the header of link messages.
func Ifinfomsg(index int32) []byte {
	b := make([]byte, unix.SizeofIfInfomsg)
	b[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(b[4:], uint32(index))
	return b
}

func message(typ, flags uint16, header []byte, attrs []Attr) []byte {
	body := append([]byte(nil), header...)
	for _, a := range attrs {
		body = append(body, a.encode()...)
	}
	msg := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(body))
	binary.NativeEndian.PutUint32(msg, uint32(unix.NLMSG_HDRLEN+len(body)))
	binary.NativeEndian.PutUint16(msg[4:], typ)
	binary.NativeEndian.PutUint16(msg[6:], flags|unix.NLM_F_REQUEST)
	binary.NativeEndian.PutUint32(msg[8:], 1)
	return append(msg, body...)
}

func open() (int, error) {
	return unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
}

// Request sends one request and waits for its acknowledgement; a negative
// acknowledgement is returned as its errno.
func Request(typ, flags uint16, header []byte, attrs ...Attr) error {
	fd, err := open()
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Sendto(fd, message(typ, flags|unix.NLM_F_ACK, header, attrs), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 8192)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return err
	}
	// The answer is one nlmsgerr: a header, then the error (0 for an ack).
	if n < unix.NLMSG_HDRLEN+4 || binary.NativeEndian.Uint16(buf[4:]) != unix.NLMSG_ERROR {
		return errors.New("netlink: the answer is not an acknowledgement")
	}
	if errno := -int32(binary.NativeEndian.Uint32(buf[unix.NLMSG_HDRLEN:])); errno != 0 {
		return unix.Errno(errno)
	}
	return nil
}

// Dump sends a dump request and returns each answer's payload (after the
// netlink header) until NLMSG_DONE.
func Dump(typ uint16, header []byte) ([][]byte, error) {
	fd, err := open()
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	if err := unix.Sendto(fd, message(typ, unix.NLM_F_DUMP, header, nil), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, err
	}
	var out [][]byte
	buf := make([]byte, 1<<16)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, err
		}
		for b := buf[:n]; len(b) >= unix.NLMSG_HDRLEN; {
			l := int(binary.NativeEndian.Uint32(b))
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				return nil, fmt.Errorf("netlink: bad message length %d", l)
			}
			switch binary.NativeEndian.Uint16(b[4:]) {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				if errno := -int32(binary.NativeEndian.Uint32(b[unix.NLMSG_HDRLEN:])); errno != 0 {
					return nil, unix.Errno(errno)
				}
			default:
				out = append(out, append([]byte(nil), b[unix.NLMSG_HDRLEN:l]...))
			}
			b = b[min((l+3)&^3, len(b)):]
		}
	}
}

// Attrs splits a run of attributes by type; nested ones stay raw.
func Attrs(b []byte) map[uint16][]byte {
	out := map[uint16][]byte{}
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b))
		if l < 4 || l > len(b) {
			break
		}
		out[binary.NativeEndian.Uint16(b[2:])&^unix.NLA_F_NESTED] = b[4:l]
		b = b[min((l+3)&^3, len(b)):]
	}
	return out
}

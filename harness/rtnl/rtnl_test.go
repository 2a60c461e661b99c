package rtnl

import (
	"bytes"
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// A nested attribute is laid out as rtnetlink wants it: a 4-byte header
// (length without padding, type), the payload, padding to 4 bytes, and
// the parent's length covering its padded children.
func TestAttrEncoding(t *testing.T) {
	a := Attr{Type: unix.IFLA_LINKINFO, Children: []Attr{String(unix.IFLA_INFO_KIND, "veth")}}
	want := []byte{
		16, 0, byte(unix.IFLA_LINKINFO), 0, // 4 + the child's 12
		9, 0, byte(unix.IFLA_INFO_KIND), 0, // 4 + "veth\0"
		'v', 'e', 't', 'h', 0, 0, 0, 0, // padded to 4
	}
	if got := a.encode(); !bytes.Equal(got, want) {
		t.Errorf("encoding\n got %v\nwant %v", got, want)
	}
	if got := U32(7, 0x01020304).encode(); !bytes.Equal(got, []byte{8, 0, 7, 0, 4, 3, 2, 1}) {
		t.Errorf("U32: %v", got)
	}
}

// Attrs reads back what encode wrote, strips NLA_F_NESTED from the type,
// and stops at a length that runs past the end instead of reading on.
func TestAttrsReadsBack(t *testing.T) {
	var b []byte
	b = append(b, String(unix.IFLA_IFNAME, "lo").encode()...)
	b = append(b, U32(unix.IFLA_MTU, 1500).encode()...)
	b = append(b, Attr{Type: unix.IFLA_XDP | unix.NLA_F_NESTED, Children: []Attr{U32(1, 9)}}.encode()...)
	got := Attrs(b)
	if string(got[unix.IFLA_IFNAME]) != "lo\x00" {
		t.Errorf("IFLA_IFNAME %q", got[unix.IFLA_IFNAME])
	}
	if v := got[unix.IFLA_MTU]; len(v) != 4 || binary.NativeEndian.Uint32(v) != 1500 {
		t.Errorf("IFLA_MTU %v", v)
	}
	if inner := Attrs(got[unix.IFLA_XDP]); len(inner[1]) != 4 || binary.NativeEndian.Uint32(inner[1]) != 9 {
		t.Errorf("nested IFLA_XDP %v", got[unix.IFLA_XDP])
	}
	bad := append(String(unix.IFLA_IFNAME, "lo").encode(), 200, 0, 3, 0, 1)
	if got := Attrs(bad); len(got) != 1 {
		t.Errorf("an attribute longer than the buffer was read: %v", got)
	}
}

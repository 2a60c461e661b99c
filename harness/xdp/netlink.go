package xdp

import (
	"encoding/binary"
	"fmt"
	"net"

	"golang.org/x/sys/unix"

	"oreore/harness/bpf"
	"oreore/harness/rtnl"
)

// Attachment is what an interface runs at XDP, as rtnetlink reports it
// (links and netlink attachments alike).
type Attachment struct {
	Ifindex int    `json:"ifindex"`
	Name    string `json:"devname"`
	ProgID  uint32 `json:"id"`
	Mode    string `json:"mode"`
}

var xdpModes = []string{"none", "driver", "generic", "offload", "multi"}

// List reports the XDP programs of every interface in the caller's
// network namespace.
func List() ([]Attachment, error) {
	msgs, err := rtnl.Dump(unix.RTM_GETLINK, rtnl.Ifinfomsg(0))
	if err != nil {
		return nil, fmt.Errorf("RTM_GETLINK: %w", err)
	}
	var out []Attachment
	for _, m := range msgs {
		if len(m) < unix.SizeofIfInfomsg {
			continue
		}
		attrs := rtnl.Attrs(m[unix.SizeofIfInfomsg:])
		xdp := rtnl.Attrs(attrs[unix.IFLA_XDP])
		id := xdp[unix.IFLA_XDP_PROG_ID]
		if len(id) < 4 {
			continue
		}
		a := Attachment{
			Ifindex: int(int32(binary.NativeEndian.Uint32(m[4:]))),
			Name:    unix.ByteSliceToString(attrs[unix.IFLA_IFNAME]),
			ProgID:  binary.NativeEndian.Uint32(id),
			Mode:    "unknown",
		}
		if mode := xdp[unix.IFLA_XDP_ATTACHED]; len(mode) == 1 && int(mode[0]) < len(xdpModes) {
			a.Mode = xdpModes[mode[0]]
		}
		out = append(out, a)
	}
	return out, nil
}

func setXDP(iface string, fd int32) error {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return err
	}
	err = rtnl.Request(unix.RTM_SETLINK, 0, rtnl.Ifinfomsg(int32(ifi.Index)),
		rtnl.Attr{Type: unix.IFLA_XDP | unix.NLA_F_NESTED, Children: []rtnl.Attr{
			rtnl.U32(unix.IFLA_XDP_FD, uint32(fd)),
		}})
	if err != nil {
		return fmt.Errorf("RTM_SETLINK %s IFLA_XDP: %w", iface, err)
	}
	return nil
}

// AttachNetlink attaches prog to iface without a link: it stays until
// DetachNetlink, whatever happens to the caller's descriptors.
func AttachNetlink(iface string, prog bpf.FD) error { return setXDP(iface, int32(prog)) }

// DetachNetlink removes iface's netlink-attached XDP program.
func DetachNetlink(iface string) error { return setXDP(iface, -1) }

package netns

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A UDP datagram crosses the pair both over IPv4 and IPv6.
func TestPairCarriesUDP(t *testing.T) {
	if unix.Geteuid() != 0 {
		t.Fatal("network namespaces need root: run `make test` as root")
	}
	p, err := NewPair()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, tt := range []struct {
		network  string
		src, dst net.IP
	}{{"udp4", p.AddrA, p.AddrB}, {"udp6", p.Addr6A, p.Addr6B}} {
		var conn *net.UDPConn
		if err := p.B.Do(func() (err error) {
			conn, err = net.ListenUDP(tt.network, &net.UDPAddr{IP: tt.dst, Port: 4242})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := p.A.Do(func() error {
			c, err := net.DialUDP(tt.network, nil, &net.UDPAddr{IP: tt.dst, Port: 4242})
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.Write([]byte("oreore"))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		buf := make([]byte, 64)
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil || string(buf[:n]) != "oreore" || !from.IP.Equal(tt.src) {
			t.Errorf("%s: got %q from %v, %v; want \"oreore\" from %v\nthe receiver's counters that are not 0:\n%s", tt.network, buf[:n], from, err, tt.src, counters(p.B))
		}
	}
}

// counters are the non-zero lines of a namespace's /proc/net/snmp6 and
// snmp: where a packet that did not arrive was dropped.
func counters(ns NS) string {
	var out []string
	ns.Do(func() error {
		for _, f := range []string{"/proc/net/snmp6", "/proc/net/netstat"} {
			b, err := os.ReadFile(f)
			if err != nil {
				out = append(out, err.Error())
				continue
			}
			for _, l := range strings.Split(string(b), "\n") {
				if fs := strings.Fields(l); len(fs) == 2 && fs[1] != "0" {
					out = append(out, l)
				}
			}
		}
		return nil
	})
	return strings.Join(out, "\n")
}

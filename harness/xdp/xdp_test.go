package xdp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"oreore/harness/bpf"
	"oreore/harness/guest"
	"oreore/harness/netns"
	"oreore/harness/object"
)

const quiet = 300 * time.Millisecond

func setup(t *testing.T, objFile string) (*netns.Pair, *object.Collection) {
	t.Helper()
	if unix.Geteuid() != 0 {
		t.Fatal("XDP tests need root: run `make test` as root")
	}
	dir := os.Getenv("OREORE_PROGRAMS")
	if dir == "" {
		t.Fatal("OREORE_PROGRAMS is not set: run `make test`, which compiles programs/c first")
	}
	c, err := object.LoadFile(filepath.Join(dir, objFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p, err := netns.NewPair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, c
}

// deliver sends n datagrams and returns how many B received.
func deliver(t *testing.T, p *netns.Pair, network string, n int) int {
	t.Helper()
	r, err := Listen(p, network, 4242)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := Send(p, network, 4242, n); err != nil {
		t.Fatal(err)
	}
	got, err := r.Count(n, quiet)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// warm resolves neighbours while nothing is attached, so that what the
// programs drop later is the test's traffic and not ARP or ND, and then
// checks that the path delivers every datagram.
func warm(t *testing.T, p *netns.Pair) {
	t.Helper()
	for _, network := range []string{"udp4", "udp6"} {
		deadline := time.Now().Add(5 * time.Second)
		for deliver(t, p, network, 1) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: nothing crosses the veth pair even without a program", network)
			}
		}
		if got := deliver(t, p, network, 10); got != 10 {
			t.Fatalf("%s before any program: %d of 10 arrived", network, got)
		}
	}
}

func attach(t *testing.T, p *netns.Pair, prog bpf.FD) bpf.FD {
	t.Helper()
	link, err := Attach(p.B, prog, p.IfindexB)
	if err != nil {
		t.Fatal(err)
	}
	return link
}

func TestXDPDropOnVeth(t *testing.T) {
	t.Parallel() // each test has namespaces of its own
	p, c := setup(t, "xdp_drop.bpf.o")
	warm(t, p)
	link := attach(t, p, c.Programs["xdp_drop"])
	if got := deliver(t, p, "udp4", 10); got != 0 {
		t.Errorf("with xdp_drop attached: %d of 10 arrived", got)
	}
	link.Close()
	if got := deliver(t, p, "udp4", 10); got != 10 {
		t.Errorf("after closing the link: %d of 10 arrived", got)
	}
}

// The drop flag flips while the program stays attached.
func TestXDPMapDropFlagFlips(t *testing.T) {
	t.Parallel() // each test has namespaces of its own
	for _, obj := range []string{"xdp_map_drop.bpf.o", "xdp_map_drop_legacy.bpf.o"} {
		t.Run(obj, func(t *testing.T) {
			t.Parallel()
			p, c := setup(t, obj)
			warm(t, p)
			link := attach(t, p, c.Programs["xdp_map_drop"])
			defer link.Close()
			for _, tt := range []struct {
				flag uint32
				want int
			}{{0, 10}, {1, 0}, {0, 10}, {1, 0}} {
				v := binary.NativeEndian.AppendUint32(nil, tt.flag)
				if err := bpf.MapUpdateElem(c.Maps["drop_flag"], make([]byte, 4), v, 0); err != nil {
					t.Fatal(err)
				}
				if got := deliver(t, p, "udp4", 10); got != tt.want {
					t.Errorf("drop_flag %d: %d of 10 arrived, want %d", tt.flag, got, tt.want)
				}
			}
		})
	}
}

func TestXDPCountCountsUDP(t *testing.T) {
	t.Parallel() // each test has namespaces of its own
	p, c := setup(t, "xdp_count.bpf.o")
	warm(t, p)
	link := attach(t, p, c.Programs["xdp_count"])
	defer link.Close()
	if got := deliver(t, p, "udp4", 7); got != 7 {
		t.Errorf("xdp_count passes everything: %d of 7 arrived", got)
	}
	v := make([]byte, 8)
	if err := bpf.MapLookupElem(c.Maps["proto_count"], binary.NativeEndian.AppendUint32(nil, unix.IPPROTO_UDP), v); err != nil {
		t.Fatal(err)
	}
	if got := binary.NativeEndian.Uint64(v); got != 7 {
		t.Errorf("proto_count[UDP] = %d, want 7", got)
	}
}

// CO-RE against the running kernel: IPv6 dropped, IPv4 passed, also for
// the program compiled against a wrong ethhdr.
func TestXDPIPv6DropCORE(t *testing.T) {
	t.Parallel() // each test has namespaces of its own
	for _, obj := range []string{"xdp_ipv6_drop_core.bpf.o", "xdp_ipv6_drop_core_wrong.bpf.o"} {
		t.Run(obj, func(t *testing.T) {
			t.Parallel()
			p, c := setup(t, obj)
			warm(t, p)
			link := attach(t, p, c.Programs["xdp_ipv6_drop"])
			defer link.Close()
			if got := deliver(t, p, "udp4", 10); got != 10 {
				t.Errorf("IPv4: %d of 10 arrived, want all", got)
			}
			if got := deliver(t, p, "udp6", 10); got != 0 {
				t.Errorf("IPv6: %d of 10 arrived, want none", got)
			}
		})
	}
}

// tracePipe opens the trace_pipe of a trace instance of the test's own,
// without blocking, mounting tracefs in a private folder when the system
// has not mounted it. bpf_printk's event is enabled in the instance, which
// gets every line from then on: a read of the top-level trace_pipe consumes
// what it reads, so a reader there (another test, the oreore command's
// tracelog, a host package in parallel) could take this test's line.
func tracePipe(t *testing.T) *os.File {
	t.Helper()
	dir := "/sys/kernel/tracing"
	if _, err := os.Stat(filepath.Join(dir, "instances")); err != nil {
		dir = t.TempDir()
		if err := unix.Mount("tracefs", dir, "tracefs", 0, ""); err != nil {
			t.Fatalf("mount tracefs: %v", err)
		}
		t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	}
	inst := filepath.Join(dir, "instances", fmt.Sprintf("oreore-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), os.Getpid()))
	if err := os.Mkdir(inst, 0o755); err != nil {
		t.Fatalf("trace instance: %v", err)
	}
	t.Cleanup(func() {
		if err := os.Remove(inst); err != nil {
			t.Errorf("removing the trace instance: %v", err)
		}
	})
	enable := filepath.Join(inst, "events", "bpf_trace", "bpf_trace_printk", "enable")
	if err := os.WriteFile(enable, []byte("1\n"), 0); err != nil {
		t.Fatalf("enabling bpf_printk's event in the instance: %v", err)
	}
	f, err := os.OpenFile(filepath.Join(inst, "trace_pipe"), os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Registered last, so it runs first: the instance is removed only
	// once nothing holds it open.
	t.Cleanup(func() { f.Close() })
	return f
}

// bpf_printk's message comes back through trace_pipe (of the test's own
// trace instance).
func TestXDPCountPrintk(t *testing.T) {
	t.Parallel() // each test has namespaces of its own
	p, c := setup(t, "xdp_count.bpf.o")
	pipe := tracePipe(t)
	warm(t, p)
	link := attach(t, p, c.Programs["xdp_count"])
	defer link.Close()
	deliver(t, p, "udp4", 1)
	const want = "xdp_count: proto 17"
	var seen []byte
	buf := make([]byte, 4096)
	// trace_pipe polls: the runtime's poller waits for a read, and only a
	// deadline ends a wait for a line that never comes.
	deadline := time.Now().Add(5 * time.Second)
	if err := pipe.SetReadDeadline(deadline); err != nil {
		t.Fatal(err)
	}
	for time.Now().Before(deadline) {
		n, _ := pipe.Read(buf)
		seen = append(seen, buf[:max(n, 0)]...)
		if strings.Contains(string(seen), want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("trace_pipe never said %q; it said:\n%s", want, seen)
}

// The flag flips between bursts of traffic: each datagram says which
// burst it belongs to (flag 0, 1, 0 again), and those sent while the flag
// was 1 never arrive, while all the others do. A map update is done when
// the syscall returns, so bursts are told apart by what was sent, not by
// the clock; between bursts the receiver goes quiet, so that no datagram
// of one burst is still queued on the veth when the flag changes.
func TestXDPMapDropFlipsBetweenBursts(t *testing.T) {
	t.Parallel() // each test has namespaces of its own
	p, c := setup(t, "xdp_map_drop.bpf.o")
	warm(t, p)
	link := attach(t, p, c.Programs["xdp_map_drop"])
	defer link.Close()
	r, err := Listen(p, "udp4", 4343)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	const perBurst = 20
	flags := []uint32{0, 1, 0}
	var counts [3]int
	for burst, flag := range flags {
		if err := bpf.MapUpdateElem(c.Maps["drop_flag"], make([]byte, 4), binary.NativeEndian.AppendUint32(nil, flag), 0); err != nil {
			t.Fatal(err)
		}
		var payloads [][]byte
		for i := range perBurst {
			payloads = append(payloads, fmt.Appendf(nil, "burst %d datagram %d", burst, i))
		}
		if err := SendPayloads(p, "udp4", 4343, payloads...); err != nil {
			t.Fatal(err)
		}
		for {
			b, err := r.Next(guest.Patience(quiet))
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			var from, n int
			if _, err := fmt.Sscanf(string(b), "burst %d datagram %d", &from, &n); err != nil || from < 0 || from > burst {
				t.Fatalf("burst %d: a datagram %q that was not sent", burst, b)
			}
			counts[from]++
		}
	}
	t.Logf("datagrams that arrived per burst (flag 0, 1, 0): %v of %d each", counts, perBurst)
	if counts != [3]int{perBurst, 0, perBurst} {
		t.Errorf("datagrams per burst (flag 0, 1, 0): %v; want %d, 0, %d", counts, perBurst, perBurst)
	}
}

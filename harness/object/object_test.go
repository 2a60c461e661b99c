package object

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/btf"
)

const (
	xdpDrop = 1
	xdpPass = 2
)

// programsDir holds the objects `make programs` compiled.
func programsDir(t *testing.T) string {
	dir := os.Getenv("OREORE_PROGRAMS")
	if dir == "" {
		t.Fatal("OREORE_PROGRAMS is not set: run `make test`, which compiles programs/c first")
	}
	return dir
}

func open(t *testing.T, name string) *Object {
	t.Helper()
	o, err := Open(filepath.Join(programsDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func requireRoot(t *testing.T) {
	t.Helper()
	if unix.Geteuid() != 0 {
		t.Fatal("loading programs needs root: run `make test` as root")
	}
}

// udpFrame is an Ethernet + IPv4 + UDP frame; ipv6 makes it IPv6.
func udpFrame(ipv6 bool) []byte {
	frame := make([]byte, 14+40+8+16)
	copy(frame[0:6], []byte{2, 0, 0, 0, 0, 2})
	copy(frame[6:12], []byte{2, 0, 0, 0, 0, 1})
	if ipv6 {
		binary.BigEndian.PutUint16(frame[12:], unix.ETH_P_IPV6)
		frame[14] = 0x60
		binary.BigEndian.PutUint16(frame[18:], 24)
		frame[20] = unix.IPPROTO_UDP
		frame[21] = 64
	} else {
		binary.BigEndian.PutUint16(frame[12:], unix.ETH_P_IP)
		frame[14] = 0x45
		binary.BigEndian.PutUint16(frame[16:], 20+8+16)
		frame[22] = 64
		frame[23] = unix.IPPROTO_UDP
	}
	return frame
}

func xdpRun(t *testing.T, prog bpf.FD, frame []byte) uint32 {
	t.Helper()
	res, err := bpf.ProgTestRun(prog, bpf.TestRun{DataIn: frame, DataOut: make([]byte, len(frame)+256)})
	if err != nil {
		t.Fatal(err)
	}
	return res.Retval
}

func TestXDPDrop(t *testing.T) {
	requireRoot(t)
	c, err := open(t, "xdp_drop.bpf.o").Load()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := xdpRun(t, c.Programs["xdp_drop"], udpFrame(false)); got != xdpDrop {
		t.Errorf("xdp_drop returned %d, want XDP_DROP", got)
	}
}

// The same program with its map defined both ways.
func TestXDPMapDropFollowsTheFlag(t *testing.T) {
	requireRoot(t)
	for _, obj := range []string{"xdp_map_drop.bpf.o", "xdp_map_drop_legacy.bpf.o"} {
		t.Run(obj, func(t *testing.T) {
			o := open(t, obj)
			if len(o.Maps) != 1 || o.Maps[0].Name != "drop_flag" || o.Maps[0].KeySize != 4 || o.Maps[0].ValueSize != 4 || o.Maps[0].MaxEntries != 1 {
				t.Fatalf("maps: %+v, want drop_flag, a 4/4-byte array of 1", o.Maps)
			}
			c, err := o.Load()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			prog, flag := c.Programs["xdp_map_drop"], c.Maps["drop_flag"]
			for _, tt := range []struct{ flag, want uint32 }{{0, xdpPass}, {1, xdpDrop}, {2, xdpPass}, {1, xdpDrop}} {
				v := binary.NativeEndian.AppendUint32(nil, tt.flag)
				if err := bpf.MapUpdateElem(flag, make([]byte, 4), v, 0); err != nil {
					t.Fatal(err)
				}
				if got := xdpRun(t, prog, udpFrame(false)); got != tt.want {
					t.Errorf("drop_flag %d: action %d, want %d", tt.flag, got, tt.want)
				}
			}
		})
	}
}

func TestXDPCountUsesMapsBSSAndRodata(t *testing.T) {
	requireRoot(t)
	o := open(t, "xdp_count.bpf.o")
	var names []string
	for _, m := range o.Maps {
		names = append(names, m.Name)
	}
	for _, want := range []string{"proto_count", ".bss", ".rodata"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("maps %v lack %s", names, want)
		}
	}
	c, err := o.Load()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	prog := c.Programs["xdp_count"]
	for i := 0; i < 3; i++ {
		if got := xdpRun(t, prog, udpFrame(false)); got != xdpPass {
			t.Fatalf("xdp_count returned %d, want the .rodata verdict XDP_PASS", got)
		}
	}
	xdpRun(t, prog, udpFrame(true))
	value := make([]byte, 8)
	if err := bpf.MapLookupElem(c.Maps["proto_count"], binary.NativeEndian.AppendUint32(nil, unix.IPPROTO_UDP), value); err != nil {
		t.Fatal(err)
	}
	if got := binary.NativeEndian.Uint64(value); got != 3 {
		t.Errorf("proto_count[UDP] = %d, want 3 (IPv6 counts as proto 0)", got)
	}
	bss := make([]byte, 8)
	if err := bpf.MapLookupElem(c.Maps[".bss"], make([]byte, 4), bss); err != nil {
		t.Fatal(err)
	}
	if got := binary.NativeEndian.Uint64(bss); got != 4 {
		t.Errorf(".bss counter = %d, want 4", got)
	}
	if err := bpf.MapUpdateElem(c.Maps[".rodata"], make([]byte, 4), make([]byte, o.Maps[len(o.Maps)-1].ValueSize), 0); err == nil {
		t.Error(".rodata is writable from userspace: it should be frozen")
	}
}

// The bpf-to-bpf call: the callee is appended after the caller and the
// call's offset points at it.
func TestCallIsLinked(t *testing.T) {
	o := open(t, "oreore_call.bpf.o")
	p, err := o.Program("call_mix")
	if err != nil {
		t.Fatal(err)
	}
	callAt := -1
	for i, ins := range p.Insns {
		if ins.OpCode == asm.ClassJMP|asm.OpCode(asm.Call) && ins.Src == 1 {
			callAt = i
		}
	}
	if callAt < 0 {
		t.Fatalf("no bpf-to-bpf call in:\n%v", p.Insns)
	}
	target := callAt + 1 + int(p.Insns[callAt].Constant)
	if target != 4 || p.Insns[len(p.Insns)-1].OpCode != asm.ClassJMP|asm.OpCode(asm.Exit) {
		t.Errorf("the call at %d goes to %d, want 4 (the callee right after the caller's exit):\n%v", callAt, target, p.Insns)
	}
	if p.Kind != "oreore" || o.License != "GPL" {
		t.Errorf("program kind %q license %q, want oreore and GPL", p.Kind, o.License)
	}
}

func TestMalformedObjectsAreErrors(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(programsDir(t), "xdp_count.bpf.o"))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string][]byte{
		"empty":     nil,
		"truncated": good[:len(good)/3],
		"not ELF":   []byte("\x7fELF but not really an object file at all, no"),
	}
	// Section header offset pointing past the end.
	bad := append([]byte(nil), good...)
	binary.LittleEndian.PutUint64(bad[0x28:], uint64(len(bad)+4096))
	tests["section headers past the end"] = bad
	for name, b := range tests {
		if _, err := Parse(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// The wrong-layout variant reads h_proto at offset 0 as compiled; only the
// relocation against the kernel's BTF moves it to 12.
func TestCOREFixesAWrongLayout(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		obj      string
		skipCORE bool
		v4, v6   uint32
	}{
		{"xdp_ipv6_drop_core.bpf.o", false, xdpPass, xdpDrop},
		{"xdp_ipv6_drop_core_wrong.bpf.o", false, xdpPass, xdpDrop},
		{"xdp_ipv6_drop_core_wrong.bpf.o", true, xdpPass, xdpPass}, // reads the MAC: misses IPv6
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s skipCORE=%v", tt.obj, tt.skipCORE), func(t *testing.T) {
			o := open(t, tt.obj)
			p, _ := o.Program("xdp_ipv6_drop")
			if len(p.CORE) == 0 {
				t.Fatal("no CO-RE relocations in the object")
			}
			c, err := o.LoadWith(LoadOptions{SkipCORE: tt.skipCORE})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			prog := c.Programs["xdp_ipv6_drop"]
			if got := xdpRun(t, prog, udpFrame(false)); got != tt.v4 {
				t.Errorf("IPv4: action %d, want %d", got, tt.v4)
			}
			if got := xdpRun(t, prog, udpFrame(true)); got != tt.v6 {
				t.Errorf("IPv6: action %d, want %d", got, tt.v6)
			}
		})
	}
}

// Each relocation kind against the kernel's own BTF, compared with what
// the btf package reads from it directly.
func TestCOREKinds(t *testing.T) {
	requireRoot(t)
	kernel, err := os.ReadFile(KernelBTF)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := btf.Parse(kernel)
	if err != nil {
		t.Fatal(err)
	}
	eth := spec.Named("ethhdr", btf.KindStruct)
	act := spec.Named("xdp_action", btf.KindEnum)
	if len(eth) != 1 || len(act) != 1 {
		t.Fatalf("kernel BTF: %d ethhdr, %d xdp_action", len(eth), len(act))
	}
	var protoOff uint32
	for _, m := range eth[0].Members {
		if m.Name == "h_proto" {
			protoOff = m.BitOffset / 8
		}
	}
	var xdpPassValue = ^uint64(0) // not found
	for _, e := range act[0].Enums {
		if e.Name == "XDP_PASS" {
			xdpPassValue = e.Value
		}
	}

	o := open(t, "xdp_core_kinds.bpf.o")
	c, err := o.Load()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	xdpRun(t, c.Programs["xdp_core_kinds"], udpFrame(false))
	out := make([]byte, 24)
	if err := bpf.MapLookupElem(c.Maps[".bss"], make([]byte, 4), out); err != nil {
		t.Fatal(err)
	}
	got := func(i int) uint32 { return binary.NativeEndian.Uint32(out[4*i:]) }
	want := []struct {
		name string
		v    uint32
	}{
		{"field byte offset of h_proto", protoOff},
		{"field size of h_proto", 2},
		{"field exists: h_proto", 1},
		{"field exists: a field the kernel lacks", 0},
		{"type size of struct ethhdr", eth[0].Size},
		{"enum value of XDP_PASS", uint32(xdpPassValue)},
	}
	for i, w := range want {
		if got(i) != w.v {
			t.Errorf("%s: %d, want %d", w.name, got(i), w.v)
		}
	}
}

// With the object's BTF and line info loaded, a rejection quotes the C.
func TestVerifierLogQuotesSource(t *testing.T) {
	requireRoot(t)
	_, err := open(t, "xdp_bad_access.bpf.o").Load()
	var verr *bpf.VerifierError
	if !errors.As(err, &verr) {
		t.Fatalf("load: %v, want a verifier error", err)
	}
	// The line itself; the " @ file:line" suffix came after 6.1.
	for _, want := range []string{"; return *(__u32 *)(long)ctx->data; /* no check against data_end */", "invalid access to packet"} {
		if !verr.Contains(want) {
			t.Errorf("the verifier log does not say %q:\n%v", want, err)
		}
	}
	if !strings.Contains(err.Error(), "program xdp_bad_access (section xdp)") {
		t.Errorf("the error does not name the program and section: %v", err)
	}
}

// A .struct_ops.link variable is read as libbpf reads it: its struct's
// name, its bytes, and which member each relocated function fills; its
// programs are typed by it, not by a section table.
func TestStructOpsVariable(t *testing.T) {
	o := open(t, "oreore_ops.bpf.o")
	if len(o.StructOps) != 1 {
		t.Fatalf("%d struct_ops variables, want 1", len(o.StructOps))
	}
	so := o.StructOps[0]
	if so.Name != "from_elf" || so.Type != "oreore_ops" || !so.Link {
		t.Errorf("variable %s of struct %s, link %v; want from_elf of oreore_ops from .struct_ops.link", so.Name, so.Type, so.Link)
	}
	if so.Progs["run"] != "ops_run" || so.Progs["note"] != "ops_note" || len(so.Progs) != 2 {
		t.Errorf("members set to programs: %v; want run: ops_run, note: ops_note", so.Progs)
	}
	if m := so.members["name"]; m != [2]uint32{16, 16} || !strings.HasPrefix(string(so.Data[16:]), "from_elf\x00") {
		t.Errorf("name member at %v, data % x; want offset 16, 16 bytes, \"from_elf\"", m, so.Data)
	}
	for _, p := range o.Programs {
		if !isStructOpsKind(p.Kind) {
			t.Errorf("program %s in section %s: kind %s", p.Name, p.Section, p.Kind)
		}
	}
	// On a kernel without the module that registers oreore_ops (the host,
	// 6.1's guest) the load says which type it looked for, and where. With
	// it (6.12's guest) this lane must not load it: the slot lane removes
	// and reloads the module, and harness/oreoreops loads, registers and
	// runs this object there.
	if _, err := os.Stat("/sys/kernel/btf/oreore_ops"); err == nil {
		return
	}
	_, err := o.Load()
	if err == nil || !strings.Contains(err.Error(), "struct_ops type oreore_ops: neither vmlinux nor a loaded module defines it") {
		t.Errorf("loading on a kernel without the type: %v", err)
	}
}

package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"oreore/harness/bpf"
	"oreore/harness/btf"
	"oreore/harness/oreore"
)

var mapTypes = []string{"unspec", "hash", "array", "prog_array", "perf_event_array", "percpu_hash",
	"percpu_array", "stack_trace", "cgroup_array", "lru_hash", "lru_percpu_hash", "lpm_trie", "array_of_maps",
	"hash_of_maps", "devmap", "sockmap", "cpumap", "xskmap", "sockhash", "cgroup_storage", "reuseport_sockarray",
	"percpu_cgroup_storage", "queue", "stack", "sk_storage", "devmap_hash", "struct_ops", "ringbuf",
	"inode_storage", "task_storage", "bloom_filter", "user_ringbuf"}

type mapOut struct {
	ID         uint32 `json:"id"`
	Type       string `json:"type"`
	Name       string `json:"name"`
	KeySize    uint32 `json:"bytes_key"`
	ValueSize  uint32 `json:"bytes_value"`
	MaxEntries uint32 `json:"max_entries"`
	Flags      uint32 `json:"flags"`
	BTFID      uint32 `json:"btf_id,omitempty"`
}

func mapJSON(info bpf.MapInfo) mapOut {
	t := fmt.Sprintf("type %d", info.Type)
	if int(info.Type) < len(mapTypes) {
		t = mapTypes[info.Type]
	}
	return mapOut{info.ID, t, info.Name, info.KeySize, info.ValueSize, info.MaxEntries, info.Flags, info.BTFID}
}

func (m mapOut) text() string {
	s := fmt.Sprintf("%d: %s  name %s  flags 0x%x\n\tkey %dB  value %dB  max_entries %d", m.ID, m.Type, m.Name, m.Flags, m.KeySize, m.ValueSize, m.MaxEntries)
	if m.BTFID != 0 {
		s += fmt.Sprintf("\n\tbtf_id %d", m.BTFID)
	}
	return s + "\n"
}

// withMap runs f on the one map the MAP at the front of args names; nargs
// more arguments must follow it, and f gets them.
func (c *cmd) withMap(args []string, nargs int, f func(bpf.FD, bpf.MapInfo, []string) error) error {
	s, rest, err := mapKind.parse(args)
	if err != nil {
		return err
	}
	if len(rest) != nargs {
		return errUsage
	}
	fd, err := s.openOne()
	if err != nil {
		return err
	}
	defer fd.Close()
	info, err := bpf.MapGetInfo(fd)
	if err != nil {
		return err
	}
	return f(fd, info, rest)
}

// withMaps runs f on every map the MAP names, for show and dump, which
// take all the matches of a name as bpftool does.
func withMaps(args []string, f func(bpf.FD, bpf.MapInfo) error) error {
	fds, err := mapKind.openAll(args)
	if err != nil {
		return err
	}
	defer closeAll(fds)
	for _, fd := range fds {
		info, err := bpf.MapGetInfo(fd)
		if err != nil {
			return err
		}
		if err := f(fd, info); err != nil {
			return err
		}
	}
	return nil
}

// eachMap runs f on every map the kernel has, skipping those gone since
// they were listed.
func eachMap(f func(bpf.FD, bpf.MapInfo) error) error {
	ids, err := bpf.MapIDs()
	if err != nil {
		return err
	}
	for _, id := range ids {
		fd, err := bpf.MapGetFDByID(id)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return err
		}
		info, err := bpf.MapGetInfo(fd)
		if err == nil {
			err = f(fd, info)
		}
		fd.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *cmd) mapList() error {
	all := []mapOut{}
	var text strings.Builder
	err := eachMap(func(_ bpf.FD, info bpf.MapInfo) error {
		m := mapJSON(info)
		all = append(all, m)
		text.WriteString(m.text())
		return nil
	})
	if err != nil {
		return err
	}
	return c.print(all, text.String())
}

// mapShow shows the maps MAP names, or all of them without one.
func (c *cmd) mapShow(args []string) error {
	if len(args) == 0 {
		return c.mapList()
	}
	var all []mapOut
	var text strings.Builder
	err := withMaps(args, func(_ bpf.FD, info bpf.MapInfo) error {
		m := mapJSON(info)
		all = append(all, m)
		text.WriteString(m.text())
		return nil
	})
	if err != nil {
		return err
	}
	return printFound(c, all, text.String())
}

// hexArg reads "0a 00 00 00" or "0a000000" as exactly size bytes.
func hexArg(s string, size uint32, what string) ([]byte, error) {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", what, s, err)
	}
	if uint32(len(b)) != size {
		return nil, fmt.Errorf("%s is %d bytes, the map wants %d", what, len(b), size)
	}
	return b, nil
}

type entry struct {
	Key       string `json:"key"`
	Value     string `json:"value"`
	Formatted string `json:"formatted,omitempty"` // by the map's BTF
}

func spaced(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02x", x)
	}
	return strings.Join(parts, " ")
}

// typed returns a printer for the map's keys and values when the map
// carries BTF, and nil printers when it does not.
func typed(info bpf.MapInfo) (key, value func([]byte) string) {
	if info.BTFID == 0 || info.BTFValueTypeID == 0 {
		return nil, nil
	}
	blob, err := bpf.BTFByID(info.BTFID)
	if err != nil {
		return nil, nil
	}
	spec, err := btf.Parse(blob)
	if err != nil {
		return nil, nil
	}
	value = func(b []byte) string { return spec.Format(info.BTFValueTypeID, b) }
	if info.BTFKeyTypeID != 0 {
		key = func(b []byte) string { return spec.Format(info.BTFKeyTypeID, b) }
	}
	return key, value
}

// mapDumped is one map of a dump that matched several, as bpftool prints it.
type mapDumped struct {
	mapOut
	Elements []entry `json:"elements"`
}

// mapDump dumps the maps MAP names. One prints as before; several (a name
// they share) each get their show line first, and JSON an array of maps
// with their elements, as bpftool does.
func (c *cmd) mapDump(args []string) error {
	var all []mapDumped
	var texts []string
	err := withMaps(args, func(fd bpf.FD, info bpf.MapInfo) error {
		entries, text, err := dumpEntries(fd, info)
		all = append(all, mapDumped{mapJSON(info), entries})
		texts = append(texts, text)
		return err
	})
	if err != nil {
		return err
	}
	if len(all) == 1 {
		return c.print(all[0].Elements, texts[0])
	}
	var text strings.Builder
	for i, m := range all {
		header, _, _ := strings.Cut(m.text(), "\n")
		text.WriteString(header + "\n" + texts[i])
	}
	return c.print(all, text.String())
}

// dumpEntries reads every entry of the map, and prints them as text.
func dumpEntries(fd bpf.FD, info bpf.MapInfo) ([]entry, string, error) {
	entries := []entry{}
	var text strings.Builder
	formatKey, formatValue := typed(info)
	var key []byte
	for {
		next, err := bpf.MapNextKey(fd, key, info.KeySize)
		if errors.Is(err, unix.ENOENT) {
			break
		}
		if err != nil {
			return nil, "", err
		}
		value := make([]byte, info.ValueSize)
		if err := bpf.MapLookupElem(fd, next, value); err != nil && !errors.Is(err, unix.ENOENT) {
			return nil, "", err
		}
		e := entry{Key: spaced(next), Value: spaced(value)}
		switch {
		case formatValue != nil && formatKey == nil: // global data: the value is the section
			e.Formatted = formatValue(value)
			fmt.Fprintf(&text, "%s\n", e.Formatted)
		case formatValue != nil:
			e.Formatted = fmt.Sprintf("key: %s  value: %s", formatKey(next), formatValue(value))
			fmt.Fprintf(&text, "%s\n", e.Formatted)
		default:
			fmt.Fprintf(&text, "key: %s  value: %s\n", e.Key, e.Value)
		}
		entries = append(entries, e)
		key = next
	}
	fmt.Fprintf(&text, "Found %d elements\n", len(entries))
	return entries, text.String(), nil
}

func (c *cmd) mapLookup(fd bpf.FD, info bpf.MapInfo, args []string) error {
	key, err := hexArg(args[0], info.KeySize, "key")
	if err != nil {
		return err
	}
	value := make([]byte, info.ValueSize)
	if err := bpf.MapLookupElem(fd, key, value); err != nil {
		return err
	}
	e := entry{Key: spaced(key), Value: spaced(value)}
	return c.print(e, fmt.Sprintf("key: %s  value: %s\n", e.Key, e.Value))
}

func mapDelete(fd bpf.FD, info bpf.MapInfo, args []string) error {
	key, err := hexArg(args[0], info.KeySize, "key")
	if err != nil {
		return err
	}
	return bpf.MapDeleteElem(fd, key)
}

func (c *cmd) mapUpdate(fd bpf.FD, info bpf.MapInfo, args []string) error {
	key, err := hexArg(args[0], info.KeySize, "key")
	if err != nil {
		return err
	}
	value, err := hexArg(args[1], info.ValueSize, "value")
	if err != nil {
		return err
	}
	return bpf.MapUpdateElem(fd, key, value, 0)
}

var linkTypes = []string{"unspec", "raw_tracepoint", "tracing", "cgroup", "iter", "netns", "xdp", "perf_event",
	"kprobe_multi", "struct_ops", "netfilter", "tcx", "uprobe_multi", "netkit", "sockmap"}

// linkTypeName checks oreore first: on 6.1 its number is 6.12's netfilter.
func linkTypeName(t uint32) string {
	if u, err := oreore.Kernel(); err == nil && t == u.LinkType {
		return "oreore"
	}
	if int(t) < len(linkTypes) {
		return linkTypes[t]
	}
	return fmt.Sprintf("type %d", t)
}

func (c *cmd) linkList() error {
	links, err := bpf.Links()
	if err != nil {
		return err
	}
	type linkOut struct {
		ID      uint32 `json:"id"`
		Type    string `json:"type"`
		ProgID  uint32 `json:"prog_id"`
		Ifindex uint32 `json:"ifindex,omitempty"`
	}
	all := []linkOut{}
	var text strings.Builder
	for _, info := range links {
		l := linkOut{ID: info.ID, Type: linkTypeName(info.Type), ProgID: info.ProgID, Ifindex: info.Ifindex}
		all = append(all, l)
		fmt.Fprintf(&text, "%d: %s  prog %d", l.ID, l.Type, l.ProgID)
		if l.Ifindex != 0 {
			fmt.Fprintf(&text, "  ifindex %d", l.Ifindex)
		}
		text.WriteString("\n")
	}
	return c.print(all, text.String())
}

// progStats turns run_cnt/run_time_ns accounting on or off for everyone,
// as `sysctl kernel.bpf_stats_enabled` does.
func (c *cmd) progStats(args []string) error {
	if len(args) != 1 || (args[0] != "on" && args[0] != "off") {
		return errUsage
	}
	v := map[string]string{"on": "1\n", "off": "0\n"}[args[0]]
	return os.WriteFile("/proc/sys/kernel/bpf_stats_enabled", []byte(v), 0)
}

// tracelog copies trace_pipe (bpf_printk's output) until it fails or ctx
// ends. A read of trace_pipe consumes what it reads, so a reader left
// running takes lines from every later reader.
func tracelog(ctx context.Context, out io.Writer) error {
	for _, dir := range []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"} {
		f, err := os.Open(filepath.Join(dir, "trace_pipe"))
		if err != nil {
			continue
		}
		// trace_pipe polls, so the runtime's poller serves the reads and
		// Close ends one that is waiting.
		stop := context.AfterFunc(ctx, func() { f.Close() })
		defer stop()
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if _, err := fmt.Fprintln(out, sc.Text()); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		return sc.Err()
	}
	return errors.New("no trace_pipe: mount tracefs on /sys/kernel/tracing")
}

// Command mkinitramfs writes the guest's initramfs (see package initramfs).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"oreore/vm/initramfs"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	var c initramfs.Contents
	out := flag.String("o", "", "output archive")
	flag.StringVar(&c.Init, "init", "", "static binary to run as /init")
	flag.StringVar(&c.Test2JSON, "test2json", "", "static cmd/test2json")
	flag.Var((*list)(&c.Modules), "module", "kernel module to load (repeatable)")
	flag.Func("test", "LANE=BIN: a test binary and the lane it runs in (repeatable)", func(v string) error {
		lane, bin, ok := strings.Cut(v, "=")
		if !ok {
			return fmt.Errorf("%q is not LANE=BIN", v)
		}
		c.Tests = append(c.Tests, initramfs.Test{Lane: lane, Path: bin})
		return nil
	})
	flag.Var((*list)(&c.Programs), "program", "eBPF object for the tests (repeatable)")
	flag.Var((*list)(&c.Commands), "command", "static binary for /bin (repeatable)")
	flag.Var((*list)(&c.Selftests), "selftest", "the kernel's test binary or bpftool, for /selftests (repeatable)")
	flag.Parse()
	if *out == "" || c.Init == "" || c.Test2JSON == "" {
		fmt.Fprintln(os.Stderr, "usage: mkinitramfs -o OUT -init BIN -test2json BIN [-module KO]... [-test LANE=BIN]...")
		os.Exit(64)
	}
	if err := write(*out, c); err != nil {
		fmt.Fprintln(os.Stderr, "mkinitramfs:", err)
		os.Exit(1)
	}
}

// write replaces out only once the whole archive is written.
func write(out string, c initramfs.Contents) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), ".initramfs-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := initramfs.Write(tmp, c); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

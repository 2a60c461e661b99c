package qemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"oreore/vm/qmp"
)

// Dump has the runner keep the guest's memory when the kernel panics. The
// guest gets a pvpanic device, on which the kernel's panic notifier tells
// QEMU; -action panic=pause has QEMU stop the guest there (before
// panic=-1's reboot) and send GUEST_PANICKED on QMP; the runner then has
// QEMU write the memory and quit. QEMU's vmcoreinfo device gives the dump
// the kernel's VMCOREINFO note, which crash and drgn read it with (the
// kernel writes its address through fw_cfg when it has CONFIG_PROC_KCORE or
// kexec's CRASH_CORE/VMCORE_INFO). With a Dump the guest also boots with
// oops=panic: an Oops fails the verdict anyway, and the dump then holds the
// faulting task's state.
type Dump struct {
	Path string // the vmcore, replaced at each boot
	// Format is dump-guest-memory's: elf or kdump-zlib (the default, which
	// cannot take minutes); AutoFormat says which suits a kernel.
	Format string
	// Timeout bounds the dump; 0 means DefaultDumpTimeout.
	Timeout time.Duration
}

// AutoFormat picks the dump's format for a kernel from its build's
// .config.
//
// elf holds the whole memory (1 GB for a 1G guest, 4-7 s under TCG) and is
// written with paging, so that its segments carry the kernel's virtual
// addresses: Debian 12's drgn (0.0.22) needs them to read a 6.12 dump, and
// reads 6.1's too. kdump-zlib drops zero pages (about 22 MB), but Debian
// 12's libkdumpfile (0.5.1) cannot open one of 6.12 ("KDUMP_ATTR_ARCH_NAME:
// Key has no value") and crash 8.0.2 reads no stack from it.
//
// A KASAN kernel gets kdump-zlib: its shadow maps one zero page over 16 TB
// of addresses, and QEMU's paging walk of it outlasted a 3-minute timeout.
func AutoFormat(kernelBuild string) string {
	config, err := os.ReadFile(filepath.Join(kernelBuild, ".config"))
	if err != nil || bytes.Contains(config, []byte("\nCONFIG_KASAN=y\n")) {
		// Unreadable: not knowing about KASAN, the format that cannot
		// take minutes.
		return "kdump-zlib"
	}
	return "elf"
}

// DefaultDumpTimeout is how long a dump may take before the runner gives
// up on it and ends QEMU.
const DefaultDumpTimeout = 3 * time.Minute

// Dumped is what became of the guest's panic.
type Dumped struct {
	Path   string
	Format string
	Size   int64
	Took   time.Duration // from the panic event to the file's end
	Err    error         // the dump failed, and why: the verdict stays what it was
}

// fwCfgParam tells the guest where QEMU's fw_cfg is: without ACPI nothing
// else announces it, and the kernel writes the vmcoreinfo address there.
const fwCfgParam = "qemu_fw_cfg.ioport=12@0x510:0:1:4"

func (d *Dump) qemuArgs(socket string) []string {
	return []string{"-device", "pvpanic-pci", "-device", "vmcoreinfo", "-action", "panic=pause",
		"-qmp", "unix:" + socket + ",server=on,wait=off"}
}

func (d *Dump) format() string {
	if d.Format == "" {
		return "kdump-zlib"
	}
	return d.Format
}

// panicWatch follows QEMU's QMP socket for the panic, and dumps then.
type panicWatch struct {
	dump    *Dump
	socket  string
	watcher *watcher // held while the dump is written, so that it does not kill QEMU

	connErr error   // QMP never answered: no dump is possible
	dumped  *Dumped // set when the guest panicked
}

// run connects and waits for the panic until QEMU exits. A guest that
// panicked before the connection is found by its status.
func (p *panicWatch) run(exited <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	dialCtx, dialCancel := context.WithTimeout(ctx, 30*time.Second)
	c, err := qmp.Dial(dialCtx, p.socket)
	dialCancel()
	if err != nil {
		if ctx.Err() == nil {
			p.connErr = err
		}
		return
	}
	defer c.Close()
	// Events are only sent to a connected client: a panic that came
	// earlier shows in the status.
	if ret, err := c.Execute(ctx, "query-status", nil); err == nil {
		var st struct{ Status string }
		if json.Unmarshal(ret, &st) == nil && st.Status == "guest-panicked" {
			p.dumpAndQuit(c, exited)
			return
		}
	}
	for {
		select {
		case ev := <-c.Events():
			if ev.Name == "GUEST_PANICKED" {
				p.dumpAndQuit(c, exited)
				return
			}
		case <-c.Done():
			return
		case <-exited:
			return
		}
	}
}

func (p *panicWatch) dumpAndQuit(c *qmp.Client, exited <-chan struct{}) {
	p.watcher.hold()
	defer p.watcher.release()
	start := time.Now()
	d := &Dumped{Path: p.dump.Path, Format: p.dump.format()}
	p.dumped = d
	timeout := p.dump.Timeout
	if timeout == 0 {
		timeout = DefaultDumpTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	go func() {
		select {
		case <-exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	d.Err = dump(ctx, c, d.Path, d.Format)
	// QEMU answers quit and then exits; the connection may close first.
	quitCtx, quitCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer quitCancel()
	c.Execute(quitCtx, "quit", nil)
	if d.Err == nil {
		_, d.Err = unflatten(d.Path)
	}
	d.Took = time.Since(start)
	if fi, err := os.Stat(d.Path); err == nil {
		d.Size = fi.Size()
	}
	if d.Err == nil && d.Size == 0 {
		d.Err = errors.New("QEMU reported the dump done, but the file is empty")
	}
	if d.Err != nil {
		os.Remove(d.Path) // a partial dump would only mislead crash and drgn
	}
}

// dump has QEMU write the guest's memory to path and waits for the end.
// With detach the QMP connection stays free, and query-dump says how far
// it got; DUMP_COMPLETED says it ended, with QEMU's error if it failed.
func dump(ctx context.Context, c *qmp.Client, path, format string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	// Paging (which QEMU allows only for elf) writes the kernel's virtual
	// addresses into the segments: Debian 12's drgn needs them on 6.12.
	args := map[string]any{"paging": format == "elf", "protocol": "file:" + path, "detach": true}
	if format != "elf" {
		args["format"] = format
	}
	if _, err := c.Execute(ctx, "dump-guest-memory", args); err != nil {
		return err
	}
	for {
		select {
		case ev := <-c.Events():
			if ev.Name != "DUMP_COMPLETED" {
				continue
			}
			var done struct {
				Error string `json:"error"`
			}
			json.Unmarshal(ev.Data, &done)
			if done.Error != "" {
				return fmt.Errorf("QEMU: %s", done.Error)
			}
			return nil
		case <-c.Done():
			return errors.New("QMP connection lost during the dump (QEMU exited)")
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return fmt.Errorf("the dump took longer than its limit: %w", ctx.Err())
			}
			return errors.New("QEMU exited during the dump")
		}
	}
}

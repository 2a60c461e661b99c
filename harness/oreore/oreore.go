// Package oreore is the userspace side of BPF_PROG_TYPE_OREORE: its uapi
// numbers and a client for the module's /sys/oreore/bpf.
package oreore

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// SysfsPath is the module's file: write a number to run the attached
// program on it, read it for the last result.
const SysfsPath = "/sys/oreore/bpf"

// Write runs the attached program on in. A failed write returns the
// module's errno, e.g. ENODEV when nothing is attached.
func Write(in uint32) error {
	return WriteRaw(strconv.FormatUint(uint64(in), 10) + "\n")
}

// WriteRaw writes s in one write(2), as `echo -n s >` would.
func WriteRaw(s string) error {
	f, err := os.OpenFile(SysfsPath, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.Write([]byte(s))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Read returns the last result.
func Read() (uint32, error) {
	b, err := os.ReadFile(SysfsPath)
	if err != nil {
		return 0, err
	}
	return parseResult(b)
}

func parseResult(b []byte) (uint32, error) {
	s, ok := strings.CutSuffix(string(b), "\n")
	if !ok {
		return 0, fmt.Errorf("%s: %q does not end in a newline", SysfsPath, b)
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", SysfsPath, err)
	}
	return uint32(v), nil
}

// Port keeps the module's file open for loops that run the program many
// times: a run is one pwrite and one pread, where Run also opens and closes
// the file twice, which costs more than the run itself.
type Port struct{ f *os.File }

// OpenPort opens the module's file for reading and writing.
func OpenPort() (*Port, error) {
	f, err := os.OpenFile(SysfsPath, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	return &Port{f}, nil
}

// Write runs the attached program on in, as the package's Write does.
func (p *Port) Write(in uint32) error {
	var buf [12]byte
	_, err := p.f.WriteAt(append(strconv.AppendUint(buf[:0], uint64(in), 10), '\n'), 0)
	return err
}

// Read returns the last result; sysfs renders it afresh at offset 0.
func (p *Port) Read() (uint32, error) {
	var buf [16]byte
	n, err := p.f.ReadAt(buf[:], 0)
	if err != nil && !(errors.Is(err, io.EOF) && n > 0) {
		return 0, err
	}
	return parseResult(buf[:n])
}

// Run writes in and reads back the result.
func (p *Port) Run(in uint32) (uint32, error) {
	if err := p.Write(in); err != nil {
		return 0, err
	}
	return p.Read()
}

func (p *Port) Close() error { return p.f.Close() }

// RunsPath counts the module's runs since it was loaded.
const RunsPath = "/sys/oreore/runs"

// Runs returns the module's run count.
func Runs() (uint64, error) {
	b, err := os.ReadFile(RunsPath)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSuffix(string(b), "\n"), 10, 64)
}

// Run writes in and reads back the result.
func Run(in uint32) (uint32, error) {
	if err := Write(in); err != nil {
		return 0, err
	}
	return Read()
}

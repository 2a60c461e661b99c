package gdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"oreore/vm/qemu"
)

// Session is gdb beside one boot of the guest (vmtest's and vmrun's -gdb
// and -gdb-script).
type Session struct {
	Kernel Kernel
	// Script runs gdb in batch mode; "" is gdb on this terminal.
	Script string
	// Elsewhere: the guest has this terminal (vmrun's shell), so the
	// user starts gdb in another one with the printed line.
	Elsewhere bool
	port      int
}

// Prepare checks that gdb can run and turns QEMU's gdbstub on at a free
// port, which it returns. An interactive gdb gets the terminal, and the
// user the time: no timeout unless keepTimeout, no early stop at a kernel
// report.
func (s *Session) Prepare(cfg *qemu.Config, kernelErr error, keepTimeout bool) (int, error) {
	if kernelErr != nil {
		return 0, fmt.Errorf("gdb: %w", kernelErr)
	}
	if err := s.Kernel.Check(); err != nil {
		return 0, err
	}
	if s.Script == "" && !IsTerminal(os.Stdin) {
		return 0, errors.New("-gdb needs a terminal for gdb (stdin is not one); -gdb-script FILE runs gdb in batch mode")
	}
	port, err := FreePort()
	if err != nil {
		return 0, err
	}
	s.port, cfg.GDBPort = port, port
	if s.Script == "" {
		cfg.Watch = nil
		if !keepTimeout {
			cfg.Timeout = 0
		}
	}
	return port, nil
}

// Boot runs the guest. With a gdb of its own (on this terminal or in batch
// mode) gdb runs beside it, and an interactive gdb's console goes only to
// its file; gdb's end ends the guest.
func (s Session) Boot(cfg qemu.Config, w io.Writer) (qemu.Result, error) {
	if s.port == 0 || s.Elsewhere {
		return qemu.Run(cfg), nil
	}
	if s.Script == "" {
		cfg.Console = nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg.Context = ctx
	var res qemu.Result
	err := Beside(s.Kernel, s.port, s.Script, w, func() { res = qemu.Run(cfg) }, cancel)
	return res, err
}

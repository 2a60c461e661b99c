// Command misbehave is an /init that fails the way the runner must notice,
// chosen by its first argument: "exit" (init dies: the kernel panics),
// "hang" (nothing ever ends), "kmsg-warning" (a WARNING-shaped line in the
// kernel log, then a clean end), "reboot" (a broken init: the guest ends
// at once, having reported nothing).
package main

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	mode := ""
	for _, a := range os.Args[1:] {
		if a != "--" {
			mode = a
			break
		}
	}
	switch mode {
	case "exit":
		return
	case "hang":
		for {
			time.Sleep(time.Hour)
		}
	case "reboot":
		unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	case "kmsg-warning":
		unix.Mount("devtmpfs", "/dev", "devtmpfs", 0, "")
		os.WriteFile("/dev/kmsg", []byte("WARNING: CPU: 0 PID: 1 at vm/selftest/misbehave.go:1 selftest+0x0/0x0\n"), 0)
		time.Sleep(100 * time.Millisecond)
		unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	}
	os.Stderr.WriteString("misbehave: unknown mode " + mode + "\n")
}

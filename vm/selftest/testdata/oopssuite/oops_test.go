// Package oopssuite is an in-guest suite whose test "oopses while holding a
// lock", for the runner's self-test: it prints an Oops-shaped report into
// the kernel log in two parts, a second apart, as a slow console would,
// then blocks forever on a lock it already holds, as the next user of a
// lock whose holder died in an Oops does. The lock is a token in a pipe, as
// make's jobserver has it (tinyconfig has no flock).
package oopssuite

import (
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var head = []string{
	"BUG: kernel NULL pointer dereference, address: 0000000000000008",
	"#PF: supervisor read access in kernel mode",
	"#PF: error_code(0x0000) - not-present page",
	"Oops: 0000 [#1] PREEMPT SMP NOPTI",
	"CPU: 1 PID: 81 Comm: oopssuite.test Not tainted 6.1.0 #1",
	"RIP: 0010:bpf_oreore_run+0x1a/0x60",
}

var tail = []string{
	"Call Trace:",
	" <TASK>",
	" oreore_write+0x6b/0x120 [oreore]",
	" vfs_write+0xcb/0x3f0",
	" ksys_write+0x5f/0xe0",
	" do_syscall_64+0x3b/0x90",
	" entry_SYSCALL_64_after_hwframe+0x63/0xcd",
	" </TASK>",
	"Modules linked in: oreore",
	"CR2: 0000000000000008",
	"---[ end trace 0000000000000000 ]---",
}

// kmsg opens /dev/kmsg for each line: the kernel limits each opener to ten
// lines in five seconds.
func kmsg(t *testing.T, lines []string) {
	for _, l := range lines {
		if err := os.WriteFile("/dev/kmsg", []byte(l+"\n"), 0); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOopsesHoldingALock(t *testing.T) {
	// Let the test's start reach the results port first.
	time.Sleep(500 * time.Millisecond)
	var lock [2]int
	if err := unix.Pipe(lock[:]); err != nil {
		t.Fatal(err)
	}
	token := []byte{1}
	unix.Write(lock[1], token)
	unix.Read(lock[0], token) // taken
	kmsg(t, head)
	time.Sleep(time.Second)
	kmsg(t, tail)
	unix.Read(lock[0], token) // never returns: nobody gives it back
	t.Error("the lock was given back")
}

package guest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Insmod loads the module called name from ModulesDir.
func Insmod(name string) error {
	f, err := os.Open(filepath.Join(ModulesDir, name+".ko"))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil {
		return fmt.Errorf("insmod %s: %w", name, err)
	}
	return nil
}

// ModuleFreeWait is how long RmmodWhenFree waits for the kernel to drop
// what held a module. Freeing a struct_ops map waits for an RCU and an
// RCU Tasks grace period (bpf_struct_ops_map_free), and maps are freed one
// after another from a workqueue. An RCU Tasks grace period waits for every
// running task to sleep: the other lane's test_verifier runs 80 s and more
// without sleeping on 7.3, and CI's 7.3 guest once waited over 10 s. Within
// the per-test limit (4 min) with the rest of the test.
const ModuleFreeWait = 150 * time.Second

// RmmodWhenFree removes the module called name, trying again while it is
// in use (EAGAIN) for at most wait: a struct_ops map, or a program that
// calls the module's kfuncs, holds it until the kernel frees it from a
// workqueue some time after its last fd is closed.
func RmmodWhenFree(name string, wait time.Duration) error {
	start := time.Now()
	for {
		err := unix.DeleteModule(name, unix.O_NONBLOCK)
		if !errors.Is(err, unix.EAGAIN) || time.Since(start) > wait {
			if err != nil {
				refs, _ := os.ReadFile(filepath.Join("/sys/module", name, "refcnt"))
				return fmt.Errorf("rmmod %s: %w after %.1fs (refcnt %q)", name, err, time.Since(start).Seconds(), refs)
			}
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

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

// RmmodWhenFree removes the module called name, trying again while it is
// in use (EAGAIN) for at most wait: a struct_ops map, or a program that
// calls the module's kfuncs, holds it until the kernel frees it from a
// workqueue some time after its last fd is closed.
func RmmodWhenFree(name string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		err := unix.DeleteModule(name, unix.O_NONBLOCK)
		if !errors.Is(err, unix.EAGAIN) || time.Now().After(deadline) {
			if err != nil {
				refs, _ := os.ReadFile(filepath.Join("/sys/module", name, "refcnt"))
				return fmt.Errorf("rmmod %s: %w (refcnt %q)", name, err, refs)
			}
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

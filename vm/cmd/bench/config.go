package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// The debugging options the default config carries so that a failure explains itself, in the groups a decision
// would take or leave together; the config loop builds the kernel cold without each group. Debug info and BTF
// are not among them: BTF is what CO-RE and the typed dumps need, and gdb reads the DWARF.
var configGroups = []struct {
	name string
	off  []string
}{
	{"as configured", nil},
	{"without the function tracer", []string{"FUNCTION_GRAPH_TRACER", "DYNAMIC_FTRACE", "FUNCTION_TRACER", "FTRACE"}},
	{"without gdb scripts, kcore, pvpanic, fw_cfg, SysRq, hung-task detector", []string{"GDB_SCRIPTS", "PVPANIC_PCI",
		"PVPANIC", "FW_CFG_SYSFS_CMDLINE", "FW_CFG_SYSFS", "PROC_KCORE", "MAGIC_SYSRQ", "DETECT_HUNG_TASK"}},
}

// configLoop builds the kernel cold, without ccache, once per group, each in a folder of its own, from the
// flavor's .config with the group's options turned off (olddefconfig must not bring one back), with the
// Makefile's goals and job count. It prints each build's time and its difference from the one as configured.
func (c *config) configLoop(label string) error {
	if c.src == "" || c.kconfig == "" {
		return fmt.Errorf("(%s) needs -src and -kconfig", label)
	}
	base, err := os.ReadFile(c.kconfig)
	if err != nil {
		return fmt.Errorf("(%s) the flavor's config: %v (make kernel writes it)", label, err)
	}
	jobs := c.jobs
	if jobs == 0 {
		jobs = runtime.NumCPU()
	}
	var asConfigured float64
	for i, g := range configGroups {
		out, err := filepath.Abs(filepath.Join(c.out, "config", fmt.Sprint(i)))
		if err != nil {
			return err
		}
		if err := os.RemoveAll(out); err != nil {
			return err
		}
		if err := os.MkdirAll(out, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, ".config"), base, 0o644); err != nil {
			return err
		}
		if len(g.off) > 0 {
			args := []string{"--file", filepath.Join(out, ".config")}
			for _, o := range g.off {
				args = append(args, "--disable", o)
			}
			if err := c.kbuild(out, filepath.Join(c.src, "scripts", "config"), args...); err != nil {
				return err
			}
		}
		if err := c.kbuild(out, c.makeCmd, "-s", "-C", c.src, "O="+out, "olddefconfig"); err != nil {
			return err
		}
		cfg, err := os.ReadFile(filepath.Join(out, ".config"))
		if err != nil {
			return err
		}
		for _, o := range g.off {
			if bytes.Contains(cfg, []byte("\nCONFIG_"+o+"=")) {
				return fmt.Errorf("(%s) %s: olddefconfig turned CONFIG_%s back on (something selects it)", label, g.name, o)
			}
		}
		fmt.Printf("bench: (%s) cold kernel %s: building in %s (-j%d, no ccache)\n", label, g.name, out, jobs)
		start := time.Now()
		args := append([]string{"-C", c.src, "O=" + out, "CC=gcc", "HOSTCC=gcc", fmt.Sprintf("-j%d", jobs)}, c.kgoals...)
		if err := c.kbuild(out, c.makeCmd, args...); err != nil {
			return err
		}
		secs := time.Since(start).Seconds()
		line := fmt.Sprintf("bench: (%s) cold kernel %s: %.0f s", label, g.name, secs)
		if i == 0 {
			asConfigured = secs
		} else {
			line += fmt.Sprintf(" (%+.0f s, %+.1f%%)", secs-asConfigured, 100*(secs-asConfigured)/asConfigured)
		}
		if st, err := os.Stat(filepath.Join(out, "vmlinux")); err == nil {
			line += fmt.Sprintf("; vmlinux %.0f MB", float64(st.Size())/1e6)
		}
		fmt.Println(line)
		// Keep the top-level files (the config, the log, vmlinux), not the object folders (most of a cold tree's
		// gigabyte); the source link is not a folder, so its tree is never entered.
		entries, _ := os.ReadDir(out)
		for _, e := range entries {
			if e.IsDir() {
				os.RemoveAll(filepath.Join(out, e.Name()))
			}
		}
	}
	return nil
}

// kbuild runs one command with ccache off and its output appended to the group's build.log.
func (c *config) kbuild(out, name string, args ...string) error {
	log, err := os.OpenFile(filepath.Join(out, "build.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(name, args...)
	cmd.Env = append(developerEnv(), "CCACHE_DISABLE=1", "KBUILD_BUILD_TIMESTAMP=2026-01-01",
		"KBUILD_BUILD_USER=oreore", "KBUILD_BUILD_HOST=oreore", "KBUILD_BUILD_VERSION=1")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v (log: %s)", name, strings.Join(args, " "), err, log.Name())
	}
	return nil
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A kernel tree and make that stand in for kbuild: scripts/config turns an option off in the file, olddefconfig
// turns $SELECTED back on (as a select would), a build writes vmlinux and records its goals and its environment,
// and links the tree as source, as kbuild does in an O= folder.
const fakeConfig = `#!/bin/sh
f=$2; shift 2
while [ $# -gt 0 ]; do sed -i "s/^CONFIG_$2=.*/# CONFIG_$2 is not set/" "$f"; shift 2; done
`

const fakeMake = `#!/bin/sh
prev=
for a; do case $a in O=*) out=${a#O=};; esac; [ "$prev" = -C ] && src=$a; prev=$a; done
case " $* " in
*" olddefconfig "*) [ -n "$SELECTED" ] && echo "CONFIG_$SELECTED=y" >> "$out/.config"; exit 0;;
esac
echo "$* CCACHE_DISABLE=$CCACHE_DISABLE" > "$out/../goals-$(basename "$out")"
echo elf > "$out/vmlinux"
mkdir -p "$out/kernel" && ln -sfn "$src" "$out/source"
`

func fakeKernel(t *testing.T) *config {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(filepath.Join(src, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(path, text string, mode os.FileMode) {
		if err := os.WriteFile(path, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(src, "scripts", "config"), fakeConfig, 0o755)
	write(filepath.Join(dir, "make"), fakeMake, 0o755)
	var all strings.Builder
	all.WriteString("# header\n")
	for _, g := range configGroups {
		for _, o := range g.off {
			all.WriteString("CONFIG_" + o + "=y\n")
		}
	}
	write(filepath.Join(dir, "kconfig"), all.String(), 0o644)
	return &config{makeCmd: filepath.Join(dir, "make"), out: filepath.Join(dir, "out"), src: src,
		kconfig: filepath.Join(dir, "kconfig"), kgoals: []string{"bzImage", "modules"}, jobs: 3}
}

func TestConfigLoopBuildsEachGroupWithoutItsOptions(t *testing.T) {
	c := fakeKernel(t)
	if err := c.configLoop("k"); err != nil {
		t.Fatal(err)
	}
	for i, g := range configGroups {
		goals, err := os.ReadFile(filepath.Join(c.out, "config", "goals-"+string(rune('0'+i))))
		if err != nil {
			t.Fatalf("%s: not built: %v", g.name, err)
		}
		if want := "-j3 bzImage modules CCACHE_DISABLE=1"; !strings.Contains(string(goals), want) {
			t.Errorf("%s: built with %q, want %q in it", g.name, goals, want)
		}
		if _, err := os.Stat(filepath.Join(c.out, "config", string(rune('0'+i)), "kernel")); !os.IsNotExist(err) {
			t.Errorf("%s: the objects' folders are kept (%v)", g.name, err)
		}
		cfg, err := os.ReadFile(filepath.Join(c.out, "config", string(rune('0'+i)), ".config"))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range g.off {
			if !strings.Contains(string(cfg), "# CONFIG_"+o+" is not set") {
				t.Errorf("%s: CONFIG_%s still on", g.name, o)
			}
		}
	}
	// The build folder's source link is removed, never followed (a tree lost that way once).
	if _, err := os.Stat(filepath.Join(c.src, "scripts", "config")); err != nil {
		t.Errorf("the kernel tree was emptied: %v", err)
	}
}

func TestConfigLoopRefusesAnOptionOlddefconfigTurnsBackOn(t *testing.T) {
	c := fakeKernel(t)
	t.Setenv("SELECTED", "FTRACE")
	err := c.configLoop("k")
	if err == nil || !strings.Contains(err.Error(), "turned CONFIG_FTRACE back on") {
		t.Fatalf("configLoop: %v, want an error naming CONFIG_FTRACE", err)
	}
}

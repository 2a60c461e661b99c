package main

import (
	"testing"

	"oreore/vm/bench"
)

// The recipe make --trace prints in every run names the reused verdict too: a boot must not read as "no boot".
func TestVerdictReusedOnlyFromWhatVMTestSaid(t *testing.T) {
	recipe := []bench.Line{
		{Text: `if [ -z "" ] && [ "$key" = "$(cat build/vm-6.1/verdict.key 2>/dev/null)" ]; then \`},
		{Text: "\techo \"vm-test: kernel, initramfs, runner and QEMU are those of the run that passed at $(date): its verdict stands (FRESH=1 boots again)\"; \\"},
		{Text: "verdict: PASS (exit 0)"},
	}
	if verdictReused(recipe) {
		t.Error("a run that booted reads as reused: the recipe's echo was taken for vm-test's words")
	}
	said := append(recipe, bench.Line{Text: "vm-test: kernel, initramfs, runner and QEMU are those of the run that passed at 2026-12-04 04:44:28: its verdict stands (FRESH=1 boots again; its report: build/vm-6.1/report.txt)"})
	if !verdictReused(said) {
		t.Error("vm-test's own line did not read as reused")
	}
}

// A boot whose init never printed is an error, not a 0.00 s boot.
func TestBootWithoutFirstLineIsRejected(t *testing.T) {
	printed := []bench.Line{{Text: "vm: guest ran 3.1s wall, init's first line after 1.25s; console in /b/vm-6.1/console.log"}}
	if got, err := firstInit(printed); err != nil || got != 1.25 {
		t.Errorf("a boot that printed: %v, %v; want 1.25 s", got, err)
	}
	for _, lines := range [][]bench.Line{
		{{Text: "vm: guest ran 3.1s wall, init never printed; console in /b/vm-6.1/console.log"}},
		{{Text: "verdict: VM BROKE (exit 2)"}},
	} {
		if got, err := firstInit(lines); err == nil {
			t.Errorf("%q: read as a boot of %v s", lines[0].Text, got)
		}
	}
}

// The module loop edits the struct_ops example's module on a series that can register it, and narrows the
// second run to its families and its own tests; elsewhere it edits the first type's trigger module.
func TestModuleLoopTarget(t *testing.T) {
	if file, tests := moduleTarget("6.12"); file != "oreore_ops.c" || tests != "TestStructOps/oreore_ops|TestKfuncs/oreore_ops|TestOreoreOps" {
		t.Errorf("6.12: %s, %q", file, tests)
	}
	if file, tests := moduleTarget("6.1"); file != "oreore.c" || tests != "" {
		t.Errorf("6.1: %s, %q", file, tests)
	}
	if s := seriesOf([]string{"FLAVOR=normal", "KVER=6.12"}); s != "6.12" {
		t.Errorf("seriesOf: %s", s)
	}
}

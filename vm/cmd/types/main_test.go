package main

import (
	"strings"
	"testing"

	"oreore/harness/progtype"
)

// A second described type reaches every list the Makefile reads.
func TestEveryTypeReachesTheLists(t *testing.T) {
	foo := &progtype.Type{Name: "foo", Module: "foomod", KernelObjects: []string{"foo.o"}, Selftests: []string{"foo"}, Kconfig: "CONFIG_BPF_FOO",
		GuestTests: []progtype.GuestTest{{Name: "foo", Package: "./harness/foo"}}}
	var b strings.Builder
	write(&b, []*progtype.Type{progtype.Oreore, foo}, nil, nil, nil)
	for _, want := range []string{
		"TYPES := oreore foo\n",
		"TYPE_MODULES := oreore foomod\n",
		"COVER_OBJECTS := oreore.o foo.o syscall.o test_run.o\n",
		"SERIES_SELFTESTS := oreore foo libbpf_str\n",
		"TYPE_CONFIGS := CONFIG_BPF_OREORE CONFIG_BPF_FOO\n",
		"TYPE_TESTS := suite oreorecmd foo\n",
		"GUEST_PKG_oreorecmd := ./harness/cmd/oreore\n",
		"GUEST_PKG_foo := ./harness/foo\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in:\n%s", want, b.String())
		}
	}
}

// A struct_ops type's module is built and booted only on the series whose
// module can register it; on the others vm-test names it as absent.
func TestStructOpsModulesPerSeries(t *testing.T) {
	var b strings.Builder
	write(&b, nil, []*progtype.StructOps{&progtype.OreoreOps}, []string{"6.1", "6.12"}, nil)
	for _, want := range []string{
		"OPS_MODULES_6.1 := \n", "OPS_ABSENT_6.1 := oreore_ops\n",
		"OPS_MODULES_6.12 := oreore_ops\n", "OPS_ABSENT_6.12 := \n",
		"TYPE_TESTS := oreoreops\n", "GUEST_PKG_oreoreops := ./harness/oreoreops\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in:\n%s", want, b.String())
		}
	}
}

// A type that a series does not carry (make new-type found no room there)
// has no module, selftests or option there, and vm-test names it.
func TestTypesPerSeries(t *testing.T) {
	foo := &progtype.Type{Name: "foo", Module: "foomod", Selftests: []string{"foo"}}
	carries := func(typ *progtype.Type, s string) bool { return typ != foo || s == "6.1" }
	var b strings.Builder
	write(&b, []*progtype.Type{progtype.Oreore, foo}, nil, []string{"6.1", "7.3"}, carries)
	for _, want := range []string{
		"TYPE_MODULES_6.1 := oreore foomod\n", "SERIES_SELFTESTS_6.1 := oreore foo libbpf_str\n", "TYPE_ABSENT_6.1 := \n",
		"TYPE_MODULES_7.3 := oreore\n", "SERIES_SELFTESTS_7.3 := oreore libbpf_str\n", "TYPE_ABSENT_7.3 := foo\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in:\n%s", want, b.String())
		}
	}
}

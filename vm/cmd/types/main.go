// Command types writes what the Makefile needs to know about the described
// program types (harness/progtype), as make variables, so that the build
// learns about types from the descriptors and not from hand-kept lines:
//
//	TYPES             the types' names
//	TYPE_MODULES      their trigger modules (kmod/NAME.c)
//	COVER_OBJECTS     the kernel objects vm-cover profiles: the types' own,
//	                  and the shared files the series change (syscall.o,
//	                  test_run.o), where vm-cover counts only their hunks
//	SERIES_SELFTESTS  the kernel selftests the series add, and libbpf_str,
//	                  which checks libbpf's names against the kernel's enums
//	TYPE_CONFIGS      the types' Kconfig options, which the base tree lacks
//	TYPE_TESTS        the test binaries of the types' own behaviour (and of
//	                  the struct_ops types' modules), and
//	                  for each one GUEST_PKG_<name>, the package it is
//	                  built from
//	OPS_MODULES_<s>   the modules that register the described struct_ops
//	                  types on series s (a module can from Linux 6.9 on)
//	OPS_ABSENT_<s>    the struct_ops types series s cannot have, which
//	                  vm-test names
//	TYPE_MODULES_<s>, SERIES_SELFTESTS_<s>
//	                  the same lists for the types series s carries (make
//	                  new-type stacks a type only where there is room), and
//	TYPE_ABSENT_<s>   the types it does not carry, which vm-test names
//
// The Makefile includes its output (build/types.mk), which make rebuilds
// when a descriptor changes.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"oreore/harness/progtype"
)

// sharedObjects are the kernel's own files that every type's series
// changes: vm-cover profiles them and counts only the series' hunks.
var sharedObjects = []string{"syscall.o", "test_run.o"}

// sharedSelftests are the kernel selftests that concern every type.
var sharedSelftests = []string{"libbpf_str"}

func write(w io.Writer, types []*progtype.Type, ops []*progtype.StructOps, series []string, carries func(t *progtype.Type, series string) bool) {
	var names, modules, objects, selftests, configs, tests, pkgs []string
	for _, t := range types {
		names = append(names, t.Name)
		modules = append(modules, t.Module)
		objects = append(objects, t.KernelObjects...)
		selftests = append(selftests, t.Selftests...)
		configs = append(configs, t.Kconfig)
		for _, g := range t.GuestTests {
			tests = append(tests, g.Name)
			pkgs = append(pkgs, fmt.Sprintf("GUEST_PKG_%s := %s\n", g.Name, g.Package))
		}
	}
	for _, o := range ops {
		for _, g := range o.GuestTests {
			tests = append(tests, g.Name)
			pkgs = append(pkgs, fmt.Sprintf("GUEST_PKG_%s := %s\n", g.Name, g.Package))
		}
	}
	fmt.Fprintln(w, "# Written by vm/cmd/types from harness/progtype; do not edit.")
	fmt.Fprintf(w, "TYPES := %s\n", strings.Join(names, " "))
	fmt.Fprintf(w, "TYPE_MODULES := %s\n", strings.Join(modules, " "))
	fmt.Fprintf(w, "COVER_OBJECTS := %s\n", strings.Join(append(objects, sharedObjects...), " "))
	fmt.Fprintf(w, "SERIES_SELFTESTS := %s\n", strings.Join(append(selftests, sharedSelftests...), " "))
	fmt.Fprintf(w, "TYPE_CONFIGS := %s\n", strings.Join(configs, " "))
	fmt.Fprintf(w, "TYPE_TESTS := %s\n", strings.Join(tests, " "))
	fmt.Fprint(w, strings.Join(pkgs, ""))
	for _, s := range series {
		var modules, absent []string
		for _, o := range ops {
			if o.Available(s) {
				modules = append(modules, o.Module)
			} else {
				absent = append(absent, o.Name)
			}
		}
		fmt.Fprintf(w, "OPS_MODULES_%s := %s\n", s, strings.Join(modules, " "))
		fmt.Fprintf(w, "OPS_ABSENT_%s := %s\n", s, strings.Join(absent, " "))
		var typeModules, selftests, typeAbsent []string
		for _, t := range types {
			if carries(t, s) {
				typeModules = append(typeModules, t.Module)
				selftests = append(selftests, t.Selftests...)
			} else {
				typeAbsent = append(typeAbsent, t.Name)
			}
		}
		fmt.Fprintf(w, "TYPE_MODULES_%s := %s\n", s, strings.Join(typeModules, " "))
		fmt.Fprintf(w, "SERIES_SELFTESTS_%s := %s\n", s, strings.Join(append(selftests, sharedSelftests...), " "))
		fmt.Fprintf(w, "TYPE_ABSENT_%s := %s\n", s, strings.Join(typeAbsent, " "))
	}
}

func main() {
	if len(os.Args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: types > build/types.mk")
		os.Exit(2)
	}
	write(os.Stdout, progtype.All, progtype.AllStructOps, progtype.Series(), (*progtype.Type).InSeries)
}

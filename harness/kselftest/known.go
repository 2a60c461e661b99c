package kselftest

import (
	"embed"
	"fmt"
	"runtime"
	"sort"
	"strings"
)

// The lists, one per series, flavor and machine: known/SERIES-FLAVOR.txt on
// x86_64, known/SERIES-FLAVOR-MACHINE.txt on the others (arm64, s390x), each
// measured on that machine's base kernel.
//
//go:embed known/*.txt
var knownFiles embed.FS

// KnownFile is the list's name for a series ("6.1"), flavor ("normal") and
// machine ("x86_64").
func KnownFile(series, flavor, machine string) string {
	if machine == "x86_64" {
		return "known/" + series + "-" + flavor + ".txt"
	}
	return "known/" + series + "-" + flavor + "-" + machine + ".txt"
}

// KnownFor returns the list of a series, flavor and machine.
func KnownFor(series, flavor, machine string) (Known, error) {
	name := KnownFile(series, flavor, machine)
	b, err := knownFiles.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("no known-failures list for %s %s on %s: %w", series, flavor, machine, err)
	}
	k, err := ParseKnown(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return k, nil
}

// Machine is the running machine's name as the lists and make's ARCH say it.
func Machine() string {
	if runtime.GOARCH == "amd64" {
		return "x86_64"
	}
	return runtime.GOARCH
}

// Format writes a list as ParseKnown reads it: the header as # comments,
// then one entry per line, sorted by binary and test.
func (k Known) Format(header []string) string {
	var b strings.Builder
	for _, h := range header {
		b.WriteString(strings.TrimRight("# "+h, " ") + "\n")
	}
	binaries := make([]string, 0, len(k))
	for bin := range k {
		binaries = append(binaries, bin)
	}
	sort.Strings(binaries)
	for _, bin := range binaries {
		tests := make([]string, 0, len(k[bin]))
		for test := range k[bin] {
			tests = append(tests, test)
		}
		sort.Strings(tests)
		for _, test := range tests {
			fmt.Fprintf(&b, "%s\t%s\t%s\n", bin, test, k[bin][test])
		}
	}
	return b.String()
}

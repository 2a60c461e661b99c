package kselftest

import (
	"embed"
	"fmt"
	"sort"
	"strings"
)

// The lists, one per series and flavor: known/SERIES-FLAVOR.txt.
//
//go:embed known/*.txt
var knownFiles embed.FS

// KnownFor returns the list of a series ("6.1") and flavor ("normal").
func KnownFor(series, flavor string) (Known, error) {
	b, err := knownFiles.ReadFile("known/" + series + "-" + flavor + ".txt")
	if err != nil {
		return nil, fmt.Errorf("no known-failures list for %s %s: %w", series, flavor, err)
	}
	k, err := ParseKnown(string(b))
	if err != nil {
		return nil, fmt.Errorf("known/%s-%s.txt: %w", series, flavor, err)
	}
	return k, nil
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

package kselftest

import (
	"embed"
	"fmt"
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

package main

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	wanted, final := map[string]string{}, map[string]string{}
	var order []string
	fragments := []string{
		// the common fragment, then debug's, then fuzz's
		"CONFIG_BPF=y\nCONFIG_NR_CPUS=2\n# CONFIG_VT is not set\n",
		"CONFIG_KASAN=y\nCONFIG_DEBUG_KOBJECT_RELEASE=y\n# a comment\n",
		"# CONFIG_DEBUG_KOBJECT_RELEASE is not set\nCONFIG_OREORE=y\n",
	}
	for _, f := range fragments {
		if err := settings(strings.NewReader(f), wanted, &order); err != nil {
			t.Fatal(err)
		}
	}
	if err := settings(strings.NewReader("CONFIG_BPF=y\nCONFIG_NR_CPUS=8\nCONFIG_VT=y\nCONFIG_KASAN=y\n"+
		"# CONFIG_DEBUG_KOBJECT_RELEASE is not set\nCONFIG_EXTRA=y\n"), final, nil); err != nil {
		t.Fatal(err)
	}
	dropped, unwanted := check(wanted, order, final, map[string]bool{"CONFIG_OREORE": true})
	// NR_CPUS has another value; OREORE is skipped (the base tree lacks it);
	// DEBUG_KOBJECT_RELEASE is off, as the last fragment says; VT is on.
	if got := strings.Join(dropped, ","); got != "CONFIG_NR_CPUS=2" {
		t.Errorf("dropped: %q", got)
	}
	if got := strings.Join(unwanted, ","); got != "CONFIG_VT=y (a fragment says it is not set)" {
		t.Errorf("unwanted: %q", got)
	}
	dropped, _ = check(wanted, order, final, nil)
	if got := strings.Join(dropped, ","); got != "CONFIG_NR_CPUS=2,CONFIG_OREORE=y" {
		t.Errorf("without -skip, dropped: %q", got)
	}
}

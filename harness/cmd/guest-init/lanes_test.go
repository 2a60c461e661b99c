package main

import (
	"reflect"
	"testing"
)

// The alone lane never runs beside another: it is kept out of the lanes
// that start together.
func TestPlanLanesKeepsTheAloneLaneApart(t *testing.T) {
	lanes, alone := planLanes([]string{
		"/tests/alone/jitdiff.test",
		"/tests/other/bpf.test",
		"/tests/other/xdp.test",
		"/tests/slot/suite.test",
	})
	wantLanes := map[string][]string{
		"other": {"/tests/other/bpf.test", "/tests/other/xdp.test"},
		"slot":  {"/tests/slot/suite.test"},
	}
	if !reflect.DeepEqual(lanes, wantLanes) {
		t.Errorf("lanes = %v, want %v", lanes, wantLanes)
	}
	if want := []string{"/tests/alone/jitdiff.test"}; !reflect.DeepEqual(alone, want) {
		t.Errorf("alone = %v, want %v", alone, want)
	}
}

package kselftest

import (
	"testing"
	"time"
)

// A second binary waits for the selftests' modules until the first lets
// them go.
func TestModulesLockTakesTurns(t *testing.T) {
	unlock := lockModules(t)
	got := make(chan func())
	go func() { got <- lockModules(t) }()
	select {
	case <-got:
		t.Fatal("the modules were taken twice at once")
	case <-time.After(300 * time.Millisecond):
	}
	unlock()
	select {
	case second := <-got:
		second()
	case <-time.After(5 * time.Second):
		t.Fatal("the modules were not free after the first let them go")
	}
}

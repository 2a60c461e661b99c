package main

import (
	"testing"
	"time"
)

func TestWatchdogNamesTheOverdueTest(t *testing.T) {
	clock := time.Unix(1000, 0)
	w := newWatchdog(10*time.Second, nil, nil)
	w.now = func() time.Time { return clock }
	at := func(secs int, lines string) {
		clock = time.Unix(1000+int64(secs), 0)
		w.lines([]byte(lines))
	}
	w.started("suite")
	at(0, `{"Action":"start","Package":"suite"}`+"\n")
	at(1, `{"Action":"run","Package":"suite","Test":"TestLong"}`+"\n"+`{"Action":"run","Package":"suite","Test":"TestLong/a"}`+"\n")
	at(9, `{"Action":"pass","Package":"suite","Test":"TestLong/a"}`+"\n"+`{"Action":"run","Package":"suite","Test":"TestLong/b"}`+"\n")
	clock = time.Unix(1015, 0)
	if _, _, ok := w.overdue(); ok {
		t.Fatal("TestLong has run 14 s, but its subtest b only 6 s: nothing is overdue")
	}
	at(15, `{"Action":"output","Package":"suite","Test":"TestLong/b","Output":"still here\n"}`+"\n")
	clock = time.Unix(1020, 0)
	got, ran, ok := w.overdue()
	if !ok || got.Name() != "suite.TestLong/b" || ran != 11*time.Second {
		t.Fatalf("overdue: %q after %v (%v), want suite.TestLong/b after 11s", got.Name(), ran, ok)
	}

	// A binary hanging outside any test is named by its package.
	w.ended("suite")
	w.started("object")
	clock = time.Unix(1031, 0)
	if got, _, ok := w.overdue(); !ok || got.Name() != "object" || got.Test != "" {
		t.Fatalf("overdue: %+v (%v), want the object binary outside any test", got, ok)
	}
}

func TestNilWatchdogIsOff(t *testing.T) {
	var w *watchdog
	w.started("suite")
	w.lines([]byte(`{"Action":"run","Package":"suite","Test":"TestA"}` + "\n"))
	w.ended("suite")
}

package main

import (
	"strings"
	"testing"

	"oreore/vm/verdict"
)

func TestReportIsShownToItsEndWithTheTail(t *testing.T) {
	var console []string
	for i := 0; i < 100; i++ {
		console = append(console, "[ 1.0] line")
	}
	console[10] = "[ 4.4] BUG: kernel NULL pointer dereference, address: 0000000000000008"
	console[70] = "[ 4.6] ---[ end trace 0000000000000000 ]---"
	console[99] = "[ 9.0] the last line"
	var out strings.Builder
	printConsole(&out, strings.Join(console, "\n")+"\n", verdict.FindSplats(strings.Join(console, "\n")), "console.log", true)
	got := out.String()
	for _, want := range []string{"kernel report at console.log:11", "end trace", "last lines of console.log", "the last line"} {
		if !strings.Contains(got, want) {
			t.Errorf("the output lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n"); n != 1+63+1+29 {
		t.Errorf("%d lines printed, want the report (lines 9-71) and the tail (72-100), each with its heading, without repeats:\n%s", n, got)
	}
}

func TestIsWatchdog(t *testing.T) {
	for line, want := range map[string]bool{
		`{"Guest":"watchdog","Msg":"suite.TestA has run for 5s","Package":"suite","Test":"TestA"}`: true,
		`{"Guest":"done","Exit":2}`: false,
		`{"Action":"output","Package":"suite","Test":"TestA","Output":"watchdog\n"}`: false,
		`not json`: false,
	} {
		if isWatchdog(line) != want {
			t.Errorf("isWatchdog(%s) = %v", line, !want)
		}
	}
}

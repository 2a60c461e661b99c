package guest

import (
	"bufio"
	"encoding/json"
	"io"
	"strings"
	"time"
)

// TestEvent is one `go test -json` event (cmd/test2json's TestEvent).
type TestEvent struct {
	Time    time.Time `json:",omitempty"`
	Action  string
	Package string  `json:",omitempty"`
	Test    string  `json:",omitempty"`
	Elapsed float64 `json:",omitempty"`
	Output  string  `json:",omitempty"`
}

// Guest records what the init itself did.
type Guest struct {
	Guest string // "step", "error", "watchdog", "trace" or "done"
	Msg   string `json:",omitempty"`
	// Exit is the init's verdict on "done": 0 when every suite passed.
	Exit int `json:",omitempty"`
	// Package and Test name the test a "watchdog" or "trace" record is about; Test is
	// empty when the binary hung outside any test (TestMain, init).
	Package string `json:",omitempty"`
	Test    string `json:",omitempty"`
	// Text is a piece of a failing test's trace, on "trace" (trace.go).
	Text string `json:",omitempty"`
}

// Watchdog is the Guest value of the record the init sends when a test has
// run longer than its limit, before it dumps the guest's stacks.
const Watchdog = "watchdog"

// Stream is what the host reads back.
type Stream struct {
	Events []TestEvent
	Guest  []Guest
	// Garbage holds lines that are neither; a healthy run has none.
	Garbage []string
}

// Done returns the init's final record, if the guest got that far.
func (s *Stream) Done() (Guest, bool) {
	for _, g := range s.Guest {
		if g.Guest == "done" {
			return g, true
		}
	}
	return Guest{}, false
}

// Parse splits the port's output into test events and init records.
func Parse(r io.Reader) (*Stream, error) {
	s := &Stream{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			continue
		}
		var probe struct{ Guest *string }
		if json.Unmarshal([]byte(line), &probe) != nil {
			s.Garbage = append(s.Garbage, line)
			continue
		}
		if probe.Guest != nil {
			var g Guest
			json.Unmarshal([]byte(line), &g)
			s.Guest = append(s.Guest, g)
			continue
		}
		var ev TestEvent
		json.Unmarshal([]byte(line), &ev)
		s.Events = append(s.Events, ev)
	}
	return s, sc.Err()
}

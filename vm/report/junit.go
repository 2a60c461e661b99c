// Package report writes a run's test events for other tools: JUnit XML,
// which CI systems read.
package report

import (
	"encoding/xml"
	"io"
	"sort"
	"strings"

	"oreore/harness/guest"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     float64     `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      float64       `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// WriteJUnit writes one testsuite per package and one testcase per test
// that finished, subtests included, with a failed test's output.
func WriteJUnit(w io.Writer, events []guest.TestEvent) error {
	output := map[string]*strings.Builder{}
	suites := map[string]*junitSuite{}
	for _, ev := range events {
		if ev.Test == "" {
			continue
		}
		key := ev.Package + "." + ev.Test
		s := suites[ev.Package]
		if s == nil {
			s = &junitSuite{Name: ev.Package}
			suites[ev.Package] = s
		}
		switch ev.Action {
		case "output":
			if output[key] == nil {
				output[key] = &strings.Builder{}
			}
			output[key].WriteString(ev.Output)
		case "pass", "fail", "skip":
			c := junitCase{Name: ev.Test, Classname: ev.Package, Time: ev.Elapsed}
			body := ""
			if out := output[key]; out != nil {
				body = out.String()
			}
			switch ev.Action {
			case "fail":
				c.Failure = &junitMessage{Message: "failed", Body: body}
				s.Failures++
			case "skip":
				c.Skipped = &junitMessage{Message: "skipped", Body: body}
				s.Skipped++
			}
			s.Tests++
			s.Time += ev.Elapsed
			s.Cases = append(s.Cases, c)
		}
	}
	var all junitSuites
	names := make([]string, 0, len(suites))
	for n := range suites {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := suites[n]
		all.Tests += s.Tests
		all.Failures += s.Failures
		all.Skipped += s.Skipped
		all.Suites = append(all.Suites, *s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

package report

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"oreore/harness/guest"
)

func TestJUnitCarriesFailuresAndTheirOutput(t *testing.T) {
	events := []guest.TestEvent{
		{Action: "run", Package: "suite", Test: "TestA"},
		{Action: "pass", Package: "suite", Test: "TestA", Elapsed: 0.5},
		{Action: "output", Package: "suite", Test: "TestB", Output: "b_test.go:9: ENOENT, want EINVAL\n"},
		{Action: "fail", Package: "suite", Test: "TestB", Elapsed: 0.25},
		{Action: "skip", Package: "other", Test: "TestC"},
	}
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, events); err != nil {
		t.Fatal(err)
	}
	var got junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("not XML: %v\n%s", err, buf.String())
	}
	if got.Tests != 3 || got.Failures != 1 || got.Skipped != 1 || len(got.Suites) != 2 {
		t.Fatalf("totals %d tests %d failures %d skipped in %d suites, want 3/1/1 in 2", got.Tests, got.Failures, got.Skipped, len(got.Suites))
	}
	suite := got.Suites[1]
	if suite.Name != "suite" || suite.Cases[1].Failure == nil || !strings.Contains(suite.Cases[1].Failure.Body, "want EINVAL") {
		t.Errorf("TestB's failure and output are missing: %+v", suite)
	}
}

package kselftest

import (
	"os"
	"strings"
	"testing"
)

func TestParseTestVerifier(t *testing.T) {
	out, err := os.ReadFile("testdata/test_verifier-6.1.txt")
	if err != nil {
		t.Fatal(err)
	}
	results := ParseTestVerifier(string(out))
	count := map[Status]int{}
	byName := map[string]Result{}
	for _, r := range results {
		count[r.Status]++
		byName[r.Name] = r
	}
	if count[Pass] != 13 || count[Fail] != 7 || count[Skip] != 3 {
		t.Errorf("counts %v, want 13 OK, 7 FAIL, 3 SKIP", count)
	}
	if r := byName["p: oreore: read the u32 context"]; r.Status != Pass {
		t.Errorf("a test that ran 2 cases: %+v", r)
	}
	r := byName["p: reference tracking: acquire/release user key reference"]
	if r.Status != Fail || !strings.Contains(r.Log, "Failed to find BTF ID for 'bpf'!") {
		t.Errorf("a failure and its log: %+v", r)
	}
	if r := byName["u: invalid range check"]; r.Status != Skip {
		t.Errorf("an unprivileged skip: %+v", r)
	}
}

func TestParseTestProgs(t *testing.T) {
	out, err := os.ReadFile("testdata/test_progs-6.1.txt")
	if err != nil {
		t.Fatal(err)
	}
	results := ParseTestProgs(string(out))
	want := []struct {
		name   string
		status Status
		log    string
	}{
		{"libbpf_str/bpf_attach_type_str", Pass, ""},
		{"libbpf_str/bpf_link_type_str", Pass, ""},
		{"libbpf_str/bpf_map_type_str", Pass, ""},
		{"libbpf_str/bpf_prog_type_str", Pass, ""},
		{"libbpf_str", Pass, ""},
		{"oreore/load", Pass, ""},
		{"oreore/load_without_attach_type", Pass, ""},
		{"oreore/test_run", Fail, "actual 43 != expected 42"},
		{"oreore/prog_attach", Pass, ""},
		{"oreore/link", Skip, ""},
		{"oreore", Fail, ""},
	}
	if len(results) != len(want) {
		t.Fatalf("%d results, want %d: %+v", len(results), len(want), results)
	}
	for i, w := range want {
		r := results[i]
		if r.Name != w.name || r.Status != w.status || !strings.Contains(r.Log, w.log) {
			t.Errorf("result %d: %+v, want %s %s with %q in the log", i, r, w.name, w.status, w.log)
		}
	}
}

func TestParseKnown(t *testing.T) {
	k, err := ParseKnown("# comment\n\ntest_verifier\tp: a test\tneeds CONFIG_X\ntest_progs\tfoo/bar\tno bpf_testmod.ko\n")
	if err != nil {
		t.Fatal(err)
	}
	if k.Reason("test_verifier", "p: a test") != "needs CONFIG_X" || k.Reason("test_progs", "foo/bar") == "" || k.Reason("test_progs", "p: a test") != "" {
		t.Errorf("parsed %v", k)
	}
	for _, bad := range []string{
		"test_verifier\tp: a test\n",             // no reason
		"test_verifier\tp: a test\t \n",          // blank reason
		"test_maps\tx\ty\n",                      // unknown binary
		"test_progs\tx\ty\ntest_progs\tx\tz\n",   // listed twice
		"test_progs x reason with spaces only\n", // not tab-separated
		"test_progs\t\treason\n",                 // no test
	} {
		if _, err := ParseKnown(bad); err == nil {
			t.Errorf("ParseKnown(%q) accepted it", bad)
		}
	}
}

// Every list in the repo parses, and there is one per series and flavor on
// x86_64, and 6.12's normal flavor's on arm64 and s390x.
func TestKnownListsParse(t *testing.T) {
	type list struct{ series, flavor, machine string }
	want := []list{{"6.12", "normal", "arm64"}, {"6.12", "normal", "s390x"}}
	for _, series := range []string{"6.1", "6.12", "7.3"} {
		for _, flavor := range []string{"normal", "debug"} {
			want = append(want, list{series, flavor, "x86_64"})
		}
	}
	for _, l := range want {
		if _, err := KnownFor(l.series, l.flavor, l.machine); err != nil {
			t.Error(err)
		}
	}
	entries, err := knownFiles.ReadDir("known")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, _ := knownFiles.ReadFile("known/" + e.Name())
		if _, err := ParseKnown(string(b)); err != nil {
			t.Errorf("%s: %v", e.Name(), err)
		}
	}
}

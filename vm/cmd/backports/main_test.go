package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTools puts apt-get, apt-cache and dpkg-deb on PATH: each logs its
// arguments; apt-cache knows linux-source-7.3 only; apt-get download leaves a
// .deb; dpkg-deb -x makes the tarball's folder, and, as the real one, not
// the folder's parents.
func fakeTools(t *testing.T) (logFile string) {
	t.Helper()
	bin := t.TempDir()
	logFile = filepath.Join(t.TempDir(), "calls")
	scripts := map[string]string{
		"apt-get": `echo "apt-get $*" >> ` + logFile + `
case " $* " in *" download "*) for a; do v=$a; done; touch "${v%%=*}_${v#*=}_all.deb";; esac`,
		"apt-cache": `echo "apt-cache $*" >> ` + logFile + `
for a; do p=$a; done
if [ "$p" = linux-source-7.3 ]; then printf '%s:\n  Installed: (none)\n  Candidate: 7.3.4-1~bpo13+1\n' "$p"
else printf '%s:\n  Installed: (none)\n  Candidate: (none)\n' "$p"; fi`,
		"dpkg-deb": `echo "dpkg-deb $*" >> ` + logFile + `
mkdir "$3" && mkdir -p "$3/usr/src" && touch "$3/usr/src/linux-source-7.3.tar.xz"`,
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	return logFile
}

func newFetcher(t *testing.T) fetcher {
	dir := t.TempDir()
	devnull, _ := os.Open(os.DevNull)
	t.Cleanup(func() { devnull.Close() })
	return fetcher{suite: "trixie-backports", mirror: "http://deb.debian.org/debian", keyring: "/k.gpg",
		state: filepath.Join(dir, "apt"), into: filepath.Join(dir, "debs"), log: devnull}
}

func TestFetchUsesItsOwnAptStateAndExtracts(t *testing.T) {
	calls := fakeTools(t)
	f := newFetcher(t)
	if err := f.fetch([]string{"linux-source-7.3"}); err != nil {
		t.Fatal(err)
	}
	src, _ := os.ReadFile(filepath.Join(f.state, "sources.list"))
	if string(src) != "deb [signed-by=/k.gpg] http://deb.debian.org/debian trixie-backports main\n" {
		t.Errorf("sources.list = %q", src)
	}
	if _, err := os.Stat(filepath.Join(f.into, "linux-source-7.3/usr/src/linux-source-7.3.tar.xz")); err != nil {
		t.Errorf("the tarball is not extracted: %v", err)
	}
	if v, _ := os.ReadFile(filepath.Join(f.into, "linux-source-7.3.version")); string(v) != "7.3.4-1~bpo13+1\n" {
		t.Errorf("version stamp = %q", v)
	}
	log, _ := os.ReadFile(calls)
	abs, _ := filepath.Abs(f.state)
	for _, line := range strings.Split(strings.TrimSpace(string(log)), "\n") {
		if !strings.HasPrefix(line, "apt") {
			continue
		}
		// Every apt call reads this fetcher's sources and state, never the host's.
		for _, want := range []string{"Dir::Etc::SourceList=" + abs + "/sources.list", "Dir::Etc::SourceParts=" + abs,
			"Dir::State::Lists=" + abs, "Dir::State::status=" + abs, "Dir::Cache=" + abs} {
			if !strings.Contains(line, want) {
				t.Errorf("%q lacks %s", line, want)
			}
		}
		if strings.Contains(line, "/etc/apt") {
			t.Errorf("%q names the host's /etc/apt", line)
		}
	}
	if !strings.Contains(string(log), "download linux-source-7.3=7.3.4-1~bpo13+1") {
		t.Errorf("no download of the candidate:\n%s", log)
	}
}

func TestFetchKeepsAnExtractedVersion(t *testing.T) {
	calls := fakeTools(t)
	f := newFetcher(t)
	for range 2 {
		if err := f.fetch([]string{"linux-source-7.3"}); err != nil {
			t.Fatal(err)
		}
	}
	log, _ := os.ReadFile(calls)
	if n := strings.Count(string(log), " download "); n != 1 {
		t.Errorf("%d downloads for two runs with the same candidate, want 1:\n%s", n, log)
	}
}

func TestFetchNamesTheSuiteOfAMissingPackage(t *testing.T) {
	fakeTools(t)
	f := newFetcher(t)
	err := f.fetch([]string{"linux-source-9.9"})
	if err == nil || !strings.Contains(err.Error(), "linux-source-9.9 is not in trixie-backports") {
		t.Fatalf("err = %v", err)
	}
}

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
elif [ "$p" = libelf-dev ] || [ "$p" = zlib1g-dev ]; then printf '%s:\n  Installed: (none)\n  Candidate: 1.0-1\n' "$p"
else printf '%s:\n  Installed: (none)\n  Candidate: (none)\n' "$p"; fi`,
		"dpkg-deb": `echo "dpkg-deb $*" >> ` + logFile + `
{ [ -d "$3" ] || mkdir "$3"; } && mkdir -p "$3/usr/src" && touch "$3/usr/src/${2##*/}.extracted"`,
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
	if _, err := os.Stat(filepath.Join(f.into, "linux-source-7.3/usr/src/linux-source-7.3_7.3.4-1~bpo13+1_all.deb.extracted")); err != nil {
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

// With -arch, apt is told the architecture (the host's dpkg is not asked) and
// every package is extracted into the one sysroot.
func TestFetchAnArchitecturesPackagesIntoASysroot(t *testing.T) {
	calls := fakeTools(t)
	f := newFetcher(t)
	f.suite, f.arch, f.sysroot = "bookworm", "s390x", filepath.Join(t.TempDir(), "sysroot-s390x")
	if err := f.fetch([]string{"libelf-dev", "zlib1g-dev"}); err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"libelf-dev", "zlib1g-dev"} {
		if _, err := os.Stat(filepath.Join(f.sysroot, "usr/src", pkg+"_1.0-1_all.deb.extracted")); err != nil {
			t.Errorf("%s is not extracted into the sysroot: %v", pkg, err)
		}
		if v, _ := os.ReadFile(filepath.Join(f.sysroot, ".debs", pkg+".version")); string(v) != "1.0-1\n" {
			t.Errorf("%s's version stamp = %q", pkg, v)
		}
	}
	if _, err := os.Stat(filepath.Join(f.into, "libelf-dev")); err == nil {
		t.Errorf("libelf-dev was extracted into %s too", f.into)
	}
	log, _ := os.ReadFile(calls)
	for _, line := range strings.Split(strings.TrimSpace(string(log)), "\n") {
		if strings.HasPrefix(line, "apt") && !strings.Contains(line, "APT::Architecture=s390x -o APT::Architectures::=s390x") {
			t.Errorf("%q does not name the architecture", line)
		}
	}
}

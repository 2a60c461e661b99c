// Command backports fetches Debian packages from a suite the host does not
// use (trixie-backports: linux-source-7.3) and extracts them under a folder
// of the build, without touching the host's apt sources or package state:
// apt-get runs with a sources list, lists and cache of its own (under -state),
// downloads the .deb, and dpkg-deb extracts it; nothing is installed.
//
//	backports -suite trixie-backports -state build/apt -into build/debs linux-source-7.3
//
// Each package lands in INTO/NAME (its /usr/src/... below that), with
// INTO/NAME.version naming what is there; a package whose version is already
// extracted is left alone, so a second make deps costs one apt-get update.
//
// With -arch, the packages are another architecture's, all extracted into one
// folder, -sysroot: the libraries a cross-built static binary links with
// (libelf, zlib and libzstd for the kernel's selftests on arm64 or s390x).
// apt is told the architecture itself, so the host's dpkg needs no foreign
// architecture added.
//
//	backports -suite bookworm -arch arm64 -state build/apt-arm64 -sysroot build/sysroot-arm64 libelf-dev zlib1g-dev
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	suite := flag.String("suite", "trixie-backports", "the Debian suite to fetch from")
	mirror := flag.String("mirror", "http://deb.debian.org/debian", "the Debian mirror")
	keyring := flag.String("keyring", "/usr/share/keyrings/debian-archive-keyring.gpg", "the keyring the suite is signed with")
	state := flag.String("state", "build/apt", "apt's own sources list, lists and cache")
	into := flag.String("into", "build/debs", "where each package is extracted (INTO/NAME)")
	arch := flag.String("arch", "", "fetch this Debian architecture's packages (arm64, s390x) into -sysroot")
	sysroot := flag.String("sysroot", "", "with -arch: the one folder every package is extracted into")
	flag.Parse()
	if (*arch == "") != (*sysroot == "") {
		fmt.Fprintln(os.Stderr, "backports: -arch and -sysroot go together")
		os.Exit(2)
	}
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: backports [-suite S] [-state DIR] [-into DIR] PACKAGE...")
		os.Exit(2)
	}
	f := fetcher{suite: *suite, mirror: *mirror, keyring: *keyring, state: *state, into: *into, arch: *arch,
		sysroot: *sysroot, log: os.Stdout}
	if err := f.fetch(flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "backports:", err)
		os.Exit(1)
	}
}

type fetcher struct {
	suite, mirror, keyring string
	state, into            string
	arch, sysroot          string
	log                    *os.File
}

// aptOptions point every path apt reads or writes at the fetcher's own state:
// the host's sources.list(.d), preferences and dpkg status are not consulted.
func (f fetcher) aptOptions() []string {
	abs, _ := filepath.Abs(f.state)
	var arch []string
	if f.arch != "" {
		// Native and only architecture for these calls: no dpkg is asked which ones the host has.
		arch = []string{"-o", "APT::Architecture=" + f.arch, "-o", "APT::Architectures::=" + f.arch}
	}
	return append(arch,
		"-o", "Dir::Etc::SourceList="+filepath.Join(abs, "sources.list"),
		"-o", "Dir::Etc::SourceParts="+filepath.Join(abs, "sources.list.d"),
		"-o", "Dir::Etc::Preferences="+filepath.Join(abs, "preferences"),
		"-o", "Dir::Etc::PreferencesParts="+filepath.Join(abs, "preferences.d"),
		"-o", "Dir::State::Lists="+filepath.Join(abs, "lists"),
		"-o", "Dir::State::status="+filepath.Join(abs, "status"),
		"-o", "Dir::Cache="+filepath.Join(abs, "cache"),
		"-o", "APT::Sandbox::User=root",
		"-q",
	)
}

// sourcesList is the one line apt reads: the suite's main component.
func (f fetcher) sourcesList() string {
	return fmt.Sprintf("deb [signed-by=%s] %s %s main\n", f.keyring, f.mirror, f.suite)
}

func (f fetcher) prepare() error {
	for _, d := range []string{"sources.list.d", "preferences.d", "lists/partial", "cache/archives/partial", "archives"} {
		if err := os.MkdirAll(filepath.Join(f.state, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(f.state, "status"), nil, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(f.state, "sources.list"), []byte(f.sourcesList()), 0o644)
}

func (f fetcher) apt(dir string, args ...string) (string, error) {
	cmd := exec.Command(args[0], append(f.aptOptions(), args[1:]...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

func (f fetcher) fetch(pkgs []string) error {
	if err := f.prepare(); err != nil {
		return err
	}
	if _, err := f.apt(".", "apt-get", "update"); err != nil {
		return fmt.Errorf("reading %s from %s: %w", f.suite, f.mirror, err)
	}
	for _, pkg := range pkgs {
		if err := f.fetchOne(pkg); err != nil {
			return err
		}
	}
	return nil
}

func (f fetcher) fetchOne(pkg string) error {
	out, err := f.apt(".", "apt-cache", "policy", pkg)
	if err != nil {
		return err
	}
	version := candidate(out)
	if version == "" {
		return fmt.Errorf("%s is not in %s (apt-cache policy says:\n%s)", pkg, f.suite, strings.TrimSpace(out))
	}
	dest := filepath.Join(f.into, pkg)
	stamp := dest + ".version"
	if f.sysroot != "" {
		dest = f.sysroot
		stamp = filepath.Join(f.sysroot, ".debs", pkg+".version")
	}
	if have, err := os.ReadFile(stamp); err == nil && strings.TrimSpace(string(have)) == version {
		fmt.Fprintf(f.log, "backports: %s %s%s from %s is in %s\n", pkg, version, f.archSuffix(), f.suite, dest)
		return nil
	}
	archives := filepath.Join(f.state, "archives")
	if _, err := f.apt(archives, "apt-get", "download", pkg+"="+version); err != nil {
		return err
	}
	debs, _ := filepath.Glob(filepath.Join(archives, pkg+"_*.deb"))
	var deb string
	for _, d := range debs {
		if strings.HasPrefix(filepath.Base(d), pkg+"_"+strings.ReplaceAll(version, ":", "%3a")+"_") {
			deb = d
		}
	}
	if deb == "" {
		return fmt.Errorf("apt-get download %s=%s left no .deb in %s", pkg, version, archives)
	}
	if f.sysroot == "" {
		if err := os.RemoveAll(dest); err != nil {
			return err
		}
	}
	// dpkg-deb -x makes DEST but not its parents: on a fresh clone build/debs does not exist yet.
	if err := os.MkdirAll(filepath.Dir(stamp), 0o755); err != nil {
		return err
	}
	if out, err := exec.Command("dpkg-deb", "-x", deb, dest).CombinedOutput(); err != nil {
		return fmt.Errorf("dpkg-deb -x %s: %v\n%s", deb, err, out)
	}
	if err := os.WriteFile(stamp, []byte(version+"\n"), 0o644); err != nil {
		return err
	}
	size := int64(0)
	if st, err := os.Stat(deb); err == nil {
		size = st.Size()
	}
	fmt.Fprintf(f.log, "backports: fetched %s %s%s from %s (%d MB) into %s\n", pkg, version, f.archSuffix(), f.suite,
		size>>20, dest)
	// The .deb is extracted: keeping it would double the space.
	return os.Remove(deb)
}

// candidate reads the "Candidate:" line of apt-cache policy; "(none)" is none.
func candidate(policy string) string {
	for _, line := range strings.Split(policy, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Candidate:"); ok {
			if v = strings.TrimSpace(v); v != "(none)" {
				return v
			}
		}
	}
	return ""
}

func (f fetcher) archSuffix() string {
	if f.arch == "" {
		return ""
	}
	return " (" + f.arch + ")"
}

// Command kconfigcheck says which options of the config fragments a kernel's
// final .config does not have as asked. olddefconfig drops an option whose
// dependencies are missing, and keeps one that something selects, without a
// word; the build must not go on with a kernel other than the one the
// fragments describe.
//
//	kconfigcheck -config KOUT/.config [-skip CONFIG_A,CONFIG_B] FRAGMENT...
//
// Fragments are read in order, as merge_config.sh merges them: a later line
// for an option wins ("# CONFIG_X is not set" included, so the fuzz flavor's
// fragment can turn off an option debug's asks for). -skip names options not
// to check (the series' own, which the base tree lacks). It exits 1, listing
// each option, when any is not as asked.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

var (
	setLine   = regexp.MustCompile(`^(CONFIG_[A-Za-z0-9_]+)=(.+)$`)
	unsetLine = regexp.MustCompile(`^# (CONFIG_[A-Za-z0-9_]+) is not set$`)
)

// settings reads config lines: each option's value, or "" for one that is
// not set. A later line for an option replaces an earlier one.
func settings(r io.Reader, into map[string]string, order *[]string) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		name, value := "", ""
		if m := setLine.FindStringSubmatch(line); m != nil {
			name, value = m[1], m[2]
		} else if m := unsetLine.FindStringSubmatch(line); m != nil {
			name = m[1]
		} else {
			continue
		}
		if _, seen := into[name]; !seen && order != nil {
			*order = append(*order, name)
		}
		into[name] = value
	}
	return sc.Err()
}

// check returns a line for each option the fragments ask for that the
// final config has otherwise.
func check(wanted map[string]string, order []string, final map[string]string, skip map[string]bool) (dropped, unwanted []string) {
	for _, name := range order {
		if skip[name] {
			continue
		}
		want, got := wanted[name], final[name]
		switch {
		case want == "" && got != "" && got != "n":
			unwanted = append(unwanted, fmt.Sprintf("%s=%s (a fragment says it is not set)", name, got))
		case want != "" && got != want:
			dropped = append(dropped, name+"="+want)
		}
	}
	return dropped, unwanted
}

func main() {
	config := flag.String("config", "", "the kernel's final .config")
	skipList := flag.String("skip", "", "options not to check, comma-separated")
	flag.Parse()
	if *config == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: kconfigcheck -config .config [-skip CONFIG_A,...] FRAGMENT...")
		os.Exit(64)
	}
	wanted, final := map[string]string{}, map[string]string{}
	var order []string
	for _, path := range append(flag.Args(), *config) {
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "kconfigcheck:", err)
			os.Exit(2)
		}
		if path == *config {
			err = settings(f, final, nil)
		} else {
			err = settings(f, wanted, &order)
		}
		f.Close()
		if err != nil {
			fmt.Fprintf(os.Stderr, "kconfigcheck: %s: %v\n", path, err)
			os.Exit(2)
		}
	}
	skip := map[string]bool{}
	for _, s := range strings.Split(*skipList, ",") {
		if s != "" {
			skip[s] = true
		}
	}
	dropped, unwanted := check(wanted, order, final, skip)
	if len(dropped) > 0 {
		fmt.Println("kernel config: dropped by olddefconfig (missing dependencies?):")
		fmt.Println(strings.Join(dropped, "\n"))
	}
	if len(unwanted) > 0 {
		fmt.Println("kernel config: set though a fragment turns it off (selected by another option?):")
		fmt.Println(strings.Join(unwanted, "\n"))
	}
	if len(dropped)+len(unwanted) > 0 {
		os.Exit(1)
	}
}

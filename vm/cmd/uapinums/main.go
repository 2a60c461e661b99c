// Command uapinums writes harness/progtype/numbers_gen.go: the numbers that
// each series in kernel-patches/ gives the enumerators it adds to
// include/uapi/linux/bpf.h, so that no program type's numbers are typed by
// hand. `go generate ./harness/progtype` runs it.
//
//	uapinums -o numbers_gen.go ../../kernel-patches
package main

import (
	"flag"
	"fmt"
	"os"

	"oreore/harness/progtype"
)

func main() {
	out := flag.String("o", "", "the Go file to write")
	flag.Parse()
	if *out == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: uapinums -o FILE KERNEL_PATCHES_DIR")
		os.Exit(2)
	}
	series, err := progtype.SeriesEnumerators(flag.Arg(0), progtype.KnownEnumerator)
	var src []byte
	if err == nil {
		src, err = progtype.GenerateNumbers(series)
	}
	if err == nil {
		err = os.WriteFile(*out, src, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "uapinums:", err)
		os.Exit(1)
	}
}

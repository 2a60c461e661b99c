// Command exitwith is a static binary for vmrun's self-test: it prints the
// file named by its first argument and exits with its second.
package main

import (
	"fmt"
	"os"
	"strconv"
)

func main() {
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Println("exitwith:", err)
		os.Exit(100)
	}
	code, _ := strconv.Atoi(os.Args[2])
	fmt.Printf("exitwith read %q\n", b)
	os.Exit(code)
}

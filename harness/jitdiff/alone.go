package jitdiff

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// otherTests lists the command lines of the running processes, other than
// this one, whose program is a Go test binary (NAME.test): in the guest,
// another lane's suite.
func otherTests() ([]string, error) {
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	var others []string
	for _, dir := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(dir))
		if pid == self {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil {
			continue // it has exited since the glob
		}
		argv := strings.Split(string(bytes.TrimRight(cmdline, "\x00")), "\x00")
		if strings.HasSuffix(argv[0], ".test") {
			others = append(others, strings.Join(argv, " "))
		}
	}
	return others, nil
}

//go:build !amd64

package qemu

// HostTSCkHz is 0 off amd64: the guest calibrates its TSC itself.
func HostTSCkHz() uint64 { return 0 }

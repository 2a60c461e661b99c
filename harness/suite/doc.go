// Package suite holds the tests that need the patched kernel and the
// module. They are built with the guest tag (`go test -c -tags guest`) into
// the initramfs and run inside the VM by `make vm-test`; a host build of
// ./... does not compile them.
package suite

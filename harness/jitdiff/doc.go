// Package jitdiff holds the differential between the kernel's eBPF
// interpreter, its JIT and the Go interpreter (harness/interp): the
// behaviour suite's fixed programs and thousands of programs generated from
// seeds (harness/gen) are each loaded twice, once with
// net.core.bpf_jit_enable=0 and once with 1, and must give the same result
// for every input through BPF_PROG_TEST_RUN (and for the fixed ones through
// /sys/oreore/bpf too).
//
// bpf_jit_enable is global: a program that another test loads while it is
// 0 is interpreted, and a test that dumps JITed code fails. So the tests
// are built with the guest tag into the alone lane (guest.AloneLane), which
// the guest runs after the others have ended, and each test first checks
// that no other test binary is running.
package jitdiff

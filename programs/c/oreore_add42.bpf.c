// SPDX-License-Identifier: GPL-2.0
/* The add-42 program of programs/oreore.go, written in C. */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

SEC("oreore")
__u32 add42(__u32 *in)
{
	return *in + 42;
}

char LICENSE[] SEC("license") = "GPL";

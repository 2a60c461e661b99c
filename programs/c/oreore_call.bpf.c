// SPDX-License-Identifier: GPL-2.0
/* An oreore program with a real bpf-to-bpf call: noinline keeps the callee. */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

static __attribute__((noinline)) __u32 mix(__u32 x)
{
	x ^= x >> 16;
	x *= 0x45d9f3b;
	return x ^ (x >> 16);
}

SEC("oreore")
__u32 call_mix(__u32 *in)
{
	return mix(*in) + 1;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* Rejected on purpose: it reads the packet without a bounds check, and the
 * verifier's log must quote this line.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_bad_access(struct xdp_md *ctx)
{
	return *(__u32 *)(long)ctx->data; /* no check against data_end */
}

char LICENSE[] SEC("license") = "GPL";

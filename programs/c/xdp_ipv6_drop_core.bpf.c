// SPDX-License-Identifier: GPL-2.0
/* Drops IPv6 and passes the rest, reading the Ethernet header through
 * CO-RE. With -DWRONG_LAYOUT the local struct puts h_proto first: the
 * program is only right once the loader moves the load to the offset the
 * kernel's BTF gives (12).
 */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define XDP_DROP 1
#define XDP_PASS 2
#define ETH_P_IPV6 0x86dd

struct xdp_md {
	__u32 data;
	__u32 data_end;
} __attribute__((preserve_access_index));

#ifdef WRONG_LAYOUT
struct ethhdr {
	__be16 h_proto;
	unsigned char h_dest[6];
	unsigned char h_source[6];
} __attribute__((preserve_access_index));
#else
struct ethhdr {
	unsigned char h_dest[6];
	unsigned char h_source[6];
	__be16 h_proto;
} __attribute__((preserve_access_index));
#endif

SEC("xdp")
int xdp_ipv6_drop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	/* 14 bytes: the real header's size, whatever the local layout says */
	if (data + 14 > data_end)
		return XDP_PASS;
	/* in network order for the target: 0xdd86 for bpfel, 0x86dd for bpfeb */
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

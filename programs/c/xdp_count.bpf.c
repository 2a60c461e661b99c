// SPDX-License-Identifier: GPL-2.0
/* Counts packets per IP protocol in an array map and in a .bss global,
 * reads a .rodata constant, and says so with bpf_printk.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 256);
} proto_count SEC(".maps");

__u64 counter;                     /* .bss */
const volatile __u32 verdict = XDP_PASS; /* .rodata */

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	__u32 proto = 0;
	__u64 *count;

	if ((void *)(ip + 1) <= data_end && eth->h_proto == bpf_htons(ETH_P_IP))
		proto = ip->protocol;
	count = bpf_map_lookup_elem(&proto_count, &proto);
	if (count)
		__sync_fetch_and_add(count, 1);
	__sync_fetch_and_add(&counter, 1);
	bpf_printk("xdp_count: proto %u", proto);
	return verdict;
}

char LICENSE[] SEC("license") = "GPL";

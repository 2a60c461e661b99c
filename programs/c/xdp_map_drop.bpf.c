// SPDX-License-Identifier: GPL-2.0
/* Drops while drop_flag[0] == 1. Built twice: with a BTF-defined map in
 * .maps, and with -DLEGACY_MAPS as a struct bpf_map_def in "maps".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#ifdef LEGACY_MAPS
struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") drop_flag = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 1,
};
#else
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} drop_flag SEC(".maps");
#endif

SEC("xdp")
int xdp_map_drop(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u32 *flag = bpf_map_lookup_elem(&drop_flag, &key);

	if (flag && *flag == 1)
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

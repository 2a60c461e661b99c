// SPDX-License-Identifier: GPL-2.0
/* One CO-RE relocation of each kind the loader resolves, written into .bss
 * for the test to compare with the kernel's BTF. The local types are
 * deliberately unlike the kernel's.
 */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct ethhdr {
	__be16 h_proto;
	unsigned char h_source[6];
	int h_not_in_the_kernel;
} __attribute__((preserve_access_index));

enum xdp_action {
	XDP_PASS = 7,
};

struct {
	__u32 proto_offset;
	__u32 proto_size;
	__u32 proto_exists;
	__u32 missing_exists;
	__u32 ethhdr_size;
	__u32 xdp_pass_value;
} out;

SEC("xdp")
int xdp_core_kinds(void *ctx)
{
	struct ethhdr *eth = 0;

	out.proto_offset = __builtin_preserve_field_info(eth->h_proto, BPF_FIELD_BYTE_OFFSET);
	out.proto_size = bpf_core_field_size(eth->h_proto);
	out.proto_exists = bpf_core_field_exists(eth->h_proto);
	out.missing_exists = bpf_core_field_exists(eth->h_not_in_the_kernel);
	out.ethhdr_size = bpf_core_type_size(struct ethhdr);
	out.xdp_pass_value = bpf_core_enum_value(enum xdp_action, XDP_PASS);
	return 2;
}

char LICENSE[] SEC("license") = "GPL";

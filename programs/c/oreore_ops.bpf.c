// SPDX-License-Identifier: GPL-2.0
/* An oreore_ops instance (kmod/oreore_ops.c) in C, as libbpf would load it:
 * programs in struct_ops/ sections and the instance, a variable of the
 * ops struct, in .struct_ops.link. harness/object matches the struct and
 * its members with the module's by name, as libbpf does.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct oreore_ops_args {
	__u32 in;
	__u32 cpu;
	__u32 out;
};

struct oreore_ops {
	__u32 (*run)(struct oreore_ops_args *args);
	void (*note)(__u32 v);
	char name[16];
};

/* A struct_ops program's context is its op's arguments, each in a u64. */
SEC("struct_ops/run")
__u32 ops_run(unsigned long long *ctx)
{
	struct oreore_ops_args *args = (void *)ctx[0];

	args->out = args->in * 3;
	return args->in + 100;
}

SEC("struct_ops.s/note")
void ops_note(unsigned long long *ctx)
{
}

SEC(".struct_ops.link")
struct oreore_ops from_elf = {
	.run = (void *)ops_run,
	.note = (void *)ops_note,
	.name = "from_elf",
};

char _license[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/*
 * A module whose load WARNs, for the runner's PANIC_ON_WARN self-test
 * (vm/selftest/failfast_test.go): no kernel config of ours has LKDTM, and
 * nothing else raises a real WARN from user space on purpose.
 */
#include <linux/module.h>
#include <linux/bug.h>

static int __init oreore_warn_init(void)
{
	WARN(1, "oreore selftest: a deliberate WARN");
	return 0;
}

static void __exit oreore_warn_exit(void)
{
}

module_init(oreore_warn_init);
module_exit(oreore_warn_exit);
MODULE_DESCRIPTION("WARNs when loaded, for oreore's runner self-test");
MODULE_LICENSE("GPL");

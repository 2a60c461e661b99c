# drgn script for the runner's panic self-test (failfast_test.go): the end
# of the kernel's log, and the stack of the thread that panicked, read from
# the vmcore.
from drgn.helpers.linux.printk import get_dmesg

log = get_dmesg(prog).decode(errors="replace")
print("=== log ===")
print("\n".join(log.splitlines()[-10:]))
print("=== stack ===")
print(prog.crashed_thread().stack_trace())

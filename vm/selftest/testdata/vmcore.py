# drgn script for the runner's panic self-test (failfast_test.go): the end
# of the kernel's log, and the stack of the thread that panicked, read from
# the vmcore. Debian 12's drgn (0.0.22) takes QEMU's first CPU note for
# the crashed thread, whichever CPU panicked: crashsuite panics on CPU 0.
from drgn.helpers.linux.printk import get_dmesg

log = get_dmesg(prog).decode(errors="replace")
print("=== log ===")
print("\n".join(log.splitlines()[-150:]))
print("=== stack ===")
print(prog.crashed_thread().stack_trace())

# The gdb self-test's script (gdb_test.go), run in batch mode after the
# runner's own commands (vm/gdb): the guest is stopped at start_kernel,
# lx-symbols is armed for the module. One break in the series' code, one
# in the module's, which is not loaded yet (pending).
tbreak bpf_oreore_is_valid_access
tbreak bpf_store
continue
echo === series ===\n
bt 4
continue
echo === module ===\n
bt 4
info symbol bpf_store
list bpf_store
echo === dmesg ===\n
lx-dmesg
echo === end ===\n
detach

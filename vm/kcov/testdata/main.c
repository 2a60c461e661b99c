/* Not instrumented: records the return addresses as KCOV would. */
#include <stdio.h>

int branch(int x);

void __sanitizer_cov_trace_pc(void)
{
	printf("%p\n", __builtin_return_address(0));
}

int main(void)
{
	branch(11);
	return 0;
}

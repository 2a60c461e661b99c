/* Built with -fsanitize-coverage=trace-pc by kcov_test.go. */
int branch(int x)
{
	if (x > 10)
		return x * 2;	/* line 5: runs for 11 */
	if (x < 0)
		return -x;	/* line 7: never runs */
	return x;
}

//go:build guest

package progtype

// carried reports whether the running kernel's series carries t. A kernel
// of no series keeps it, so that Running names the problem.
func carried(t *Type) bool {
	s, err := RunningSeries()
	return err != nil || t.InSeries(s)
}

package progtype

// KnownEnumerator gives the value of a released enumerator that a series'
// context lines name (released.go).
func KnownEnumerator(name string) (uint32, bool) {
	v, ok := Released[name]
	return v, ok
}

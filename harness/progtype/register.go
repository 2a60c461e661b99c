package progtype

// Register adds a described type to All, where the families and every
// guest test find it (make new-type's descriptors call it). In the guest,
// a type that the running kernel's series does not carry (make new-type
// found no room for it there) is left out: there is nothing of it to test.
func Register(t *Type) {
	if carried(t) {
		All = append(All, t)
	}
}

package btf

import "testing"

// A char array that holds a string prints as one, as bpftool prints a
// struct_ops value's name; one without a NUL, or with a byte that is not
// printable, and an array of another int stay arrays.
func TestFormatCharArrays(t *testing.T) {
	var b blob
	b.u32(b.name("char"), uint32(KindInt)<<24, 1, 8)          // [1] char (no encoding, as gcc writes it)
	b.u32(0, uint32(KindArray)<<24, 0, 1, 1, 4)               // [2] char[4]
	b.u32(b.name("unsigned char"), uint32(KindInt)<<24, 1, 8) // [3] unsigned char
	b.u32(0, uint32(KindArray)<<24, 0, 3, 1, 4)               // [4] unsigned char[4]
	b.u32(b.name("u8c"), uint32(KindInt)<<24, 1, 2<<24|8)     // [5] an int with BTF_INT_CHAR
	b.u32(0, uint32(KindArray)<<24, 0, 5, 1, 4)               // [6] u8c[4]
	s, err := Parse(b.bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id   uint32
		data string
		want string
	}{
		{2, "ab\x00\x00", `"ab"`},
		{2, "\x00zzz", `""`},
		{2, "abcd", "[97, 98, 99, 100]"},   // no NUL
		{2, "a\nb\x00", "[97, 10, 98, 0]"}, // not printable
		{4, "ab\x00\x00", "[97, 98, 0, 0]"},
		{6, "ab\x00\x00", `"ab"`},
	} {
		if got := s.Format(tc.id, []byte(tc.data)); got != tc.want {
			t.Errorf("type %d %q: %s, want %s", tc.id, tc.data, got, tc.want)
		}
	}
}

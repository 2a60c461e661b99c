package programs

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"oreore/harness/bpf"
	"oreore/harness/interp"
)

// LookupMap creates the array map that MapLookup reads, filled with
// LookupMapValue, and harness/interp's model of it.
func LookupMap() (bpf.FD, *interp.ArrayMap, error) {
	m, err := bpf.MapCreate(bpf.MapCreateAttr{
		Type: unix.BPF_MAP_TYPE_ARRAY, KeySize: 4, ValueSize: 4, MaxEntries: LookupMapEntries, Name: "lookup",
	})
	if err != nil {
		return m, nil, err
	}
	model := &interp.ArrayMap{ValueSize: 4}
	for i := uint32(0); i < LookupMapEntries; i++ {
		key, value := make([]byte, 4), make([]byte, 4)
		binary.NativeEndian.PutUint32(key, i)
		binary.NativeEndian.PutUint32(value, LookupMapValue(i))
		if err := bpf.MapUpdateElem(m, key, value, 0); err != nil {
			m.Close()
			return m, nil, err
		}
		model.Values = append(model.Values, value)
	}
	return m, model, nil
}

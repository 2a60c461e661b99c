package asm

import (
	"encoding/binary"
	"fmt"
)

// Decode turns kernel bytes back into instructions, merging the two slots
// of each 64-bit immediate load.
func Decode(b []byte) (Instructions, error) { return DecodeOrder(b, binary.NativeEndian) }

// DecodeOrder is Decode for bytes of a machine of the given byte order.
func DecodeOrder(b []byte, order binary.ByteOrder) (Instructions, error) {
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("%d bytes is not a whole number of instructions", len(b))
	}
	var insns Instructions
	for i := 0; i < len(b); i += 8 {
		s := b[i : i+8]
		dst, src := unregs(order, s[1])
		ins := Instruction{
			OpCode:   OpCode(s[0]),
			Dst:      dst,
			Src:      src,
			Offset:   int16(order.Uint16(s[2:])),
			Constant: int64(int32(order.Uint32(s[4:]))),
		}
		if ins.IsLoadImm64() {
			if i+16 > len(b) {
				return nil, fmt.Errorf("the 64-bit immediate load at slot %d has no second slot", i/8)
			}
			hi := order.Uint32(b[i+12:])
			ins.Constant = int64(uint64(hi)<<32 | uint64(order.Uint32(s[4:])))
			i += 8
		}
		insns = append(insns, ins)
	}
	return insns, nil
}

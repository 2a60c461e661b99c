package fuzz

//go:generate go run gensignal.go

// The Go fuzzer keeps an input when it reaches Go code no earlier input
// reached; it cannot see the kernel. So each kernel edge an input makes
// (two consecutive KCOV PCs on one thread, as AFL counts edges) and each
// distinct outcome of a call (its errno) is hashed to one of SignalSlots
// basic blocks in hit, which the fuzzer's instrumentation does see: the
// target's branches follow the kernel's.

// sink keeps hit's cases from being folded away.
var sink uint32

// edgeSlots returns the distinct slots of the edges in one thread's PCs.
func edgeSlots(pcs []PC, into map[uint32]bool) {
	var prev uint64
	for _, pc := range pcs {
		k := pc.key()
		into[uint32(mix(prev>>1^k))%SignalSlots] = true
		prev = k
	}
}

// outcomeSlot is the slot of a call's outcome: which op, on which type,
// ended with which errno (0 for success).
func outcomeSlot(kind Kind, typ int, errno uintptr) uint32 {
	return uint32(mix(uint64(kind)<<40|uint64(typ)<<32|uint64(errno)^0x6f7574636f6d65)) % SignalSlots
}

// mix is splitmix64's finalizer: nearby PCs land in unrelated slots.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// signal reaches the slots, once each.
func signal(slots map[uint32]bool) {
	for s := range slots {
		hit(s)
	}
}

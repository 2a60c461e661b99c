package guest

import (
	"encoding/binary"
	"runtime"
)

// BigEndian says the machine keeps a value's high byte first (s390x): a
// narrow load of a context field reads other bytes there, and the verifier
// rewrites one with another shift (bpf_ctx_narrow_access_offset()).
var BigEndian = binary.NativeEndian.Uint16([]byte{0, 1}) == 1

// VerifierZeroExtends says the verifier writes an explicit zero-extension
// (wN = wN) after an instruction that sets a register's low 32 bits where
// the whole register is read later, and after each such instruction of a
// context rewrite, so the xlated code shows it. It does for a JIT that
// asks (bpf_jit_needs_zext(): s390x among ours; x86_64 and arm64 extend
// in the JIT and do not ask).
var VerifierZeroExtends = runtime.GOARCH == "s390x"

package bpf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"oreore/harness/asm"
)

// ProgLoadAttr is BPF_PROG_LOAD's part of union bpf_attr. Every field of
// Linux 6.12's is here, so that a test can send any of them; fields the
// caller leaves zero are sent as zero, except where a comment says what
// zero means.
type ProgLoadAttr struct {
	Type               uint32
	Insns              asm.Instructions
	License            string
	Name               string // at most 15 bytes
	ExpectedAttachType uint32
	// LogLevel is log_level; 0 means 1: every load carries a verifier
	// log, whose buffer grows until the log fits unless LogSize is set.
	LogLevel uint32
	// LogSize, when set, is the one log buffer's size: no retry on ENOSPC.
	LogSize uint32
	// NoLog sends no log buffer (log_level 0), so a failed load's error
	// has no log. Under TCG the log took a third of a small program's load
	// time (the JIT/interpreter differential loads thousands).
	NoLog       bool
	KernVersion uint32
	Flags       uint32 // prog_flags: BPF_F_STRICT_ALIGNMENT, BPF_F_SLEEPABLE, BPF_F_TEST_RND_HI32, ...
	Ifindex     uint32 // prog_ifindex: the device of an offloaded or dev-bound program
	// BTF, with FuncInfo and LineInfo (bpf_func_info and bpf_line_info
	// records, insn_off in instructions), lets the verifier log show source.
	// The records are sent whenever they are given; their sizes default to
	// the kernel's (8 and 16 bytes) when the RecSize fields are 0.
	BTF             FD
	FuncInfo        []byte
	FuncInfoRecSize uint32
	LineInfo        []byte
	LineInfoRecSize uint32
	AttachBTFID     uint32
	// AttachFD is attach_prog_fd, or attach_btf_obj_fd (the same word).
	AttachFD uint32
	// FDArray is fd_array: the fds that BPF_PSEUDO_MAP_IDX and kfunc
	// calls' offsets index.
	FDArray []int32
	// CoreRelos are bpf_core_relo records (CoreReloRecSize bytes each, 16
	// when 0) for the kernel to apply.
	CoreRelos       []byte
	CoreReloRecSize uint32
	TokenFD         uint32 // prog_token_fd, with BPF_F_TOKEN_FD in Flags (6.9 and later)
}

// progLoadAttr mirrors BPF_PROG_LOAD's part of union bpf_attr (Linux 6.12;
// 6.1's ends at coreReloRecSize, and the kernel refuses a non-zero field
// past the end of its own).
type progLoadAttr struct {
	progType           uint32
	insnCnt            uint32
	insns              pointer
	license            pointer
	logLevel           uint32
	logSize            uint32
	logBuf             pointer
	kernVersion        uint32
	progFlags          uint32
	progName           [unix.BPF_OBJ_NAME_LEN]byte
	progIfindex        uint32
	expectedAttachType uint32
	progBTFFD          uint32
	funcInfoRecSize    uint32
	funcInfo           pointer
	funcInfoCnt        uint32
	lineInfoRecSize    uint32
	lineInfo           pointer
	lineInfoCnt        uint32
	attachBTFID        uint32
	attachFD           uint32 // attach_prog_fd, attach_btf_obj_fd
	coreReloCnt        uint32
	fdArray            pointer
	coreRelos          pointer
	coreReloRecSize    uint32
	logTrueSize        uint32
	progTokenFD        uint32
	_                  uint32
}

const (
	funcInfoRecSize = 8
	lineInfoRecSize = 16
	coreReloRecSize = 16
	defaultLogLevel = 1
)

// VerifierError is a failed BPF_PROG_LOAD: the errno and the verifier's log.
type VerifierError struct {
	Errno unix.Errno
	Log   []string
}

func (e *VerifierError) Error() string {
	msg := fmt.Sprintf("BPF_PROG_LOAD: %s (%s)", unix.ErrnoName(e.Errno), e.Errno.Error())
	if len(e.Log) == 0 {
		return msg + "; the verifier log is empty"
	}
	return msg + "; verifier log:\n\t" + strings.Join(e.Log, "\n\t")
}

func (e *VerifierError) Unwrap() error { return e.Errno }

// Contains reports whether a line of the log contains s.
func (e *VerifierError) Contains(s string) bool {
	for _, line := range e.Log {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// A 6.1 verifier fails the load with ENOSPC when the log does not fit, even
// for a good program, so the buffer grows until it does.
const (
	logSizeStart = 64 << 10
	logSizeMax   = 64 << 20
)

func orDefault(v, def uint32) uint32 {
	if v == 0 {
		return def
	}
	return v
}

// raw lays out the attr around the given instructions, license and log.
func (a *ProgLoadAttr) raw(insns, license, log []byte) progLoadAttr {
	attr := progLoadAttr{
		progType:           a.Type,
		insnCnt:            uint32(len(insns) / 8),
		insns:              ptrTo(insns),
		license:            ptrTo(license),
		logLevel:           orDefault(a.LogLevel, defaultLogLevel),
		logSize:            uint32(len(log)),
		logBuf:             ptrTo(log),
		kernVersion:        a.KernVersion,
		progFlags:          a.Flags,
		progIfindex:        a.Ifindex,
		expectedAttachType: a.ExpectedAttachType,
		attachBTFID:        a.AttachBTFID,
		attachFD:           a.AttachFD,
		progTokenFD:        a.TokenFD,
	}
	if a.NoLog {
		attr.logLevel = 0
	}
	copy(attr.progName[:], a.Name)
	if a.BTF > 0 {
		attr.progBTFFD = uint32(a.BTF)
	}
	if len(a.FuncInfo) > 0 {
		size := orDefault(a.FuncInfoRecSize, funcInfoRecSize)
		attr.funcInfoRecSize, attr.funcInfo, attr.funcInfoCnt = size, ptrTo(a.FuncInfo), uint32(len(a.FuncInfo))/size
	}
	if len(a.LineInfo) > 0 {
		size := orDefault(a.LineInfoRecSize, lineInfoRecSize)
		attr.lineInfoRecSize, attr.lineInfo, attr.lineInfoCnt = size, ptrTo(a.LineInfo), uint32(len(a.LineInfo))/size
	}
	if len(a.FDArray) > 0 {
		attr.fdArray = ptrTo(a.FDArray)
	}
	if len(a.CoreRelos) > 0 {
		size := orDefault(a.CoreReloRecSize, coreReloRecSize)
		attr.coreReloRecSize, attr.coreRelos, attr.coreReloCnt = size, ptrTo(a.CoreRelos), uint32(len(a.CoreRelos))/size
	}
	return attr
}

// ProgLoad loads a program with a verifier log (unless NoLog); on failure
// the error is a *VerifierError carrying the log lines.
func ProgLoad(a ProgLoadAttr) (FD, error) {
	if len(a.Name) >= unix.BPF_OBJ_NAME_LEN {
		return -1, fmt.Errorf("BPF_PROG_LOAD: name %q is longer than %d bytes", a.Name, unix.BPF_OBJ_NAME_LEN-1)
	}
	insns, err := a.Insns.Marshal()
	if err != nil {
		return -1, fmt.Errorf("BPF_PROG_LOAD: %w", err)
	}
	license := append([]byte(a.License), 0)
	retries := 0
	start := logSizeStart
	if a.LogSize != 0 {
		start = int(a.LogSize)
	}
	for size := start; ; size *= 4 {
		var log []byte
		if !a.NoLog {
			log = make([]byte, size)
		}
		attr := a.raw(insns, license, log)
		fd, err := sys(unix.BPF_PROG_LOAD, &attr)
		if err == nil {
			return FD(fd), nil
		}
		if errors.Is(err, unix.ENOSPC) && size < logSizeMax && a.LogSize == 0 {
			continue
		}
		// The verifier gives up with EAGAIN when a signal is pending (the
		// Go runtime's preemption signals are); libbpf retries five times.
		if errors.Is(err, unix.EAGAIN) && retries < 5 {
			retries++
			size /= 4
			continue
		}
		return -1, &VerifierError{Errno: err.(unix.Errno), Log: logLines(log)}
	}
}

func logLines(buf []byte) []string {
	if i := bytes.IndexByte(buf, 0); i >= 0 {
		buf = buf[:i]
	}
	text := strings.TrimRight(string(buf), "\n")
	if text == "" {
		return nil
	}
	return strings.Split(text, "\n")
}

// progAttachAttr mirrors BPF_PROG_ATTACH and BPF_PROG_DETACH's part of
// union bpf_attr (Linux 6.12; 6.1's ends at replace_bpf_fd for attach and
// at attach_type for detach).
type progAttachAttr struct {
	targetFD         uint32 // target_fd, target_ifindex
	attachBPFFD      uint32
	attachType       uint32
	attachFlags      uint32
	replaceBPFFD     uint32
	relativeFD       uint32 // relative_fd, relative_id
	expectedRevision uint64
}

// ProgAttachAttr is what BPF_PROG_ATTACH and BPF_PROG_DETACH take. Fields
// the caller leaves zero are passed as zero.
type ProgAttachAttr struct {
	TargetFD     uint32 // or target_ifindex
	Prog         FD
	AttachType   uint32
	AttachFlags  uint32
	ReplaceBPFFD uint32
	// RelativeFD (or relative_id, with BPF_F_ID) and ExpectedRevision
	// place a program among a multi-program attach point's (6.6 and later).
	RelativeFD       uint32
	ExpectedRevision uint64
}

func (a ProgAttachAttr) raw() progAttachAttr {
	return progAttachAttr{
		targetFD:         a.TargetFD,
		attachBPFFD:      uint32(a.Prog),
		attachType:       a.AttachType,
		attachFlags:      a.AttachFlags,
		replaceBPFFD:     a.ReplaceBPFFD,
		relativeFD:       a.RelativeFD,
		expectedRevision: a.ExpectedRevision,
	}
}

// ProgAttach issues BPF_PROG_ATTACH.
func ProgAttach(a ProgAttachAttr) error {
	attr := a.raw()
	_, err := sys(unix.BPF_PROG_ATTACH, &attr)
	return wrap("BPF_PROG_ATTACH", err)
}

// ProgDetach issues BPF_PROG_DETACH.
func ProgDetach(a ProgAttachAttr) error {
	attr := a.raw()
	_, err := sys(unix.BPF_PROG_DETACH, &attr)
	return wrap("BPF_PROG_DETACH", err)
}

// progTestRunAttr is BPF_PROG_TEST_RUN's part of union bpf_attr. Its
// addresses are numbers, so that TestRunRaw can send any; ProgTestRun
// keeps its buffers alive across the call itself.
type progTestRunAttr struct {
	progFD, retval, dataSizeIn, dataSizeOut uint32
	dataIn, dataOut                         uint64
	repeat, duration, ctxSizeIn, ctxSizeOut uint32
	ctxIn, ctxOut                           uint64
	flags, cpu, batchSize, _                uint32
}

// TestRun is the input of BPF_PROG_TEST_RUN. DataOut and CtxOut are
// buffers for the kernel to fill; nil asks for nothing back.
type TestRun struct {
	DataIn  []byte
	DataOut []byte
	CtxIn   []byte
	CtxOut  []byte
	Repeat  uint32
	// Flags, CPU and BatchSize are passed as given, so that a test can
	// check that a program type refuses what it does not support.
	Flags     uint32
	CPU       uint32
	BatchSize uint32
}

// TestRunResult is what BPF_PROG_TEST_RUN reports.
type TestRunResult struct {
	Retval   uint32
	Duration time.Duration // mean per run, as the kernel measures it
	DataOut  []byte
	CtxOut   []byte
}

// ProgTestRun runs a program once, or Repeat times, on the given input.
func ProgTestRun(prog FD, in TestRun) (TestRunResult, error) {
	attr := TestRunRaw{
		DataSizeIn: uint32(len(in.DataIn)), DataSizeOut: uint32(len(in.DataOut)),
		DataIn: addrOf(in.DataIn), DataOut: addrOf(in.DataOut), Repeat: in.Repeat,
		CtxSizeIn: uint32(len(in.CtxIn)), CtxSizeOut: uint32(len(in.CtxOut)),
		CtxIn: addrOf(in.CtxIn), CtxOut: addrOf(in.CtxOut),
		Flags: in.Flags, CPU: in.CPU, BatchSize: in.BatchSize,
	}.attr(prog)
	// A run with repeat stops with EINTR when a signal is pending
	// (bpf_test_timer_continue), after some of its runs, which run_cnt
	// counts. Go's runtime signals its threads to preempt goroutines
	// (SIGURG): blocked on this thread for the call, it cannot cut a run
	// short, so that a retry does not count runs twice (seen under KASAN,
	// where a repeated run takes long enough: 1003 runs for repeat 1000).
	// Other signals still can: run again, as cilium/ebpf does.
	var err error
	withoutPreemptSignal(func() {
		for try := 0; try < 10; try++ {
			if _, err = sys(unix.BPF_PROG_TEST_RUN, &attr); !errors.Is(err, unix.EINTR) {
				break
			}
		}
	})
	// The attr holds the buffers' addresses as numbers, which do not keep
	// them alive.
	runtime.KeepAlive(in)
	if err != nil {
		return TestRunResult{}, wrap("BPF_PROG_TEST_RUN", err)
	}
	res := TestRunResult{Retval: attr.retval, Duration: time.Duration(attr.duration)}
	if in.DataOut != nil {
		res.DataOut = in.DataOut[:min(int(attr.dataSizeOut), len(in.DataOut))]
	}
	if in.CtxOut != nil {
		res.CtxOut = in.CtxOut[:min(int(attr.ctxSizeOut), len(in.CtxOut))]
	}
	return res, nil
}

// addrOf is a buffer's address for an attr, 0 for an empty one.
func addrOf(b []byte) uintptr {
	if len(b) == 0 {
		return 0
	}
	return uintptr(unsafe.Pointer(&b[0]))
}

// TestRunRaw is BPF_PROG_TEST_RUN's attr as sent, field by field:
// addresses and sizes apart, so that a test can send what no well-formed
// call would (a size without a buffer, an address with nothing mapped
// behind it). Addresses are the caller's to keep valid, or not.
type TestRunRaw struct {
	DataSizeIn, DataSizeOut uint32
	DataIn, DataOut         uintptr
	Repeat                  uint32
	CtxSizeIn, CtxSizeOut   uint32
	CtxIn, CtxOut           uintptr
	Flags, CPU, BatchSize   uint32
}

func (in TestRunRaw) attr(prog FD) progTestRunAttr {
	return progTestRunAttr{
		progFD: uint32(prog), dataSizeIn: in.DataSizeIn, dataSizeOut: in.DataSizeOut,
		dataIn: uint64(in.DataIn), dataOut: uint64(in.DataOut), repeat: in.Repeat,
		ctxSizeIn: in.CtxSizeIn, ctxSizeOut: in.CtxSizeOut, ctxIn: uint64(in.CtxIn), ctxOut: uint64(in.CtxOut),
		flags: in.Flags, cpu: in.CPU, batchSize: in.BatchSize,
	}
}

// ProgTestRunRaw issues BPF_PROG_TEST_RUN with the fields as given and
// returns the program's return value.
func ProgTestRunRaw(prog FD, in TestRunRaw) (uint32, error) {
	attr := in.attr(prog)
	if _, err := sys(unix.BPF_PROG_TEST_RUN, &attr); err != nil {
		return 0, wrap("BPF_PROG_TEST_RUN", err)
	}
	return attr.retval, nil
}

// ProgInfo is the part of struct bpf_prog_info the harness reads.
type ProgInfo struct {
	Type          uint32
	ID            uint32
	Tag           [unix.BPF_TAG_SIZE]byte
	JitedLen      uint32
	XlatedLen     uint32
	LoadTime      time.Duration // since boot
	CreatedByUID  uint32
	Name          string
	GPLCompatible bool
	BTFID         uint32
	RunTime       time.Duration // with stats enabled (EnableStats)
	RunCount      uint64
	VerifiedInsns uint32
}

// progInfo mirrors struct bpf_prog_info of Linux 6.1.
type progInfo struct {
	progType        uint32
	id              uint32
	tag             [unix.BPF_TAG_SIZE]byte
	jitedProgLen    uint32
	xlatedProgLen   uint32
	jitedProgInsns  uint64
	xlatedProgInsns uint64
	loadTime        uint64
	createdByUID    uint32
	nrMapIDs        uint32
	mapIDs          uint64
	name            [unix.BPF_OBJ_NAME_LEN]byte
	ifindex         uint32
	flags           uint32 // the bit fields: gpl_compatible first
	netnsDev        uint64
	netnsIno        uint64
	nrJitedKsyms    uint32
	nrJitedFuncLens uint32
	jitedKsyms      uint64
	jitedFuncLens   uint64
	btfID           uint32
	funcInfoRecSize uint32
	funcInfo        uint64
	nrFuncInfo      uint32
	nrLineInfo      uint32
	lineInfo        uint64
	jitedLineInfo   uint64
	nrJitedLineInfo uint32
	lineInfoRecSize uint32
	jitedLineRecSz  uint32
	nrProgTags      uint32
	progTags        uint64
	runTimeNs       uint64
	runCnt          uint64
	recursionMisses uint64
	verifiedInsns   uint32
	attachBTFObjID  uint32
	attachBTFID     uint32
	_               uint32
}

type objInfoAttr struct {
	bpfFD   uint32
	infoLen uint32
	info    pointer
}

// objGetInfo fills info, a bpf_*_info struct, with BPF_OBJ_GET_INFO_BY_FD;
// pointers the caller set in it get the variable-length parts.
func objGetInfo[T any](fd FD, info *T) error {
	attr := objInfoAttr{bpfFD: uint32(fd), infoLen: uint32(unsafe.Sizeof(*info)), info: pointer{unsafe.Pointer(info)}}
	_, err := sys(unix.BPF_OBJ_GET_INFO_BY_FD, &attr)
	return wrap("BPF_OBJ_GET_INFO_BY_FD", err)
}

// ProgGetInfo issues BPF_OBJ_GET_INFO_BY_FD on a program.
func ProgGetInfo(prog FD) (ProgInfo, error) {
	var raw progInfo
	if err := objGetInfo(prog, &raw); err != nil {
		return ProgInfo{}, err
	}
	return ProgInfo{
		Type:          raw.progType,
		ID:            raw.id,
		Tag:           raw.tag,
		JitedLen:      raw.jitedProgLen,
		XlatedLen:     raw.xlatedProgLen,
		LoadTime:      time.Duration(raw.loadTime),
		CreatedByUID:  raw.createdByUID,
		Name:          unix.ByteSliceToString(raw.name[:]),
		GPLCompatible: raw.flags&firstBitField(binary.NativeEndian) != 0,
		BTFID:         raw.btfID,
		RunTime:       time.Duration(raw.runTimeNs),
		RunCount:      raw.runCnt,
		VerifiedInsns: raw.verifiedInsns,
	}, nil
}

// ProgXlated returns the program as the kernel rewrote it (the "xlated"
// instructions) and the ids of the maps it uses.
func ProgXlated(prog FD) (asm.Instructions, []uint32, error) {
	var first progInfo
	if err := objGetInfo(prog, &first); err != nil {
		return nil, nil, err
	}
	xlated := make([]byte, first.xlatedProgLen)
	mapIDs := make([]uint32, first.nrMapIDs)
	var raw progInfo
	raw.xlatedProgLen = first.xlatedProgLen
	raw.nrMapIDs = first.nrMapIDs
	if len(xlated) > 0 {
		raw.xlatedProgInsns = uint64(uintptr(unsafe.Pointer(&xlated[0])))
	}
	if len(mapIDs) > 0 {
		raw.mapIDs = uint64(uintptr(unsafe.Pointer(&mapIDs[0])))
	}
	err := objGetInfo(prog, &raw)
	runtime.KeepAlive(xlated)
	runtime.KeepAlive(mapIDs)
	if err != nil {
		return nil, nil, err
	}
	if first.xlatedProgLen == 0 {
		return nil, mapIDs, nil // not allowed to see it (kernel.kptr_restrict or no CAP_SYS_ADMIN)
	}
	insns, err := asm.Decode(xlated)
	return insns, mapIDs, err
}

// progQueryAttr mirrors BPF_PROG_QUERY's part of union bpf_attr (Linux
// 6.12; 6.1's ends at prog_attach_flags).
type progQueryAttr struct {
	targetFD        uint32 // target_fd, target_ifindex
	attachType      uint32
	queryFlags      uint32
	attachFlags     uint32
	progIDs         pointer
	progCnt         uint32 // prog_cnt, count
	_               uint32
	progAttachFlags pointer
	linkIDs         pointer
	linkAttachFlags pointer
	revision        uint64
}

// ProgQueryAttr is BPF_PROG_QUERY's input. The slices are buffers for the
// kernel to fill: ProgIDs's length is the room given (prog_cnt), and
// ProgAttachFlags, LinkIDs and LinkAttachFlags, when not nil, must be at
// least as long.
type ProgQueryAttr struct {
	Target          uint32 // target_fd or target_ifindex
	AttachType      uint32
	QueryFlags      uint32 // BPF_F_QUERY_EFFECTIVE
	ProgIDs         []uint32
	ProgAttachFlags []uint32
	LinkIDs         []uint32 // 6.6 and later
	LinkAttachFlags []uint32 // 6.6 and later
}

// ProgQueryResult is what BPF_PROG_QUERY reports.
type ProgQueryResult struct {
	AttachFlags uint32
	// Count is prog_cnt as the kernel set it: the number attached, which
	// may exceed the room given.
	Count uint32
	// ProgIDs is the attr's buffer, cut to what the kernel filled.
	ProgIDs  []uint32
	Revision uint64 // 6.6 and later
}

// ProgQueryWith issues BPF_PROG_QUERY with every field of the attr.
func ProgQueryWith(a ProgQueryAttr) (ProgQueryResult, error) {
	attr := progQueryAttr{
		targetFD:        a.Target,
		attachType:      a.AttachType,
		queryFlags:      a.QueryFlags,
		progIDs:         ptrTo(a.ProgIDs),
		progCnt:         uint32(len(a.ProgIDs)),
		progAttachFlags: ptrTo(a.ProgAttachFlags),
		linkIDs:         ptrTo(a.LinkIDs),
		linkAttachFlags: ptrTo(a.LinkAttachFlags),
	}
	if _, err := sys(unix.BPF_PROG_QUERY, &attr); err != nil {
		return ProgQueryResult{}, wrap("BPF_PROG_QUERY", err)
	}
	return ProgQueryResult{
		AttachFlags: attr.attachFlags,
		Count:       attr.progCnt,
		ProgIDs:     a.ProgIDs[:min(int(attr.progCnt), len(a.ProgIDs))],
		Revision:    attr.revision,
	}, nil
}

// ProgQuery lists the ids of the programs attached at attachType on
// target (BPF_PROG_QUERY), with room for up to max of them.
func ProgQuery(target, attachType uint32, max int) ([]uint32, error) {
	res, err := ProgQueryWith(ProgQueryAttr{Target: target, AttachType: attachType, ProgIDs: make([]uint32, max)})
	return res.ProgIDs, err
}

// ProgQueryCount is the prog_cnt that BPF_PROG_QUERY reports when it is
// given no room for ids.
func ProgQueryCount(target, attachType uint32) (uint32, error) {
	res, err := ProgQueryWith(ProgQueryAttr{Target: target, AttachType: attachType})
	return res.Count, err
}

// ProgJited returns the program's machine code, as the JIT wrote it.
func ProgJited(prog FD) ([]byte, error) {
	var first progInfo
	if err := objGetInfo(prog, &first); err != nil {
		return nil, err
	}
	if first.jitedProgLen == 0 {
		return nil, nil
	}
	code := make([]byte, first.jitedProgLen)
	var raw progInfo
	raw.jitedProgLen = first.jitedProgLen
	raw.jitedProgInsns = uint64(uintptr(unsafe.Pointer(&code[0])))
	err := objGetInfo(prog, &raw)
	runtime.KeepAlive(code)
	if err != nil {
		return nil, err
	}
	return code, nil
}

// firstBitField is the bit C gives a struct's first one-bit field in a
// 32-bit unit (bpf_prog_info's gpl_compatible): the lowest on a
// little-endian machine, the highest on a big-endian one.
func firstBitField(order binary.ByteOrder) uint32 {
	if order.Uint32([]byte{1, 0, 0, 0}) == 1 {
		return 1
	}
	return 1 << 31
}

// withoutPreemptSignal runs f on a thread of its own with SIGURG, Go's
// preemption signal, blocked; a goroutine in a system call needs no
// preempting, so the runtime waits for nothing. The thread's mask is
// restored before it is unlocked.
func withoutPreemptSignal(f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var set, old unix.Sigset_t
	sig := uint(unix.SIGURG) - 1
	set.Val[sig/64] |= 1 << (sig % 64)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, &old); err != nil {
		f() // the retry on EINTR still holds
		return
	}
	defer unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	f()
}

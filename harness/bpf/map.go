package bpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// MapCreateAttr is BPF_MAP_CREATE's part of union bpf_attr; every field of
// Linux 6.12's is here, sent as given.
type MapCreateAttr struct {
	Type       uint32
	KeySize    uint32
	ValueSize  uint32
	MaxEntries uint32
	Flags      uint32
	InnerMapFD uint32 // of a map-in-map
	NumaNode   uint32 // with BPF_F_NUMA_NODE
	Name       string
	Ifindex    uint32 // map_ifindex: the device of an offloaded map
	// BTF types of the key and value, for typed dumps (0: none).
	BTF                   FD
	BTFKeyTypeID          uint32
	BTFValueTypeID        uint32
	BTFVmlinuxValueTypeID uint32 // struct_ops
	Extra                 uint64 // map_extra: a bloom filter's hash count
	ValueTypeBTFObjFD     uint32 // 6.9 and later, with BPF_F_VTYPE_BTF_OBJ_FD
	TokenFD               uint32 // 6.9 and later, with BPF_F_TOKEN_FD
}

// mapCreateAttr mirrors BPF_MAP_CREATE's part of union bpf_attr (Linux
// 6.12; 6.1's ends at map_extra).
type mapCreateAttr struct {
	mapType               uint32
	keySize               uint32
	valueSize             uint32
	maxEntries            uint32
	mapFlags              uint32
	innerMapFD            uint32
	numaNode              uint32
	mapName               [unix.BPF_OBJ_NAME_LEN]byte
	mapIfindex            uint32
	btfFD                 uint32
	btfKeyTypeID          uint32
	btfValueTypeID        uint32
	btfVmlinuxValueTypeID uint32
	mapExtra              uint64
	valueTypeBTFObjFD     uint32
	mapTokenFD            uint32
}

// MapCreate issues BPF_MAP_CREATE.
func MapCreate(a MapCreateAttr) (FD, error) {
	attr := mapCreateAttr{
		mapType:               a.Type,
		keySize:               a.KeySize,
		valueSize:             a.ValueSize,
		maxEntries:            a.MaxEntries,
		mapFlags:              a.Flags,
		innerMapFD:            a.InnerMapFD,
		numaNode:              a.NumaNode,
		mapIfindex:            a.Ifindex,
		btfVmlinuxValueTypeID: a.BTFVmlinuxValueTypeID,
		mapExtra:              a.Extra,
		valueTypeBTFObjFD:     a.ValueTypeBTFObjFD,
		mapTokenFD:            a.TokenFD,
	}
	// A struct_ops map's value type is the kernel's, but its btf_fd must
	// still name a BTF object of the program's (syscall.c's map_create).
	if a.BTF > 0 && (a.BTFValueTypeID != 0 || a.BTFVmlinuxValueTypeID != 0) {
		attr.btfFD, attr.btfKeyTypeID, attr.btfValueTypeID = uint32(a.BTF), a.BTFKeyTypeID, a.BTFValueTypeID
	}
	copy(attr.mapName[:], a.Name)
	return sysFD(unix.BPF_MAP_CREATE, "BPF_MAP_CREATE", &attr)
}

type mapElemAttr struct {
	mapFD uint32
	_     uint32
	key   pointer
	value pointer
	flags uint64
}

// MapUpdateElem issues BPF_MAP_UPDATE_ELEM; key and value must have the
// map's sizes.
func MapUpdateElem(m FD, key, value []byte, flags uint64) error {
	attr := mapElemAttr{mapFD: uint32(m), key: ptrTo(key), value: ptrTo(value), flags: flags}
	_, err := sys(unix.BPF_MAP_UPDATE_ELEM, &attr)
	return wrap("BPF_MAP_UPDATE_ELEM", err)
}

// MapLookupElem issues BPF_MAP_LOOKUP_ELEM into value.
func MapLookupElem(m FD, key, value []byte) error {
	attr := mapElemAttr{mapFD: uint32(m), key: ptrTo(key), value: ptrTo(value)}
	_, err := sys(unix.BPF_MAP_LOOKUP_ELEM, &attr)
	return wrap("BPF_MAP_LOOKUP_ELEM", err)
}

type getIDAttr struct {
	id     uint32 // start_id, prog_id, map_id
	nextID uint32
	flags  uint32
}

// nextIDs lists every id that a *_GET_NEXT_ID command walks.
func nextIDs(cmd int, name string) ([]uint32, error) {
	var ids []uint32
	for id := uint32(0); ; {
		attr := getIDAttr{id: id}
		if _, err := sys(cmd, &attr); err != nil {
			if err == unix.ENOENT {
				return ids, nil
			}
			return ids, wrap(name, err)
		}
		ids = append(ids, attr.nextID)
		id = attr.nextID
	}
}

// ProgIDs lists the ids of every loaded program.
func ProgIDs() ([]uint32, error) { return nextIDs(unix.BPF_PROG_GET_NEXT_ID, "BPF_PROG_GET_NEXT_ID") }

// MapIDs lists the ids of every map.
func MapIDs() ([]uint32, error) { return nextIDs(unix.BPF_MAP_GET_NEXT_ID, "BPF_MAP_GET_NEXT_ID") }

// LinkIDs lists the ids of every link.
func LinkIDs() ([]uint32, error) { return nextIDs(unix.BPF_LINK_GET_NEXT_ID, "BPF_LINK_GET_NEXT_ID") }

func fdByID(cmd int, name string, id uint32) (FD, error) { return fdByIDFlags(cmd, name, id, 0) }

// fdByIDFlags opens by id with open_flags (BPF_F_RDONLY, BPF_F_WRONLY).
func fdByIDFlags(cmd int, name string, id, openFlags uint32) (FD, error) {
	attr := getIDAttr{id: id, flags: openFlags}
	return sysFD(cmd, name, &attr)
}

// MapGetFDByIDFlags opens the map with the given id and open_flags.
func MapGetFDByIDFlags(id, openFlags uint32) (FD, error) {
	return fdByIDFlags(unix.BPF_MAP_GET_FD_BY_ID, "BPF_MAP_GET_FD_BY_ID", id, openFlags)
}

// MapGetFDByID opens the map with the given id.
func MapGetFDByID(id uint32) (FD, error) {
	return fdByID(unix.BPF_MAP_GET_FD_BY_ID, "BPF_MAP_GET_FD_BY_ID", id)
}

// LinkGetFDByID opens the link with the given id.
func LinkGetFDByID(id uint32) (FD, error) {
	return fdByID(unix.BPF_LINK_GET_FD_BY_ID, "BPF_LINK_GET_FD_BY_ID", id)
}

// ProgGetFDByID opens the program with the given id.
func ProgGetFDByID(id uint32) (FD, error) {
	return fdByID(unix.BPF_PROG_GET_FD_BY_ID, "BPF_PROG_GET_FD_BY_ID", id)
}

type enableStatsAttr struct{ statsType uint32 }

// EnableStats turns on run_cnt and run_time_ns accounting for as long as
// the returned descriptor is open.
func EnableStats() (FD, error) {
	attr := enableStatsAttr{statsType: unix.BPF_STATS_RUN_TIME}
	return sysFD(unix.BPF_ENABLE_STATS, "BPF_ENABLE_STATS", &attr)
}

type mapFreezeAttr struct{ mapFD uint32 }

// MapFreeze makes a map read-only for userspace (BPF_MAP_FREEZE).
func MapFreeze(m FD) error {
	attr := mapFreezeAttr{mapFD: uint32(m)}
	_, err := sys(unix.BPF_MAP_FREEZE, &attr)
	return wrap("BPF_MAP_FREEZE", err)
}

// linkCreateAttr mirrors BPF_LINK_CREATE's part of union bpf_attr (Linux
// 6.12): four words, then a union per attach type.
type linkCreateAttr struct {
	progFD     uint32 // prog_fd, map_fd
	targetFD   uint32 // target_fd, target_ifindex
	attachType uint32
	flags      uint32
	union      [LinkCreateUnionSize]byte
}

// LinkCreateUnionSize is the size of link_create's per-attach-type union
// in Linux 6.12 (uprobe_multi, its largest member, ends at byte 60 of
// bpf_attr; the union is 8-byte aligned).
const LinkCreateUnionSize = 48

// LinkCreateAttr is BPF_LINK_CREATE's part of union bpf_attr.
type LinkCreateAttr struct {
	Prog FD
	// Target is an ifindex for XDP, a file descriptor for others; 0 when the attach point is global.
	Target     uint32
	AttachType uint32
	Flags      uint32
	// Union is the per-attach-type part, bytes 16 to 63 of bpf_attr
	// (target_btf_id, iter_info, perf_event, kprobe_multi, tracing,
	// netfilter, tcx, uprobe_multi, netkit), sent as given. A pointer
	// written into it is invisible to the garbage collector: the caller
	// keeps its target alive across the call.
	Union [LinkCreateUnionSize]byte
}

// LinkCreate issues BPF_LINK_CREATE; for XDP the target is an ifindex in
// the caller's network namespace. Closing the last descriptor of the link
// detaches the program.
func LinkCreate(a LinkCreateAttr) (FD, error) {
	attr := linkCreateAttr{progFD: uint32(a.Prog), targetFD: a.Target, attachType: a.AttachType, flags: a.Flags, union: a.Union}
	return sysFD(unix.BPF_LINK_CREATE, "BPF_LINK_CREATE", &attr)
}

type linkUpdateAttr struct {
	linkFD    uint32
	newProgFD uint32
	flags     uint32
	oldProgFD uint32
}

// LinkUpdateAttr is BPF_LINK_UPDATE's part of union bpf_attr. With
// BPF_F_REPLACE in Flags the update happens only if OldProg is the link's
// program.
type LinkUpdateAttr struct {
	Link, NewProg, OldProg FD
	Flags                  uint32
}

// LinkUpdate swaps the link's program (BPF_LINK_UPDATE).
func LinkUpdate(a LinkUpdateAttr) error {
	attr := linkUpdateAttr{linkFD: uint32(a.Link), newProgFD: uint32(a.NewProg), flags: a.Flags, oldProgFD: uint32(a.OldProg)}
	_, err := sys(unix.BPF_LINK_UPDATE, &attr)
	return wrap("BPF_LINK_UPDATE", err)
}

type linkDetachAttr struct{ linkFD uint32 }

// LinkDetach detaches the link's program while the link stays open, defunct
// (BPF_LINK_DETACH).
func LinkDetach(l FD) error {
	attr := linkDetachAttr{linkFD: uint32(l)}
	_, err := sys(unix.BPF_LINK_DETACH, &attr)
	return wrap("BPF_LINK_DETACH", err)
}

// btfLoadAttr mirrors BPF_BTF_LOAD's part of union bpf_attr (Linux 6.12;
// 6.1's ends at btf_log_level).
type btfLoadAttr struct {
	btf            pointer
	btfLogBuf      pointer
	btfSize        uint32
	btfLogSize     uint32
	btfLogLevel    uint32
	btfLogTrueSize uint32
	btfFlags       uint32
	btfTokenFD     uint32
}

// BTFLoadAttr is BPF_BTF_LOAD's input; the log is always asked for.
type BTFLoadAttr struct {
	Blob    []byte
	Flags   uint32 // btf_flags: BPF_F_TOKEN_FD (6.9 and later)
	TokenFD uint32
}

// BTFLoad loads a BTF blob; a rejection carries the kernel's BTF log.
func BTFLoad(blob []byte) (FD, error) { return BTFLoadWith(BTFLoadAttr{Blob: blob}) }

// BTFLoadWith issues BPF_BTF_LOAD with every field of the attr.
func BTFLoadWith(a BTFLoadAttr) (FD, error) {
	log := make([]byte, 64<<10)
	attr := btfLoadAttr{
		btf: ptrTo(a.Blob), btfSize: uint32(len(a.Blob)), btfLogBuf: ptrTo(log), btfLogSize: uint32(len(log)), btfLogLevel: 1,
		btfFlags: a.Flags, btfTokenFD: a.TokenFD,
	}
	fd, err := sys(unix.BPF_BTF_LOAD, &attr)
	if err != nil {
		if lines := logLines(log); len(lines) > 0 {
			return -1, fmt.Errorf("%w; BTF log:\n\t%s", wrap("BPF_BTF_LOAD", err), strings.Join(lines, "\n\t"))
		}
		return -1, wrap("BPF_BTF_LOAD", err)
	}
	return FD(fd), nil
}

// objPinAttr mirrors BPF_OBJ_PIN and BPF_OBJ_GET's part of union bpf_attr
// (Linux 6.12; 6.1's ends at file_flags).
type objPinAttr struct {
	pathname  pointer
	bpfFD     uint32
	fileFlags uint32
	pathFD    uint32
	_         uint32
}

// ObjPinAttr is what BPF_OBJ_PIN and BPF_OBJ_GET take.
type ObjPinAttr struct {
	Path      string
	FD        FD     // the object to pin; 0 for BPF_OBJ_GET
	FileFlags uint32 // BPF_F_RDONLY, BPF_F_WRONLY, BPF_F_PATH_FD
	PathFD    uint32 // with BPF_F_PATH_FD: Path is relative to it (6.5 and later)
}

func (a ObjPinAttr) raw() (objPinAttr, []byte) {
	p := append([]byte(a.Path), 0)
	return objPinAttr{pathname: ptrTo(p), bpfFD: uint32(a.FD), fileFlags: a.FileFlags, pathFD: a.PathFD}, p
}

// ObjPin pins an object at path in a bpf file system (BPF_OBJ_PIN).
func ObjPin(fd FD, path string) error { return ObjPinWith(ObjPinAttr{Path: path, FD: fd}) }

// ObjPinWith issues BPF_OBJ_PIN with every field of the attr.
func ObjPinWith(a ObjPinAttr) error {
	attr, _ := a.raw()
	_, err := sys(unix.BPF_OBJ_PIN, &attr)
	return wrap("BPF_OBJ_PIN", err)
}

// ObjGet opens a pinned object (BPF_OBJ_GET).
func ObjGet(path string) (FD, error) { return ObjGetWith(ObjPinAttr{Path: path}) }

// ObjGetWith issues BPF_OBJ_GET with every field of the attr.
func ObjGetWith(a ObjPinAttr) (FD, error) {
	attr, _ := a.raw()
	return sysFD(unix.BPF_OBJ_GET, "BPF_OBJ_GET", &attr)
}

// MapDeleteElem issues BPF_MAP_DELETE_ELEM.
func MapDeleteElem(m FD, key []byte) error {
	attr := mapElemAttr{mapFD: uint32(m), key: ptrTo(key)}
	_, err := sys(unix.BPF_MAP_DELETE_ELEM, &attr)
	return wrap("BPF_MAP_DELETE_ELEM", err)
}

// MapNextKey returns the key after key (nil: the first key), or ENOENT
// past the last one.
func MapNextKey(m FD, key []byte, keySize uint32) ([]byte, error) {
	next := make([]byte, keySize)
	attr := mapElemAttr{mapFD: uint32(m), key: ptrTo(key), value: ptrTo(next)}
	if _, err := sys(unix.BPF_MAP_GET_NEXT_KEY, &attr); err != nil {
		return nil, wrap("BPF_MAP_GET_NEXT_KEY", err)
	}
	return next, nil
}

// MapInfo is the part of struct bpf_map_info the harness reads.
type MapInfo struct {
	Type, ID, KeySize, ValueSize, MaxEntries, Flags uint32
	Name                                            string
	BTFID, BTFKeyTypeID, BTFValueTypeID             uint32
	// A struct_ops map's kernel value type (bpf_struct_ops_<name>) and,
	// from 6.9, the kernel BTF object it is in: vmlinux's or a module's
	// (0 before 6.9, where it is always vmlinux's).
	BTFVmlinuxValueTypeID, BTFVmlinuxID uint32
}

type mapInfo struct {
	mapType               uint32
	id                    uint32
	keySize               uint32
	valueSize             uint32
	maxEntries            uint32
	mapFlags              uint32
	name                  [unix.BPF_OBJ_NAME_LEN]byte
	ifindex               uint32
	btfVmlinuxValueTypeID uint32
	netnsDev              uint64
	netnsIno              uint64
	btfID                 uint32
	btfKeyTypeID          uint32
	btfValueTypeID        uint32
	btfVmlinuxID          uint32
	mapExtra              uint64
}

// MapGetInfo issues BPF_OBJ_GET_INFO_BY_FD on a map.
func MapGetInfo(m FD) (MapInfo, error) {
	var raw mapInfo
	if err := objGetInfo(m, &raw); err != nil {
		return MapInfo{}, err
	}
	return MapInfo{
		Type: raw.mapType, ID: raw.id, KeySize: raw.keySize, ValueSize: raw.valueSize, MaxEntries: raw.maxEntries,
		Flags: raw.mapFlags, Name: unix.ByteSliceToString(raw.name[:]),
		BTFID: raw.btfID, BTFKeyTypeID: raw.btfKeyTypeID, BTFValueTypeID: raw.btfValueTypeID,
		BTFVmlinuxValueTypeID: raw.btfVmlinuxValueTypeID, BTFVmlinuxID: raw.btfVmlinuxID,
	}, nil
}

// LinkInfo is the part of struct bpf_link_info the harness reads.
type LinkInfo struct {
	Type, ID, ProgID uint32
	// Ifindex of an XDP link.
	Ifindex uint32
	// Union is the link type's own part of the info, for types this
	// package does not decode.
	Union [32]byte
}

type linkInfo struct {
	linkType uint32
	id       uint32
	progID   uint32
	_        uint32
	union    [32]byte // per link type; xdp: ifindex first
}

// LinkGetInfo issues BPF_OBJ_GET_INFO_BY_FD on a link.
func LinkGetInfo(l FD) (LinkInfo, error) {
	var raw linkInfo
	if err := objGetInfo(l, &raw); err != nil {
		return LinkInfo{}, err
	}
	info := LinkInfo{Type: raw.linkType, ID: raw.id, ProgID: raw.progID, Union: raw.union}
	if raw.linkType == unix.BPF_LINK_TYPE_XDP {
		info.Ifindex = binary.NativeEndian.Uint32(raw.union[:])
	}
	return info, nil
}

// Links returns the info of every link the kernel holds. A link that was
// released after it was listed is left out, and so is one whose creation
// has not finished: between bpf_link_prime and bpf_link_settle its id is
// listed but BPF_LINK_GET_FD_BY_ID says EAGAIN.
func Links() ([]LinkInfo, error) {
	ids, err := LinkIDs()
	if err != nil {
		return nil, err
	}
	var links []LinkInfo
	for _, id := range ids {
		fd, err := LinkGetFDByID(id)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EAGAIN) {
			continue
		}
		if err != nil {
			return nil, err
		}
		info, err := LinkGetInfo(fd)
		fd.Close()
		if err != nil {
			return nil, err
		}
		links = append(links, info)
	}
	return links, nil
}

type btfInfo struct {
	btf       uint64
	btfSize   uint32
	id        uint32
	name      uint64
	nameLen   uint32
	kernelBTF uint32
}

// BTFByID returns the raw BTF blob with the given id.
func BTFByID(id uint32) ([]byte, error) {
	fd, err := fdByID(unix.BPF_BTF_GET_FD_BY_ID, "BPF_BTF_GET_FD_BY_ID", id)
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	var first btfInfo
	if err := objGetInfo(fd, &first); err != nil {
		return nil, err
	}
	blob := make([]byte, first.btfSize)
	info := btfInfo{btfSize: first.btfSize}
	if len(blob) > 0 {
		info.btf = uint64(uintptr(unsafe.Pointer(&blob[0])))
	}
	err = objGetInfo(fd, &info)
	runtime.KeepAlive(blob)
	if err != nil {
		return nil, err
	}
	return blob, nil
}

// BTFIDs returns the ids of the BTF objects loaded in the kernel: vmlinux's,
// each module's, and programs'.
func BTFIDs() ([]uint32, error) { return nextIDs(unix.BPF_BTF_GET_NEXT_ID, "BPF_BTF_GET_NEXT_ID") }

// KernelBTF returns a descriptor of the kernel's BTF object named name:
// "vmlinux", or a module's (whose struct_ops types and kfuncs a struct_ops
// map or a program names through it).
func KernelBTF(name string) (FD, error) {
	ids, err := BTFIDs()
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		fd, err := fdByID(unix.BPF_BTF_GET_FD_BY_ID, "BPF_BTF_GET_FD_BY_ID", id)
		if err != nil {
			continue // gone since the walk
		}
		buf := make([]byte, 64)
		info := btfInfo{name: uint64(uintptr(unsafe.Pointer(&buf[0]))), nameLen: uint32(len(buf))}
		err = objGetInfo(fd, &info)
		runtime.KeepAlive(buf)
		if err == nil && info.kernelBTF != 0 && unix.ByteSliceToString(buf) == name {
			return fd, nil
		}
		fd.Close()
	}
	return 0, fmt.Errorf("no kernel BTF object named %s among %d", name, len(ids))
}

// StructOpsMapAttr is what a BPF_MAP_TYPE_STRUCT_OPS map of a kernel's or
// a module's struct_ops type needs.
type StructOpsMapAttr struct {
	Name string
	// ValueTypeID is bpf_struct_ops_<type>'s BTF ID, ValueSize its size.
	ValueTypeID, ValueSize uint32
	// ModuleBTF is the module's BTF object when a module registers the
	// type (BPF_F_VTYPE_BTF_OBJ_FD, 6.9 on); -1 or 0 for vmlinux's.
	ModuleBTF FD
	Flags     uint32 // BPF_F_LINK, or 0
}

// bpfFVTypeBTFObjFD is BPF_F_VTYPE_BTF_OBJ_FD, which x/sys/unix lacks.
const bpfFVTypeBTFObjFD = 1 << 15

// StructOpsMapCreate creates a struct_ops map. Its value type is the
// kernel's, but map_create wants a BTF object of the program's too
// (btf_fd): one int, as a libbpf object would carry, is loaded for it.
func StructOpsMapCreate(a StructOpsMapAttr) (FD, error) {
	le := binary.NativeEndian
	strs := []byte("\x00int\x00")
	var types []byte
	for _, v := range []uint32{1, 1 << 24, 4, 32} { // [1] INT "int", 4 bytes, 32 bits
		types = le.AppendUint32(types, v)
	}
	blob := le.AppendUint16(nil, 0xeb9f)
	blob = append(blob, 1, 0)
	for _, v := range []uint32{24, 0, uint32(len(types)), uint32(len(types)), uint32(len(strs))} {
		blob = le.AppendUint32(blob, v)
	}
	user, err := BTFLoad(append(append(blob, types...), strs...))
	if err != nil {
		return -1, err
	}
	defer user.Close()
	m := MapCreateAttr{Type: unix.BPF_MAP_TYPE_STRUCT_OPS, KeySize: 4, ValueSize: a.ValueSize, MaxEntries: 1, Flags: a.Flags,
		Name: a.Name, BTF: user, BTFVmlinuxValueTypeID: a.ValueTypeID}
	if a.ModuleBTF > 0 {
		m.Flags |= bpfFVTypeBTFObjFD
		m.ValueTypeBTFObjFD = uint32(a.ModuleBTF)
	}
	return MapCreate(m)
}

package bpf

import (
	"encoding/binary"
	"testing"
	"unsafe"
)

// The attr structs against union bpf_attr of Linux 6.12's uapi header:
// offsetof and sizeof as gcc computes them (6.1's members are a prefix of
// 6.12's). A field at the wrong offset would send a test's value to
// another field, and the kernel's answer would be about the wrong thing.
func TestAttrLayoutIsTheKernels(t *testing.T) {
	var (
		load   progLoadAttr
		attach progAttachAttr
		query  progQueryAttr
		mc     mapCreateAttr
		link   linkCreateAttr
		pin    objPinAttr
		run    progTestRunAttr
		mi     mapInfo
	)
	tests := []struct {
		field     string
		got, want uintptr
	}{
		{"map_create.inner_map_fd", unsafe.Offsetof(mc.innerMapFD), 20},
		{"map_create.map_name", unsafe.Offsetof(mc.mapName), 28},
		{"map_create.map_ifindex", unsafe.Offsetof(mc.mapIfindex), 44},
		{"map_create.btf_vmlinux_value_type_id", unsafe.Offsetof(mc.btfVmlinuxValueTypeID), 60},
		{"map_create.map_extra", unsafe.Offsetof(mc.mapExtra), 64},
		{"map_create.value_type_btf_obj_fd", unsafe.Offsetof(mc.valueTypeBTFObjFD), 72},
		{"map_create.map_token_fd", unsafe.Offsetof(mc.mapTokenFD), 76},
		{"prog_load.kern_version", unsafe.Offsetof(load.kernVersion), 40},
		{"prog_load.prog_flags", unsafe.Offsetof(load.progFlags), 44},
		{"prog_load.prog_ifindex", unsafe.Offsetof(load.progIfindex), 64},
		{"prog_load.expected_attach_type", unsafe.Offsetof(load.expectedAttachType), 68},
		{"prog_load.prog_btf_fd", unsafe.Offsetof(load.progBTFFD), 72},
		{"prog_load.line_info_cnt", unsafe.Offsetof(load.lineInfoCnt), 104},
		{"prog_load.attach_btf_id", unsafe.Offsetof(load.attachBTFID), 108},
		{"prog_load.attach_prog_fd", unsafe.Offsetof(load.attachFD), 112},
		{"prog_load.core_relo_cnt", unsafe.Offsetof(load.coreReloCnt), 116},
		{"prog_load.fd_array", unsafe.Offsetof(load.fdArray), 120},
		{"prog_load.core_relos", unsafe.Offsetof(load.coreRelos), 128},
		{"prog_load.core_relo_rec_size", unsafe.Offsetof(load.coreReloRecSize), 136},
		{"prog_load.log_true_size", unsafe.Offsetof(load.logTrueSize), 140},
		{"prog_load.prog_token_fd", unsafe.Offsetof(load.progTokenFD), 144},
		{"attach.replace_bpf_fd", unsafe.Offsetof(attach.replaceBPFFD), 16},
		{"attach.relative_fd", unsafe.Offsetof(attach.relativeFD), 20},
		{"attach.expected_revision", unsafe.Offsetof(attach.expectedRevision), 24},
		{"query.prog_ids", unsafe.Offsetof(query.progIDs), 16},
		{"query.prog_cnt", unsafe.Offsetof(query.progCnt), 24},
		{"query.prog_attach_flags", unsafe.Offsetof(query.progAttachFlags), 32},
		{"query.link_ids", unsafe.Offsetof(query.linkIDs), 40},
		{"query.link_attach_flags", unsafe.Offsetof(query.linkAttachFlags), 48},
		{"query.revision", unsafe.Offsetof(query.revision), 56},
		{"test.batch_size", unsafe.Offsetof(run.batchSize), 72},
		{"test.data_in", unsafe.Offsetof(run.dataIn), 16},
		{"test.ctx_in", unsafe.Offsetof(run.ctxIn), 48},
		{"test (size)", unsafe.Sizeof(run), 80},
		{"link_create.flags", unsafe.Offsetof(link.flags), 12},
		{"link_create.target_btf_id (the union)", unsafe.Offsetof(link.union), 16},
		{"map_info.btf_vmlinux_value_type_id", unsafe.Offsetof(mi.btfVmlinuxValueTypeID), 44},
		{"map_info.btf_value_type_id", unsafe.Offsetof(mi.btfValueTypeID), 72},
		{"map_info.btf_vmlinux_id", unsafe.Offsetof(mi.btfVmlinuxID), 76},
		{"sizeof map_info", unsafe.Sizeof(mi), 88},
		{"pathname", unsafe.Offsetof(pin.pathname), 0},
		{"file_flags", unsafe.Offsetof(pin.fileFlags), 12},
		{"path_fd", unsafe.Offsetof(pin.pathFD), 16},
		// Each struct ends within sizeof(union bpf_attr), 152 in 6.12: the
		// kernel requires the bytes past its own union to be zero, and
		// 6.1's is 144 bytes (prog_load ends at core_relo_rec_size).
		{"sizeof prog_load", unsafe.Sizeof(load), 152},
		{"sizeof attach", unsafe.Sizeof(attach), 32},
		{"sizeof query", unsafe.Sizeof(query), 64},
		{"sizeof link_create", unsafe.Sizeof(link), 64},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s at %d, the kernel's is %d", tt.field, tt.got, tt.want)
		}
	}
}

func TestBTFLoadLayoutIsTheKernels(t *testing.T) {
	var a btfLoadAttr
	var id getIDAttr
	for _, tt := range []struct {
		field     string
		got, want uintptr
	}{
		{"btf_log_level", unsafe.Offsetof(a.btfLogLevel), 24},
		{"btf_log_true_size", unsafe.Offsetof(a.btfLogTrueSize), 28},
		{"btf_flags", unsafe.Offsetof(a.btfFlags), 32},
		{"btf_token_fd", unsafe.Offsetof(a.btfTokenFD), 36},
		{"open_flags", unsafe.Offsetof(id.flags), 8},
	} {
		if tt.got != tt.want {
			t.Errorf("%s at %d, the kernel's is %d", tt.field, tt.got, tt.want)
		}
	}
}

// gpl_compatible is bpf_prog_info's first bit field: bit 0 of its word on
// x86_64 and arm64, bit 31 on s390x (as gcc lays out bit fields on a
// big-endian target). The guest's prog show test on s390x reads it back.
func TestFirstBitFieldInEitherOrder(t *testing.T) {
	if got := firstBitField(binary.LittleEndian); got != 1 {
		t.Errorf("little-endian: %#x, want 0x1", got)
	}
	if got := firstBitField(binary.BigEndian); got != 1<<31 {
		t.Errorf("big-endian: %#x, want 0x80000000", got)
	}
}

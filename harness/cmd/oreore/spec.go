package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"oreore/harness/bpf"
)

// kind is what a spec names, programs or maps: the two differ only in the
// keywords they take and the bpf(2) commands that find them, so one
// resolver serves both.
type kind struct {
	noun     string   // "program", "map"
	meta     string   // PROG, MAP: the spec as usage writes it
	keywords []string // each followed by its value: id PROG_ID, pinned FILE...
	inode    string   // readlink of /proc/self/fd/N for this kind: pinned paths are checked against it
	ids      func() ([]uint32, error)
	byID     func(uint32) (bpf.FD, error)
	info     func(bpf.FD) (id uint32, name string, tag [unix.BPF_TAG_SIZE]byte, err error)
}

// progKind is bpftool's PROG := { id PROG_ID | pinned FILE | tag PROG_TAG | name PROG_NAME }.
var progKind = &kind{
	noun: "program", meta: "PROG", keywords: []string{"id", "pinned", "tag", "name"}, inode: "anon_inode:bpf-prog",
	ids: bpf.ProgIDs, byID: bpf.ProgGetFDByID,
	info: func(fd bpf.FD) (uint32, string, [unix.BPF_TAG_SIZE]byte, error) {
		i, err := bpf.ProgGetInfo(fd)
		return i.ID, i.Name, i.Tag, err
	},
}

// mapKind is bpftool's MAP := { id MAP_ID | pinned FILE | name MAP_NAME }: maps have no tag.
var mapKind = &kind{
	noun: "map", meta: "MAP", keywords: []string{"id", "pinned", "name"}, inode: "anon_inode:bpf-map",
	ids: bpf.MapIDs, byID: bpf.MapGetFDByID,
	info: func(fd bpf.FD) (uint32, string, [unix.BPF_TAG_SIZE]byte, error) {
		i, err := bpf.MapGetInfo(fd)
		return i.ID, i.Name, [unix.BPF_TAG_SIZE]byte{}, err
	},
}

// value is what follows keyword in usage: PROG_ID, FILE, PROG_TAG...
func (k *kind) value(keyword string) string {
	if keyword == "pinned" {
		return "FILE"
	}
	return k.meta + "_" + strings.ToUpper(keyword)
}

// alternatives is the spec as bpftool's usage writes it.
func (k *kind) alternatives() string {
	alts := make([]string, len(k.keywords))
	for i, kw := range k.keywords {
		alts[i] = kw + " " + k.value(kw)
	}
	return "{ " + strings.Join(alts, " | ") + " }"
}

// grammar is the spec's definition, as help prints it.
func (k *kind) grammar() string {
	return fmt.Sprintf("%s := %s   (a bare %s is an id)", k.meta, k.alternatives(), k.value("id"))
}

// spec is one parsed PROG or MAP.
type spec struct {
	kind *kind
	by   string // id, pinned, tag or name
	arg  string // as given
	id   uint32
	tag  [unix.BPF_TAG_SIZE]byte
}

func (s spec) String() string { return s.by + " " + s.arg }

// parse reads a spec from the front of args and returns the args after it.
// A bare number is an id, as the command took before it knew specs.
func (k *kind) parse(args []string) (spec, []string, error) {
	if len(args) == 0 {
		return spec{}, nil, fmt.Errorf("missing %s: want %s", k.meta, k.alternatives())
	}
	if id, err := strconv.ParseUint(args[0], 10, 32); err == nil {
		return spec{kind: k, by: "id", arg: args[0], id: uint32(id)}, args[1:], nil
	}
	s := spec{kind: k, by: args[0]}
	if !slices.Contains(k.keywords, s.by) {
		return spec{}, nil, fmt.Errorf("%s %q: want %s", k.meta, args[0], k.alternatives())
	}
	if len(args) < 2 {
		return spec{}, nil, fmt.Errorf("%s %s: missing %s", k.meta, s.by, k.value(s.by))
	}
	s.arg = args[1]
	switch s.by {
	case "id":
		id, err := strconv.ParseUint(s.arg, 10, 32)
		if err != nil {
			return spec{}, nil, fmt.Errorf("%s id %q: %w", k.meta, s.arg, err.(*strconv.NumError).Err)
		}
		s.id = uint32(id)
	case "tag":
		// As prog show prints it: 16 hex digits, no separators.
		b, err := hex.DecodeString(s.arg)
		if err != nil || len(b) != len(s.tag) {
			return spec{}, nil, fmt.Errorf("%s tag %q: want %d hex digits", k.meta, s.arg, 2*len(s.tag))
		}
		copy(s.tag[:], b)
	case "name":
		// The kernel keeps 15 bytes of a name: a longer one matches nothing.
		if s.arg == "" || len(s.arg) >= unix.BPF_OBJ_NAME_LEN {
			return spec{}, nil, fmt.Errorf("%s name %q: want 1 to %d bytes", k.meta, s.arg, unix.BPF_OBJ_NAME_LEN-1)
		}
	case "pinned":
		if s.arg == "" {
			return spec{}, nil, fmt.Errorf("%s pinned: the path is empty", k.meta)
		}
	}
	return s, args[2:], nil
}

// errnoError is a one-line error naming its errno as bpf.Error does, for
// failures the command finds itself; errors.Is sees the errno.
type errnoError struct {
	msg   string
	errno unix.Errno
}

func (e *errnoError) Error() string {
	return fmt.Sprintf("%s: %s (%s)", e.msg, unix.ErrnoName(e.errno), e.errno.Error())
}

func (e *errnoError) Unwrap() error { return e.errno }

// open returns a descriptor for every object the spec names: one for id
// and pinned, every match for name and tag (bpftool's prog_parse_fds).
// The caller closes them.
// openAll opens every match of a spec that makes up the whole of args.
func (k *kind) openAll(args []string) ([]bpf.FD, error) {
	s, rest, err := k.parse(args)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, errUsage
	}
	return s.open()
}

func (s spec) open() ([]bpf.FD, error) {
	k := s.kind
	switch s.by {
	case "id":
		fd, err := k.byID(s.id)
		if err != nil {
			return nil, fmt.Errorf("%s id %d: %w", k.noun, s.id, err)
		}
		return []bpf.FD{fd}, nil
	case "pinned":
		fd, err := bpf.ObjGet(s.arg)
		if err != nil {
			return nil, fmt.Errorf("pinned %s: %w", s.arg, err)
		}
		// A pin may hold any BPF object; the kernel would take a map's fd
		// for a program's and fail later with a vaguer EINVAL.
		// Without /proc the check is skipped, and the kernel has the last word.
		if got, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd)); err == nil && got != k.inode {
			fd.Close()
			return nil, &errnoError{fmt.Sprintf("pinned %s holds %s, not a %s", s.arg, inodeNoun(got), k.noun), unix.EINVAL}
		}
		return []bpf.FD{fd}, nil
	}
	ids, err := k.ids()
	if err != nil {
		return nil, err
	}
	var fds []bpf.FD
	for _, id := range ids {
		fd, err := k.byID(id)
		if errors.Is(err, unix.ENOENT) {
			continue // gone since it was listed
		}
		if err != nil {
			closeAll(fds)
			return nil, err
		}
		_, name, tag, err := k.info(fd)
		if err != nil {
			fd.Close()
			closeAll(fds)
			return nil, err
		}
		if (s.by == "name" && name == s.arg) || (s.by == "tag" && tag == s.tag) {
			fds = append(fds, fd)
		} else {
			fd.Close()
		}
	}
	if len(fds) == 0 {
		return nil, &errnoError{fmt.Sprintf("no %s with %s", k.noun, s), unix.ENOENT}
	}
	return fds, nil
}

// openOne is open for the verbs that act on one object: when a name or tag
// matches several, the error lists their ids, so the user can pick one.
func (s spec) openOne() (bpf.FD, error) {
	fds, err := s.open()
	if err != nil {
		return -1, err
	}
	if len(fds) == 1 {
		return fds[0], nil
	}
	defer closeAll(fds)
	ids := make([]string, len(fds))
	for i, fd := range fds {
		id, _, _, err := s.kind.info(fd)
		if err != nil {
			return -1, err
		}
		ids[i] = fmt.Sprint(id)
	}
	return -1, fmt.Errorf("%s matches %d %ss (ids %s): use id", s, len(fds), s.kind.noun, strings.Join(ids, ", "))
}

func closeAll(fds []bpf.FD) {
	for _, fd := range fds {
		fd.Close()
	}
}

// inodeNoun names what an fd's /proc link says it is.
func inodeNoun(link string) string {
	switch link {
	case "anon_inode:bpf-prog":
		return "a program"
	case "anon_inode:bpf-map":
		return "a map"
	case "anon_inode:bpf_link":
		return "a link"
	case "anon_inode:btf":
		return "BTF"
	}
	return fmt.Sprintf("%q", link)
}

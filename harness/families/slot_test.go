//go:build guest

package families

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	. "oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/progtype"
)

// inputField is the field a trigger's input lands in: the first readable
// 4-byte input field.
func inputField(t *testing.T, k *progtype.Kernel) progtype.Field {
	t.Helper()
	f, ok := k.Ctx.InputWord()
	if !ok {
		t.Fatalf("%s: no readable 4-byte input field for a trigger's input", k.Name)
	}
	return f
}

// addProg returns the input plus n: programs told apart by what a run of
// the attach point returns.
func addProg(t *testing.T, k *progtype.Kernel, n int32) bpf.FD {
	in := inputField(t, k)
	return mustLoad(t, k, Instructions{LoadMem(R0, R1, int16(in.Off), Word), Add.Imm32(R0, n), Return()})
}

// slot is one single-slot attach point under test: what a run returns and
// who the query says is attached.
type slot struct {
	t *testing.T
	k *progtype.Kernel
}

// runs checks what a run through the type's trigger gives: in+n, or
// ENODEV (n < 0) when the slot is empty.
func (s slot) runs(what string, n int32) {
	s.t.Helper()
	const in = 1000
	got, err := s.k.Trigger.Run(in)
	switch {
	case n < 0 && !errors.Is(err, unix.ENODEV):
		s.t.Errorf("%s: a run gives %d, %v; want ENODEV (nothing attached)", what, got, err)
	case n >= 0 && (err != nil || got != in+uint32(n)):
		s.t.Errorf("%s: a run gives %d, %v; want %d", what, got, err, in+uint32(n))
	}
}

// holds checks the query: the id attached, 0 for none.
func (s slot) holds(what string, prog bpf.FD) {
	s.t.Helper()
	var want uint32
	if prog > 0 {
		info, err := bpf.ProgGetInfo(prog)
		if err != nil {
			s.t.Fatal(err)
		}
		want = info.ID
	}
	ids, err := bpf.ProgQuery(0, s.k.Numbers.AttachType, 4)
	var got uint32
	if len(ids) > 0 {
		got = ids[0]
	}
	if err != nil || len(ids) > 1 || got != want {
		s.t.Errorf("%s: the query gives %v, %v; want [%d] (0: none)", what, ids, err, want)
	}
}

func (s slot) attach(prog bpf.FD) error {
	return bpf.ProgAttach(bpf.ProgAttachAttr{Prog: prog, AttachType: s.k.Numbers.AttachType})
}

func (s slot) detach(prog bpf.FD) error {
	return bpf.ProgDetach(bpf.ProgAttachAttr{Prog: prog, AttachType: s.k.Numbers.AttachType})
}

func (s slot) link(prog bpf.FD) (bpf.FD, error) {
	return bpf.LinkCreate(bpf.LinkCreateAttr{Prog: prog, AttachType: s.k.Numbers.AttachType})
}

func is(t *testing.T, what string, err error, want unix.Errno) {
	t.Helper()
	switch {
	case want == 0 && err != nil:
		t.Errorf("%s: %v", what, err)
	case want != 0 && !errors.Is(err, want):
		t.Errorf("%s: %v, want %s", what, err, unix.ErrnoName(want))
	}
}

// A single-slot attach point, as the netns hooks in
// kernel/bpf/net_namespace.c have it: attach replaces, the same program
// twice is EINVAL, a wrong detach is ENOENT; a link owns the slot (E2BIG for
// a second, EEXIST against BPF_PROG_ATTACH both ways), an update swaps the
// program, BPF_F_REPLACE checks the old one, a detached link is defunct
// (ENOLINK), and closing it empties the slot. Each step is checked by what
// a run returns and by the query.
func singleSlot(t *testing.T, k *progtype.Kernel) {
	s := slot{t, k}
	s.runs("at the start", -1)
	s.holds("at the start", 0)
	if t.Failed() {
		t.Fatal("the slot is not empty at the start: an earlier test left a program attached")
	}
	a, b := addProg(t, k, 1), addProg(t, k, 2)

	// A link-only point refuses BPF_PROG_ATTACH and BPF_PROG_DETACH.
	progAttach, progDetach := unix.EEXIST, unix.EINVAL
	if !k.Attach.ProgAttach {
		progAttach = unix.EINVAL
		t.Run("prog attach refused", func(t *testing.T) {
			s := slot{t, k}
			is(t, "attach", s.attach(a), unix.EINVAL)
			is(t, "detach", s.detach(a), unix.EINVAL)
			s.runs("after the refusals", -1)
			s.holds("after the refusals", 0)
		})
	}

	t.Run("prog attach", func(t *testing.T) {
		if !k.Attach.ProgAttach {
			t.Skipf("%s's attach point takes links only (prog attach refused checks that)", k.Name)
		}
		s := slot{t, k}
		is(t, "attach", s.attach(a), 0)
		s.runs("after attach", 1)
		s.holds("after attach", a)
		is(t, "attach the attached program again", s.attach(a), unix.EINVAL)
		is(t, "attach another", s.attach(b), 0)
		s.runs("after replace", 2)
		s.holds("after replace", b)
		is(t, "detach the replaced program", s.detach(a), unix.ENOENT)
		is(t, "detach", s.detach(b), 0)
		s.runs("after detach", -1)
		s.holds("after detach", 0)
		is(t, "detach from the empty slot", s.detach(b), unix.ENOENT)
	})

	t.Run("link", func(t *testing.T) {
		s := slot{t, k}
		link, err := s.link(a)
		if err != nil {
			t.Fatal(err)
		}
		defer link.Close()
		s.runs("after link create", 1)
		s.holds("after link create", a)
		second, err := s.link(b)
		if err == nil {
			second.Close()
		}
		is(t, "a second link", err, unix.E2BIG)
		is(t, "prog attach while a link owns the slot", s.attach(b), progAttach)
		is(t, "prog detach of the link's program", s.detach(a), progDetach)
		s.runs("after the refusals", 1)

		is(t, "link update", bpf.LinkUpdate(bpf.LinkUpdateAttr{Link: link, NewProg: b}), 0)
		s.runs("after link update", 2)
		s.holds("after link update", b)
		is(t, "link update with the wrong old program",
			bpf.LinkUpdate(bpf.LinkUpdateAttr{Link: link, NewProg: a, OldProg: a, Flags: unix.BPF_F_REPLACE}), unix.EPERM)
		is(t, "link update with the right old program",
			bpf.LinkUpdate(bpf.LinkUpdateAttr{Link: link, NewProg: a, OldProg: b, Flags: unix.BPF_F_REPLACE}), 0)
		s.runs("after the checked update", 1)

		is(t, "link detach", bpf.LinkDetach(link), 0)
		s.runs("after link detach", -1)
		s.holds("after link detach", 0)
		is(t, "update a defunct link", bpf.LinkUpdate(bpf.LinkUpdateAttr{Link: link, NewProg: b}), unix.ENOLINK)
	})

	t.Run("link close", func(t *testing.T) {
		s := slot{t, k}
		link, err := s.link(b)
		if err != nil {
			t.Fatal(err)
		}
		s.runs("with the link", 2)
		link.Close()
		s.runs("after the link's last fd closed", -1)
		s.holds("after the link's last fd closed", 0)
	})

	t.Run("link against prog attach", func(t *testing.T) {
		if !k.Attach.ProgAttach {
			t.Skipf("%s's attach point takes links only", k.Name)
		}
		s := slot{t, k}
		is(t, "attach", s.attach(a), 0)
		defer s.detach(a)
		link, err := s.link(b)
		if err == nil {
			link.Close()
		}
		is(t, "a link while BPF_PROG_ATTACH fills the slot", err, unix.EEXIST)
		s.runs("after the refused link", 1)
	})
	s.runs("at the end", -1)
}

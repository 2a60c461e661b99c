//go:build guest

package suite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"oreore/harness/bpf"
	"oreore/harness/btf"
	"oreore/harness/guest"
	"oreore/harness/oreore"
)

// linkCreate creates an oreore link to prog and closes it when the test
// ends (closing twice is harmless: the second close gets EBADF).
func linkCreate(t *testing.T, prog bpf.FD) bpf.FD {
	t.Helper()
	link, err := oreore.LinkCreate(prog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { link.Close() })
	return link
}

// wantRun checks what a write through the module gives.
func wantRun(t *testing.T, when string, want uint32) {
	t.Helper()
	if got, err := oreore.Run(0); err != nil || got != want {
		t.Fatalf("%s: run gave %d, %v; want %d", when, got, err, want)
	}
}

// wantEmpty checks that nothing runs.
func wantEmpty(t *testing.T, when string) {
	t.Helper()
	if err := oreore.Write(0); !errors.Is(err, unix.ENODEV) {
		t.Fatalf("%s: write gave %v, want ENODEV (an empty slot)", when, err)
	}
}

// waitEmpty is wantEmpty for releases the kernel defers past the syscall.
func waitEmpty(t *testing.T, when string) {
	t.Helper()
	wait := guest.Patience(2 * time.Second)
	deadline := time.Now().Add(wait)
	for {
		err := oreore.Write(0)
		if errors.Is(err, unix.ENODEV) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: write still gave %v after %v, want ENODEV (an empty slot)", when, err, wait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLinkRunsTheProgramAndReportsItself(t *testing.T) {
	requireEmptySlot(t)
	u := uapi(t)
	prog := load(t, "l11", constProg(11))
	link := linkCreate(t, prog)
	wantRun(t, "with a link", 11)

	info, err := oreore.GetLinkInfo(link)
	if err != nil {
		t.Fatal(err)
	}
	if info.Type != u.LinkType || info.ProgID != progID(t, prog) || info.AttachType != u.AttachType || !info.Attached {
		t.Errorf("link info %+v, want type %d, prog %d, attach type %d, attached", info, u.LinkType, progID(t, prog), u.AttachType)
	}
	if id, err := oreore.Attached(); err != nil || id != info.ProgID {
		t.Errorf("BPF_PROG_QUERY: %d, %v; want the link's program %d", id, err, info.ProgID)
	}
	fdinfo, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", link))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"link_type:\toreore\n", fmt.Sprintf("attach_type:\t%d\n", u.AttachType), "attached:\t1\n",
		fmt.Sprintf("prog_id:\t%d\n", info.ProgID)} {
		if !strings.Contains(string(fdinfo), want) {
			t.Errorf("fdinfo lacks %q:\n%s", want, fdinfo)
		}
	}
}

// The link holds the program: closing the link empties the slot and puts
// the last reference.
func TestLinkCloseDetachesAndFreesTheProgram(t *testing.T) {
	requireEmptySlot(t)
	prog, err := oreore.Load("l12", constProg(12))
	if err != nil {
		t.Fatal(err)
	}
	id := progID(t, prog)
	link, err := oreore.LinkCreate(prog)
	if err != nil {
		t.Fatal(err)
	}
	prog.Close()
	wantRun(t, "with the program's fd closed", 12)
	if !progIDs(t)[id] {
		t.Fatalf("program %d vanished while its link is open", id)
	}
	link.Close()
	wantEmpty(t, "after the link's last fd was closed")
	waitGone(t, id, "after its link was closed")
}

// A pinned link outlives its fds; removing the pin releases it.
func TestPinnedLinkOutlivesItsFD(t *testing.T) {
	requireEmptySlot(t)
	prog, err := oreore.Load("l13", constProg(13))
	if err != nil {
		t.Fatal(err)
	}
	id := progID(t, prog)
	link, err := oreore.LinkCreate(prog)
	prog.Close()
	if err != nil {
		t.Fatal(err)
	}
	pin := filepath.Join("/sys/fs/bpf", fmt.Sprintf("oreore-link-%d", os.Getpid()))
	if err := bpf.ObjPin(link, pin); err != nil {
		link.Close()
		t.Fatal(err)
	}
	link.Close()
	wantRun(t, "with only the pin holding the link", 13)
	if err := os.Remove(pin); err != nil {
		t.Fatal(err)
	}
	// bpffs drops the pinned object from the inode's RCU free callback,
	// and bpf_link_put defers from there to a workqueue: the slot empties
	// a little after unlink(2) returns, not at once.
	waitEmpty(t, "after the pin was removed")
	waitGone(t, id, "after its link's pin was removed")
}

func TestLinkCreateArgumentsRejected(t *testing.T) {
	requireEmptySlot(t)
	u := uapi(t)
	prog := load(t, "l14", constProg(14))
	sockFilter := loadSocketFilter(t)
	tests := []struct {
		name  string
		attr  bpf.LinkCreateAttr
		errno unix.Errno
	}{
		{"non-zero target_fd", bpf.LinkCreateAttr{Prog: prog, Target: 1, AttachType: u.AttachType}, unix.EINVAL},
		{"non-zero flags", bpf.LinkCreateAttr{Prog: prog, AttachType: u.AttachType, Flags: unix.BPF_F_REPLACE}, unix.EINVAL},
		{"a socket filter", bpf.LinkCreateAttr{Prog: sockFilter, AttachType: u.AttachType}, unix.EINVAL},
		{"the XDP attach type", bpf.LinkCreateAttr{Prog: prog, AttachType: unix.BPF_XDP}, unix.EINVAL},
		{"a closed fd", bpf.LinkCreateAttr{Prog: 999, AttachType: u.AttachType}, unix.EBADF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			link, err := bpf.LinkCreate(tt.attr)
			if err == nil {
				link.Close()
			}
			if !errors.Is(err, tt.errno) {
				t.Errorf("got %v, want %s", err, unix.ErrnoName(tt.errno))
			}
			requireEmptySlot(t)
		})
	}
}

// A link and BPF_PROG_ATTACH do not mix, as for net_namespace.c's links.
func TestLinkAndProgAttachExcludeEachOther(t *testing.T) {
	requireEmptySlot(t)
	legacy := load(t, "l15", constProg(15))
	linked := load(t, "l16", constProg(16))

	if err := oreore.Attach(legacy); err != nil {
		t.Fatal(err)
	}
	if link, err := oreore.LinkCreate(linked); !errors.Is(err, unix.EEXIST) {
		if err == nil {
			link.Close()
		}
		t.Errorf("link create over BPF_PROG_ATTACH: %v, want EEXIST", err)
	}
	wantRun(t, "after the refused link", 15)
	if err := oreore.Detach(legacy); err != nil {
		t.Fatal(err)
	}

	linkCreate(t, linked)
	if err := oreore.Attach(legacy); !errors.Is(err, unix.EEXIST) {
		t.Errorf("BPF_PROG_ATTACH over a link: %v, want EEXIST", err)
	}
	if err := oreore.Detach(linked); !errors.Is(err, unix.EINVAL) {
		t.Errorf("BPF_PROG_DETACH of a link's program: %v, want EINVAL", err)
	}
	if link, err := oreore.LinkCreate(legacy); !errors.Is(err, unix.E2BIG) {
		if err == nil {
			link.Close()
		}
		t.Errorf("a second link: %v, want E2BIG", err)
	}
	wantRun(t, "after the refused attach, detach and second link", 16)
}

func TestLinkUpdateSwapsThePrograms(t *testing.T) {
	requireEmptySlot(t)
	first, err := oreore.Load("l17", constProg(17))
	if err != nil {
		t.Fatal(err)
	}
	firstID := progID(t, first)
	second := load(t, "l18", constProg(18))
	third := load(t, "l19", constProg(19))
	link := linkCreate(t, first)

	if err := bpf.LinkUpdate(bpf.LinkUpdateAttr{Link: link, NewProg: second}); err != nil {
		t.Fatal(err)
	}
	wantRun(t, "after the update", 18)
	info, err := oreore.GetLinkInfo(link)
	if err != nil || info.ProgID != progID(t, second) {
		t.Errorf("link info after the update: %+v, %v; want prog %d", info, err, progID(t, second))
	}
	first.Close()
	waitGone(t, firstID, "after the update replaced it and its loader closed it")

	sockFilter := loadSocketFilter(t)
	tests := []struct {
		name  string
		attr  bpf.LinkUpdateAttr
		errno unix.Errno
	}{
		{"BPF_F_REPLACE with a program that is not the link's", bpf.LinkUpdateAttr{Link: link, NewProg: third, OldProg: third, Flags: unix.BPF_F_REPLACE}, unix.EPERM},
		{"old_prog_fd without BPF_F_REPLACE", bpf.LinkUpdateAttr{Link: link, NewProg: third, OldProg: second}, unix.EINVAL},
		{"a socket filter", bpf.LinkUpdateAttr{Link: link, NewProg: sockFilter}, unix.EINVAL},
	}
	for _, tt := range tests {
		if err := bpf.LinkUpdate(tt.attr); !errors.Is(err, tt.errno) {
			t.Errorf("update with %s: %v, want %s", tt.name, err, unix.ErrnoName(tt.errno))
		}
	}
	wantRun(t, "after the refused updates", 18)
	if err := bpf.LinkUpdate(bpf.LinkUpdateAttr{Link: link, NewProg: third, OldProg: second, Flags: unix.BPF_F_REPLACE}); err != nil {
		t.Fatalf("update with BPF_F_REPLACE and the link's program: %v", err)
	}
	wantRun(t, "after the BPF_F_REPLACE update", 19)
}

// Writers never see an empty slot while a link's program is swapped.
func TestLinkUpdateIsAtomicUnderWriters(t *testing.T) {
	requireEmptySlot(t)
	a := load(t, "l20", constProg(20))
	b := load(t, "l21", constProg(21))
	link := linkCreate(t, a)

	const writers, runs = 2, 2000
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	// What the writers read back: both programs, if the updates raced them.
	var saw [2]atomic.Bool
	for w := range writers {
		port := openPort(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range runs {
				// Another writer's result may be read back; both are 20 or 21.
				got, err := port.Run(0)
				if err != nil || (got != 20 && got != 21) {
					errs <- fmt.Errorf("writer %d: %d, %v; want 20 or 21 and never an empty slot", w, got, err)
					return
				}
				saw[got-20].Store(true)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	updates := 0
	for running := true; running; updates++ {
		select {
		case <-done:
			running = false
		default:
		}
		next := b
		if updates%2 == 1 {
			next = a
		}
		if err := bpf.LinkUpdate(bpf.LinkUpdateAttr{Link: link, NewProg: next}); err != nil {
			t.Errorf("update %d: %v", updates, err)
			<-done
			break
		}
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d updates while %d writers ran %d times each", updates, writers, runs)
	// The check that the test raced anything is what the writers saw,
	// not a count of updates, which depends on the machine's speed.
	if !saw[0].Load() || !saw[1].Load() {
		t.Errorf("the writers read back only one program (20: %v, 21: %v) over %d updates: the updates did not race them",
			saw[0].Load(), saw[1].Load(), updates)
	}
}

func TestLinkDetachEmptiesTheSlotAndLeavesTheLinkDefunct(t *testing.T) {
	requireEmptySlot(t)
	linked := load(t, "l22", constProg(22))
	legacy := load(t, "l23", constProg(23))
	other := load(t, "l24", constProg(24))
	link := linkCreate(t, linked)

	if err := bpf.LinkDetach(link); err != nil {
		t.Fatal(err)
	}
	wantEmpty(t, "after BPF_LINK_DETACH")
	info, err := oreore.GetLinkInfo(link)
	if err != nil || info.Attached {
		t.Errorf("link info after detach: %+v, %v; want attached false", info, err)
	}
	if err := bpf.LinkUpdate(bpf.LinkUpdateAttr{Link: link, NewProg: other}); !errors.Is(err, unix.ENOLINK) {
		t.Errorf("update of a detached link: %v, want ENOLINK", err)
	}
	// The slot is free again; the defunct link must not take it back or
	// empty it when it is closed.
	attach(t, legacy)
	link.Close()
	wantRun(t, "after the defunct link was closed", 23)
}

func TestLinkCreateClose1000Cycles(t *testing.T) {
	requireEmptySlot(t)
	prog := load(t, "l25", constProg(25))
	linksBefore := oreoreLinks(t)
	for i := range 1000 {
		link, err := oreore.LinkCreate(prog)
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if i%100 == 0 {
			wantRun(t, fmt.Sprintf("cycle %d", i), 25)
		}
		link.Close()
	}
	wantEmpty(t, "after the cycles")
	if linksAfter := oreoreLinks(t); len(linksAfter) != len(linksBefore) {
		t.Errorf("%d oreore links before the cycles, %d after: %v", len(linksBefore), len(linksAfter), linksAfter)
	}
}

// oreoreLinks lists the ids of the kernel's oreore links; the other test
// lane makes links of other types meanwhile.
func oreoreLinks(t *testing.T) []uint32 {
	t.Helper()
	links, err := bpf.Links()
	if err != nil {
		t.Fatal(err)
	}
	var oreoreIDs []uint32
	for _, l := range links {
		if l.Type == uapi(t).LinkType {
			oreoreIDs = append(oreoreIDs, l.ID)
		}
	}
	return oreoreIDs
}

// The harness's numbers for this kernel series are the ones the running
// kernel was built with, as its BTF records the uapi enums.
func TestUAPINumbersMatchTheKernelsBTF(t *testing.T) {
	u := uapi(t)
	raw, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := btf.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		enum, name string
		value      uint32
	}{
		{"bpf_prog_type", "BPF_PROG_TYPE_OREORE", u.ProgType},
		{"bpf_attach_type", "BPF_OREORE_ATTACH", u.AttachType},
		{"bpf_link_type", "BPF_LINK_TYPE_OREORE", u.LinkType},
	}
	for _, w := range want {
		found := false
		for _, typ := range spec.Named(w.enum, btf.KindEnum) {
			for _, e := range typ.Enums {
				if e.Name == w.name {
					found = true
					if uint32(e.Value) != w.value {
						t.Errorf("%s is %d in the kernel's BTF, %d in the harness (series %s)", w.name, e.Value, w.value, u.Series)
					}
				}
			}
		}
		if !found {
			t.Errorf("enum %s has no %s in the kernel's BTF", w.enum, w.name)
		}
	}
}

//go:build guest

package families

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	. "oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/guest"
	"oreore/harness/progtype"
)

// The races below write to the trigger file with pwrite on an open file,
// as a busy caller would: opening it for every write would cost more than
// the run and thin the race out.
func openTrigger(t *testing.T, k *progtype.Kernel) *os.File {
	t.Helper()
	f, err := os.OpenFile(k.Trigger.(progtype.SysfsTrigger).Path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func write(f *os.File, in uint32) error {
	_, err := f.WriteAt([]byte(fmt.Sprint(in)), 0)
	return err
}

// The run takes no lock: callers on two CPUs run the attached program at
// the same time. Each run counts itself in flight in a map (an atomic add),
// spins until it sees another run in flight or its budget ends, records the
// highest count it saw (an atomic or) and counts itself out. Two writers,
// one pinned to each CPU, write until some run saw two: a run that took a
// global lock never would.
func concurrentRuns(t *testing.T, k *progtype.Kernel) {
	if runtime.NumCPU() < 2 {
		t.Fatalf("%d CPU: two runs at once need two (make vm-test boots two)", runtime.NumCPU())
	}
	m, err := bpf.MapCreate(bpf.MapCreateAttr{Type: unix.BPF_MAP_TYPE_ARRAY, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	prog := mustLoad(t, k, Instructions{
		StoreImm(RFP, -4, 0, Word),
		Mov.Reg(R2, RFP),
		Add.Imm(R2, -4),
		LoadMapFD(R1, int(m)),
		CallHelper(1), // bpf_map_lookup_elem
		JEq.Imm(R0, 0, 15),
		Mov.Reg(R7, R0),
		Mov.Imm(R1, 1),
		AtomicFetchAdd(R7, 0, R1, Word), // in flight before this run
		Add.Imm32(R1, 1),
		Mov.Reg(R8, R1),
		Mov.Imm(R9, 1000),
		JGE.Imm(R8, 2, 3), // loop: another run is in flight
		LoadMem(R8, R7, 0, Word),
		Sub.Imm(R9, 1),
		JNE.Imm(R9, 0, -4),
		AtomicOr(R7, 4, R8, Word), // the most this run saw
		Mov.Imm(R1, -1),
		AtomicAdd(R7, 0, R1, Word),
		Mov.Imm(R0, 0),
		Return(),
		Mov.Imm(R0, 0),
		Return(),
	})
	link, err := slot{t, k}.link(prog)
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	seen := func() uint32 {
		v := make([]byte, 8)
		if err := bpf.MapLookupElem(m, make([]byte, 4), v); err != nil {
			t.Fatal(err)
		}
		return binary.NativeEndian.Uint32(v[4:])
	}
	var overlapped atomic.Bool
	deadline := time.Now().Add(20 * time.Second)
	var writes [2]int
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for cpu := range 2 {
		f := openTrigger(t, k)
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var set unix.CPUSet
			set.Set(cpu)
			if errs[cpu] = unix.SchedSetaffinity(0, &set); errs[cpu] != nil {
				return
			}
			for !overlapped.Load() && time.Now().Before(deadline) {
				for range 50 {
					if errs[cpu] = write(f, uint32(cpu)); errs[cpu] != nil {
						return
					}
					writes[cpu]++
				}
				if seen()&2 != 0 {
					overlapped.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if !overlapped.Load() {
		t.Fatalf("after %d and %d writes on CPUs 0 and 1, no run saw another in flight (the most seen: %#x): runs are serialised", writes[0], writes[1], seen())
	}
	t.Logf("two runs in flight at once after %d and %d writes", writes[0], writes[1])
}

// Runs race link create, update, detach and close safely: writers on the
// trigger see one of the linked programs' answers to one of their own
// writes, or ENODEV, never anything else, while another thread links,
// updates and detaches three programs; and they see more than one of them.
// A program freed before its runs ended shows as a KASAN report on the
// debug flavor, which fails the run.
func writersAgainstLinks(t *testing.T, k *progtype.Kernel) {
	in := inputField(t, k)
	const writers = 2
	cycles := 200
	if testing.Short() {
		cycles = 40
	}
	var progs []bpf.FD
	for id := int32(1); id <= 3; id++ {
		progs = append(progs, mustLoad(t, k, Instructions{LoadMem(R0, R1, int16(in.Off), Word), Or.Imm32(R0, id<<24), Return()}))
	}
	var seen [4]atomic.Int64
	var enodev atomic.Int64
	var done atomic.Bool
	errs := make([]error, writers+1)
	var wg sync.WaitGroup
	for w := range uint32(writers) {
		f := openTrigger(t, k)
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 32)
			// Until the links are done; seq stays below 1<<24.
			for seq := uint32(0); !done.Load(); seq = (seq + 1) & 0xffffff {
				err := write(f, w<<28|seq)
				if errors.Is(err, unix.ENODEV) {
					enodev.Add(1)
					continue
				}
				if err != nil {
					errs[w] = err
					return
				}
				n, err := f.ReadAt(buf, 0)
				if n == 0 {
					errs[w] = fmt.Errorf("read back: %v", err)
					return
				}
				var got uint32
				if _, err := fmt.Sscan(string(buf[:n]), &got); err != nil {
					errs[w] = fmt.Errorf("read back %q: %v", buf[:n], err)
					return
				}
				// Another writer may have written in between: the result is
				// still some program's answer to some real write.
				if prog, writer := got>>24&0xf, got>>28; prog < 1 || prog > 3 || writer >= writers {
					errs[w] = fmt.Errorf("write %#x read back %#x: no program's answer to any write", w<<28|seq, got)
					return
				}
				seen[got>>24&0xf].Add(1)
			}
		}()
	}
	// Each step holds for a moment, so that writes land under each
	// program and in the empty slot between links.
	pause := func() { time.Sleep(200 * time.Microsecond) }
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer done.Store(true)
		errs[writers] = func() error {
			for i := range cycles {
				link, err := bpf.LinkCreate(bpf.LinkCreateAttr{Prog: progs[0], AttachType: k.Numbers.AttachType})
				if err != nil {
					return fmt.Errorf("cycle %d: link create: %w", i, err)
				}
				pause()
				err = bpf.LinkUpdate(bpf.LinkUpdateAttr{Link: link, NewProg: progs[1]})
				pause()
				err = errors.Join(err, bpf.LinkUpdate(bpf.LinkUpdateAttr{Link: link, NewProg: progs[2], OldProg: progs[1], Flags: unix.BPF_F_REPLACE}))
				pause()
				if i%2 == 0 {
					// Half the links are detached first, half only closed.
					err = errors.Join(err, bpf.LinkDetach(link))
				}
				link.Close()
				if err != nil {
					return fmt.Errorf("cycle %d: %w", i, err)
				}
				pause()
			}
			return nil
		}()
	}()
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	distinct := 0
	for id := 1; id <= 3; id++ {
		if seen[id].Load() > 0 {
			distinct++
		}
	}
	t.Logf("%d link cycles; the writers saw program 1 %d, 2 %d, 3 %d times, ENODEV %d", cycles, seen[1].Load(), seen[2].Load(), seen[3].Load(), enodev.Load())
	if distinct < 2 || enodev.Load() == 0 {
		t.Errorf("the writers saw %d of the 3 programs and %d ENODEV: the links did not race them", distinct, enodev.Load())
	}
	slot{t, k}.runs("after the last link closed", -1)
}

// The module's files go before its text, and its removal waits for the
// writers still in the store: writers that open the file for each write,
// or hold it open, see only a result, ENOENT (the file is gone) or ENODEV
// across removals and loads under a linked program, on the debug flavor
// with DEBUG_KOBJECT_RELEASE too.
func writersAcrossReload(t *testing.T, k *progtype.Kernel) {
	link, err := slot{t, k}.link(addProg(t, k, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	cycles := 10
	if testing.Short() || guest.DebugFlavor() {
		cycles = 3
	}
	path := k.Trigger.(progtype.SysfsTrigger).Path
	stop := make(chan struct{})
	errs := make([]error, 2) // read once the writers are done
	var failed atomic.Bool
	var runs [2]atomic.Int64
	writer := func(n int, write func(uint32) error) {
		for i := uint32(0); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			switch err := write(i); {
			case err == nil:
				runs[n].Add(1)
			case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENODEV):
			default:
				errs[n] = fmt.Errorf("writer %d: %w", n, err)
				failed.Store(true)
				return
			}
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); writer(0, func(in uint32) error { _, err := k.Trigger.Run(in); return err }) }()
	go func() {
		defer wg.Done()
		writer(1, func(in uint32) error {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			for range 100 {
				if err := write(f, in); err != nil {
					return err
				}
			}
			return nil
		})
	}()
	defer func() {
		close(stop)
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Error(err)
		}
	}()
	for i := range cycles {
		if err := unix.DeleteModule(k.Module, 0); err != nil {
			t.Fatalf("cycle %d: rmmod %s: %v", i, k.Module, err)
		}
		if err := guest.Insmod(k.Module); err != nil {
			t.Fatalf("cycle %d: insmod %s: %v", i, k.Module, err)
		}
		// Both writers get through to the new module before the next
		// removal, so that every removal races writes of both kinds.
		before := [2]int64{runs[0].Load(), runs[1].Load()}
		for deadline := time.Now().Add(guest.Patience(5 * time.Second)); runs[0].Load() == before[0] || runs[1].Load() == before[1]; {
			if failed.Load() || time.Now().After(deadline) {
				t.Fatalf("cycle %d: the writers got %d and %d writes through since the module came back",
					i, runs[0].Load()-before[0], runs[1].Load()-before[1])
			}
			time.Sleep(time.Millisecond)
		}
	}
}

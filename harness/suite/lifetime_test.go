//go:build guest

package suite

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/oreore"
)

// After many attach/replace/detach cycles no program is left loaded, and
// the module ran the programs exactly as often as the kernel counted.
func TestLifetime1000Cycles(t *testing.T) {
	requireEmptySlot(t)
	stats, err := bpf.EnableStats()
	if err != nil {
		t.Fatal(err)
	}
	defer stats.Close()
	runsBefore, err := oreore.Runs()
	if err != nil {
		t.Fatal(err)
	}

	a, err := oreore.Load("life_a", constProg(1))
	if err != nil {
		t.Fatal(err)
	}
	b, err := oreore.Load("life_b", constProg(2))
	if err != nil {
		t.Fatal(err)
	}
	const cycles = 1000
	for i := 0; i < cycles; i++ {
		steps := []struct {
			what string
			err  error
		}{
			{"attach a", oreore.Attach(a)},
			{"run a", expect(1)},
			{"replace with b", oreore.Attach(b)},
			{"run b", expect(2)},
			{"detach b", oreore.Detach(b)},
		}
		for _, s := range steps {
			if s.err != nil {
				t.Fatalf("cycle %d, %s: %v", i, s.what, s.err)
			}
		}
	}
	var runCount uint64
	for _, fd := range []bpf.FD{a, b} {
		info, err := bpf.ProgGetInfo(fd)
		if err != nil {
			t.Fatal(err)
		}
		runCount += info.RunCount
	}
	runsAfter, err := oreore.Runs()
	if err != nil {
		t.Fatal(err)
	}
	if moduleRuns := runsAfter - runsBefore; moduleRuns != 2*cycles || runCount != 2*cycles {
		t.Errorf("module counted %d runs, the kernel's run_cnt %d; want %d both", moduleRuns, runCount, 2*cycles)
	}

	// Only these two programs' ids are checked: the other test lane loads
	// programs of its own meanwhile.
	idA, idB := progID(t, a), progID(t, b)
	a.Close()
	b.Close()
	waitGone(t, idA, "after the cycles and the loader's close")
	waitGone(t, idB, "after the cycles and the loader's close")
}

func expect(want uint32) error {
	got, err := oreore.Run(0)
	if err == nil && got != want {
		err = errors.New("wrong result")
	}
	return err
}

// Writers race the attach point. Inputs carry the writer and a sequence
// number, and each program ORs its own id into bits 24-27, so every result
// read back says which program ran on which write.
func TestStressWritersAgainstReplace(t *testing.T) {
	requireEmptySlot(t)
	const writers = 4
	writes, replaces := uint32(10000), 1000
	if testing.Short() {
		writes, replaces = 1000, 100
	}
	var progs []bpf.FD
	for id := int32(1); id <= 3; id++ {
		progs = append(progs, load(t, "stress", orProg(id<<24)))
	}

	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	var enodev atomic.Int64
	// The writers write until the replacer is done (and at least writes
	// times each), so that every window where the slot is empty falls
	// within their run: left to timing, a short run could end before the
	// replacer's first detach (it did, under TCG). seq has 24 bits.
	var replacing atomic.Bool
	replacing.Store(true)
	var highest [writers]atomic.Uint32
	for w := uint32(0); w < writers; w++ {
		// A Port per writer: the file's open and close would otherwise
		// cost more than the run and thin out the race.
		port := openPort(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := uint32(0); (seq < writes || replacing.Load()) && seq < 1<<24; seq++ {
				in := w<<28 | seq
				highest[w].Store(seq)
				err := port.Write(in)
				if errors.Is(err, unix.ENODEV) {
					enodev.Add(1)
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				got, err := port.Read()
				if err != nil {
					errs <- err
					return
				}
				// Another writer may have written in between: the result
				// must still be some program's answer to some real write.
				prog, writer, gotSeq := got>>24&0xf, got>>28, got&0xffffff
				if prog < 1 || prog > 3 || writer >= writers || gotSeq > highest[writer].Load() {
					errs <- unexpected(in, got)
					return
				}
			}
		}()
	}
	// The replacer paces itself so that its operations spread over the
	// writers' run instead of finishing before they get going. It takes
	// turns, a hundred operations each: attach, replace and detach with
	// BPF_PROG_ATTACH/DETACH, then a link that is created, updated and
	// detached with BPF_LINK_DETACH.
	var replacer sync.WaitGroup
	replacer.Add(1)
	go func() {
		defer replacer.Done()
		defer replacing.Store(false)
		if err := replace(progs, replaces); err != nil {
			errs <- err
		}
	}()
	wg.Wait()
	replacer.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, p := range progs {
		oreore.Detach(p) // whichever is attached; the others say ENOENT
	}
	total := uint32(0)
	for w := range highest {
		total += highest[w].Load() + 1
	}
	t.Logf("%d of %d writes found the slot empty (ENODEV)", enodev.Load(), total)
	if enodev.Load() == 0 {
		t.Error("no write ever found the slot empty: the replacer did not race the writers")
	}
}

// replace changes the slot n times, in turns of BPF_PROG_ATTACH and of a
// BPF link, and leaves it empty.
func replace(progs []bpf.FD, n int) error {
	link := bpf.FD(-1)
	for i := 0; i < n; i++ {
		p := progs[i%len(progs)]
		last := i%100 == 99
		var err error
		switch {
		case (i/100)%2 == 0:
			err = oreore.Attach(p)
			if err == nil && (i%3 == 2 || last) {
				err = oreore.Detach(p)
			}
		case link < 0:
			link, err = oreore.LinkCreate(p)
		case last:
			err = bpf.LinkDetach(link)
			link.Close()
			link = -1
		default:
			err = bpf.LinkUpdate(bpf.LinkUpdateAttr{Link: link, NewProg: p})
		}
		if err != nil {
			if link >= 0 {
				link.Close()
			}
			return fmt.Errorf("replacer, step %d: %w", i, err)
		}
		time.Sleep(time.Millisecond)
	}
	if link >= 0 {
		link.Close()
	}
	return nil
}

// orProg returns its input with bits set.
func orProg(bits int32) asm.Instructions {
	return asm.Instructions{
		asm.LoadMem(asm.R0, asm.R1, 0, asm.Word),
		asm.Or.Imm32(asm.R0, bits),
		asm.Return(),
	}
}

func unexpected(in, got uint32) error {
	return fmt.Errorf("write %#x read back %#x: no attached program gives that for any write", in, got)
}

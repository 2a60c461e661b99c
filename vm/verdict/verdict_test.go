package verdict

import (
	"errors"
	"strings"
	"testing"

	"oreore/harness/guest"
)

const bootOK = "[    0.512345] Run /init as init process\n"

func stream(t *testing.T, lines ...string) *guest.Stream {
	t.Helper()
	s, err := guest.Parse(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const (
	passA   = `{"Action":"pass","Package":"suite","Test":"TestA"}`
	passB1  = `{"Action":"pass","Package":"suite","Test":"TestB/one"}`
	passB   = `{"Action":"pass","Package":"suite","Test":"TestB"}`
	failC   = `{"Action":"fail","Package":"suite","Test":"TestC"}`
	skipD   = `{"Action":"skip","Package":"suite","Test":"TestD"}`
	done0   = `{"Guest":"done"}`
	done1   = `{"Guest":"done","Exit":1}`
	done2   = `{"Guest":"done","Exit":2}`
	initErr = `{"Guest":"error","Msg":"insmod /lib/modules/oreore.ko: exec format error"}`
)

func TestDecide(t *testing.T) {
	tests := []struct {
		name       string
		in         Input
		want       Code
		wantReason string
	}{
		{"all passed", Input{Console: bootOK, Results: stream(t, passA, passB1, passB, done0)}, Passed, ""},
		{"test failed", Input{Console: bootOK, Results: stream(t, passA, failC, done1)}, TestFailed, "suite.TestC"},
		{"suite exited 1 without a failing test", Input{Console: bootOK, Results: stream(t, passA, done1)}, TestFailed, "without a failing test"},
		{"no test ran", Input{Console: bootOK, Results: stream(t, done0)}, VMBroke, "no test ran"},
		{"init error", Input{Console: bootOK, Results: stream(t, initErr, done2)}, VMBroke, "insmod"},
		{"no done record", Input{Console: bootOK, Results: stream(t, passA)}, VMBroke, "without its done record"},
		{"never started", Input{Console: bootOK}, VMBroke, "never started"},
		{"qemu failed", Input{QEMUErr: errors.New("qemu-system-x86_64: could not load kernel")}, VMBroke, "could not load kernel"},
		{"garbage on the port", Input{Console: bootOK, Results: stream(t, passA, "hello", done0)}, VMBroke, "not a JSON record"},
		{"timeout", Input{Console: bootOK, TimedOut: true}, TimedOut, "timeout"},
		{"panic", Input{Console: bootOK + "[    1.000000] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000000\n"}, KernelSplat, "Attempted to kill init"},
		{"warning beats a failed test", Input{
			Console: bootOK + "[    2.000000] WARNING: CPU: 0 PID: 1 at kernel/bpf/oreore.c:42 bpf_oreore_run+0x1/0x2\n",
			Results: stream(t, failC, done1),
		}, KernelSplat, "WARNING: CPU: 0"},
		{"splat beats a timeout", Input{Console: "[    3.1] BUG: KASAN: use-after-free in bpf_prog_run\n", TimedOut: true}, KernelSplat, "KASAN"},
		{"lockdep", Input{Console: "[    4.1] WARNING: possible circular locking dependency detected\n", Results: stream(t, passA, done0)}, KernelSplat, "circular locking"},
		{"kmemleak", Input{Console: "unreferenced object 0xffff888003a1c000 (size 64):\n", Results: stream(t, passA, done0)}, KernelSplat, "unreferenced object"},
		{"an init message that mentions WARNING mid-line is not a splat", Input{
			Console: bootOK + "oreore-init: the word WARNING: here is not a report\n",
			Results: stream(t, passA, done0),
		}, Passed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Decide(tt.in)
			if v.Code != tt.want {
				t.Fatalf("code %d (%v), want %d (%v); reasons %q", v.Code, v.Code, tt.want, tt.want, v.Reasons)
			}
			if tt.wantReason != "" && !strings.Contains(strings.Join(v.Reasons, "\n"), tt.wantReason) {
				t.Errorf("reasons %q do not mention %q", v.Reasons, tt.wantReason)
			}
		})
	}
}

func TestCountLeafTests(t *testing.T) {
	tally := Count(stream(t, passA, passB1, passB, failC, skipD, done1).Events)
	if tally.Passed != 2 || len(tally.Failed) != 1 || tally.Skipped != 1 {
		t.Errorf("tally %+v, want 2 passed (TestA, TestB/one), 1 failed, 1 skipped", tally)
	}
	if got := tally.Line(); got != "2 passed, 1 failed, 1 skipped" {
		t.Errorf("closing line %q", got)
	}
}

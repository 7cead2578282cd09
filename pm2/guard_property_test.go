package pm2_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/redundancy"
)

// TestGuardPropertyNoSaveShrinksTheList runs random sequences of faults
// (pm2 delete, pm2 stop, kill -9, a crash past max_restarts, pm2 kill with
// checks in the middle of it, dump.pm2 or dump.pm2.bak truncated, emptied,
// missing an entry or gone, a save by hand) against the guard, with and
// without Config.Apps, checking and repairing between faults. Property:
// no save uras runs writes a list lacking an app of the known-good set;
// and once the faults stop, every app comes back online with both dump
// files listing it. A failure names its seed.
func TestGuardPropertyNoSaveShrinksTheList(t *testing.T) {
	t.Parallel()
	const sequences, faults = 100, 30
	for _, mode := range []struct {
		name string
		cfg  pm2.Config
	}{{"apps configured", pm2.Config{Apps: threeApps}}, {"known-good list only", pm2.Config{}}} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			for seed := uint64(1); seed <= sequences; seed++ {
				if msg := guardSequence(t, mode.cfg, seed, faults); msg != "" {
					t.Fatalf("seed %d: %s", seed, msg)
				}
			}
		})
	}
}

// guardSequence runs one random sequence and returns what broke, if
// anything.
func guardSequence(t *testing.T, cfg pm2.Config, seed uint64, faults int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	g := newGrig(t, cfg, threeProcs()...)
	g.fake.Update("api", func(p *pm2.Process) { p.Autorestart = false })
	ctx := context.Background()
	known := []string{"web", "api", "worker"}
	ours := map[int]bool{}   // indexes of SavedLists written by uras
	byHand := map[int]bool{} // and by hand
	var log []string
	var fault func(inStep bool) string
	// step is one recovery attempt: check, plan, run the actions until one
	// fails; a fault may strike between two actions, as the world does not
	// wait for a repair to finish.
	step := func() {
		before := len(g.fake.SavedLists())
		g.clock.Advance(time.Minute)
		rep := g.c.Check(ctx)
		actions, err := g.r.Plan(ctx, rep)
		var ran []string
		for _, a := range actions {
			if rng.IntN(4) == 0 {
				ran = append(ran, "<"+fault(true)+">")
			}
			s := a.Verb + " " + a.Subject
			if err := a.Do(ctx); err != nil {
				ran = append(ran, s+" FAILED: "+shortErr(err))
				break
			}
			ran = append(ran, s)
		}
		for i := before; i < len(g.fake.SavedLists()); i++ {
			ours[i] = !byHand[i]
		}
		s := strings.Join(ran, "; ")
		if err != nil {
			s += " [" + shortErr(err) + "]"
		}
		log = append(log, "  step: "+s)
	}
	check := func() string {
		for i, saved := range g.fake.SavedLists() {
			if !ours[i] {
				continue
			}
			for _, n := range known {
				if !slices.Contains(saved, n) {
					return fmt.Sprintf("save %d wrote %v, lacking %s\n%s", i, saved, n, strings.Join(log, "\n"))
				}
			}
		}
		return ""
	}
	pick := func() string { return known[rng.IntN(len(known))] }
	spoil := func(file string) string {
		path := filepath.Join(g.home, file)
		b, err := os.ReadFile(path)
		switch k := rng.IntN(4); {
		case k == 0 && err == nil && len(b) > 1:
			_ = os.WriteFile(path, b[:rng.IntN(len(b))], 0o600) // ENOSPC mid-write
			return "truncated"
		case k == 1:
			_ = os.WriteFile(path, []byte("[]"), 0o600)
			return "emptied"
		case k == 2 && err == nil:
			name := pick()
			out := []string{}
			for _, e := range strings.Split(string(b), "\n  },") {
				if !strings.Contains(e, `"name": "`+name+`"`) {
					out = append(out, e)
				}
			}
			_ = os.WriteFile(path, []byte(strings.Join(out, "\n  },")), 0o600)
			return "dropped " + name
		default:
			_ = os.Remove(path)
			return "removed"
		}
	}
	fault = func(inStep bool) string {
		switch rng.IntN(9) {
		case 0:
			n := pick()
			_ = g.fake.Delete(ctx, n)
			return "pm2 delete " + n
		case 1:
			n := pick()
			_ = g.fake.Stop(ctx, n)
			return "pm2 stop " + n
		case 2:
			n := pick()
			g.fake.KillApp(n)
			return "kill -9 " + n
		case 3:
			n := pick()
			g.fake.Crash(n)
			return "crash " + n
		case 4:
			g.fake.DeleteAll()
			if !inStep {
				for range rng.IntN(3) { // checks while the apps are gone and the daemon still up
					step()
				}
			}
			g.fake.KillDaemon()
			return "pm2 kill"
		case 5:
			return "dump.pm2 " + spoil(pm2.DumpFile)
		case 6:
			return "dump.pm2.bak " + spoil(pm2.DumpBackup)
		case 7:
			before := len(g.fake.SavedLists())
			_ = g.fake.Save(ctx)
			if n := len(g.fake.SavedLists()); n > before {
				byHand[n-1] = true
			}
			return "pm2 save by hand"
		default:
			return "nothing"
		}
	}
	for range faults {
		op := fault(false)
		log = append(log, op)
		for range rng.IntN(3) {
			step()
		}
		if msg := check(); msg != "" {
			return msg
		}
	}
	if os.Getenv("GUARD_STATS") != "" {
		esc := 0
		for _, l := range log {
			if strings.Contains(l, "escalated") {
				esc++
			}
		}
		n := 0
		for _, o := range ours {
			if o {
				n++
			}
		}
		t.Logf("seed %d: %d saves by uras, %d escalations", seed, n, esc)
	}
	// The faults stop; ladders tried long ago are forgotten.
	g.clock.Advance(pm2.DefaultLadderReset + time.Minute)
	log = append(log, "faults stop")
	for range 12 {
		step()
	}
	if msg := check(); msg != "" {
		return msg
	}
	for _, n := range known {
		if !slices.ContainsFunc(g.fake.Processes(), func(p pm2.Process) bool { return p.Name == n && p.Status == pm2.StatusOnline }) {
			return fmt.Sprintf("%s is not online after the repairs\n%s", n, strings.Join(log, "\n"))
		}
	}
	dump, bak := g.files()
	for _, n := range known {
		if !slices.Contains(dump, n) || !slices.Contains(bak, n) {
			return fmt.Sprintf("after the repairs dump.pm2 lists %v and dump.pm2.bak %v, lacking %s\n%s", dump, bak, n, strings.Join(log, "\n"))
		}
	}
	return ""
}

func shortErr(err error) string {
	if errors.Is(err, redundancy.ErrExhausted) {
		return "escalated"
	}
	s := err.Error()
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}

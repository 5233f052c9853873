package scoreboard

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestDeliveryTimes(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	got := map[string]map[string]time.Time{
		"a": {"x": at(time.Second), "y": at(3 * time.Second)},
		"b": {"x": at(time.Second)},                            // y stopped before the cap without it
		"c": {"x": at(time.Second)},                            // y running, lacks it
		"d": {"x": at(time.Second), "w": at(30 * time.Second)}, // w had it after the cap
	}
	lookup := func(msg, node string) (time.Time, bool) { r, ok := got[msg][node]; return r, ok }
	bs := []userBcast{
		{msg: "a", at: t0, targets: []string{"x", "y"}},
		{msg: "b", at: t0, targets: []string{"x", "y"}},
		{msg: "c", at: t0, targets: []string{"x", "z"}},
		{msg: "d", at: t0, targets: []string{"x", "w"}},
	}
	stopped := map[string]time.Time{"y": at(5 * time.Second), "z": at(25 * time.Second)}
	// b: y stopped at 5 s, before the 20 s cap: it does not count.
	// c: z stopped at 25 s, after the cap, without the message: missing.
	// d: w, running, had it only after the cap: missing.
	ds, missing := deliveryTimes(bs, lookup, stopped, 20*time.Second)
	want := []time.Duration{3 * time.Second, time.Second, -1, -1}
	for i := range want {
		if ds[i] != want[i] {
			t.Errorf("broadcast %s: %v, want %v", bs[i].msg, ds[i], want[i])
		}
	}
	if missing != 2 {
		t.Errorf("missing = %d, want 2", missing)
	}
	if med, longest := deliveryFigures(ds); med != secs(3*time.Second) || longest != never {
		t.Errorf("deliveryFigures = %v, %v; want 3, never", med, longest)
	}
	if med, longest := deliveryFigures([]time.Duration{-1, -1, time.Second}); med != never || longest != never {
		t.Errorf("deliveryFigures with 2 of 3 undelivered = %v, %v; want never, never", med, longest)
	}
}

func TestQuantile(t *testing.T) {
	xs := []float32{5, 1, 4, 2, 3}
	if q := quantile(xs, 0.5); q != num(3) {
		t.Errorf("median = %v, want 3", q)
	}
	if q := quantile(xs, 0.9); q != num(4) {
		t.Errorf("90th percentile = %v, want 4", q)
	}
	if q := quantile(nil, 0.5); q != na {
		t.Errorf("median of nothing = %v, want n/a", q)
	}
}

// TestUserChurnSmall runs the user-broadcast scenario small, for both
// libraries, to check the seam: every node gets the userDelegate, user
// messages spread, and each figure is measured.
func TestUserChurnSmall(t *testing.T) {
	p := userChurnPlan{nodes: 16, warmup: 2 * time.Second, issueFor: 8 * time.Second, capd: 10 * time.Second,
		step: time.Second, every: 2, metaSize: 16, msgSizes: []int{64, 512}}
	for _, l := range libs {
		t.Run(l.name(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				t0 := lanTimings()
				t0.QueueCheckInterval = time.Second
				w := newWorld(l, 1, t0)
				figs, err := runUserChurn(w, p)
				w.finish()
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range figs {
					if f.Value.NA {
						t.Errorf("%s: n/a", f.Name)
					}
					if strings.Contains(f.Name, "median time") && f.Value.Never {
						t.Errorf("%s: never (most broadcasts did not reach every node)", f.Name)
					}
				}
			})
		})
	}
}

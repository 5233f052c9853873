package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gossip-go/memberlist"
	gometrics "github.com/hashicorp/go-metrics"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// fakeCluster is a cluster with a fixed node table, the local node first.
type fakeCluster struct {
	states []memberlist.MemberState
	health int
}

func (f *fakeCluster) MemberStates() []memberlist.MemberState { return f.states }
func (f *fakeCluster) LocalNode() *memberlist.Node            { return &f.states[0].Node }
func (f *fakeCluster) GetHealthScore() int                    { return f.health }

var testNow = time.Date(2026, 12, 6, 12, 30, 45, 0, time.UTC)

// newTestServer returns a server over four members and the registry behind
// its /metrics: in the node table a1 (local, alive, incarnation 1, with
// meta), a2 (suspect, 4, binary meta) and a3 (dead, 3, ten seconds ago);
// and a4, which left (6) a minute ago and is reaped from the table but
// remembered by the agent.
func newTestServer(t *testing.T) (*server, *gometrics.Metrics) {
	t.Helper()
	a1 := entry("a1", memberlist.StateAlive, 1, testNow.Add(-time.Hour))
	a2 := entry("a2", memberlist.StateSuspect, 4, testNow.Add(-time.Second))
	a3 := entry("a3", memberlist.StateDead, 3, testNow.Add(-10*time.Second))
	a4 := entry("a4", memberlist.StateLeft, 6, testNow.Add(-time.Minute))
	a1.Meta = []byte("role=<web>")
	a2.Meta = []byte{0, 1, 0xff}
	ms := newMembership(discardLogger, time.Hour, func() time.Time { return testNow })
	ms.setTable(func() []memberlist.MemberState { return []memberlist.MemberState{a4} })
	ms.NotifyLeave(&a4.Node)
	reg, conf, sink, err := newMetrics()
	if err != nil {
		t.Fatal(err)
	}
	met, err := gometrics.New(conf, sink)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(met.Shutdown)
	return &server{
		cluster:    &fakeCluster{states: []memberlist.MemberState{a1, a2, a3}, health: 2},
		membership: ms,
		gatherer:   reg,
		logger:     discardLogger,
		now:        func() time.Time { return testNow },
	}, met
}

func get(t *testing.T, h http.Handler, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func TestMembersJSON(t *testing.T) {
	s, _ := newTestServer(t)
	res, body := get(t, s.handler(), "/members")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var v struct {
		Node        string `json:"node"`
		HealthScore int    `json:"health_score"`
		Members     []map[string]any
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	if v.Node != "a1" || v.HealthScore != 2 || len(v.Members) != 4 {
		t.Fatalf("got %s", body)
	}
	want := []map[string]any{
		{"name": "a1", "address": "127.0.0.1:7946", "state": "alive", "incarnation": 1.0, "meta": "role=<web>", "protocol": 2.0, "local": true},
		{"name": "a2", "state": "suspect", "incarnation": 4.0, "meta": "", "meta_hex": "0001ff"},
		{"name": "a3", "state": "dead", "incarnation": 3.0, "departed": "2026-12-06T12:30:35Z"},
		{"name": "a4", "state": "left", "incarnation": 6.0, "departed": "2026-12-06T12:29:45Z"},
	}
	for i, w := range want {
		for k, wv := range w {
			if gv, ok := v.Members[i][k]; !ok || gv != wv {
				t.Errorf("member %d: %s = %#v, want %#v", i, k, gv, wv)
			}
		}
	}
	for i := range 2 {
		if _, ok := v.Members[i]["departed"]; ok {
			t.Errorf("member %d has a departure time: %v", i, v.Members[i])
		}
	}
}

func TestPage(t *testing.T) {
	s, _ := newTestServer(t)
	res, body := get(t, s.handler(), "/")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`<meta name="viewport" content="width=device-width, initial-scale=1">`,
		`<tr data-node="a1" data-state="alive">`,
		`<tr data-node="a2" data-state="suspect">`,
		`<tr data-node="a3" data-state="dead">`,
		`<tr data-node="a4" data-state="left">`,
		`<td data-label="Incarnation">4</td>`,
		`<td data-label="Incarnation">6</td>`,
		`a1 (this agent)`,
		`role=&lt;web&gt;`, // escaped
		`0x0001ff`,
		`health score <b id="health">2</b>`,
		`4 members: 1 alive, 1 suspect, 1 dead, 1 left`,
		`12:30:45 UTC`,
		`setInterval(`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, ">unknown<") {
		t.Error("page shows an unknown incarnation")
	}
	if strings.Contains(body, "role=<web>") {
		t.Error("meta is not escaped")
	}
	if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Error("page refers to an external asset")
	}
}

func TestRoutes(t *testing.T) {
	s, _ := newTestServer(t)
	h := s.handler()
	if res, _ := get(t, h, "/nope"); res.StatusCode != 404 {
		t.Errorf("GET /nope: %d", res.StatusCode)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/members", nil))
	if rec.Code != 405 {
		t.Errorf("POST /members: %d", rec.Code)
	}
}

// TestMetricsExposition emits memberlist's kinds of metric the way the
// library does and checks that /metrics parses as the Prometheus text
// format with the names and types users expect.
func TestMetricsExposition(t *testing.T) {
	s, met := newTestServer(t)
	met.IncrCounterWithLabels([]string{"memberlist", "udp", "sent"}, 120, nil)
	met.SetGaugeWithLabels([]string{"memberlist", "node", "instances"}, 3, []gometrics.Label{{Name: "node_state", Value: "alive"}})
	met.MeasureSinceWithLabels([]string{"memberlist", "gossip"}, time.Now(), nil)
	met.MeasureSinceWithLabels([]string{"memberlist", "probeNode"}, time.Now(), nil)
	met.SetGaugeWithLabels([]string{"memberlist", "health", "score"}, 2, nil)
	res, body := get(t, s.handler(), "/metrics")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("status %d, type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	families := parseExposition(t, body)
	want := map[string]dto.MetricType{
		"memberlist_udp_sent":       dto.MetricType_COUNTER,
		"memberlist_node_instances": dto.MetricType_GAUGE,
		"memberlist_gossip":         dto.MetricType_SUMMARY,
		"memberlist_probeNode":      dto.MetricType_SUMMARY,
		"memberlist_health_score":   dto.MetricType_GAUGE,
		"go_goroutines":             dto.MetricType_GAUGE,
	}
	for name, typ := range want {
		f, ok := families[name]
		if !ok {
			t.Errorf("no %s in\n%s", name, body)
			continue
		}
		if f.GetType() != typ {
			t.Errorf("%s is a %v, want %v", name, f.GetType(), typ)
		}
	}
	if got := families["memberlist_udp_sent"].GetMetric()[0].GetCounter().GetValue(); got != 120 {
		t.Errorf("memberlist_udp_sent = %v, want 120", got)
	}
	l := families["memberlist_node_instances"].GetMetric()[0].GetLabel()
	if len(l) != 1 || l[0].GetName() != "node_state" || l[0].GetValue() != "alive" {
		t.Errorf("memberlist_node_instances labels %v", l)
	}
}

// parseExposition parses a Prometheus text exposition, failing t when it
// is not valid.
func parseExposition(t *testing.T, body string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("invalid exposition: %v\n%s", err, body)
	}
	return families
}

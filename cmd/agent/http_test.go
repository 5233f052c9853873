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

// fakeCluster is a cluster with fixed members.
type fakeCluster struct {
	members []*memberlist.Node
	health  int
}

func (f *fakeCluster) Members() []*memberlist.Node { return f.members }
func (f *fakeCluster) LocalNode() *memberlist.Node { return f.members[0] }
func (f *fakeCluster) GetHealthScore() int         { return f.health }

var testNow = time.Date(2026, 12, 6, 12, 30, 45, 0, time.UTC)

// newTestServer returns a server over three members (a1 local and alive
// with meta, a2 suspect with binary meta, a3 dead) and the registry behind
// its /metrics.
func newTestServer(t *testing.T) (*server, *gometrics.Metrics) {
	t.Helper()
	a1, a2 := node("a1", memberlist.StateAlive), node("a2", memberlist.StateSuspect)
	a1.Meta = []byte("role=<web>")
	a2.Meta = []byte{0, 1, 0xff}
	ms := newMembership(discardLogger, time.Hour, func() time.Time { return testNow })
	ms.NotifyLeave(node("a3", memberlist.StateDead))
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
		cluster:    &fakeCluster{members: []*memberlist.Node{a1, a2}, health: 2},
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
	if v.Node != "a1" || v.HealthScore != 2 || len(v.Members) != 3 {
		t.Fatalf("got %s", body)
	}
	want := []map[string]any{
		{"name": "a1", "address": "127.0.0.1:7946", "state": "alive", "incarnation": nil, "meta": "role=<web>", "protocol": 2.0, "local": true},
		{"name": "a2", "state": "suspect", "meta": "", "meta_hex": "0001ff"},
		{"name": "a3", "state": "dead", "departed": "2026-12-06T12:30:45Z"},
	}
	for i, w := range want {
		for k, wv := range w {
			if gv, ok := v.Members[i][k]; !ok || gv != wv {
				t.Errorf("member %d: %s = %#v, want %#v", i, k, gv, wv)
			}
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
		`a1 (this agent)`,
		`role=&lt;web&gt;`, // escaped
		`0x0001ff`,
		`health score <b id="health">2</b>`,
		`3 members: 1 alive, 1 suspect, 1 dead, 0 left`,
		`12:30:45 UTC`,
		`setInterval(`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
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

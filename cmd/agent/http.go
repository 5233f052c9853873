package main

import (
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gossip-go/memberlist"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// cluster is what the HTTP handlers read from a *memberlist.Memberlist.
type cluster interface {
	MemberStates() []memberlist.MemberState
	LocalNode() *memberlist.Node
	GetHealthScore() int
}

// member is one row of /members and of the page.
type member struct {
	Name    string `json:"name"`
	Address string `json:"address"` // host:port
	State   string `json:"state"`   // alive, suspect, dead or left
	// Incarnation is the node's incarnation number, which orders what is
	// said about it: the node raises it to refute a suspicion or to
	// announce new metadata. It is null only for a remembered departed
	// member whose entry the node table no longer held when the agent
	// learnt of its departure.
	Incarnation *uint32 `json:"incarnation"`
	// Meta is the node's metadata when it is printable UTF-8; otherwise
	// it is empty and MetaHex holds it.
	Meta     string    `json:"meta"`
	MetaHex  string    `json:"meta_hex,omitempty"`
	Protocol uint8     `json:"protocol"`          // protocol version spoken
	Delegate uint8     `json:"delegate_protocol"` // delegate protocol version spoken
	Departed time.Time `json:"departed,omitzero"` // when it died or left, as this agent saw it
	Local    bool      `json:"local,omitempty"`   // the node of this agent
}

// newMember returns the row of st, with its incarnation when
// incarnationKnown is true.
func newMember(st memberlist.MemberState, incarnationKnown bool) member {
	m := member{
		Name:     st.Name,
		Address:  st.Address(),
		State:    st.State.String(),
		Protocol: st.PCur,
		Delegate: st.DCur,
	}
	if incarnationKnown {
		inc := st.Incarnation
		m.Incarnation = &inc
	}
	if st.State == memberlist.StateDead || st.State == memberlist.StateLeft {
		m.Departed = st.StateChange
	}
	if printable(st.Meta) {
		m.Meta = string(st.Meta)
	} else {
		m.MetaHex = hex.EncodeToString(st.Meta)
	}
	return m
}

// printable reports whether b is valid UTF-8 without control characters.
func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// view is the body of /members and what the page shows.
type view struct {
	Node        string    `json:"node"`         // name of the local node
	HealthScore int       `json:"health_score"` // local health score, 0 is healthy
	Time        time.Time `json:"time"`
	Members     []member  `json:"members"`
}

// Count returns the number of members in state.
func (v *view) Count(state string) int {
	n := 0
	for _, m := range v.Members {
		if m.State == state {
			n++
		}
	}
	return n
}

// server serves the agent's HTTP endpoints. It is safe for concurrent use.
type server struct {
	cluster    cluster
	membership *membership
	gatherer   prometheus.Gatherer
	logger     *slog.Logger
	now        func() time.Time
}

// handler returns the agent's HTTP handler: the page at /, /members and
// /metrics.
func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.servePage)
	mux.HandleFunc("GET /members", s.serveMembers)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelError),
	}))
	return mux
}

// view returns the current membership as this agent sees it.
func (s *server) view() view {
	local := s.cluster.LocalNode().Name
	v := view{
		Node:        local,
		HealthScore: s.cluster.GetHealthScore(),
		Time:        s.now().UTC(),
		Members:     mergeMembers(s.cluster.MemberStates(), s.membership.departures()),
	}
	for i := range v.Members {
		v.Members[i].Local = v.Members[i].Name == local
	}
	return v
}

// serveMembers writes the view as JSON.
func (s *server) serveMembers(w http.ResponseWriter, _ *http.Request) {
	v := s.view()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&v); err != nil {
		s.logger.Debug("writing /members", "err", err)
	}
}

//go:embed page.html
var pageHTML string

// pageTemplate renders the page; it is parsed once and never modified.
var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

// servePage writes the HTML page.
func (s *server) servePage(w http.ResponseWriter, _ *http.Request) {
	v := s.view()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := pageTemplate.Execute(w, &v); err != nil {
		s.logger.Debug("writing the page", "err", err)
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// member is a row of GET /members: a node as the local node's membership
// table holds it.
type member struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	State   string `json:"state"` // alive, suspect, dead or left
	// Incarnation orders what is said about the node: it raises it to
	// refute a suspicion or to announce new metadata.
	Incarnation uint32 `json:"incarnation"`
	Meta        []byte `json:"meta"`
}

// members returns the local node's membership table, sorted by name: the
// nodes it believes alive or suspect, itself included, and those it saw
// die or leave, until it reaps them (GossipToTheDeadTime after they went).
func (n *node) members() []member {
	var out []member
	for _, m := range n.list.MemberStates() {
		out = append(out, member{Name: m.Name, Address: m.Address(), State: m.State.String(), Incarnation: m.Incarnation, Meta: m.Meta})
	}
	return out
}

// handler serves the node's HTTP API:
//
//	GET /add?key=K&val=V   store V under K
//	GET /del?key=K         delete K
//	GET /get?key=K         the value of K (404 if absent)
//	GET /members           JSON list of the members, dead and left ones
//	                       until they are reaped
//	GET /keys              JSON object of every key and value
func (n *node) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/add", func(w http.ResponseWriter, r *http.Request) {
		if err := n.Set(r.FormValue("key"), r.FormValue("val")); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, "OK")
	})
	mux.HandleFunc("/del", func(w http.ResponseWriter, r *http.Request) {
		if err := n.Delete(r.FormValue("key")); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, "OK")
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		v, ok := n.Get(r.FormValue("key"))
		if !ok {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		fmt.Fprintln(w, v)
	})
	mux.HandleFunc("/members", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, n.members())
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, n.Values())
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

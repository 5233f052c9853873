package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/gossip-go/memberlist"
)

// member is a row of GET /members. memberlist's exported Node carries no
// incarnation number (as in hashicorp/memberlist v0.7.0), so there is none.
type member struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	State   string `json:"state"`
	Meta    []byte `json:"meta"`
}

// stateName returns the lower-case name of a node state.
func stateName(s memberlist.NodeStateType) string {
	switch s {
	case memberlist.StateAlive:
		return "alive"
	case memberlist.StateSuspect:
		return "suspect"
	case memberlist.StateDead:
		return "dead"
	case memberlist.StateLeft:
		return "left"
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// members returns the nodes the local node believes alive or suspect,
// sorted by name.
func (n *node) members() []member {
	var out []member
	for _, m := range n.list.Members() {
		out = append(out, member{Name: m.Name, Address: m.Address(), State: stateName(m.State), Meta: m.Meta})
	}
	slices.SortFunc(out, func(a, b member) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// handler serves the node's HTTP API:
//
//	GET /add?key=K&val=V   store V under K
//	GET /del?key=K         delete K
//	GET /get?key=K         the value of K (404 if absent)
//	GET /members           JSON list of the members
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

package memberlist

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The node table is tested by scripts: each line feeds one message to a
// table owned by node "a" and states the effects it must return, and
// "table" lines state the whole table. No clock, no goroutine, no network.
//
//	alive NAME INC [addr IP] [port N] [meta M] [bootstrap] => EFFECTS
//	suspect NAME INC from NODE => EFFECTS
//	dead NAME INC from NODE => EFFECTS
//	expire NAME => EFFECTS      (the timer armed when NAME became suspect)
//	wait DURATION               (the script's clock moves on)
//	reap                        (the probe loop's wrap-around)
//	leaving                     (Leave was called)
//	table NAME STATE@INC ...    (every entry, sorted by name)
//	graves NAME STATE@INC ...   (every grave, sorted by name)
//
// EFFECTS are "-" or, joined by "; " in this order: broadcasts ("bcast
// dead x@3 from b", "+notify" when the broadcast closes a channel,
// "rebcast" for a repeat, queued only when nothing about the node is),
// events ("join x", "leave x", "update x", "conflict x"), timers ("timer
// x 24s", "stop x"), accusations sent ("tell 10.0.0.1:7946 dead x@3 from
// a"), the health delta ("health +1"), log lines ("warn: text key=value")
// and
// counters ("count msg.alive").

// tableScript runs script against a fresh table of node "a" whose Config
// mod adjusts (DefaultLANConfig otherwise, with event and conflict
// delegates so events show).
func tableScript(t *testing.T, script string, mod func(*Config)) {
	t.Helper()
	conf := DefaultLANConfig()
	conf.Name = "a"
	conf.LogOutput = io.Discard
	conf.Events = &recordingDelegate{}
	conf.Conflict = &conflictRecorder{}
	if mod != nil {
		mod(conf)
	}
	var inc atomic.Uint32
	var num atomic.Int64
	var leaving atomic.Bool
	tb := newTable(conf, 1, &inc, &num, &leaving)
	now := time.Unix(1_000_000, 0)
	for i, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		in, want, _ := strings.Cut(line, "=> ")
		f := strings.Fields(in)
		switch f[0] {
		case "wait":
			d, err := time.ParseDuration(f[1])
			if err != nil {
				t.Fatalf("line %d: %v", i+1, err)
			}
			now = now.Add(d)
			continue
		case "reap":
			tb.reap(now)
			continue
		case "leaving":
			leaving.Store(true)
			continue
		case "table", "graves":
			got := tableLine(&tb, f[0], now)
			if w := strings.Join(f[1:], " "); got != w {
				t.Errorf("line %d: %s\n got: %s\nwant: %s", i+1, line, got, w)
			}
			continue
		}
		e := tb.apply(scriptInput(t, &tb, f, now), now)
		if got, w := e.String(), strings.TrimSpace(want); got != w {
			t.Errorf("line %d: %s\n got: %s\nwant: %s", i+1, strings.TrimSpace(in), got, w)
		}
	}
}

// scriptInput parses one message line of a table script.
func scriptInput(t *testing.T, tb *table, f []string, now time.Time) any {
	t.Helper()
	if f[0] == "expire" {
		return suspicionExpiry{name: f[1], token: tb.nodeMap[f[1]].StateChange}
	}
	inc, err := strconv.ParseUint(f[2], 10, 32)
	if err != nil {
		t.Fatalf("%v: %v", f, err)
	}
	opts := map[string]string{}
	for i := 3; i < len(f); i++ {
		if f[i] == "bootstrap" {
			opts["bootstrap"] = "1"
			continue
		}
		opts[f[i]] = f[i+1]
		i++
	}
	switch f[0] {
	case "alive":
		a := &alive{Incarnation: uint32(inc), Node: f[1], Addr: net.IPv4(10, 0, 0, 1).To4(), Port: 7946, Vsn: []uint8{1, 5, 2, 2, 5, 4}}
		if v, ok := opts["addr"]; ok {
			a.Addr = net.ParseIP(v).To4()
		}
		if v, ok := opts["port"]; ok {
			p, _ := strconv.Atoi(v)
			a.Port = uint16(p)
		}
		if v, ok := opts["meta"]; ok {
			a.Meta = []byte(v)
		}
		return aliveInput{a: a, bootstrap: opts["bootstrap"] != ""}
	case "suspect":
		return &suspect{Incarnation: uint32(inc), Node: f[1], From: opts["from"]}
	case "dead":
		return &dead{Incarnation: uint32(inc), Node: f[1], From: opts["from"]}
	}
	t.Fatalf("unknown script input %v", f)
	return nil
}

// tableLine renders the table's entries or graves, sorted by name.
func tableLine(tb *table, what string, now time.Time) string {
	var out []string
	if what == "table" {
		for _, st := range tb.nodes {
			out = append(out, fmt.Sprintf("%s %s@%d", st.Name, st.State.String(), st.Incarnation))
		}
	} else {
		for name := range tb.graves.graves {
			if g := tb.graves.find(name, now, tb.graveLifetime()); g != nil {
				out = append(out, fmt.Sprintf("%s %s@%d", name, g.state.String(), g.inc))
			}
		}
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// String renders e as table scripts state effects.
func (e *effects) String() string {
	var out []string
	for _, b := range e.broadcasts {
		s := "bcast " + scriptMsg(b.t, b.msg)
		if b.repeat {
			s = "rebcast " + scriptMsg(b.t, b.msg)
		}
		if b.notify != nil {
			s += " +notify"
		}
		out = append(out, s)
	}
	kinds := map[eventKind]string{joinEvent: "join", leaveEvent: "leave", updateEvent: "update", conflictEvent: "conflict"}
	for _, ev := range e.events {
		out = append(out, kinds[ev.kind]+" "+ev.node.Name)
	}
	for _, op := range e.timers {
		if op.stop {
			out = append(out, "stop "+op.name)
		} else {
			out = append(out, fmt.Sprintf("timer %s %v", op.name, op.after))
		}
	}
	for _, acc := range e.tells {
		out = append(out, fmt.Sprintf("tell %s %s", acc.to.Addr, scriptMsg(acc.t, acc.msg)))
	}
	if e.awareness != 0 {
		out = append(out, fmt.Sprintf("health %+d", e.awareness))
	}
	for _, r := range e.logs {
		line := strings.ToLower(r.level.String()) + ": " + r.msg
		for _, a := range r.args {
			if attr, ok := a.(slog.Attr); ok {
				line += " " + attr.String()
			}
		}
		out = append(out, line)
	}
	for _, key := range e.counters {
		out = append(out, "count "+strings.Join(key[1:], "."))
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, "; ")
}

// scriptMsg renders a message as "alive x@3", "suspect x@3 from b" or
// "dead x@3 from b".
func scriptMsg(t messageType, msg wireMessage) string {
	switch m := msg.(type) {
	case *alive:
		return fmt.Sprintf("alive %s@%d", m.Node, m.Incarnation)
	case *suspect:
		return fmt.Sprintf("suspect %s@%d from %s", m.Node, m.Incarnation, m.From)
	case *dead:
		return fmt.Sprintf("dead %s@%d from %s", m.Node, m.Incarnation, m.From)
	}
	return fmt.Sprintf("type %d", t)
}

// tableStart is the local node joining itself and three peers, b, c and
// d, so the suspicion wants k = 2 confirmations (LAN: SuspicionMult 4).
const tableStart = `
alive a 1 bootstrap => bcast alive a@1; join a; count msg.alive
alive b 1 addr 10.0.0.2 => bcast alive b@1; join b; count msg.alive
alive c 1 addr 10.0.0.3 => bcast alive c@1; join c; count msg.alive
alive d 1 addr 10.0.0.4 => bcast alive d@1; join d; count msg.alive
`

// TestTableAlive covers the alive rules of reference §3.3.
func TestTableAlive(t *testing.T) {
	tableScript(t, tableStart+`
# A new name enters (created dead, so NotifyJoin); incarnation 0 leaves nothing.
alive x 0 => -
alive x 3 => bcast alive x@3; join x; count msg.alive
# Not newer: ignored, also at the same incarnation.
alive x 3 => -
alive x 2 => -
# Newer with the same meta: no event; with new meta: NotifyUpdate.
alive x 4 => bcast alive x@4; count msg.alive
alive x 5 meta m1 => bcast alive x@5; update x; count msg.alive
# Another address for a live name is a conflict.
alive x 6 addr 10.9.9.9 => conflict x; error: Conflicting address node=x mine=10.0.0.1:7946 theirs=10.9.9.9:7946 state=alive
# About us: the same incarnation and meta is silently ignored; anything else is refuted.
alive a 1 => -
alive a 0 => -
alive a 1 meta other => bcast alive a@2; health +1; warn: Refuting an alive message node=a inc=1; count msg.alive
alive a 7 => bcast alive a@8; health +1; warn: Refuting an alive message node=a inc=7; count msg.alive
# Our own announcement (UpdateNode) with new meta is applied.
alive a 9 meta m2 bootstrap => bcast alive a@9; update a; count msg.alive
table a alive@9 b alive@1 c alive@1 d alive@1 x alive@5
`, nil)
}

// TestTableAliveAddresses covers address changes: a left node moves at
// once, a dead one after DeadNodeReclaimTime; CIDRsAllowed vets new
// addresses.
func TestTableAliveAddresses(t *testing.T) {
	tableScript(t, tableStart+`
alive x 1 => bcast alive x@1; join x; count msg.alive
dead x 1 from x => bcast dead x@1 from x; leave x; count msg.dead
alive x 1 addr 10.0.0.9 => bcast alive x@1; join x; info: Updating address for left or failed node node=x from=10.0.0.1:7946 to=10.0.0.9:7946; count msg.alive
dead x 1 from b => bcast dead x@1 from b; leave x; count msg.dead
alive x 2 addr 10.0.0.8 => conflict x; error: Conflicting address node=x mine=10.0.0.9:7946 theirs=10.0.0.8:7946 state=dead
wait 11s
alive x 2 addr 10.0.0.8 => bcast alive x@2; join x; info: Updating address for left or failed node node=x from=10.0.0.9:7946 to=10.0.0.8:7946; count msg.alive
alive y 1 addr 192.168.1.1 => warn: Rejected node node=y err=192.168.1.1 is not allowed
table a alive@1 b alive@1 c alive@1 d alive@1 x alive@2
`, func(c *Config) {
		c.DeadNodeReclaimTime = 10 * time.Second
		c.CIDRsAllowed, _ = ParseCIDRs([]string{"10.0.0.0/8"})
	})
}

// TestTableSuspect covers the suspect rules and the Lifeguard timer: k = 2
// confirmations wanted, min 4 s, max 24 s with five nodes.
func TestTableSuspect(t *testing.T) {
	tableScript(t, tableStart+`
suspect x 1 from b => bcast suspect x@1 from b
suspect b 0 from c => -
suspect b 1 from c => bcast suspect b@1 from c; timer b 24s; count msg.suspect
# Confirmations: the first suspector and repeats are refused; new ones
# re-gossip and shorten the timer (11.381 s at 1 of 2, minus 2 s elapsed).
suspect b 1 from c => -
wait 2s
suspect b 1 from d => bcast suspect b@1 from d; timer b 9.381s
suspect b 1 from a => bcast suspect b@1 from a; timer b 2s
suspect b 1 from x => -
# An alive newer than the suspicion clears it.
alive b 2 addr 10.0.0.2 => bcast alive b@2; stop b; count msg.alive
# Not alive (dead): not applied; the death is gossiped again (retell).
dead c 1 from b => bcast dead c@1 from b; leave c; count msg.dead
suspect c 1 from d => rebcast dead c@1 from a
# About us: refuted, never applied.
suspect a 1 from b => bcast alive a@2; health +1; warn: Refuting a suspect message node=a from=b inc=1
table a alive@2 b alive@2 c dead@1 d alive@1
`, nil)
}

// TestTableExpiry covers the end of a suspicion: dead from us, counted as
// degraded when fewer than k confirmations came; a stale timer does
// nothing.
func TestTableExpiry(t *testing.T) {
	tableScript(t, tableStart+`
suspect b 1 from c => bcast suspect b@1 from c; timer b 24s; count msg.suspect
wait 24s
# one accuser is not enough: the suspicion is gossiped again and renewed
expire b => bcast suspect b@1 from a; timer b 24s; count suspicion.renewed
wait 1s
suspect b 1 from d => bcast suspect b@1 from d; timer b 10.381s
wait 10381ms
expire b => bcast dead b@1 from a; leave b; stop b; info: Marking as failed, suspect timeout reached node=b confirmations=1; count degraded.timeout; count msg.dead
expire b => -
# renewed once only: still unconfirmed after the renewal, the node is dead
suspect d 1 from c => bcast suspect d@1 from c; timer d 24s; count msg.suspect
wait 24s
expire d => bcast suspect d@1 from a; timer d 24s; count suspicion.renewed
wait 24s
expire d => bcast dead d@1 from a; leave d; stop d; info: Marking as failed, suspect timeout reached node=d confirmations=0; count degraded.timeout; count msg.dead
suspect c 1 from b => bcast suspect c@1 from b; timer c 24s; count msg.suspect
suspect c 1 from d => bcast suspect c@1 from d; timer c 11.381s
suspect c 1 from a => bcast suspect c@1 from a; timer c 4s
wait 4s
expire c => bcast dead c@1 from a; leave c; stop c; info: Marking as failed, suspect timeout reached node=c confirmations=2; count msg.dead
table a alive@1 b dead@1 c dead@1 d dead@1
`, func(c *Config) { c.Events = &recordingDelegate{} })
}

// TestTableTroubled covers the suspicion of a node that came back from
// suspect or dead: for troubleMemory longest timeouts it runs the longest
// timeout whatever the confirmations; a new node is not troubled.
func TestTableTroubled(t *testing.T) {
	tableScript(t, tableStart+`
suspect b 1 from c => bcast suspect b@1 from c; timer b 24s; count msg.suspect
alive b 2 addr 10.0.0.2 => bcast alive b@2; stop b; count msg.alive
wait 95s
suspect b 2 from c => bcast suspect b@2 from c; timer b 24s; count msg.suspect
suspect b 2 from d => bcast suspect b@2 from d; timer b 24s
alive b 3 addr 10.0.0.2 => bcast alive b@3; stop b; count msg.alive
wait 96s
suspect b 3 from c => bcast suspect b@3 from c; timer b 24s; count msg.suspect
suspect b 3 from d => bcast suspect b@3 from d; timer b 11.381s
dead c 1 from d => bcast dead c@1 from d; leave c; count msg.dead
alive c 2 addr 10.0.0.3 => bcast alive c@2; join c; count msg.alive
suspect c 2 from b => bcast suspect c@2 from b; timer c 24s; count msg.suspect
suspect c 2 from d => bcast suspect c@2 from d; timer c 24s
alive e 1 addr 10.0.0.5 => bcast alive e@1; join e; count msg.alive
suspect e 1 from b => bcast suspect e@1 from b; timer e 24s; count msg.suspect
suspect e 1 from d => bcast suspect e@1 from d; timer e 11.381s
`, nil)
}

// TestTableReassert covers an accusation about the local node older than
// its last refutation: the alive is gossiped again, once per ProbeInterval.
func TestTableReassert(t *testing.T) {
	tableScript(t, tableStart+`
suspect a 1 from b => bcast alive a@2; health +1; warn: Refuting a suspect message node=a from=b inc=1
suspect a 1 from c => rebcast alive a@2
suspect a 1 from d => -
dead a 1 from d => -
wait 1s
dead a 1 from d => rebcast alive a@2
suspect a 2 from c => bcast alive a@3; health +1; warn: Refuting a suspect message node=a from=c inc=2
table a alive@3 b alive@1 c alive@1 d alive@1
`, nil)
}

// TestTableRetell covers a suspect about a node held dead or left at the
// same incarnation: the death or leave is gossiped again, once per
// ProbeInterval, and a newer suspect is not answered.
func TestTableRetell(t *testing.T) {
	tableScript(t, tableStart+`
dead c 1 from d => bcast dead c@1 from d; leave c; count msg.dead
suspect c 1 from b => rebcast dead c@1 from a
suspect c 1 from b => -
wait 1s
suspect c 0 from b => rebcast dead c@1 from a
dead b 1 from b => bcast dead b@1 from b; leave b; count msg.dead
suspect b 1 from d => rebcast dead b@1 from b
wait 1s
suspect c 2 from b => -
table a alive@1 b left@1 c dead@2 d alive@1
`, nil)
}

// TestTableDead covers the dead rules: a leave, a failure, refutation, and
// the local node's own leave.
func TestTableDead(t *testing.T) {
	tableScript(t, tableStart+`
dead b 0 from c => -
dead b 1 from b => bcast dead b@1 from b; leave b; count msg.dead
dead b 1 from c => -
suspect c 1 from b => bcast suspect c@1 from b; timer c 24s; count msg.suspect
dead c 1 from d => bcast dead c@1 from d; leave c; stop c; count msg.dead
dead a 1 from b => bcast alive a@2; health +1; warn: Refuting a dead message node=a from=b inc=1
table a alive@2 b left@1 c dead@1 d alive@1
leaving
dead a 2 from a => bcast dead a@2 from a +notify; leave a; count msg.dead
alive a 3 => -
`, nil)
}

// TestTableIncarnationsNeverGoDown is fix 1 of issue 10: a newer
// accusation raises the stored incarnation even when it changes no state.
// A death raised by a suspect only claims the suspicion when it answers a
// stale alive; a suspect newer than a running suspicion starts a new one.
func TestTableIncarnationsNeverGoDown(t *testing.T) {
	tableScript(t, tableStart+`
dead b 1 from c => bcast dead b@1 from c; leave b; count msg.dead
dead b 10 from c => -
table a alive@1 b dead@10 c alive@1 d alive@1
alive b 2 addr 10.0.0.2 => rebcast dead b@10 from a; tell 10.0.0.2:7946 dead b@10 from a
suspect b 12 from d => -
wait 1s
alive b 11 addr 10.0.0.2 => tell 10.0.0.2:7946 suspect b@12 from a
alive b 13 addr 10.0.0.2 => bcast alive b@13; join b; count msg.alive
suspect c 1 from b => bcast suspect c@1 from b; timer c 24s; count msg.suspect
suspect c 5 from d => bcast suspect c@5 from d; timer c 24s; count msg.suspect
alive c 4 addr 10.0.0.3 => tell 10.0.0.3:7946 suspect c@5 from a
table a alive@1 b alive@13 c suspect@5 d alive@1
`, nil)
}

// TestTableGraves is fix 2 of issue 10: a reaped node leaves a grave, and
// an alive not newer than it does not bring the node back; the node itself,
// newer, does.
func TestTableGraves(t *testing.T) {
	tableScript(t, tableStart+`
alive x 4 => bcast alive x@4; join x; count msg.alive
dead x 4 from x => bcast dead x@4 from x; leave x; count msg.dead
dead d 1 from b => bcast dead d@1 from b; leave d; count msg.dead
wait 31s
reap
table a alive@1 b alive@1 c alive@1
graves d dead@1 x left@4
# A stale alive re-enters the name as it died, and the node is told.
alive x 4 => rebcast dead x@4 from x; tell 10.0.0.1:7946 dead x@4 from x
alive x 3 => -
table a alive@1 b alive@1 c alive@1 x left@4
graves d dead@1
alive x 5 => bcast alive x@5; join x; count msg.alive
alive d 1 addr 10.0.0.4 => rebcast dead d@1 from a; tell 10.0.0.4:7946 dead d@1 from a
table a alive@1 b alive@1 c alive@1 d dead@1 x alive@5
# Past its lifetime (here 3 push/pull intervals, 90 s) a grave holds nothing back.
wait 31s
reap
graves d dead@1
wait 91s
graves
alive d 1 addr 10.0.0.4 => bcast alive d@1; join d; count msg.alive
`, nil)
}

// TestTableAccusationsReachTheAccused is fix 3 of issue 10: stale alives
// are answered with the accusation (rate limited), and accusations about
// unknown names are forwarded once per incarnation.
func TestTableAccusationsReachTheAccused(t *testing.T) {
	tableScript(t, tableStart+`
dead b 7 from c => bcast dead b@7 from c; leave b; count msg.dead
alive b 1 addr 10.0.0.2 => rebcast dead b@7 from a; tell 10.0.0.2:7946 dead b@7 from a
alive b 1 addr 10.0.0.2 => -
wait 1s
alive b 2 addr 10.0.0.2 => rebcast dead b@7 from a; tell 10.0.0.2:7946 dead b@7 from a
alive b 8 addr 10.0.0.2 => bcast alive b@8; join b; count msg.alive
dead y 3 from c => bcast dead y@3 from c
dead y 3 from d => -
suspect y 3 from d => -
suspect y 4 from d => bcast suspect y@4 from d
graves y suspect@4
table a alive@1 b alive@8 c alive@1 d alive@1
`, nil)
}

// TestTableIncarnationOverflow is fix 4 of issue 10: an accusation at the
// maximum is refuted at the maximum, never wrapped to 0, and a peer takes
// the alive at the maximum over a suspect or dead at the maximum.
func TestTableIncarnationOverflow(t *testing.T) {
	tableScript(t, tableStart+`
suspect a 4294967295 from b => bcast alive a@4294967295; health +1; warn: Refuting a suspect message node=a from=b inc=4294967295
dead a 4294967295 from b => bcast alive a@4294967295; health +1; warn: Refuting a dead message node=a from=b inc=4294967295
suspect b 4294967295 from c => bcast suspect b@4294967295 from c; timer b 24s; count msg.suspect
alive b 4294967295 addr 10.0.0.2 => bcast alive b@4294967295; stop b; count msg.alive
dead b 4294967295 from c => bcast dead b@4294967295 from c; leave b; count msg.dead
alive b 4294967295 addr 10.0.0.2 => bcast alive b@4294967295; join b; count msg.alive
alive b 4294967295 addr 10.0.0.2 => -
table a alive@4294967295 b alive@4294967295 c alive@1 d alive@1
`, nil)
}

// TestMergeInputs maps push/pull entries to messages (reference §3.3): a
// remote dead only makes us suspect, a left is a leave, an unknown state
// is skipped.
func TestMergeInputs(t *testing.T) {
	remote := []pushNodeState{
		{Name: "x", Incarnation: 3, State: StateAlive, Addr: []byte{10, 0, 0, 1}, Port: 1},
		{Name: "y", Incarnation: 4, State: StateLeft},
		{Name: "z", Incarnation: 5, State: StateDead},
		{Name: "w", Incarnation: 6, State: StateSuspect},
		{Name: "v", Incarnation: 7, State: 9},
	}
	var got []string
	for _, in := range mergeInputs(remote, "me") {
		switch in := in.(type) {
		case aliveInput:
			got = append(got, scriptMsg(aliveMsg, in.a))
		case *dead:
			got = append(got, scriptMsg(deadMsg, in))
		case *suspect:
			got = append(got, scriptMsg(suspectMsg, in))
		}
	}
	want := []string{"alive x@3", "dead y@4 from y", "suspect z@5 from me", "suspect w@6 from me"}
	if !slices.Equal(got, want) {
		t.Errorf("mergeInputs = %v, want %v", got, want)
	}
}

package memberlist

import (
	"net"
	"strings"
	"testing"
	"time"
)

func TestDecideAlive(t *testing.T) {
	now := time.Unix(1000, 0)
	addr := net.IPv4(10, 0, 0, 1).To4()
	other := net.IPv4(10, 0, 0, 2).To4()
	vsn := []uint8{1, 5, 2, 0, 0, 0}
	entry := func(state NodeStateType, inc uint32, changed time.Duration) *nodeState {
		st := &nodeState{Node: Node{Name: "n", Addr: addr, Port: 7946, State: state}, Incarnation: inc, StateChange: now.Add(-changed)}
		st.setVsn(vsn)
		return st
	}
	msg := func(inc uint32, a net.IP, meta string) *alive {
		var m []byte
		if meta != "" {
			m = []byte(meta)
		}
		return &alive{Incarnation: inc, Node: "n", Addr: a, Port: 7946, Meta: m, Vsn: vsn}
	}
	tests := []struct {
		name       string
		st         *nodeState
		a          *alive
		self, boot bool
		reclaim    time.Duration
		want       aliveAction
		wantUpdate bool
	}{
		{"newer incarnation applies", entry(StateAlive, 1, 0), msg(2, addr, ""), false, false, 0, aliveApply, false},
		{"same incarnation ignored", entry(StateAlive, 2, 0), msg(2, addr, ""), false, false, 0, aliveIgnore, false},
		{"older incarnation ignored", entry(StateSuspect, 3, 0), msg(2, addr, ""), false, false, 0, aliveIgnore, false},
		{"fresh placeholder joins", entry(StateDead, 0, 0), msg(1, addr, ""), false, false, 0, aliveApply, false},
		{"other address conflicts", entry(StateAlive, 1, 0), msg(5, other, ""), false, false, 0, aliveConflict, false},
		{"dead without reclaim conflicts", entry(StateDead, 1, time.Hour), msg(5, other, ""), false, false, 0, aliveConflict, false},
		{"dead too recently conflicts", entry(StateDead, 1, time.Second), msg(5, other, ""), false, false, time.Minute, aliveConflict, false},
		{"dead past reclaim moves", entry(StateDead, 1, time.Hour), msg(1, other, ""), false, false, time.Minute, aliveApply, true},
		{"left moves even at old incarnation", entry(StateLeft, 9, 0), msg(1, other, ""), false, false, 0, aliveApply, true},
		{"self older ignored", entry(StateAlive, 5, 0), msg(4, addr, ""), true, false, 0, aliveIgnore, false},
		{"self identical ignored", entry(StateAlive, 5, 0), msg(5, addr, ""), true, false, 0, aliveIgnore, false},
		{"self other meta refuted", entry(StateAlive, 5, 0), msg(5, addr, "x"), true, false, 0, aliveRefute, false},
		{"self newer refuted", entry(StateAlive, 5, 0), msg(6, addr, ""), true, false, 0, aliveRefute, false},
		{"self bootstrap applies", entry(StateAlive, 5, 0), msg(6, addr, "x"), true, true, 0, aliveApply, false},
		{"self bootstrap same inc applies", entry(StateAlive, 5, 0), msg(5, addr, "x"), true, true, 0, aliveApply, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, update := decideAlive(tt.st, tt.a, tt.self, tt.boot, now, tt.reclaim)
			if got != tt.want || update != tt.wantUpdate {
				t.Fatalf("decideAlive = %v, %v; want %v, %v", got, update, tt.want, tt.wantUpdate)
			}
		})
	}
}

func TestVsnValid(t *testing.T) {
	tests := []struct {
		vsn  []uint8
		want bool
	}{
		{nil, false},
		{[]uint8{1}, false},
		{[]uint8{1, 5}, false},
		{[]uint8{1, 5, 2, 0, 0}, false},
		{[]uint8{1, 5, 2, 0, 0, 0}, true},
		{[]uint8{2, 2, 2, 1, 1, 1, 9}, true},
		{[]uint8{0, 5, 2, 0, 0, 0}, false},
		{[]uint8{1, 0, 2, 0, 0, 0}, false},
		{[]uint8{3, 2, 2, 0, 0, 0}, false},
		{[]uint8{0, 0, 0, 0, 0, 0}, false},
	}
	for _, tt := range tests {
		if got := vsnValid(tt.vsn); got != tt.want {
			t.Errorf("vsnValid(%v) = %v, want %v", tt.vsn, got, tt.want)
		}
	}
}

func TestDecideSuspect(t *testing.T) {
	st := func(state NodeStateType, inc uint32) *nodeState {
		return &nodeState{Node: Node{Name: "n", State: state}, Incarnation: inc}
	}
	tests := []struct {
		name          string
		st            *nodeState
		inc           uint32
		self, running bool
		want          suspectAction
	}{
		{"old incarnation", st(StateAlive, 5), 4, false, false, suspectIgnore},
		{"old incarnation while running", st(StateSuspect, 5), 4, false, true, suspectIgnore},
		{"confirmation", st(StateSuspect, 5), 5, false, true, suspectConfirm},
		{"newer than the running suspicion", st(StateSuspect, 5), 6, false, true, suspectApply},
		{"not alive", st(StateDead, 5), 5, false, false, suspectIgnore},
		{"about us", st(StateAlive, 5), 5, true, false, suspectRefute},
		{"alive becomes suspect", st(StateAlive, 5), 5, false, false, suspectApply},
		{"newer incarnation", st(StateAlive, 5), 7, false, false, suspectApply},
	}
	for _, tt := range tests {
		if got := decideSuspect(tt.st, tt.inc, tt.self, tt.running); got != tt.want {
			t.Errorf("%s: decideSuspect = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestDecideDead(t *testing.T) {
	st := func(state NodeStateType, inc uint32) *nodeState {
		return &nodeState{Node: Node{Name: "n", State: state}, Incarnation: inc}
	}
	tests := []struct {
		name          string
		st            *nodeState
		inc           uint32
		self, leaving bool
		want          deadAction
	}{
		{"old incarnation", st(StateAlive, 5), 4, false, false, deadIgnore},
		{"already dead", st(StateDead, 5), 6, false, false, deadIgnore},
		{"already left", st(StateLeft, 5), 6, false, false, deadIgnore},
		{"about us", st(StateAlive, 5), 5, true, false, deadRefute},
		{"about us while leaving", st(StateAlive, 5), 5, true, true, deadApply},
		{"alive dies", st(StateAlive, 5), 5, false, false, deadApply},
		{"suspect dies", st(StateSuspect, 5), 5, false, false, deadApply},
	}
	for _, tt := range tests {
		if got := decideDead(tt.st, tt.inc, tt.self, tt.leaving); got != tt.want {
			t.Errorf("%s: decideDead = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestMergeAction(t *testing.T) {
	want := map[NodeStateType]remoteAction{
		StateAlive: remoteAlive, StateLeft: remoteLeft, StateDead: remoteSuspect,
		StateSuspect: remoteSuspect, 7: remoteSkip, -1: remoteSkip,
	}
	for s, w := range want {
		if got := mergeAction(s); got != w {
			t.Errorf("mergeAction(%d) = %v, want %v", s, got, w)
		}
	}
}

func TestVerifyProtocol(t *testing.T) {
	v := func(name string, state NodeStateType, vsn ...uint8) versioned {
		return versioned{name: name, state: state, vsn: vsn}
	}
	tests := []struct {
		name          string
		local, remote []versioned
		wantErr       string
	}{
		{"same", []versioned{v("a", StateAlive, 1, 5, 2, 0, 0, 0)}, []versioned{v("b", StateAlive, 1, 5, 2, 0, 0, 0)}, ""},
		{"overlap", []versioned{v("a", StateAlive, 1, 5, 2, 0, 0, 0)}, []versioned{v("b", StateAlive, 2, 4, 3, 0, 0, 0)}, ""},
		{"local too low", []versioned{v("a", StateAlive, 1, 5, 1, 0, 0, 0)}, []versioned{v("b", StateAlive, 2, 4, 3, 0, 0, 0)}, "Node 'a' protocol version (1) is incompatible: [2, 4]"},
		{"remote too high", []versioned{v("a", StateAlive, 1, 3, 2, 0, 0, 0)}, []versioned{v("b", StateAlive, 1, 5, 4, 0, 0, 0)}, "Node 'b' protocol version (4) is incompatible: [1, 3]"},
		{"delegate", []versioned{v("a", StateAlive, 1, 5, 2, 1, 2, 1)}, []versioned{v("b", StateAlive, 1, 5, 2, 2, 3, 2)}, "Node 'a' delegate protocol version (1) is incompatible: [2, 2]"},
		{"dead remote not in range but checked", []versioned{v("a", StateAlive, 1, 5, 2, 0, 0, 0)}, []versioned{v("b", StateDead, 3, 5, 3, 0, 0, 0)}, ""},
		{"short vsn fails", []versioned{v("a", StateAlive, 1, 5, 2, 0, 0, 0)}, []versioned{v("b", StateAlive, 1, 5)}, "Node 'b' protocol version (0) is incompatible: [1, 5]"},
		{"missing vsn fails", []versioned{v("a", StateAlive, 1, 5, 2, 0, 0, 0)}, []versioned{v("b", StateAlive)}, "Node 'b' protocol version (0)"},
		{"len five ranges", []versioned{v("a", StateAlive, 1, 5, 2, 0, 0, 0)}, []versioned{v("b", StateAlive, 2, 5, 2, 0, 0)}, "Node 'b' protocol version (0)"},
	}
	for _, tt := range tests {
		err := verifyProtocol(tt.local, tt.remote)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestProbeFailureDelta(t *testing.T) {
	tests := []struct{ expected, got, want int }{
		{0, 0, 1}, {3, 0, 3}, {3, 2, 1}, {3, 3, 0}, {2, 5, 0},
	}
	for _, tt := range tests {
		if d := probeFailureDelta(tt.expected, tt.got); d != tt.want {
			t.Errorf("probeFailureDelta(%d, %d) = %d, want %d", tt.expected, tt.got, d, tt.want)
		}
	}
}

func TestFailedRemote(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{&net.OpError{Net: "tcp", Op: "dial"}, true},
		{&net.OpError{Net: "tcp4", Op: "read"}, true},
		{&net.OpError{Net: "tcp6", Op: "write"}, true},
		{&net.OpError{Net: "tcp", Op: "close"}, false},
		{&net.OpError{Net: "udp", Op: "write"}, true},
		{&net.OpError{Net: "udp", Op: "read"}, false},
		{&net.OpError{Net: "pipe", Op: "write"}, false},
	}
	for _, tt := range tests {
		if got := failedRemote(tt.err); got != tt.want {
			t.Errorf("failedRemote(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestReclaimable(t *testing.T) {
	now := time.Unix(100, 0)
	st := &nodeState{Node: Node{State: StateDead}, StateChange: now.Add(-time.Minute)}
	if reclaimable(st, now, 0) {
		t.Error("dead with reclaim 0 must not be reclaimable")
	}
	if !reclaimable(st, now, time.Second) {
		t.Error("dead past reclaim time must be reclaimable")
	}
	if reclaimable(st, now, time.Hour) {
		t.Error("dead within reclaim time must not be reclaimable")
	}
	st.State = StateLeft
	if !reclaimable(st, now, 0) {
		t.Error("left must be reclaimable")
	}
	st.State = StateAlive
	if reclaimable(st, now, time.Second) {
		t.Error("alive must not be reclaimable")
	}
}

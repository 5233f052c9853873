package memberlist

import (
	"bytes"
	"log"
	"net"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigs(t *testing.T) {
	lan, wan, local := DefaultLANConfig(), DefaultWANConfig(), DefaultLocalConfig()
	checks := []struct {
		name      string
		got, want any
	}{
		{"LAN ProtocolVersion", lan.ProtocolVersion, uint8(ProtocolVersion2Compatible)},
		{"LAN BindPort", lan.BindPort, 7946},
		{"LAN TCPTimeout", lan.TCPTimeout, 10 * time.Second},
		{"LAN SuspicionMult", lan.SuspicionMult, 4},
		{"LAN GossipInterval", lan.GossipInterval, 200 * time.Millisecond},
		{"LAN HandoffQueueDepth", lan.HandoffQueueDepth, 1024},
		{"LAN DNSConfigPath", lan.DNSConfigPath, "/etc/resolv.conf"},
		{"LAN QueueCheckInterval", lan.QueueCheckInterval, 30 * time.Second},
		{"WAN TCPTimeout", wan.TCPTimeout, 30 * time.Second},
		{"WAN SuspicionMult", wan.SuspicionMult, 6},
		{"WAN ProbeInterval", wan.ProbeInterval, 5 * time.Second},
		{"WAN ProbeTimeout", wan.ProbeTimeout, 3 * time.Second},
		{"WAN GossipNodes", wan.GossipNodes, 4},
		{"WAN GossipToTheDeadTime", wan.GossipToTheDeadTime, 60 * time.Second},
		{"Local TCPTimeout", local.TCPTimeout, time.Second},
		{"Local IndirectChecks", local.IndirectChecks, 1},
		{"Local RetransmitMult", local.RetransmitMult, 2},
		{"Local ProbeTimeout", local.ProbeTimeout, 200 * time.Millisecond},
		{"Local GossipInterval", local.GossipInterval, 100 * time.Millisecond},
		{"Local GossipToTheDeadTime", local.GossipToTheDeadTime, 15 * time.Second},
		{"Local PushPullInterval", local.PushPullInterval, 15 * time.Second},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if err := lan.Validate(); err != nil {
		t.Errorf("default LAN config invalid: %v", err)
	}
}

func TestConfigValidateReportsEverything(t *testing.T) {
	c := DefaultLANConfig()
	c.Name = ""
	c.ProtocolVersion = 9
	c.Label = strings.Repeat("x", 256)
	c.SecretKey = []byte("short")
	c.LogOutput = &bytes.Buffer{}
	c.Logger = log.Default()
	c.GossipNodes = -1
	c.ProbeTimeout = -time.Second
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad config")
	}
	for _, want := range []string{
		"Name", "protocol version '9' too high", "as a label: too long", "SecretKey",
		"cannot specify both LogOutput and Logger", "GossipNodes", "ProbeTimeout",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestCreateRejectsBadConfigWithoutPanicking(t *testing.T) {
	c := DefaultLANConfig()
	c.ProtocolVersion = 0
	c.BindPort = 0
	if _, err := Create(c); err == nil || !strings.Contains(err.Error(), "too low") {
		t.Fatalf("Create error = %v, want protocol version too low", err)
	}
	if c.BindPort != 0 {
		t.Errorf("rejected Create changed BindPort to %d", c.BindPort)
	}
}

func TestParseCIDRs(t *testing.T) {
	nets, err := ParseCIDRs(nil)
	if err != nil || nets == nil || len(nets) != 0 {
		t.Fatalf("ParseCIDRs(nil) = %v, %v", nets, err)
	}
	nets, err = ParseCIDRs([]string{" 127.0.0.0/8 ", "bad", "::1/128", "also bad"})
	if len(nets) != 2 {
		t.Errorf("got %d networks, want 2", len(nets))
	}
	if err == nil || !strings.Contains(err.Error(), "invalid cidr: bad") || !strings.Contains(err.Error(), "invalid cidr: also bad") {
		t.Errorf("error %v should name both bad entries", err)
	}
}

func TestIPAllowed(t *testing.T) {
	c := &Config{}
	if err := c.IPAllowed(net.ParseIP("1.2.3.4")); err != nil {
		t.Errorf("nil CIDRsAllowed must allow all: %v", err)
	}
	c.CIDRsAllowed = []net.IPNet{}
	if c.IPMustBeChecked() {
		t.Error("empty CIDRsAllowed must allow all, as upstream")
	}
	c.CIDRsAllowed, _ = ParseCIDRs([]string{"0.0.0.0/0"})
	if err := c.IPAllowed(net.ParseIP("::1")); err == nil {
		t.Error("0.0.0.0/0 must not allow IPv6")
	}
	if err := c.IPAllowed(net.ParseIP("10.1.2.3")); err != nil {
		t.Errorf("0.0.0.0/0 must allow IPv4: %v", err)
	}
	c.CIDRsAllowed, _ = ParseCIDRs([]string{"::1/128", "127.0.0.0/8"})
	if err := c.IPAllowed(net.ParseIP("10.1.2.3")); err == nil || err.Error() != "10.1.2.3 is not allowed" {
		t.Errorf("IPAllowed error = %v", err)
	}
}

func TestBuildVsnArray(t *testing.T) {
	c := &Config{ProtocolVersion: 3, DelegateProtocolMin: 1, DelegateProtocolMax: 4, DelegateProtocolVersion: 2}
	got := c.BuildVsnArray()
	want := []uint8{ProtocolVersionMin, ProtocolVersionMax, 3, 1, 4, 2}
	if !bytes.Equal(got, want) {
		t.Errorf("BuildVsnArray = %v, want %v", got, want)
	}
}

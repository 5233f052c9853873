package main

import (
	"bytes"
	"encoding/base64"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-name", "a1", "-join", " 127.0.0.1:1, ,127.0.0.1:2", "-log-level", "debug"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.name != "a1" || !slices.Equal(o.join, []string{"127.0.0.1:1", "127.0.0.1:2"}) || o.logLevel != slog.LevelDebug {
		t.Fatalf("got %+v", o)
	}
	if o.profile != "lan" || o.port != 7946 || o.bind != "0.0.0.0" || o.leaveWait != 5*time.Second {
		t.Fatalf("defaults: %+v", o)
	}
	for _, args := range [][]string{{"-log-level", "loud"}, {"extra"}, {"-nope"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) succeeded", args)
		}
	}
}

func TestMemberlistConfig(t *testing.T) {
	o := &options{name: "a1", bind: "127.0.0.1:7001", port: 9, advertise: "10.0.0.1", profile: "local", label: "L"}
	conf, err := o.memberlistConfig()
	if err != nil {
		t.Fatal(err)
	}
	if conf.BindAddr != "127.0.0.1" || conf.BindPort != 7001 || conf.AdvertiseAddr != "10.0.0.1" || conf.AdvertisePort != 7001 {
		t.Fatalf("addresses: %s:%d advertise %s:%d", conf.BindAddr, conf.BindPort, conf.AdvertiseAddr, conf.AdvertisePort)
	}
	if conf.Name != "a1" || conf.Label != "L" || conf.ProbeTimeout != 200*time.Millisecond {
		t.Fatalf("got name %q label %q probe timeout %v", conf.Name, conf.Label, conf.ProbeTimeout)
	}
	o = &options{name: "a1", bind: "127.0.0.1", port: 7002, profile: "wan"}
	if conf, err = o.memberlistConfig(); err != nil || conf.BindPort != 7002 || conf.ProbeInterval != 5*time.Second {
		t.Fatalf("wan: %v, port %d, probe interval %v", err, conf.BindPort, conf.ProbeInterval)
	}
}

func TestMemberlistConfigReportsEveryProblem(t *testing.T) {
	o := &options{bind: "nohost", port: 1, advertise: "1.2.3.4:x", profile: "moon", meta: strings.Repeat("m", 513), keyFile: "/nonexistent"}
	_, err := o.memberlistConfig()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"-profile", "-bind", "-advertise", "-meta", "-key-file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestReadKeyring(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 32)
	text := "# primary first\n" + base64.StdEncoding.EncodeToString(k1) + "\n\n  " + base64.StdEncoding.EncodeToString(k2) + "\n"
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	ring, err := readKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ring.GetPrimaryKey(), k1) || len(ring.GetKeys()) != 2 {
		t.Fatalf("primary %x, %d keys", ring.GetPrimaryKey(), len(ring.GetKeys()))
	}
	for _, bad := range []string{"", "# only a comment\n", "not base64!\n", base64.StdEncoding.EncodeToString([]byte("short")) + "\n"} {
		if _, err := parseKeyring(bad); err == nil {
			t.Errorf("parseKeyring(%q) succeeded", bad)
		}
	}
}

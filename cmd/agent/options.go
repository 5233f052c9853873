package main

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gossip-go/memberlist"
)

// options holds the parsed command line.
type options struct {
	name        string
	bind        string
	port        int
	advertise   string
	join        []string
	keyFile     string
	label       string
	profile     string
	httpAddr    string
	meta        string
	logLevel    slog.Level
	departedTTL time.Duration
	leaveWait   time.Duration
}

// parseFlags parses args (without the program name). Usage and errors are
// written to out.
func parseFlags(args []string, out io.Writer) (*options, error) {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(out)
	host, _ := os.Hostname()
	o := &options{}
	var join, level string
	fs.StringVar(&o.name, "name", host, "node name, unique in the cluster")
	fs.StringVar(&o.bind, "bind", "0.0.0.0", "gossip bind address, `ip` or ip:port")
	fs.IntVar(&o.port, "port", 7946, "gossip port (UDP and TCP) when -bind has none; 0 picks a free one")
	fs.StringVar(&o.advertise, "advertise", "", "address announced to peers, `ip` or ip:port (default: derived from -bind)")
	fs.StringVar(&join, "join", "", "comma-separated `host:port` list of members to join, retried with backoff")
	fs.StringVar(&o.keyFile, "key-file", "", "file of base64 encryption keys, one per line, the first is primary")
	fs.StringVar(&o.label, "label", "", "cluster label; agents with different labels ignore each other")
	fs.StringVar(&o.profile, "profile", "lan", "timing profile: lan, wan or local")
	fs.StringVar(&o.httpAddr, "http", "127.0.0.1:7980", "HTTP listen `address` for /, /members and /metrics; empty disables it")
	fs.StringVar(&o.meta, "meta", "", "metadata announced for this node (at most 512 bytes)")
	fs.StringVar(&level, "log-level", "info", "log level: debug, info, warn or error")
	fs.DurationVar(&o.departedTTL, "departed-ttl", 15*time.Minute, "how long dead and left members stay listed")
	fs.DurationVar(&o.leaveWait, "leave-timeout", 5*time.Second, "how long to wait for the leave to be gossiped on SIGINT/SIGTERM")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	for s := range strings.SplitSeq(join, ",") {
		if s = strings.TrimSpace(s); s != "" {
			o.join = append(o.join, s)
		}
	}
	if err := o.logLevel.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	return o, nil
}

// memberlistConfig returns the memberlist Config the options describe,
// without delegates or logger. Every problem is reported at once.
func (o *options) memberlistConfig() (*memberlist.Config, error) {
	var conf *memberlist.Config
	var errs []error
	switch o.profile {
	case "lan":
		conf = memberlist.DefaultLANConfig()
	case "wan":
		conf = memberlist.DefaultWANConfig()
	case "local":
		conf = memberlist.DefaultLocalConfig()
	default:
		conf = memberlist.DefaultLANConfig()
		errs = append(errs, fmt.Errorf("-profile: %q is not lan, wan or local", o.profile))
	}
	conf.Name = o.name
	conf.Label = o.label
	var err error
	if conf.BindAddr, conf.BindPort, err = splitHostPort(o.bind, o.port); err != nil {
		errs = append(errs, fmt.Errorf("-bind: %w", err))
	}
	conf.AdvertisePort = conf.BindPort
	if o.advertise != "" {
		if conf.AdvertiseAddr, conf.AdvertisePort, err = splitHostPort(o.advertise, conf.BindPort); err != nil {
			errs = append(errs, fmt.Errorf("-advertise: %w", err))
		}
	}
	if len(o.meta) > memberlist.MetaMaxSize {
		errs = append(errs, fmt.Errorf("-meta: %d bytes, at most %d", len(o.meta), memberlist.MetaMaxSize))
	}
	if o.keyFile != "" {
		if conf.Keyring, err = readKeyring(o.keyFile); err != nil {
			errs = append(errs, fmt.Errorf("-key-file: %w", err))
		}
	}
	return conf, errors.Join(errs...)
}

// splitHostPort splits "ip" or "ip:port" (IPv6 in brackets with a port),
// using defPort when s has no port.
func splitHostPort(s string, defPort int) (string, int, error) {
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		host, portStr = strings.Trim(s, "[]"), strconv.Itoa(defPort)
	}
	if net.ParseIP(host) == nil {
		return "", 0, fmt.Errorf("%q is not an IP address", host)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", portStr)
	}
	return host, port, nil
}

// readKeyring reads a keyring file: base64 keys of 16, 24 or 32 bytes, one
// per line, the first one primary. Blank lines and lines starting with #
// are ignored.
func readKeyring(path string) (*memberlist.Keyring, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseKeyring(string(data))
}

// parseKeyring parses the contents of a keyring file (see readKeyring).
func parseKeyring(text string) (*memberlist.Keyring, error) {
	var keys [][]byte
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: not base64: %w", i+1, err)
		}
		if err := memberlist.ValidateKey(key); err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, errors.New("no key in file")
	}
	return memberlist.NewKeyring(keys[1:], keys[0])
}

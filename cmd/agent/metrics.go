package main

import (
	gometrics "github.com/hashicorp/go-metrics"
	promsink "github.com/hashicorp/go-metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// newMetrics returns a Prometheus registry holding the Go runtime and
// process collectors and a go-metrics Prometheus sink, and a go-metrics
// configuration under which memberlist's keys reach the sink with only
// their dots turned into underscores: "memberlist.gossip" is exposed as the
// summary memberlist_gossip (in milliseconds, as go-metrics measures time),
// "memberlist.udp.sent" as the counter memberlist_udp_sent. No service or
// host name prefix is added and nothing expires, so counters never restart
// while the agent runs.
func newMetrics() (*prometheus.Registry, *gometrics.Config, *promsink.PrometheusSink, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	sink, err := promsink.NewPrometheusSinkFrom(promsink.PrometheusOpts{
		Registerer: reg,
		Name:       "memberlist_agent_sink",
		Expiration: 0, // memberlist's metric set is small and fixed
	})
	if err != nil {
		return nil, nil, nil, err
	}
	conf := gometrics.DefaultConfig("")
	conf.EnableHostname = false
	conf.EnableHostnameLabel = false
	conf.EnableServiceLabel = false
	conf.EnableRuntimeMetrics = false // the Go collector covers the runtime
	return reg, conf, sink, nil
}

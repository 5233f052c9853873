// Package bench compares the cost of github.com/gossip-go/memberlist (ours)
// with github.com/hashicorp/memberlist v0.7.0 (theirs) through their exported
// API only. Everything lives in the _test.go files; see README.md for the
// commands and the latest figures.
package bench

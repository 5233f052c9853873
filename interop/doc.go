// Package interop holds tests that run nodes of this module's memberlist
// next to nodes of github.com/hashicorp/memberlist v0.7.0 on loopback
// sockets, and check that they speak the same wire protocol and see the same
// cluster. It has no non-test code besides this comment.
package interop

// Package memberlist manages cluster membership and member failure
// detection using a gossip protocol based on SWIM with the Lifeguard
// refinements. It is wire- and API-compatible with
// github.com/hashicorp/memberlist v0.7.0.
//
// A Memberlist is created with Create, joins a cluster with Join and leaves
// it with Leave and Shutdown. Members lists the nodes believed alive; the
// delegates of Config observe changes and carry user data.
//
// # The protocol on one page
//
// Every node keeps a table of all the nodes it knows, each with a state
// (alive, suspect, dead or left) and an incarnation number. The table
// changes through a handful of messages, and the same rules applied
// everywhere make the tables converge.
//
// Probe. Every ProbeInterval a node pings the next node of its table, in a
// shuffled round-robin order, over UDP (SWIM §4). An ack within
// ProbeTimeout ends the probe.
//
// Indirect probe. Without an ack, the node asks IndirectChecks other nodes
// to ping the target on its behalf and to relay the ack, and at the same
// time tries a ping over TCP. A path problem between two nodes then does
// not make either of them look dead. With protocol version 4 and later the
// helpers send a nack when they get no answer either, which tells the
// prober that the helpers themselves are fine.
//
// Suspicion and Lifeguard. If no ack arrives by the end of the probe
// interval, the prober marks the target suspect and gossips that. A
// suspect node that hears of it refutes by gossiping "alive" with a higher
// incarnation (SWIM §4.2). Otherwise, when the suspicion timeout runs out,
// it is declared dead. The timeout starts at SuspicionMaxTimeoutMult times
// its minimum and shrinks towards the minimum as other nodes independently
// confirm the suspicion (Lifeguard §IV-B); the minimum is SuspicionMult
// times ProbeInterval, times log10 of the cluster size (at least 1). Each
// node also keeps a health score that rises when its own probes fail
// unexpectedly or it has to refute, and falls when probes succeed; the
// score stretches its probe interval (Lifeguard §IV-A), so a node starved
// of CPU or bandwidth slows down instead of accusing healthy peers. A
// suspect node that is probed gets the suspicion attached to the ping
// (Lifeguard's buddy system, §IV-C), a first chance to refute.
//
// Gossip. State changes (alive, suspect, dead) and user broadcasts are
// queued and piggybacked on pings and acks, and every GossipInterval a
// node also sends them to GossipNodes random peers. Each message is sent
// RetransmitMult times ceil(log10(n+1)) times in a cluster of n nodes,
// fewest-sent first, which spreads it to everyone with high probability
// in O(log n) rounds (SWIM §4.1). A node that learns something new from
// gossip queues it for its own gossip in turn. Recently dead nodes still
// receive gossip for GossipToTheDeadTime, so a node wrongly declared dead
// hears of it and refutes.
//
// Push/pull. Every PushPullInterval (scaled up above 32 nodes) a node
// exchanges its whole table, and the Delegate's LocalState, with one random
// peer over TCP and merges what it receives. Join is a push/pull with the
// seed nodes. Push/pull repairs whatever gossip missed, at the cost of a
// full-state transfer; in a cluster of a few nodes with a low
// RetransmitMult it is often what completes a join.
//
// Incarnations. Only a node itself raises its incarnation, when it
// refutes a suspicion or updates its metadata. A message about a node
// wins over what the table holds when its incarnation is higher; at equal
// incarnations suspect beats alive and dead beats both. A node that
// leaves gossips its own death, which others record as left. The
// incarnation a table holds never goes down, not even once the node is
// reaped: the table keeps a grave for a while, so an old alive cannot
// bring a gone node back. A node that announces an alive older than what
// the table holds against it is sent that accusation directly, so that a
// node restarted under its old name refutes it at once. Incarnations stop
// at 2^32−1 instead of wrapping round.
//
// # What the Config knobs trade
//
// DefaultLANConfig, DefaultWANConfig and DefaultLocalConfig return settings
// for a data center, a wide-area network and loopback. The knobs trade
// detection speed against false positives and traffic:
//
//   - ProbeInterval, ProbeTimeout: shorter finds failures sooner, but costs
//     packets and, below the network's round-trip time, accuses healthy
//     nodes.
//   - IndirectChecks: more helpers make a false accusation less likely and
//     cost a few packets per failed probe.
//   - SuspicionMult, SuspicionMaxTimeoutMult: larger gives a slow or paused
//     node more time to refute; failures are declared later.
//   - GossipInterval, GossipNodes: more often and wider spreads news faster,
//     with more packets per second.
//   - RetransmitMult: more sends per message make a missed node less likely
//     (this matters most in clusters under ten nodes) and fill packets.
//   - PushPullInterval: shorter repairs divergence sooner, and sends the
//     whole table each time; 0 disables it.
//   - GossipToTheDeadTime: how long dead nodes still get gossip and stay in
//     the table.
//   - UDPBufferSize: the packet budget; keep it under the path MTU.
//   - SecretKey, Keyring, GossipVerifyIncoming, GossipVerifyOutgoing:
//     AES-GCM encryption of all traffic, and the switches used to roll it
//     out or change keys without a restart.
//   - Label: keeps two clusters on one network apart.
//
// # Testing
//
// MockNetwork is an in-memory network for tests: give each Config a
// transport from NewTransport and the nodes talk without sockets. It can
// drop, delay, duplicate and partition traffic, deterministically from a
// seed, and under testing/synctest the protocol's timers run on virtual
// time.
package memberlist

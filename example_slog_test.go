package memberlist

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// ExampleConfig_slog sends a node's logs to a log/slog handler. Values are
// attributes with stable keys (node, addr, err, type, inc), not text in the
// message. Here a node labelled "test" tries to join a cluster labelled
// "prod": the seed logs the refusal, and the joiner's error says why.
func ExampleConfig_slog() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelWarn,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // keep the example's output stable
			}
			return a
		},
	}))

	network := &MockNetwork{}
	start := func(name, label string, l *slog.Logger) *Memberlist {
		conf := DefaultLocalConfig()
		conf.Name = name
		conf.Label = label
		conf.Transport = network.NewTransport(name)
		conf.LogOutput = io.Discard
		conf.Slog = l // preferred over LogOutput and Logger
		m, err := Create(conf)
		if err != nil {
			panic(err)
		}
		return m
	}
	seed := start("seed", "prod", logger.With("component", "memberlist"))
	defer seed.Shutdown()
	joiner := start("joiner", "test", nil)
	defer joiner.Shutdown()

	_, err := joiner.Join([]string{"seed/" + seed.LocalNode().Address()})
	fmt.Println("label mismatch:", errors.Is(err, ErrLabelMismatch))
	// Output:
	// level=WARN msg="discarding stream with unacceptable label" component=memberlist addr=pipe label=test want=prod
	// label mismatch: true
}

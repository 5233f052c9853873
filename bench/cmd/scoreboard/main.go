// Command scoreboard runs the fault scoreboard: every scenario of package
// bench/scoreboard for github.com/gossip-go/memberlist and for
// hashicorp/memberlist v0.7.0, on the same in-memory fault network, and
// writes the table, a JSON file and an SVG chart.
//
//	cd bench && go run ./cmd/scoreboard [-quick] [-seed N] [-only REGEXP] [-out DIR]
//
// The scenarios run on virtual time inside testing/synctest bubbles, which
// exist only in test binaries, so this command runs the package's test
// TestScoreboard with go test and passes the flags on.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

func main() {
	quick := flag.Bool("quick", false, "smaller clusters and shorter faults (under 3 minutes)")
	seed := flag.Uint64("seed", 1, "seed of the mock network")
	only := flag.String("only", "", "run only the scenarios whose name matches this regexp")
	out := flag.String("out", "scoreboard-out", "directory for scoreboard.md, scoreboard.json and scoreboard.svg")
	flag.Parse()
	abs, err := filepath.Abs(*out)
	if err != nil {
		fail(err)
	}
	// Local directory mode (no package argument) streams the test's output.
	args := []string{"test", "-count=1", "-timeout=60m", "-run=^TestScoreboard$",
		"-args", "-scoreboard",
		fmt.Sprintf("-quick=%v", *quick), fmt.Sprintf("-seed=%d", *seed), "-only=" + *only, "-out=" + abs}
	cmd := exec.Command(goTool(), args...)
	cmd.Dir = "scoreboard"
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fail(err)
	}
	fmt.Printf("wrote %s/scoreboard.{md,json,svg}\n", abs)
}

// goTool returns the go command that runs this program.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "scoreboard:", err)
	os.Exit(1)
}

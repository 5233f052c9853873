//go:build !race

package main

// raceEnabled reports whether the tests run with the race detector; the
// agent binary they start is then built with it too.
const raceEnabled = false

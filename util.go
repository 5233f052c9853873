package memberlist

import (
	"math"
	"time"
)

// suspicionTimeout returns the minimum suspicion timeout for a cluster of n
// nodes: suspicionMult × max(1, log10(n)) × interval, with the node scale
// truncated to thousandths and the product computed in integer Duration
// arithmetic. The maximum timeout is a multiple of it.
func suspicionTimeout(suspicionMult, n int, interval time.Duration) time.Duration {
	nodeScale := math.Max(1.0, math.Log10(math.Max(1.0, float64(n))))
	// Scale by 1000 to keep precision through the integer product.
	millis := time.Duration(nodeScale * 1000.0)
	return time.Duration(suspicionMult) * millis * interval / 1000
}

// pushPullScaleThreshold is the cluster size above which the push/pull
// interval grows.
const pushPullScaleThreshold = 32

// pushPullScale returns the push/pull interval for a cluster of n nodes:
// interval itself up to 32 nodes, and beyond that interval multiplied by
// ceil(log2(n) − log2(32)) + 1, so the cluster-wide rate of full state
// exchanges grows only logarithmically.
func pushPullScale(interval time.Duration, n int) time.Duration {
	if n <= pushPullScaleThreshold {
		return interval
	}
	multiplier := math.Ceil(math.Log2(float64(n))-math.Log2(pushPullScaleThreshold)) + 1.0
	return time.Duration(multiplier) * interval
}

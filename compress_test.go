package memberlist

import (
	"bytes"
	"compress/lzw"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// lzwTestRepeat is an endless reader of one byte value.
type lzwTestRepeat byte

func (r lzwTestRepeat) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// lzwTestCompressRepeat returns n copies of 'a' compressed, without holding
// the n bytes in memory.
func lzwTestCompressRepeat(t testing.TB, n int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := lzw.NewWriter(&buf, lzw.LSB, 8)
	if _, err := io.CopyN(w, lzwTestRepeat('a'), n); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// lzwTestAllocated returns how many bytes f allocates on the heap.
func lzwTestAllocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestLZW_UpstreamVectors checks the LZW bytes carried in the Buf field of
// upstream's compress wrappers for three payloads.
func TestLZW_UpstreamVectors(t *testing.T) {
	for in, want := range map[string]string{
		"hello hello hello hello": "00d19461c3e60d0881040d222c787060c180",
		"":                        "000302",
		"a":                       "00c30404",
	} {
		got, err := lzwCompress([]byte(in))
		if err != nil || hex.EncodeToString(got) != want {
			t.Errorf("lzwCompress(%q) = %x, %v; want %s", in, got, err, want)
		}
		out, err := lzwDecompress(mustHex(t, want), maxDecompressedBytes)
		if err != nil || string(out) != in {
			t.Errorf("lzwDecompress(%s) = %q, %v; want %q", want, out, err, in)
		}
	}
}

func TestLZW_RoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 64<<10)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	inputs := map[string][]byte{
		"empty":    {},
		"one":      {'a'},
		"text":     []byte(strings.Repeat("the quick brown fox ", 100)),
		"all":      all,
		"random":   random,
		"repeated": bytes.Repeat([]byte{7}, 1<<20),
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			c, err := lzwCompress(in)
			if err != nil {
				t.Fatal(err)
			}
			for _, limit := range []int{len(in), maxDecompressedBytes} {
				out, err := lzwDecompress(c, limit)
				if err != nil || !bytes.Equal(out, in) {
					t.Fatalf("limit %d: %d bytes, %v", limit, len(out), err)
				}
			}
			if len(in) == 0 {
				return
			}
			_, err = lzwDecompress(c, len(in)-1)
			assertErrString(t, err, fmt.Sprintf("decompressed message is larger than limit (%d)", len(in)-1))
		})
	}
}

func TestLZWDecompress_Limit(t *testing.T) {
	tests := []struct {
		n   int64
		err string
	}{
		{20<<20 + 1, ""},
		{40<<20 + 1, "decompressed message is larger than limit (41943040)"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			c := lzwTestCompressRepeat(t, tt.n)
			var out []byte
			var err error
			allocated := lzwTestAllocated(func() { out, err = lzwDecompress(c, maxDecompressedBytes) })
			assertErrString(t, err, tt.err)
			if err == nil && (int64(len(out)) != tt.n || out[0] != 'a' || out[len(out)-1] != 'a') {
				t.Fatalf("got %d bytes", len(out))
			}
			// Accepted output costs its own size plus the first guess (at
			// most 1 MiB) and the decoder's tables; rejected output only
			// the guess and the tables.
			bound := uint64(2 << 20)
			if err == nil {
				bound += uint64(tt.n)
			}
			if allocated > bound {
				t.Fatalf("allocated %d bytes, bound %d", allocated, bound)
			}
		})
	}
}

// TestLZWDecompress_Bomb: 1,000 times more output than the limit allows must
// cost about the limit in memory, not the output size; at the real limit, a
// 40 MiB bomb costs only the first guess (TestLZWDecompress_Limit).
func TestLZWDecompress_Bomb(t *testing.T) {
	const limit = 16 << 10
	bomb := lzwTestCompressRepeat(t, 16<<20)
	var err error
	allocated := lzwTestAllocated(func() { _, err = lzwDecompress(bomb, limit) })
	assertErrString(t, err, "decompressed message is larger than limit (16384)")
	if bound := uint64(limit + 64<<10); allocated > bound {
		t.Fatalf("allocated %d bytes for a %d-byte limit (bound %d)", allocated, limit, bound)
	}

	// Compressed again, the bomb is a small payload whose inner layer is
	// caught the same way.
	outer, err := lzwCompress(bomb)
	if err != nil {
		t.Fatal(err)
	}
	inner, err := lzwDecompress(outer, limit)
	if err != nil || !bytes.Equal(inner, bomb) {
		t.Fatalf("outer layer: %d bytes, %v", len(inner), err)
	}
	_, err = lzwDecompress(inner, limit)
	assertErrString(t, err, "decompressed message is larger than limit (16384)")
}

func TestLZWDecompress_Garbage(t *testing.T) {
	valid := mustHex(t, "00d19461c3e60d0881040d222c787060c180")
	for name, in := range map[string][]byte{
		"nil":          nil,
		"invalid code": {0xff, 0xff, 0xff, 0xff},
		"truncated":    valid[:len(valid)-2],
		"no eof code":  valid[:1],
	} {
		t.Run(name, func(t *testing.T) {
			out, err := lzwDecompress(in, maxDecompressedBytes)
			if err == nil || out != nil || !strings.HasPrefix(err.Error(), "failed to decompress message: ") {
				t.Fatalf("got %q, %v", out, err)
			}
		})
	}
}

func TestLZWDecompress_NegativeLimit(t *testing.T) {
	_, err := lzwDecompress(mustHex(t, "00c30404"), -1)
	assertErrString(t, err, "decompressed message is larger than limit (0)")
	out, err := lzwDecompress(mustHex(t, "000302"), -1)
	if err != nil || len(out) != 0 {
		t.Fatalf("got %q, %v", out, err)
	}
}

func FuzzLZWDecompress(f *testing.F) {
	for _, s := range []string{"00d19461c3e60d0881040d222c787060c180", "000302", "00c30404", "ffffffff", ""} {
		f.Add(mustHex(f, s))
	}
	f.Add(lzwTestCompressRepeat(f, 1<<20))
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 64 << 10
		out, err := lzwDecompress(data, limit)
		if err == nil && (len(out) > limit || cap(out) > limit+1) {
			t.Fatalf("%d bytes in a %d-byte buffer past the %d limit", len(out), cap(out), limit)
		}
		c, err := lzwCompress(data)
		if err != nil {
			t.Fatal(err)
		}
		back, err := lzwDecompress(c, len(data))
		if err != nil || !bytes.Equal(back, data) {
			t.Fatalf("round trip: %d bytes, %v", len(back), err)
		}
	})
}

package memberlist

import (
	"bytes"
	"compress/lzw"
	"fmt"
	"io"
	"sync"
)

// maxDecompressedBytes is the most bytes any decompression may produce; more
// is treated as a decompression bomb.
const maxDecompressedBytes = 2 * 20 * 1024 * 1024

// LZW parameters of the wire format: GIF-style, least significant bit first,
// 8-bit literals.
const (
	lzwOrder    = lzw.LSB
	lzwLitWidth = 8
	// The first guess at the decompressed size is 4 times the input,
	// within these bounds; a large input does not reserve the whole limit.
	lzwMinGuess = 512
	lzwMaxGuess = 1 << 20
)

// lzwPool reuses LZW coders, whose tables cost tens of kilobytes each, so
// compressing a packet does not allocate them every time. The zero value is
// ready to use and it is safe for concurrent use. A nil *lzwPool allocates
// fresh coders.
type lzwPool struct {
	writers sync.Pool // *lzw.Writer
	readers sync.Pool // *lzw.Reader
}

func (p *lzwPool) writer(dst io.Writer) *lzw.Writer {
	if p != nil {
		if w, ok := p.writers.Get().(*lzw.Writer); ok {
			w.Reset(dst, lzwOrder, lzwLitWidth)
			return w
		}
	}
	return lzw.NewWriter(dst, lzwOrder, lzwLitWidth).(*lzw.Writer)
}

func (p *lzwPool) putWriter(w *lzw.Writer) {
	if p != nil {
		p.writers.Put(w)
	}
}

func (p *lzwPool) reader(src io.Reader) *lzw.Reader {
	if p != nil {
		if r, ok := p.readers.Get().(*lzw.Reader); ok {
			r.Reset(src, lzwOrder, lzwLitWidth)
			return r
		}
	}
	return lzw.NewReader(src, lzwOrder, lzwLitWidth).(*lzw.Reader)
}

func (p *lzwPool) putReader(r *lzw.Reader) {
	if p != nil {
		p.readers.Put(r)
	}
}

// lzwCompress returns inp compressed with LZW as the wire format uses it.
func lzwCompress(inp []byte) ([]byte, error) {
	return (*lzwPool)(nil).compress(inp)
}

// compress returns inp compressed with LZW as the wire format uses it.
func (p *lzwPool) compress(inp []byte) ([]byte, error) {
	sink := &lzwSink{buf: make([]byte, 0, len(inp)/2+16)}
	w := p.writer(sink)
	defer p.putWriter(w)
	if _, err := w.Write(inp); err != nil {
		w.Close()
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return sink.buf, nil
}

// lzwSink collects an LZW writer's output. It has the WriteByte and Flush
// methods the writer looks for, so the writer does not wrap it in a
// 4 KiB bufio.Writer of its own.
type lzwSink struct{ buf []byte }

func (s *lzwSink) Write(p []byte) (int, error) {
	s.buf = append(s.buf, p...)
	return len(p), nil
}

func (s *lzwSink) WriteByte(c byte) error {
	s.buf = append(s.buf, c)
	return nil
}

func (s *lzwSink) Flush() error { return nil }

// lzwDecompress returns the LZW-compressed inp expanded, refusing output of
// more than limit bytes. The limit is enforced while decompressing, and
// memory is bounded by the actual output, never by what inp would expand to:
// the output is first decoded into a buffer sized from len(inp); if it does
// not fit, the rest is only counted, up to limit+1 bytes, and then, if within
// the limit, decoded again into a buffer of exactly the right size. Output
// that overflows the first guess therefore costs a second decoding pass. A
// negative limit is taken as 0.
func lzwDecompress(inp []byte, limit int) ([]byte, error) {
	return (*lzwPool)(nil).decompress(inp, limit)
}

// decompress is lzwDecompress with pooled coders.
func (p *lzwPool) decompress(inp []byte, limit int) ([]byte, error) {
	limit = max(limit, 0)
	guess := make([]byte, min(limit+1, max(lzwMinGuess, min(4*len(inp), lzwMaxGuess))))
	n, err := p.decode(inp, guess, limit+1)
	if err != nil {
		return nil, fmt.Errorf("failed to decompress message: %w", err)
	}
	if n > limit {
		return nil, withText(ErrMessageTooLarge, fmt.Sprintf("decompressed message is larger than limit (%d)", limit))
	}
	if n <= len(guess) {
		return guess[:n], nil
	}
	out := make([]byte, n)
	if _, err := p.decode(inp, out, n); err != nil {
		return nil, fmt.Errorf("failed to decompress message: %w", err)
	}
	return out, nil
}

// decode decodes inp into dst and, once dst is full, goes on counting the
// output without keeping it, until the stream ends or total bytes have been
// produced. It returns the number of bytes produced.
func (p *lzwPool) decode(inp, dst []byte, total int) (int, error) {
	r := p.reader(bytes.NewReader(inp))
	defer func() {
		r.Close()
		p.putReader(r)
	}()
	n := 0
	for n < len(dst) {
		m, err := r.Read(dst[n:])
		n += m
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
	if n >= total {
		return n, nil
	}
	// CopyN reports io.EOF only for a clean end of the LZW stream.
	m, err := io.CopyN(io.Discard, r, int64(total-n))
	if err != nil && err != io.EOF {
		return 0, err
	}
	return n + int(m), nil
}

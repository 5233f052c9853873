package memberlist

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// labelTestConn is an in-memory net.Conn: reads come from r (then readErr,
// or io.EOF), writes go to w.
type labelTestConn struct {
	r       io.Reader
	readErr error
	w       bytes.Buffer
	closed  bool
}

func newLabelTestConn(data []byte) *labelTestConn {
	return &labelTestConn{r: bytes.NewReader(data)}
}

func (c *labelTestConn) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF && c.readErr != nil {
		err = c.readErr
	}
	return n, err
}
func (c *labelTestConn) Write(p []byte) (int, error)      { return c.w.Write(p) }
func (c *labelTestConn) Close() error                     { c.closed = true; return nil }
func (c *labelTestConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *labelTestConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *labelTestConn) SetDeadline(time.Time) error      { return nil }
func (c *labelTestConn) SetReadDeadline(time.Time) error  { return nil }
func (c *labelTestConn) SetWriteDeadline(time.Time) error { return nil }

func TestLabelOverhead(t *testing.T) {
	for label, want := range map[string]int{"": 0, "a": 3, "abcdefg": 9, strings.Repeat("x", 255): 257} {
		if got := labelOverhead(label); got != want {
			t.Errorf("labelOverhead(%d bytes) = %d, want %d", len(label), got, want)
		}
	}
}

func TestAddLabelHeaderToPacket(t *testing.T) {
	long := strings.Repeat("x", LabelMaxSize)
	tests := []struct {
		name  string
		buf   []byte
		label string
		want  []byte
		err   string
	}{
		{name: "nil buf no label", buf: nil, label: "", want: nil},
		{name: "no label", buf: []byte{1, 2, 3}, label: "", want: []byte{1, 2, 3}},
		{name: "nil buf", buf: nil, label: "foo", want: []byte{244, 3, 'f', 'o', 'o'}},
		{name: "label", buf: []byte{1, 2, 3}, label: "foo", want: []byte{244, 3, 'f', 'o', 'o', 1, 2, 3}},
		{name: "255 bytes", buf: []byte{9}, label: long, want: append(append([]byte{244, 255}, long...), 9)},
		{name: "256 bytes", buf: []byte{9}, label: long + "y", err: `label "` + long + `y" is too long`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AddLabelHeaderToPacket(tt.buf, tt.label)
			assertErrString(t, err, tt.err)
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("got %x, want %x", got, tt.want)
			}
		})
	}
}

func TestAddLabelHeaderToPacket_Allocs(t *testing.T) {
	buf := make([]byte, 1400)
	if n := testing.AllocsPerRun(50, func() { _, _ = AddLabelHeaderToPacket(buf, "cluster-a") }); n != 1 {
		t.Fatalf("%.0f allocations, want 1", n)
	}
}

// labelDecodeTests are shared by the packet and stream decoders. err is the
// packet error; the stream error says "stream" instead of "packet".
var labelDecodeTests = []struct {
	name  string
	in    []byte
	rest  []byte
	label string
	err   string
}{
	{name: "empty", in: []byte{}, rest: []byte{}},
	{name: "ping", in: []byte{0, 1, 2, 3}, rest: []byte{0, 1, 2, 3}},
	{name: "err", in: []byte{13, 0x81}, rest: []byte{13, 0x81}},
	{name: "encrypted v1", in: []byte{1, 0xaa, 0xbb}, rest: []byte{1, 0xaa, 0xbb}},
	{name: "type only", in: []byte{244}, err: "cannot decode label; packet has been truncated"},
	{name: "zero length", in: []byte{244, 0}, err: "label header cannot be empty when present"},
	{name: "zero length with data", in: []byte{244, 0, 1, 2}, err: "label header cannot be empty when present"},
	{name: "short label", in: []byte{244, 5, 'a', 'b'}, err: "cannot decode label; packet has been truncated"},
	{name: "label only", in: []byte{244, 3, 'f', 'o', 'o'}, rest: []byte{}, label: "foo"},
	{name: "label and data", in: []byte{244, 3, 'f', 'o', 'o', 0, 1}, rest: []byte{0, 1}, label: "foo"},
	{name: "nested header kept", in: []byte{244, 1, 'a', 244, 1, 'b'}, rest: []byte{244, 1, 'b'}, label: "a"},
}

func TestRemoveLabelHeaderFromPacket(t *testing.T) {
	for _, tt := range labelDecodeTests {
		t.Run(tt.name, func(t *testing.T) {
			rest, label, err := RemoveLabelHeaderFromPacket(tt.in)
			assertErrString(t, err, tt.err)
			if label != tt.label || !bytes.Equal(rest, tt.rest) {
				t.Fatalf("got %x %q, want %x %q", rest, label, tt.rest, tt.label)
			}
		})
	}
	rest, label, err := RemoveLabelHeaderFromPacket(nil)
	if rest != nil || label != "" || err != nil {
		t.Fatalf("nil packet: %x %q %v", rest, label, err)
	}
}

func TestAddLabelHeaderToStream(t *testing.T) {
	long := strings.Repeat("x", LabelMaxSize)
	for label, want := range map[string][]byte{
		"":    nil,
		"foo": {244, 3, 'f', 'o', 'o'},
		long:  append([]byte{244, 255}, long...),
	} {
		conn := newLabelTestConn(nil)
		if err := AddLabelHeaderToStream(conn, label); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(conn.w.Bytes(), want) {
			t.Fatalf("label of %d bytes wrote %x, want %x", len(label), conn.w.Bytes(), want)
		}
	}
	conn := newLabelTestConn(nil)
	assertErrString(t, AddLabelHeaderToStream(conn, long+"y"), `label "`+long+`y" is too long`)
	if conn.w.Len() != 0 {
		t.Fatalf("wrote %d bytes for a label that is too long", conn.w.Len())
	}
}

func TestRemoveLabelHeaderFromStream(t *testing.T) {
	for _, tt := range labelDecodeTests {
		t.Run(tt.name, func(t *testing.T) {
			conn := newLabelTestConn(tt.in)
			got, label, err := RemoveLabelHeaderFromStream(conn)
			assertErrString(t, err, strings.Replace(tt.err, "packet", "stream", 1))
			if err != nil {
				if got != nil {
					t.Fatalf("non-nil conn with an error")
				}
				return
			}
			if label != tt.label {
				t.Fatalf("label %q, want %q", label, tt.label)
			}
			rest, err := io.ReadAll(got)
			if err != nil || !bytes.Equal(rest, tt.rest) {
				t.Fatalf("rest %x, %v; want %x", rest, err, tt.rest)
			}
			// Writes go to the original conn.
			if _, err := got.Write([]byte("reply")); err != nil || conn.w.String() != "reply" {
				t.Fatalf("write through returned conn: %v", err)
			}
		})
	}
}

func TestRemoveLabelHeaderFromStream_ReturnsOriginal(t *testing.T) {
	for name, in := range map[string][]byte{"EOF first": nil, "labelled": {244, 1, 'a', 7}} {
		conn := newLabelTestConn(in)
		got, _, err := RemoveLabelHeaderFromStream(conn)
		if err != nil || got != net.Conn(conn) {
			t.Fatalf("%s: got %T, %v; want the original conn", name, got, err)
		}
	}
}

func TestRemoveLabelHeaderFromStream_ReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"first read", nil, "connection reset"},
		{"size read", []byte{244}, "cannot decode label: connection reset"},
		{"label read", []byte{244, 4, 'a'}, "cannot decode label: connection reset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := newLabelTestConn(tt.in)
			conn.readErr = boom
			got, label, err := RemoveLabelHeaderFromStream(conn)
			assertErrString(t, err, tt.want)
			if !errors.Is(err, boom) || got != nil || label != "" {
				t.Fatalf("got %v, %q, %v", got, label, err)
			}
			if conn.closed {
				t.Fatalf("the original conn was closed; closing it is the caller's job")
			}
		})
	}
}

// TestRemoveLabelHeaderFromStream_Pipe checks, over a synchronous net.Pipe,
// that the byte peeked from an unlabelled stream is replayed in order with
// small reads, and that a labelled stream continues right after its header.
func TestRemoveLabelHeaderFromStream_Pipe(t *testing.T) {
	for _, label := range []string{"", "cluster"} {
		if rest := labelPipeRoundTrip(t, label); rest != "\x06payload" {
			t.Fatalf("label %q: rest %q", label, rest)
		}
	}
}

// labelPipeRoundTrip writes label and a payload into one end of a pipe and
// returns what the other end reads, one byte at a time, after the header.
func labelPipeRoundTrip(t *testing.T, label string) string {
	client, server := net.Pipe()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer server.Close()
	wg.Go(func() {
		defer client.Close()
		if err := AddLabelHeaderToStream(client, label); err != nil {
			t.Error(err)
		}
		if _, err := client.Write([]byte("\x06payload")); err != nil {
			t.Error(err)
		}
	})
	conn, got, err := RemoveLabelHeaderFromStream(server)
	if err != nil || got != label {
		t.Errorf("label %q: got %q, %v", label, got, err)
		return ""
	}
	var rest []byte
	one := make([]byte, 1)
	for {
		n, err := conn.Read(one)
		rest = append(rest, one[:n]...)
		if err == io.EOF {
			return string(rest)
		}
		if err != nil {
			t.Error(err)
			return ""
		}
	}
}

func TestLabelPeekedConn_ZeroLengthRead(t *testing.T) {
	c := &labelPeekedConn{Conn: newLabelTestConn([]byte("bc")), peeked: []byte("a")}
	if n, err := c.Read(nil); n != 0 || err != nil {
		t.Fatalf("zero-length read: %d, %v", n, err)
	}
	all, err := io.ReadAll(c)
	if err != nil || string(all) != "abc" {
		t.Fatalf("got %q, %v", all, err)
	}
}

func labelFuzzSeeds(f *testing.F) {
	for _, tt := range labelDecodeTests {
		f.Add(tt.in, tt.label)
	}
	f.Add([]byte{244, 255}, strings.Repeat("z", 255))
	f.Add([]byte{}, strings.Repeat("z", 256))
}

func FuzzRemoveLabelHeaderFromPacket(f *testing.F) {
	labelFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, label string) {
		rest, got, err := RemoveLabelHeaderFromPacket(data)
		switch {
		case err != nil && (rest != nil || got != ""):
			t.Fatalf("result with error %v", err)
		case err == nil && got == "" && !bytes.Equal(rest, data):
			t.Fatalf("unlabelled packet changed: %x -> %x", data, rest)
		case err == nil && got != "":
			if again, _ := AddLabelHeaderToPacket(rest, got); !bytes.Equal(again, data) {
				t.Fatalf("re-adding %q gives %x, want %x", got, again, data)
			}
		}
		framed, err := AddLabelHeaderToPacket(data, label)
		if len(label) > LabelMaxSize {
			if err == nil {
				t.Fatalf("accepted a %d-byte label", len(label))
			}
			return
		}
		if err != nil || len(framed) != len(data)+labelOverhead(label) {
			t.Fatalf("add: %d bytes, %v", len(framed), err)
		}
		if label == "" {
			return // an unlabelled buffer starting with 244 is not ours to fix
		}
		rest, got, err = RemoveLabelHeaderFromPacket(framed)
		if err != nil || got != label || !bytes.Equal(rest, data) {
			t.Fatalf("round trip: %x %q %v", rest, got, err)
		}
	})
}

func FuzzRemoveLabelHeaderFromStream(f *testing.F) {
	labelFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, label string) {
		// The stream decoder must agree with the packet decoder.
		wantRest, wantLabel, wantErr := RemoveLabelHeaderFromPacket(data)
		conn, got, err := RemoveLabelHeaderFromStream(newLabelTestConn(data))
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("stream error %v, packet error %v", err, wantErr)
		}
		if err != nil {
			if conn != nil {
				t.Fatalf("non-nil conn with an error")
			}
		} else {
			rest, rerr := io.ReadAll(conn)
			if rerr != nil || got != wantLabel || !bytes.Equal(rest, wantRest) {
				t.Fatalf("stream %x %q %v, packet %x %q", rest, got, rerr, wantRest, wantLabel)
			}
		}
		if len(label) > LabelMaxSize || label == "" {
			return
		}
		w := newLabelTestConn(nil)
		if err := AddLabelHeaderToStream(w, label); err != nil {
			t.Fatal(err)
		}
		w.w.Write(data)
		conn, got, err = RemoveLabelHeaderFromStream(newLabelTestConn(w.w.Bytes()))
		if err != nil || got != label {
			t.Fatalf("round trip: %q, %v", got, err)
		}
		if rest, _ := io.ReadAll(conn); !bytes.Equal(rest, data) {
			t.Fatalf("round trip rest %x, want %x", rest, data)
		}
	})
}

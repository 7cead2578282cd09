package pm2

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Frames as PM2 7.0.4's own amp-message module encodes them, from
//
//	new Message([{type:"call",method:"getMonitorData",args:[{}]}, "13249:0"]).toBuffer()
//	new Message(["process:event", {event:"exit", ...}]).toBuffer()
var (
	realRequest = []byte("\x12" +
		"\x00\x00\x00\x37" + `j:{"type":"call","method":"getMonitorData","args":[{}]}` +
		"\x00\x00\x00\x09" + "s:13249:0")
	realEvent = []byte("\x12" +
		"\x00\x00\x00\x0f" + "s:process:event" +
		"\x00\x00\x00\x9c" + `j:{"event":"exit","manually":false,"process":{"name":"a","pm_id":3,"status":"stopped","exit_code":1,"restart_time":2,"SECRET_TOKEN":"x"},"at":1764210000000}`)
)

func TestAMPRoundTrip(t *testing.T) {
	t.Parallel()
	js, err := ampJSON(map[string]any{"type": "call", "method": "ping", "args": []any{}})
	require.NoError(t, err)
	tests := []struct {
		name string
		args [][]byte
	}{
		{"no args", nil},
		{"string and json", [][]byte{ampString("uras:1"), js}},
		{"empty arg", [][]byte{{}}},
		{"blob", [][]byte{{0, 1, 2, 3, 0xff}}},
		{"fifteen args", bytes.Split([]byte("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o"), []byte(","))},
		{"large arg", [][]byte{bytes.Repeat([]byte("x"), 3*ampChunk+17)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			frame, err := encodeFrame(tt.args...)
			require.NoError(t, err)
			assert.Equal(t, byte(1), frame[0]>>4, "version nibble")
			assert.Equal(t, len(tt.args), int(frame[0]&0xf), "argc nibble")
			got, err := readFrame(bufio.NewReader(bytes.NewReader(frame)))
			require.NoError(t, err)
			require.Len(t, got, len(tt.args))
			for i := range tt.args {
				assert.Equal(t, tt.args[i], []byte(got[i]), "arg %d", i)
			}
		})
	}
}

func TestAMPDecodesRealRequest(t *testing.T) {
	t.Parallel()
	args, err := readFrame(bufio.NewReader(bytes.NewReader(realRequest)))
	require.NoError(t, err)
	require.Len(t, args, 2)
	doc, ok := args[0].json()
	require.True(t, ok)
	assert.JSONEq(t, `{"type":"call","method":"getMonitorData","args":[{}]}`, string(doc))
	id, ok := args[1].str()
	require.True(t, ok)
	assert.Equal(t, "13249:0", id)

	// And we encode the same bytes.
	frame, err := encodeFrame([]byte(`j:{"type":"call","method":"getMonitorData","args":[{}]}`), ampString("13249:0"))
	require.NoError(t, err)
	assert.Equal(t, realRequest, frame)
}

func TestAMPFramesBackToBack(t *testing.T) {
	t.Parallel()
	f1, _ := encodeFrame(ampString("one"))
	f2, _ := encodeFrame(ampString("two"), ampString("three"))
	r := bufio.NewReader(bytes.NewReader(append(f1, f2...)))
	a, err := readFrame(r)
	require.NoError(t, err)
	assert.Equal(t, []ampArg{ampArg("s:one")}, a)
	b, err := readFrame(r)
	require.NoError(t, err)
	assert.Len(t, b, 2)
	_, err = readFrame(r)
	assert.ErrorIs(t, err, io.EOF, "clean end between frames")
}

func TestAMPRejects(t *testing.T) {
	t.Parallel()
	hugeLen := binary.BigEndian.AppendUint32([]byte{0x11}, MaxFrameSize)
	tests := []struct {
		name  string
		input []byte
		want  error
		msg   string
	}{
		{"version 2", []byte{0x21, 0, 0, 0, 0}, ErrProtocol, "AMP version 2"},
		{"version 0", []byte{0x01, 0, 0, 0, 0}, ErrProtocol, "AMP version 0"},
		{"length over the cap", hugeLen, ErrProtocol, "frame limit"},
		{"max uint32 length", []byte{0x11, 0xff, 0xff, 0xff, 0xff}, ErrProtocol, "frame limit"},
		{"truncated length", []byte{0x11, 0, 0}, io.ErrUnexpectedEOF, ""},
		{"truncated arg", []byte{0x11, 0, 0, 0, 9, 's', ':'}, io.ErrUnexpectedEOF, ""},
		{"truncated large arg", binary.BigEndian.AppendUint32([]byte{0x11}, 10<<20), io.ErrUnexpectedEOF, ""},
		{"missing second arg", []byte{0x12, 0, 0, 0, 1, 'x'}, io.ErrUnexpectedEOF, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := readFrame(bufio.NewReader(bytes.NewReader(tt.input)))
			require.ErrorIs(t, err, tt.want)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestAMPLimitCountsEveryByte(t *testing.T) {
	t.Parallel()
	const limit = 20
	fits := []byte{0x11, 0, 0, 0, 15}
	fits = append(fits, make([]byte, 15)...) // exactly 20 bytes
	_, err := readFrameLimit(bufio.NewReader(bytes.NewReader(fits)), limit)
	require.NoError(t, err)

	// A second argument's length header alone passes the limit, whatever
	// length it announces.
	for _, n := range []uint32{0, 1, 0xffffffff} {
		over := []byte{0x12, 0, 0, 0, 15}
		over = append(over, make([]byte, 15)...)
		over = binary.BigEndian.AppendUint32(over, n)
		_, err = readFrameLimit(bufio.NewReader(bytes.NewReader(over)), limit)
		require.ErrorIs(t, err, ErrProtocol, "length %d", n)
	}
}

func TestAMPEncodeLimits(t *testing.T) {
	t.Parallel()
	_, err := encodeFrame(make([][]byte, 16)...)
	require.ErrorIs(t, err, ErrProtocol)
	assert.Contains(t, err.Error(), "at most 15")
}

func TestAMPArgKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		arg        ampArg
		kind       string
		str, jsonV string
	}{
		{ampArg("s:hello"), "string", "hello", ""},
		{ampArg(`j:{"a":1}`), "JSON", "", `{"a":1}`},
		{ampArg("x"), "1-byte buffer", "", ""},
		{ampArg(""), "0-byte buffer", "", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.kind, tt.arg.kind())
		s, _ := tt.arg.str()
		assert.Equal(t, tt.str, s)
		j, _ := tt.arg.json()
		assert.Equal(t, tt.jsonV, string(j))
	}
}

// FuzzReadFrame feeds arbitrary bytes to the frame decoder: it must never
// panic, never return more than MaxFrameSize bytes, and re-encode what it
// accepts to the same bytes.
func FuzzReadFrame(f *testing.F) {
	f.Add(realRequest)
	f.Add(realEvent)
	f.Add([]byte{0x10})
	f.Add([]byte{0x11, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x11, 0x03, 0xff, 0xff, 0xff, 'j', ':'})
	f.Add([]byte("\x12\x00\x00\x00\x0fs:process:event\x00\x00\x00\x0fj:{\"event\":\"x\"}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// With a small limit, the limit holds to the byte.
		if args, err := readFrameLimit(bufio.NewReader(bytes.NewReader(data)), 64); err == nil {
			size := 1
			for _, a := range args {
				size += 4 + len(a)
			}
			require.LessOrEqual(t, size, 64)
		}

		r := bufio.NewReader(bytes.NewReader(data))
		args, err := readFrame(r)
		if err != nil {
			if !strings.Contains(err.Error(), "EOF") {
				require.ErrorIs(t, err, ErrProtocol)
			}
			return
		}
		size := 1
		for _, a := range args {
			size += 4 + len(a)
		}
		require.LessOrEqual(t, size, MaxFrameSize)
		frame, err := encodeFrame(bytesOf(args)...)
		require.NoError(t, err)
		require.Equal(t, data[:len(frame)], frame)
		// Whatever decodes as an event must not panic either.
		_, _ = decodeEvent(args)
		if len(args) > 0 {
			_, _ = decodeReply("fuzz", args[:1])
		}
	})
}

func bytesOf(args []ampArg) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = a
	}
	return out
}

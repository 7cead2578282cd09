package pm2

// AMP framing, the wire format of PM2's sockets.
//
// PM2's daemon talks over two Unix sockets in PM2_HOME, both built on the
// axon library and framed with AMP (the "amp" and "amp-message" npm
// modules):
//
//	frame = meta, arg*
//	meta  = one byte: protocol version (1) in the high nibble, number of
//	        arguments (0 to 15) in the low nibble
//	arg   = big-endian uint32 length, then that many bytes
//
// An argument's first two bytes say what it holds: "s:" a UTF-8 string,
// "j:" a JSON document; anything else is a raw buffer.
//
// This package reads at most MaxFrameSize bytes per frame: a longer frame is
// an error wrapping ErrProtocol, and the decoder grows its buffers only as
// bytes actually arrive, so a hostile length prefix costs nothing.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxFrameSize is the largest AMP frame (64 MiB, header included) this
// package reads or writes. A process list of a few thousand apps with large
// environments stays well below it. A reply at the cap is accepted, and
// what it costs is bounded by it: in the worst shape (some 2.3 million
// minimal processes) decoding it allocates about 1 GB and takes seconds
// (BenchmarkDecodeProcessesAtTheFrameCap); `pm2 jlist` output is capped at
// the same size (DefaultMaxOutput).
const MaxFrameSize = 64 << 20

// ErrProtocol is wrapped by the errors for data on PM2's sockets that does
// not follow the protocol: a bad AMP frame, a frame over MaxFrameSize, or a
// message of an unexpected shape.
var ErrProtocol = errors.New("pm2: protocol error")

const (
	ampVersion = 1
	ampMaxArgs = 15
	// ampChunk is how much the decoder reads (and allocates) at a time.
	ampChunk = 64 << 10
)

// ampArg is one decoded argument of a frame.
type ampArg []byte

// ampString encodes s as a string argument.
func ampString(s string) []byte { return append([]byte("s:"), s...) }

// ampJSON encodes v as a JSON argument.
func ampJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode JSON argument: %w", err)
	}
	return append([]byte("j:"), b...), nil
}

// isString reports whether a is a string argument.
func (a ampArg) isString() bool { return len(a) >= 2 && a[0] == 's' && a[1] == ':' }

// isJSON reports whether a is a JSON argument.
func (a ampArg) isJSON() bool { return len(a) >= 2 && a[0] == 'j' && a[1] == ':' }

// str returns a string argument's text.
func (a ampArg) str() (string, bool) {
	if !a.isString() {
		return "", false
	}
	return string(a[2:]), true
}

// json returns a JSON argument's document.
func (a ampArg) json() ([]byte, bool) {
	if !a.isJSON() {
		return nil, false
	}
	return a[2:], true
}

// kind names the argument's type for error messages (never its content).
func (a ampArg) kind() string {
	switch {
	case a.isString():
		return "string"
	case a.isJSON():
		return "JSON"
	}
	return fmt.Sprintf("%d-byte buffer", len(a))
}

// encodeFrame builds one AMP frame from already-typed arguments.
func encodeFrame(args ...[]byte) ([]byte, error) {
	if len(args) > ampMaxArgs {
		return nil, fmt.Errorf("%w: %d arguments, AMP allows at most %d", ErrProtocol, len(args), ampMaxArgs)
	}
	size := 1
	for _, a := range args {
		size += 4 + len(a)
		if size > MaxFrameSize {
			return nil, fmt.Errorf("%w: frame over %d bytes", ErrProtocol, MaxFrameSize)
		}
	}
	buf := make([]byte, 0, size)
	buf = append(buf, byte(ampVersion<<4|len(args)))
	for _, a := range args {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(a)))
		buf = append(buf, a...)
	}
	return buf, nil
}

// readFrame reads one AMP frame from r. It returns io.EOF only when r ends
// cleanly between frames; a frame cut short is io.ErrUnexpectedEOF, and a
// malformed or oversized frame an error wrapping ErrProtocol.
func readFrame(r *bufio.Reader) ([]ampArg, error) { return readFrameLimit(r, MaxFrameSize) }

// readFrameLimit is readFrame with a frame limit of max bytes.
func readFrameLimit(r *bufio.Reader, max int) ([]ampArg, error) {
	meta, err := r.ReadByte()
	if err != nil {
		return nil, err // io.EOF between frames
	}
	if v := meta >> 4; v != ampVersion {
		return nil, fmt.Errorf("%w: AMP version %d, want %d", ErrProtocol, v, ampVersion)
	}
	argc := int(meta & 0x0f)
	args := make([]ampArg, 0, argc)
	size := 1
	var lenBuf [4]byte
	for i := range argc {
		if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
			return nil, unexpected(err)
		}
		n := binary.BigEndian.Uint32(lenBuf[:])
		size += 4
		if size > max || uint64(n) > uint64(max-size) {
			return nil, fmt.Errorf("%w: argument %d is %d bytes, frame limit is %d", ErrProtocol, i, n, max)
		}
		size += int(n)
		arg, err := readN(r, int(n))
		if err != nil {
			return nil, unexpected(err)
		}
		args = append(args, arg)
	}
	return args, nil
}

// readN reads exactly n bytes, allocating as they arrive rather than
// trusting n up front.
func readN(r io.Reader, n int) ([]byte, error) {
	if n <= ampChunk {
		b := make([]byte, n)
		_, err := io.ReadFull(r, b)
		return b, err
	}
	var buf bytes.Buffer
	buf.Grow(ampChunk)
	got, err := buf.ReadFrom(io.LimitReader(r, int64(n)))
	if err != nil {
		return nil, err
	}
	if got != int64(n) {
		return nil, io.ErrUnexpectedEOF
	}
	return buf.Bytes(), nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

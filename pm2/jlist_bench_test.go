package pm2

import (
	"bytes"
	"strconv"
	"testing"
)

// benchList returns a process list of about size bytes made of the
// smallest elements decodeProcesses accepts: the worst case of elements
// per byte.
func benchList(size int) ([]byte, int) {
	var b bytes.Buffer
	b.WriteByte('[')
	n := 0
	for b.Len() < size-64 {
		if n > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"pm_id":` + strconv.Itoa(n) + `,"name":"a"}`)
		n++
	}
	b.WriteByte(']')
	return b.Bytes(), n
}

// BenchmarkDecodeProcessesAtTheFrameCap measures what the largest reply
// the native client accepts (an AMP frame of MaxFrameSize) costs to decode,
// in its worst shape (the smallest elements): the memory figure
// MaxFrameSize's documentation quotes.
func BenchmarkDecodeProcessesAtTheFrameCap(b *testing.B) {
	data, n := benchList(MaxFrameSize - 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		procs, err := decodeProcesses(data)
		if err != nil || len(procs) != n {
			b.Fatalf("%d processes, %v", len(procs), err)
		}
	}
	b.ReportMetric(float64(n), "processes")
}

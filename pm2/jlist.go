package pm2

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"
)

// ErrBadOutput is wrapped by the error for PM2 output that is not the JSON
// process list: empty, truncated, or with text printed before it.
var ErrBadOutput = errors.New("pm2: unexpected output")

// maxQuote bounds how much of PM2's output an error may quote.
const maxQuote = 64

// wireProcess holds the fields of one `pm2 jlist` element (the same objects
// the daemon's getMonitorData RPC returns) that Process carries. Only these
// are decoded: pm2_env.env and the environment variables PM2 copies into
// pm2_env are skipped by the decoder, never stored.
type wireProcess struct {
	PMID  *wireNum `json:"pm_id"`
	Name  string   `json:"name"`
	PID   wireNum  `json:"pid"`
	Monit struct {
		Memory wireNum `json:"memory"`
		CPU    wireNum `json:"cpu"`
	} `json:"monit"`
	Env struct {
		PMID             *wireNum `json:"pm_id"`
		Namespace        string   `json:"namespace"`
		Status           string   `json:"status"`
		RestartTime      wireNum  `json:"restart_time"`
		UnstableRestarts wireNum  `json:"unstable_restarts"`
		PMUptime         wireNum  `json:"pm_uptime"`
		CreatedAt        wireNum  `json:"created_at"`
		ExecMode         string   `json:"exec_mode"`
		OutLogPath       string   `json:"pm_out_log_path"`
		ErrLogPath       string   `json:"pm_err_log_path"`
		ExitCode         *wireNum `json:"exit_code"`
		Autorestart      wireBool `json:"autorestart"`
	} `json:"pm2_env"`
}

// decodeProcesses decodes the JSON array `pm2 jlist` prints (and the
// daemon's getMonitorData returns) into processes. Anything else is an
// error wrapping ErrBadOutput that quotes at most a short prefix of data,
// cut before the first '{' so that no process (and no environment) content
// can appear in it.
func decodeProcesses(data []byte) ([]Process, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%w: empty process list output", ErrBadOutput)
	}
	if trimmed[0] != '[' || !json.Valid(trimmed) {
		return nil, fmt.Errorf("%w: process list is not a JSON array (%d bytes, starting %s)",
			ErrBadOutput, len(data), quotePrefix(trimmed))
	}
	var wire []*wireProcess
	if err := json.Unmarshal(trimmed, &wire); err != nil {
		return nil, fmt.Errorf("%w: decode process list: %s", ErrBadOutput, safeJSONError(err))
	}
	procs := make([]Process, 0, len(wire))
	for i, w := range wire {
		if w == nil {
			return nil, fmt.Errorf("%w: process list element %d is null", ErrBadOutput, i)
		}
		p, err := w.process()
		if err != nil {
			return nil, fmt.Errorf("%w: process list element %d: %w", ErrBadOutput, i, err)
		}
		procs = append(procs, p)
	}
	return procs, nil
}

func (w *wireProcess) process() (Process, error) {
	id := w.PMID
	if id == nil {
		id = w.Env.PMID
	}
	if id == nil {
		return Process{}, errors.New("no pm_id")
	}
	p := Process{
		ID:               id.int(),
		Name:             w.Name,
		Namespace:        w.Env.Namespace,
		PID:              w.PID.int(),
		Status:           ProcessStatus(w.Env.Status),
		Restarts:         w.Env.RestartTime.int(),
		UnstableRestarts: w.Env.UnstableRestarts.int(),
		StartedAt:        w.Env.PMUptime.millis(),
		CreatedAt:        w.Env.CreatedAt.millis(),
		MemoryBytes:      w.Monit.Memory.uint(),
		CPUPercent:       float64(w.Monit.CPU),
		ExecMode:         ExecMode(w.Env.ExecMode),
		OutLogPath:       w.Env.OutLogPath,
		ErrLogPath:       w.Env.ErrLogPath,
		Autorestart:      bool(w.Env.Autorestart),
	}
	if w.Env.ExitCode != nil {
		c := w.Env.ExitCode.int()
		p.ExitCode = &c
	}
	return p, nil
}

// quotePrefix quotes at most maxQuote bytes of data, stopping before the
// first '{'.
func quotePrefix(data []byte) string {
	end := min(len(data), maxQuote)
	if i := bytes.IndexByte(data[:end], '{'); i >= 0 {
		end = i
	}
	q := strconv.Quote(string(data[:end]))
	if end < len(data) {
		q += "..."
	}
	return q
}

// safeJSONError describes a decoding error without the data being decoded:
// type errors name the field and the JSON kind (strings are never quoted by
// encoding/json in them), anything else is reduced to its type.
func safeJSONError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %s: got JSON %s, want %s", te.Field, jsonKind(te.Value), wantKind(te.Type))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at offset %d", se.Offset)
	}
	var we wireError
	if errors.As(err, &we) {
		return string(we)
	}
	return "malformed JSON"
}

// wireError is a decoding error of a wire value; it never holds the value.
type wireError string

func (e wireError) Error() string { return string(e) }

// jsonKind reduces encoding/json's value description ("number 1.5",
// "string") to its kind.
func jsonKind(v string) string {
	if i := bytes.IndexByte([]byte(v), ' '); i >= 0 {
		return v[:i]
	}
	return v
}

// wantKind names the JSON kind a Go type decodes from.
func wantKind(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Pointer:
		return wantKind(t.Elem())
	default:
		return "number"
	}
}

// wireNum is a JSON number PM2 may also send as a numeric string or null.
type wireNum float64

func (n *wireNum) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		*n = 0
		return nil
	}
	if len(s) >= 2 && s[0] == '"' {
		u, err := strconv.Unquote(s)
		if err != nil {
			return wireError("a string that is not a number where a number was expected")
		}
		s = u
		if s == "" {
			*n = 0
			return nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return wireError("a value that is not a number where a number was expected")
	}
	*n = wireNum(f)
	return nil
}

func (n wireNum) int() int {
	f := float64(n)
	switch {
	case f >= math.MaxInt32:
		return math.MaxInt32
	case f <= math.MinInt32:
		return math.MinInt32
	}
	return int(f)
}

func (n wireNum) uint() uint64 {
	f := float64(n)
	switch {
	case f <= 0:
		return 0
	case f >= float64(1<<63):
		return 1 << 63
	}
	return uint64(f)
}

// millis reads n as milliseconds since the Unix epoch; 0 is the zero time.
func (n wireNum) millis() time.Time {
	ms := float64(n)
	if ms <= 0 || ms > 1<<53 {
		return time.Time{}
	}
	return time.UnixMilli(int64(ms))
}

// wireBool is a JSON boolean PM2 may also hold as "true"/"false" (from an
// ecosystem file) or null (false).
type wireBool bool

func (v *wireBool) UnmarshalJSON(b []byte) error {
	switch string(bytes.TrimSpace(b)) {
	case "true", `"true"`:
		*v = true
	case "false", `"false"`, "null", `""`:
		*v = false
	default:
		return wireError("a value that is not a boolean where a boolean was expected")
	}
	return nil
}

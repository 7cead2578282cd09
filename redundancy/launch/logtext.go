package launch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// record is one JSON log record, its attributes in their order.
type record struct {
	time, level, msg, part string
	attrs                  [][2]string
}

// parseRecord decodes a JSON log line as slog's JSON handler writes it;
// ok is false for anything else.
func parseRecord(line []byte) (record, bool) {
	var rec record
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return rec, false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return rec, false
		}
		key, ok := tok.(string)
		if !ok {
			return rec, false
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return rec, false
		}
		val := rawText(raw)
		switch key {
		case "time":
			rec.time = val
		case "level":
			rec.level = val
		case "msg":
			rec.msg = val
		case "part":
			rec.part = val
		default:
			rec.attrs = append(rec.attrs, [2]string{key, val})
		}
	}
	return rec, rec.msg != "" || rec.level != ""
}

// rawText is a JSON value as text: a string unquoted, anything else as
// compact JSON.
func rawText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) == nil {
		return b.String()
	}
	return string(raw)
}

// partWidth is the width of the part column.
const partWidth = 8

// text formats the record as one aligned line: local time to the
// millisecond, level, part, message, then key=value pairs (values quoted
// when they hold spaces or quotes). Control characters are escaped.
func (r record) text() string {
	var b strings.Builder
	ts := r.time
	if t, err := time.Parse(time.RFC3339Nano, r.time); err == nil {
		ts = t.Local().Format("2006-01-02 15:04:05.000")
	}
	part := r.part
	if part == "" {
		part = "-"
	}
	fmt.Fprintf(&b, "%-23s %-5s %-*s %s", ts, r.level, partWidth, part, r.msg)
	for _, kv := range r.attrs {
		b.WriteString("  ")
		b.WriteString(kv[0])
		b.WriteByte('=')
		v := kv[1]
		if v == "" || strings.ContainsAny(v, " \t\"=") {
			v = strconv.Quote(v)
		}
		b.WriteString(v)
	}
	return sanitize(b.String())
}

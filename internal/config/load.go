package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/uras-dev/uras/internal/fsutil"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the embedded default configuration file.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

// ErrInvalid is wrapped by every *Error.
var ErrInvalid = errors.New("invalid configuration")

// Error is a configuration error: which file, which line, which key, what
// is wrong. Line is 0 when it does not apply (an unreadable file, an
// environment variable).
type Error struct {
	File string // "" for the embedded default, or "environment"
	Line int
	Key  string // "pm2.apps[0].name"
	Msg  string
	Err  error // the cause, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config")
	file := e.File
	if file == "" {
		file = "(embedded default)"
	}
	b.WriteString(" " + file)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns ErrInvalid and the cause.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalid, e.Err}
	}
	return []error{ErrInvalid}
}

// Default returns the embedded default configuration, with env applied.
func Default(getenv func(string) string) (*Config, error) {
	return parse("", defaultYAML, getenv)
}

// MaxFileSize is the largest configuration file Load reads (1 MiB: a
// configuration is a page or two of YAML).
const MaxFileSize = 1 << 20

// Load reads the configuration file at path (the embedded default when
// path is ""), decodes it strictly, validates it and applies the
// environment (getenv; nil means os.Getenv). Every failure is an *Error.
// Only a regular file of at most MaxFileSize bytes is read: a device
// (/dev/zero), a FIFO or a directory is refused at once, without reading
// or blocking.
func Load(path string, getenv func(string) string) (*Config, error) {
	if path == "" {
		return Default(getenv)
	}
	data, err := fsutil.ReadFile(path, MaxFileSize)
	if err != nil {
		return nil, &Error{File: path, Msg: readError(path, err), Err: err}
	}
	return parse(path, data, getenv)
}

// readError says in a few words why the file at path could not be read.
func readError(path string, err error) string {
	var pe *os.PathError
	switch {
	case errors.Is(err, fsutil.ErrNotRegular):
		kind := "not a regular file"
		if st, serr := os.Stat(path); serr == nil {
			switch m := st.Mode(); {
			case m.IsDir():
				kind += " but a directory"
			case m&os.ModeNamedPipe != 0:
				kind += " but a named pipe (FIFO)"
			case m&os.ModeCharDevice != 0:
				kind += " but a character device"
			case m&os.ModeDevice != 0:
				kind += " but a block device"
			case m&os.ModeSocket != 0:
				kind += " but a socket"
			}
		}
		return "cannot read file: " + kind
	case errors.Is(err, fsutil.ErrTooLarge):
		return fmt.Sprintf("cannot read file: larger than %d bytes (a configuration is a page of YAML)", MaxFileSize)
	case errors.As(err, &pe):
		return "cannot read file: " + pe.Err.Error()
	}
	return "cannot read file: " + err.Error()
}

// Parse decodes data as if read from file.
func Parse(file string, data []byte, getenv func(string) string) (*Config, error) {
	return parse(file, data, getenv)
}

func parse(file string, data []byte, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, syntaxError(file, err)
	}
	idx := index(&root)
	cfg := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, decodeError(file, idx, err)
	}
	cfg.File = file
	// A section written with no value ("pm2:") is configured, with defaults.
	if _, ok := idx.paths["pm2"]; ok && cfg.PM2 == nil {
		cfg.PM2 = &PM2{}
	}
	if _, ok := idx.paths["github"]; ok && cfg.GitHub == nil {
		cfg.GitHub = &GitHub{}
	}
	if _, ok := idx.paths["netlify"]; ok && cfg.Netlify == nil {
		cfg.Netlify = &Netlify{}
	}
	if err := cfg.validate(idx); err != nil {
		err.File = file
		return nil, err
	}
	if cfg.PM2 == nil && cfg.GitHub == nil && cfg.Netlify == nil {
		msg := "nothing to watch: the file has none of the sections pm2, github, netlify"
		if len(bytes.TrimSpace(data)) == 0 || root.Kind == 0 || len(root.Content) == 0 || root.Content[0].Tag == "!!null" {
			msg = "nothing to watch: the file is empty"
		}
		return nil, &Error{File: file, Line: idx.firstLine(), Msg: msg +
			"; give at least one of pm2, github, netlify (without -config, the embedded default watches what it finds here)"}
	}
	if err := cfg.applyEnv(getenv); err != nil {
		return nil, err
	}
	cfg.fillDefaults()
	return cfg, nil
}

var (
	lineRE     = regexp.MustCompile(`^line (\d+): (.*)$`)
	yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	notFoundRE = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	cannotRE   = regexp.MustCompile("^cannot unmarshal !!(\\w+) `(.*)` into (\\S+)$")
)

func syntaxError(file string, err error) *Error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: line, Msg: "YAML syntax: " + m[2], Err: err}
	}
	return &Error{File: file, Msg: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: "), Err: err}
}

// decodeError turns the first of yaml's errors into an *Error with its key.
func decodeError(file string, idx *pathIndex, err error) *Error {
	var te *yaml.TypeError
	if !errors.As(err, &te) || len(te.Errors) == 0 {
		return syntaxError(file, err)
	}
	type item struct {
		line int
		msg  string
	}
	var items []item
	for _, s := range te.Errors {
		if m := lineRE.FindStringSubmatch(s); m != nil {
			line, _ := strconv.Atoi(m[1])
			items = append(items, item{line, m[2]})
		} else {
			items = append(items, item{0, s})
		}
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].line < items[j].line })
	first := items[0]
	e := &Error{File: file, Line: first.line, Msg: first.msg, Err: err}
	if m := notFoundRE.FindStringSubmatch(first.msg); m != nil {
		e.Key = idx.keyAt(first.line, m[1])
		e.Msg = "unknown key"
		if parent := parentKey(e.Key); parent != "" {
			e.Msg += " in " + parent
		}
	} else {
		e.Key = idx.valueAt(first.line)
		if m := cannotRE.FindStringSubmatch(first.msg); m != nil {
			e.Msg = fmt.Sprintf("wrong type: got %s %q, want %s", yamlTag(m[1]), m[2], goType(m[3]))
		}
	}
	if len(items) > 1 {
		e.Msg += fmt.Sprintf(" (and %d more problem(s))", len(items)-1)
	}
	return e
}

func parentKey(key string) string {
	if i := strings.LastIndexByte(key, '.'); i > 0 {
		return key[:i]
	}
	return ""
}

func yamlTag(t string) string {
	switch t {
	case "str":
		return "string"
	case "int":
		return "integer"
	case "bool":
		return "boolean"
	case "float":
		return "number"
	case "seq":
		return "list"
	case "map":
		return "mapping"
	}
	return t
}

func goType(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["):
		return "a mapping"
	case t == "string" || t == "config.Level":
		return "a string"
	case strings.HasPrefix(t, "int") || strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "config.") || strings.HasPrefix(t, "*config."):
		return "a mapping"
	}
	return t
}

// pathIndex maps lines of the file to the keys on them.
type pathIndex struct {
	keys  map[int][]string // line -> key paths starting on it
	vals  map[int]string   // line -> the innermost key path whose value is on it
	paths map[string]int   // key path -> line
}

func index(root *yaml.Node) *pathIndex {
	idx := &pathIndex{keys: map[int][]string{}, vals: map[int]string{}, paths: map[string]int{}}
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		idx.walk(root.Content[0], "")
	}
	return idx
}

func (x *pathIndex) walk(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			x.keys[k.Line] = append(x.keys[k.Line], p)
			x.paths[p] = k.Line
			x.vals[v.Line] = p
			x.walk(v, p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			x.paths[p] = c.Line
			if _, ok := x.vals[c.Line]; !ok || c.Kind == yaml.ScalarNode {
				x.vals[c.Line] = p
			}
			x.walk(c, p)
		}
	}
}

// keyAt returns the path of key name on line.
func (x *pathIndex) keyAt(line int, name string) string {
	for _, p := range x.keys[line] {
		if p == name || strings.HasSuffix(p, "."+name) {
			return p
		}
	}
	return name
}

func (x *pathIndex) valueAt(line int) string { return x.vals[line] }

// firstLine returns the line of the first key, 0 for a file with none.
func (x *pathIndex) firstLine() int {
	first := 0
	for _, l := range x.paths {
		if first == 0 || l < first {
			first = l
		}
	}
	return first
}

// line returns the line of path, or of its nearest ancestor in the file.
func (x *pathIndex) line(path string) int {
	for p := path; p != ""; {
		if l, ok := x.paths[p]; ok {
			return l
		}
		if i := strings.LastIndexAny(p, ".["); i > 0 {
			p = p[:i]
		} else {
			break
		}
	}
	return 0
}

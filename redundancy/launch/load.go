package launch

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/uras-dev/uras/internal/fsutil"
	"github.com/uras-dev/uras/redundancy"
)

// MaxConfigSize is the largest configuration file LoadYAML reads (1 MiB:
// a configuration is a page or two of YAML).
const MaxConfigSize = 1 << 20

// ErrInvalidConfig is wrapped by every *ConfigFileError.
var ErrInvalidConfig = errors.New("invalid configuration")

// ConfigFileError is a configuration that cannot be used: which file,
// which line, which key, what is wrong. Its Error is one line:
// "config FILE:LINE: key: msg".
type ConfigFileError struct {
	// File is the file's path; "" for the embedded default, "environment"
	// for a variable the configuration names.
	File string
	// Line is 0 when it does not apply (an unreadable file, a variable).
	Line int
	// Key is the key's path ("pm2.apps[0].name") or the variable's name.
	Key string
	Msg string
	// Err is the cause, if any.
	Err error
}

func (e *ConfigFileError) Error() string {
	var b strings.Builder
	b.WriteString("config ")
	if e.File == "" {
		b.WriteString("(embedded default)")
	} else {
		b.WriteString(e.File)
	}
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return strings.ReplaceAll(b.String(), "\n", `\n`) // one line, whatever the file held
}

// Unwrap returns ErrInvalidConfig and the cause.
func (e *ConfigFileError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalidConfig, e.Err}
	}
	return []error{ErrInvalidConfig}
}

// YAML returns a Command's Load function that reads the -config file, or
// defaultYAML when none is given, with LoadYAML and the process
// environment:
//
//	launch.Command[Config]{Load: launch.YAML[Config](defaultConfig), ...}
func YAML[C any](defaultYAML string) func(path string) (C, Settings, error) {
	return func(path string) (C, Settings, error) { return LoadYAML[C](path, defaultYAML, os.Getenv) }
}

// LoadYAML reads the YAML file at path (defaultYAML when path is "") into
// a C, a struct (or a pointer to one) whose fields carry yaml tags, and
// returns it with the launcher's Settings. Only a regular file of at most
// MaxConfigSize bytes is read: a device, a FIFO or a directory is refused
// at once. getenv reads the environment (nil: os.Getenv). Every failure is
// a *ConfigFileError naming the file, the line and the key. In order:
//
//   - The file is decoded strictly: an unknown key or a value of the wrong
//     type is an error.
//   - A section is a top-level field of C that points to a struct
//     (`PM2 *pm2.TargetConfig yaml:"pm2"`): nil when the file leaves it out,
//     and present with its defaults when the file gives its key with no
//     value ("pm2:"). When C has sections, a file with none of them is an
//     error ("nothing to watch"). A pointer field tagged launch:"setting"
//     (`Cluster *etcd.Cluster yaml:"cluster" launch:"setting"`) decodes
//     the same way but watches nothing: it is no section.
//   - The Config that C embeds inline, if any, is checked; logs.levels may
//     name the sections only.
//   - Every top-level field with a Validate() error method is validated; a
//     *redundancy.ConfigError it returns is reported under the field's key
//     and at its line. Then C's own Validate, if it has one.
//   - A section's policy (a field of type redundancy.PolicyConfig with the
//     key "policy") is laid over the embedded Config's policy
//     (PolicyConfig.Over): after LoadYAML it is the section's whole policy.
//     So are a section's alert keys (a redundancy.AlertPolicyConfig with
//     the key "alerts") over the Config's (AlertPolicyConfig.Over).
//   - Environment: the endpoint token (Config.ListenTokenEnv) and webhook
//     URLs given by variable (url_env) are read; the Settings list them as
//     secrets. Log levels are read from the environment later, by the
//     launcher (REDUNDANCY_LOG_LEVEL).
//   - The Config's defaults are filled in.
func LoadYAML[C any](path, defaultYAML string, getenv func(string) string) (C, Settings, error) {
	if path == "" {
		return ParseYAML[C]("", []byte(defaultYAML), getenv)
	}
	data, err := fsutil.ReadFile(path, MaxConfigSize)
	if err != nil {
		var zero C
		return zero, Settings{}, &ConfigFileError{File: path, Msg: readError(path, err), Err: err}
	}
	return ParseYAML[C](path, data, getenv)
}

// ParseYAML decodes data as LoadYAML does a file; file names it in errors
// ("" is the embedded default).
func ParseYAML[C any](file string, data []byte, getenv func(string) string) (C, Settings, error) {
	var cfg C
	if getenv == nil {
		getenv = os.Getenv
	}
	v := reflect.ValueOf(&cfg).Elem()
	if v.Kind() == reflect.Pointer && v.Type().Elem().Kind() == reflect.Struct {
		v.Set(reflect.New(v.Type().Elem()))
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return cfg, Settings{}, &ConfigFileError{File: file, Msg: fmt.Sprintf("launch: cannot load into %s: want a struct", v.Type())}
	}
	set, err := parse(file, data, v, getenv)
	if err != nil {
		err.File = cmpOr(err.File, file)
		var zero C
		return zero, Settings{}, err
	}
	return cfg, set, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func parse(file string, data []byte, v reflect.Value, getenv func(string) string) (Settings, *ConfigFileError) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Settings{}, syntaxError(err)
	}
	idx := index(&root)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v.Addr().Interface()); err != nil && !errors.Is(err, io.EOF) {
		return Settings{}, decodeError(idx, err)
	}
	fields := topFields(v)
	var lc *Config
	if c, ok := v.Addr().Interface().(interface{ LaunchConfig() *Config }); ok {
		lc = c.LaunchConfig()
	}
	var sections []string
	for _, f := range fields {
		if f.launch || !f.structPtr() {
			continue
		}
		if !f.setting {
			sections = append(sections, f.key)
		}
		// A section written with no value ("pm2:") is there, with its defaults.
		if _, ok := idx.paths[f.key]; ok && f.v.IsNil() {
			f.v.Set(reflect.New(f.v.Type().Elem()))
		}
	}
	bad := func(err error, key string) *ConfigFileError { return idx.configError(err, key) }
	if lc != nil {
		if err := lc.validate(sections); err != nil {
			return Settings{}, bad(err, "")
		}
		if err := mergedBackoff(lc.Policy, nil, "", ""); err != nil {
			return Settings{}, bad(err, "")
		}
	}
	for _, f := range fields {
		if f.launch || (f.v.Kind() == reflect.Pointer && f.v.IsNil()) {
			continue
		}
		if val, ok := validator(f.v); ok {
			if err := val.Validate(); err != nil {
				return Settings{}, bad(err, f.key)
			}
		}
		if p := policyOf(f.v); p != nil {
			if err := p.Validate(); err != nil {
				return Settings{}, bad(under(err, "policy"), f.key)
			}
			if lc != nil {
				if err := mergedBackoff(lc.Policy, p, f.key, f.key); err != nil {
					return Settings{}, bad(err, "")
				}
				*p = p.Over(lc.Policy)
			}
		}
		if a := alertsOf(f.v); a != nil {
			if err := a.Validate(); err != nil {
				return Settings{}, bad(under(err, "alerts"), f.key)
			}
			if lc != nil {
				*a = a.Over(lc.Alerts.AlertPolicyConfig)
			}
		}
	}
	if val, ok := v.Addr().Interface().(interface{ Validate() error }); ok {
		if err := val.Validate(); err != nil {
			return Settings{}, bad(err, "")
		}
	}
	if len(sections) > 0 && !anySection(fields) {
		msg := "nothing to watch: the file has none of the sections " + strings.Join(sections, ", ")
		if len(bytes.TrimSpace(data)) == 0 || root.Kind == 0 || len(root.Content) == 0 || root.Content[0].Tag == "!!null" {
			msg = "nothing to watch: the file is empty"
		}
		return Settings{}, &ConfigFileError{Line: idx.firstLine(), Msg: msg + "; give at least one of " + strings.Join(sections, ", ")}
	}
	if lc == nil {
		return Settings{}, nil
	}
	if err := lc.applyEnv(getenv); err != nil {
		var ee *envError
		if errors.As(err, &ee) {
			return Settings{}, &ConfigFileError{File: "environment", Key: ee.name, Msg: ee.msg}
		}
		return Settings{}, &ConfigFileError{Msg: err.Error(), Err: err}
	}
	lc.fillDefaults()
	return lc.Settings(), nil
}

// envError is a bad value of an environment variable.
type envError struct{ name, msg string }

func (e *envError) Error() string { return e.name + ": " + e.msg }

// field is a top-level key of the configuration type.
type field struct {
	key     string
	v       reflect.Value
	launch  bool // a field of the embedded Config
	setting bool // tagged launch:"setting": not a system to watch
}

// structPtr reports whether f points to a struct.
func (f field) structPtr() bool {
	return f.v.Kind() == reflect.Pointer && f.v.Type().Elem().Kind() == reflect.Struct
}

// section reports whether f is a section: a pointer to a struct, not
// tagged launch:"setting".
func (f field) section() bool { return !f.launch && !f.setting && f.structPtr() }

var configType = reflect.TypeFor[Config]()

// topFields returns the keyed fields of struct v, inline structs flattened.
func topFields(v reflect.Value) []field {
	var out []field
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(","+opts+",", ",inline,") && sf.Type.Kind() == reflect.Struct {
			inner := topFields(v.Field(i))
			if sf.Type == configType {
				for j := range inner {
					inner[j].launch = true
				}
			}
			out = append(out, inner...)
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		out = append(out, field{key: name, v: v.Field(i), setting: sf.Tag.Get("launch") == "setting"})
	}
	return out
}

func anySection(fields []field) bool {
	for _, f := range fields {
		if f.section() && !f.v.IsNil() {
			return true
		}
	}
	return false
}

// validator returns the Validate method of the field's value, if any.
func validator(v reflect.Value) (interface{ Validate() error }, bool) {
	if v.Kind() != reflect.Pointer && v.CanAddr() {
		v = v.Addr()
	}
	val, ok := v.Interface().(interface{ Validate() error })
	return val, ok
}

var policyType = reflect.TypeFor[redundancy.PolicyConfig]()

// policyOf returns the section's policy field (key "policy"), if any.
func policyOf(v reflect.Value) *redundancy.PolicyConfig {
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	for _, f := range topFields(v) {
		if f.key == "policy" && f.v.Type() == policyType {
			return f.v.Addr().Interface().(*redundancy.PolicyConfig)
		}
	}
	return nil
}

var alertsType = reflect.TypeFor[redundancy.AlertPolicyConfig]()

// alertsOf returns the section's alert policy (key "alerts"), if any.
func alertsOf(v reflect.Value) *redundancy.AlertPolicyConfig {
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	for _, f := range topFields(v) {
		if f.key == "alerts" && f.v.Type() == alertsType {
			return f.v.Addr().Interface().(*redundancy.AlertPolicyConfig)
		}
	}
	return nil
}

// mergedBackoff checks what shows only once a section's policy (nil: none)
// is laid over the default policy and redundancy's defaults: a backoff
// base above its max. The key named is the one that set the base (or the
// max).
func mergedBackoff(def redundancy.PolicyConfig, own *redundancy.PolicyConfig, section, key string) error {
	merged := def
	if own != nil {
		merged = own.Over(def)
	}
	base, ceiling := merged.Backoff.Base, merged.Backoff.Max
	baseKey, maxKey := "", ""
	prefix := "policy"
	if key != "" {
		prefix = key + ".policy"
	}
	switch {
	case own != nil && own.Backoff.Base != 0:
		baseKey = prefix + ".backoff.base"
	case def.Backoff.Base != 0:
		baseKey = "policy.backoff.base"
	}
	switch {
	case own != nil && own.Backoff.Max != 0:
		maxKey = prefix + ".backoff.max"
	case def.Backoff.Max != 0:
		maxKey = "policy.backoff.max"
	}
	note := ""
	if base == 0 {
		base = redundancy.DefaultBackoffBase
	}
	if ceiling == 0 {
		ceiling, note = redundancy.DefaultBackoffMax, " (the default)"
	}
	if base <= ceiling {
		return nil
	}
	what := section
	if what == "" {
		what = "the default policy"
	}
	return &redundancy.ConfigError{Key: cmpOr(baseKey, maxKey),
		Msg: fmt.Sprintf("backoff base %s is above backoff max %s%s in %s", base, ceiling, note, what)}
}

// under returns err with its key (a *redundancy.ConfigError's) prefixed.
func under(err error, prefix string) error {
	var ce *redundancy.ConfigError
	if errors.As(err, &ce) {
		return ce.Under(prefix)
	}
	return &redundancy.ConfigError{Key: prefix, Msg: err.Error()}
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
		return fmt.Sprintf("cannot read file: larger than %d bytes (a configuration is a page of YAML)", MaxConfigSize)
	case errors.As(err, &pe):
		return "cannot read file: " + pe.Err.Error()
	}
	return "cannot read file: " + err.Error()
}

var (
	lineRE     = regexp.MustCompile(`(?s)^line (\d+): (.*)$`)
	yamlLineRE = regexp.MustCompile(`(?s)^yaml: line (\d+): (.*)$`)
	notFoundRE = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	cannotRE   = regexp.MustCompile("(?s)^cannot unmarshal !!(\\w+) `(.*)` into (\\S+)$")
	cannotNoRE = regexp.MustCompile(`^cannot unmarshal !!(\w+) into (\S+)$`)
)

func syntaxError(err error) *ConfigFileError {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &ConfigFileError{Line: line, Msg: "YAML syntax: " + m[2], Err: err}
	}
	return &ConfigFileError{Msg: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: "), Err: err}
}

// decodeError turns the first of yaml's errors into a *ConfigFileError
// with its key.
func decodeError(idx *pathIndex, err error) *ConfigFileError {
	var te *yaml.TypeError
	if !errors.As(err, &te) || len(te.Errors) == 0 {
		return syntaxError(err)
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
	e := &ConfigFileError{Line: first.line, Msg: first.msg, Err: err}
	if m := notFoundRE.FindStringSubmatch(first.msg); m != nil {
		e.Key = idx.keyAt(first.line, m[1])
		e.Msg = "unknown key"
		if i := strings.LastIndexByte(e.Key, '.'); i > 0 {
			e.Msg += " in " + e.Key[:i]
		}
	} else {
		e.Key = idx.valueAt(first.line)
		if m := cannotNoRE.FindStringSubmatch(first.msg); m != nil { // a list or a mapping
			e.Key = idx.outer[first.line]
			e.Msg = fmt.Sprintf("wrong type: got %s, want %s", yamlTag(m[1]), goType(m[2]))
		} else if m := cannotRE.FindStringSubmatch(first.msg); m != nil {
			if strings.TrimPrefix(m[3], "*") == "time.Duration" {
				e.Msg = fmt.Sprintf("bad duration %q (want a duration such as 30s or 5m)", m[2])
			} else {
				e.Msg = fmt.Sprintf("wrong type: got %s %q, want %s", yamlTag(m[1]), m[2], goType(m[3]))
			}
		}
	}
	if len(items) > 1 {
		e.Msg += fmt.Sprintf(" (and %d more problem(s))", len(items)-1)
	}
	return e
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
	t = strings.TrimPrefix(t, "*")
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["):
		return "a mapping"
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "int") || strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool":
		return "true or false"
	case strings.Contains(t, "."):
		return "a mapping"
	}
	return t
}

// pathIndex maps lines of the file to the keys on them.
type pathIndex struct {
	keys  map[int][]string // line -> key paths starting on it
	vals  map[int]string   // line -> the innermost key path whose value is on it
	outer map[int]string   // line -> the outermost key path whose value is on it
	paths map[string]int   // key path -> line
}

func index(root *yaml.Node) *pathIndex {
	idx := &pathIndex{keys: map[int][]string{}, vals: map[int]string{}, outer: map[int]string{}, paths: map[string]int{}}
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
			if _, ok := x.outer[v.Line]; !ok {
				x.outer[v.Line] = p
			}
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

// configError places a validation error at its key: a
// *redundancy.ConfigError's key under section, else section itself.
func (x *pathIndex) configError(err error, section string) *ConfigFileError {
	var ce *redundancy.ConfigError
	if !errors.As(err, &ce) {
		ce = &redundancy.ConfigError{Msg: err.Error()}
	}
	ce = ce.Under(section)
	return &ConfigFileError{Line: x.line(ce.Key), Key: ce.Key, Msg: ce.Msg, Err: err}
}

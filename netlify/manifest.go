package netlify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// DefaultManifestPath is where Netlify's bundler (zip-it-and-ship-it, run by
// Netlify Build and the CLI) writes the functions manifest, relative to the
// project root.
const DefaultManifestPath = ".netlify/functions/manifest.json"

// ManifestVersion is the manifest format version the bundler writes.
const ManifestVersion = 1

// InvocationMode is how a function is invoked, as the manifest records it.
type InvocationMode string

// The invocation modes.
const (
	InvocationBuffer     InvocationMode = "buffer"
	InvocationStream     InvocationMode = "stream"
	InvocationBackground InvocationMode = "background"
)

// Runtime is a function's runtime as the manifest records it.
type Runtime string

// The runtimes the bundler writes.
const (
	RuntimeJS   Runtime = "js"
	RuntimeGo   Runtime = "go"
	RuntimeRust Runtime = "rs"
)

// ManifestFunction is one function of the manifest.
type ManifestFunction struct {
	// Name is the function's name: its URL is /.netlify/functions/<Name>.
	Name string `json:"name"`
	// Path is the bundled artifact (the zip the bundler wrote).
	Path string `json:"path"`
	// MainFile is the function's entry source file.
	MainFile       string          `json:"mainFile"`
	Runtime        Runtime         `json:"runtime"`
	RuntimeVersion string          `json:"runtimeVersion,omitempty"`
	Schedule       string          `json:"schedule,omitempty"`
	DisplayName    string          `json:"displayName,omitempty"`
	Bundler        string          `json:"bundler,omitempty"`
	Generator      string          `json:"generator,omitempty"`
	InvocationMode InvocationMode  `json:"invocationMode,omitempty"`
	Timeout        int             `json:"timeout,omitempty"`
	Priority       int             `json:"priority,omitempty"`
	BuildData      json.RawMessage `json:"buildData,omitempty"`
	Routes         json.RawMessage `json:"routes,omitempty"`
	ExcludedRoutes json.RawMessage `json:"excludedRoutes,omitempty"`
	TrafficRules   json.RawMessage `json:"trafficRules,omitempty"`
}

// Background reports whether the function is a background function (its
// invocation mode says so, or its name ends in "-background").
func (f ManifestFunction) Background() bool {
	return f.InvocationMode == InvocationBackground || isBackgroundName(f.Name)
}

// ManifestSystem records the machine that wrote the manifest.
type ManifestSystem struct {
	Arch     string `json:"arch"`
	Platform string `json:"platform"`
}

// Manifest is the functions manifest (manifest.json) as the bundler writes it.
type Manifest struct {
	Functions []ManifestFunction `json:"functions"`
	System    ManifestSystem     `json:"system"`
	// Timestamp is when the manifest was written, in Unix milliseconds.
	Timestamp int64 `json:"timestamp"`
	Version   int   `json:"version"`
}

// Time returns Timestamp as a time.
func (m *Manifest) Time() time.Time { return time.UnixMilli(m.Timestamp) }

// Function returns the function named name, or false.
func (m *Manifest) Function(name string) (ManifestFunction, bool) {
	for _, f := range m.Functions {
		if f.Name == name {
			return f, true
		}
	}
	return ManifestFunction{}, false
}

// maxManifest bounds the size of a manifest file read.
const maxManifest = 8 << 20

// ReadManifest reads and parses a manifest file. A missing file gives an
// error wrapping ErrManifestMissing, a bad one ErrManifestInvalid.
func ReadManifest(path string) (*Manifest, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrManifestMissing, path)
	}
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrManifestInvalid, path)
	}
	if st.Size() > maxManifest {
		return nil, fmt.Errorf("%w: %s is %d bytes (limit %d)", ErrManifestInvalid, path, st.Size(), maxManifest)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", path, err)
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ParseManifest parses manifest JSON. It checks what a consumer relies on:
// a JSON object with a functions array, each function with a non-empty,
// unique name of a usable form, and a non-negative timestamp. Unknown fields
// are ignored; a version other than ManifestVersion is accepted.
func ParseManifest(data []byte) (*Manifest, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrManifestInvalid)
	}
	if trimmed[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", ErrManifestInvalid)
	}
	var raw struct {
		Functions *[]ManifestFunction `json:"functions"`
		System    ManifestSystem      `json:"system"`
		Timestamp *int64              `json:"timestamp"`
		Version   int                 `json:"version"`
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifestInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrManifestInvalid)
	}
	if raw.Functions == nil {
		return nil, fmt.Errorf("%w: no \"functions\" array", ErrManifestInvalid)
	}
	if raw.Timestamp == nil {
		return nil, fmt.Errorf("%w: no \"timestamp\"", ErrManifestInvalid)
	}
	if *raw.Timestamp < 0 {
		return nil, fmt.Errorf("%w: negative timestamp %d", ErrManifestInvalid, *raw.Timestamp)
	}
	m := &Manifest{Functions: *raw.Functions, System: raw.System, Timestamp: *raw.Timestamp, Version: raw.Version}
	seen := make(map[string]bool, len(m.Functions))
	for i, f := range m.Functions {
		if err := validFunctionName(f.Name); err != nil {
			return nil, fmt.Errorf("%w: functions[%d]: %w", ErrManifestInvalid, i, err)
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("%w: functions[%d]: duplicate name %q", ErrManifestInvalid, i, f.Name)
		}
		seen[f.Name] = true
	}
	return m, nil
}

// validFunctionName accepts what can be a path segment of
// /.netlify/functions/<name>.
func validFunctionName(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	if len(name) > 255 {
		return fmt.Errorf("name of %d bytes", len(name))
	}
	if name == "." || name == ".." {
		return fmt.Errorf("name %q", name)
	}
	for _, r := range name {
		if r == '/' || r == '\\' || r == '?' || r == '#' || r < 0x20 || r == 0x7f {
			return fmt.Errorf("name %q has a character not allowed in a function name", name)
		}
	}
	return nil
}

// MarshalManifest encodes m as the bundler does (compact JSON).
func MarshalManifest(m *Manifest) ([]byte, error) {
	fns := m.Functions
	if fns == nil {
		fns = []ManifestFunction{}
	}
	cp := *m
	cp.Functions = fns
	return json.Marshal(&cp)
}

// manifestDir returns the directory of a manifest path.
func manifestDir(path string) string { return filepath.Dir(path) }

package pm2

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/uras-dev/uras/internal/fsutil"
	"github.com/uras-dev/uras/redundancy"
)

// ErrEcosystem is wrapped by LoadEcosystem's errors for a file that exists
// but does not load.
var ErrEcosystem = errors.New("pm2: bad ecosystem file")

// Ecosystem is what uras reads of an ecosystem file: the apps it declares.
// Only these fields are read; env blocks (which hold secrets) never are.
type Ecosystem struct {
	Path string
	Apps []EcosystemApp
}

// EcosystemApp is one app of an ecosystem file.
type EcosystemApp struct {
	Name      string `json:"name" yaml:"name"`
	Script    string `json:"script" yaml:"script"`
	ExecMode  string `json:"exec_mode,omitempty" yaml:"exec_mode"`
	Instances any    `json:"instances,omitempty" yaml:"instances"` // a number, "max" or -1
}

// Names returns the apps' names.
func (e *Ecosystem) Names() []string {
	out := make([]string, 0, len(e.Apps))
	for _, a := range e.Apps {
		out = append(out, a.Name)
	}
	return out
}

// nodeLoader prints the apps of the ecosystem file named by argv[1] as
// JSON, keeping only the fields of EcosystemApp, as PM2 itself loads it
// (require).
const nodeLoader = `const path = require('path');
let m = require(path.resolve(process.argv[1]));
if (m && m.__esModule && m.default) m = m.default;
const apps = Array.isArray(m) ? m : (m && m.apps);
if (!Array.isArray(apps)) { process.stderr.write('no apps array'); process.exit(3); }
process.stdout.write(JSON.stringify({apps: apps.map(a => a && typeof a === 'object' ?
  {name: a.name, script: a.script, exec_mode: a.exec_mode, instances: a.instances} : null)}));`

// MaxEcosystemBytes caps the size of a JSON or YAML ecosystem file.
const MaxEcosystemBytes = 4 << 20

// LoadEcosystem reads the apps of an ecosystem file. JSON (.json) and YAML
// (.yaml, .yml) are parsed here (at most MaxEcosystemBytes, regular files
// only); JavaScript (.js, .cjs, .config.js) is loaded by running node
// (Config.Node, through runner) with an argument vector and
// DefaultEcosystemTimeout, printing only the app fields as JSON. A missing
// file gives an error wrapping fs.ErrNotExist; one that does not load
// wraps ErrEcosystem.
//
// It reads the file every time; the Checker keeps the last result and
// calls it again only when the file changed.
func LoadEcosystem(ctx context.Context, path string, node string, runner Runner) (*Ecosystem, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("ecosystem file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s: %w (%s)", ErrEcosystem, path, fsutil.ErrNotRegular, fi.Mode().Type())
	}
	var raw []byte
	ext := ecosystemExt(path)
	switch ext {
	case ".json", ".yaml", ".yml":
		raw, err = fsutil.ReadFile(path, MaxEcosystemBytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrEcosystem, err)
		}
	case ".js", ".cjs":
		raw, err = loadJS(ctx, path, node, runner)
	default:
		return nil, fmt.Errorf("%w: %s: unknown extension %q (want .json, .yaml, .yml, .js or .cjs)", ErrEcosystem, path, ext)
	}
	if err != nil {
		return nil, err
	}
	return parseEcosystem(path, ext, raw)
}

func ecosystemExt(path string) string { return strings.ToLower(filepath.Ext(path)) }

// yamlQuoted matches what yaml quotes of the document in its errors:
// values (`...`), anchor names (anchor '...') and local tags (!name).
var yamlQuoted = regexp.MustCompile("`[^`]*`|anchor '[^']*'|(^|\\s)![^!\\s]\\S*")

// yamlErrorText describes a YAML error in one line without quoting the
// document: the first of several type errors, values and names replaced.
func yamlErrorText(err error) string {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
		if len(te.Errors) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(te.Errors)-1)
		}
	}
	msg = yamlQuoted.ReplaceAllStringFunc(firstLine(msg), func(m string) string {
		switch {
		case strings.HasPrefix(strings.TrimSpace(m), "!"):
			return " a tag"
		case strings.HasPrefix(m, "anchor"):
			return "anchor"
		}
		return "a value"
	})
	return excerpt(strings.TrimPrefix(msg, "yaml: "), maxMessage)
}

// parseEcosystem decodes the apps of an ecosystem document: YAML for .yaml
// and .yml, otherwise JSON (an object with "apps", or a bare array). Errors
// wrap ErrEcosystem and never quote the document's values.
func parseEcosystem(path, ext string, raw []byte) (*Ecosystem, error) {
	var doc struct {
		Apps []*EcosystemApp `json:"apps" yaml:"apps"`
	}
	if ext == ".yaml" || ext == ".yml" {
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			return nil, fmt.Errorf("%w: %s: %s", ErrEcosystem, path, yamlErrorText(err))
		}
	} else {
		var err error
		trimmed := bytes.TrimSpace(raw)
		if len(trimmed) > 0 && trimmed[0] == '[' { // a bare array of apps
			err = json.Unmarshal(trimmed, &doc.Apps)
		} else {
			err = json.Unmarshal(trimmed, &doc)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %s", ErrEcosystem, path, safeJSONError(err))
		}
	}
	if doc.Apps == nil {
		return nil, fmt.Errorf("%w: %s declares no apps", ErrEcosystem, path)
	}
	eco := &Ecosystem{Path: path}
	for i, a := range doc.Apps {
		if a == nil || strings.TrimSpace(a.Name) == "" {
			return nil, fmt.Errorf("%w: %s: app %d has no name", ErrEcosystem, path, i)
		}
		eco.Apps = append(eco.Apps, *a)
	}
	return eco, nil
}

func loadJS(ctx context.Context, path, node string, runner Runner) ([]byte, error) {
	if runner == nil {
		runner = ExecRunner{}
	}
	if node == "" {
		node = "node"
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("ecosystem file: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultEcosystemTimeout)
	defer cancel()
	res, err := runner.Run(ctx, Command{Path: node, Args: []string{"-e", nodeLoader, abs}, Env: os.Environ(), Dir: filepath.Dir(abs)})
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("load %s: node: %w", path, ErrNotInstalled)
	case err != nil:
		return nil, fmt.Errorf("load %s with node: %w", path, err)
	case res.ExitCode != 0:
		// node's stderr names the JavaScript error; quote only its first line.
		return nil, fmt.Errorf("%w: %s: node exited %d: %s", ErrEcosystem, path, res.ExitCode, shorten(firstJSError(res.Stderr), maxMessage))
	}
	return res.Stdout, nil
}

// firstJSError picks the line of node's stderr naming the error
// ("SyntaxError: Unexpected token"), else the first line.
func firstJSError(stderr []byte) string {
	lines := strings.Split(strings.TrimSpace(string(stderr)), "\n")
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if i := strings.Index(l, "Error:"); i >= 0 && !strings.HasPrefix(l, "at ") {
			return l
		}
	}
	if len(lines) > 0 {
		return lines[0]
	}
	return ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func shorten(s string, n int) string { return excerpt(s, n) }

// ecosystemFindings checks that the ecosystem file exists, loads and names
// the expected apps. The file is loaded again only when it changed (see
// ecosystemCache).
func (c *Checker) ecosystemFindings(ctx context.Context) []redundancy.Finding {
	path := c.cfg.Ecosystem
	eco, err := c.eco.load(ctx, path, c.cfg.Node, c.cfg.Runner)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return []redundancy.Finding{{Subject: path, Problem: ProblemEcosystemMissing, Status: redundancy.StatusDegraded,
			Detail: "ecosystem file does not exist"}}
	case err != nil:
		return []redundancy.Finding{{Subject: path, Problem: ProblemEcosystemInvalid, Status: redundancy.StatusDegraded,
			Detail: err.Error()}}
	}
	var out []redundancy.Finding
	names := eco.Names()
	for _, a := range c.cfg.Apps {
		if !slices.Contains(names, a.Name) {
			out = append(out, redundancy.Finding{Subject: path, Problem: ProblemEcosystemAppMissing, Status: redundancy.StatusDegraded,
				Detail: fmt.Sprintf("does not declare app %q", a.Name)})
		}
	}
	return out
}

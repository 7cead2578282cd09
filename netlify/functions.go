package netlify

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// BackgroundSuffix marks a background function: a function whose name ends
// with it is invoked asynchronously and answers 202.
const BackgroundSuffix = "-background"

func isBackgroundName(name string) bool { return strings.HasSuffix(name, BackgroundSuffix) }

// nodeExts are the extensions of Node.js function entry files, in the order
// an entry is looked for inside a function folder.
var nodeExts = []string{".mjs", ".js", ".cjs", ".mts", ".ts", ".cts"}

// maxScanFiles bounds how many files of one function folder are looked at
// for modification times.
const maxScanFiles = 10000

// SourceFunction is a function found in a functions directory.
type SourceFunction struct {
	// Name is the function's name (file name without extension, or folder
	// name).
	Name string
	// MainFile is the entry file's absolute path.
	MainFile string
	// Runtime is RuntimeJS for Node files and folders, RuntimeGo for a
	// folder holding main.go.
	Runtime Runtime
	// Background is true when Name ends in BackgroundSuffix.
	Background bool
	// ModTime is the newest modification time among the function's sources
	// (the file, or the folder's files outside node_modules).
	ModTime time.Time
}

// ScanFunctions lists the functions of a functions directory the way
// Netlify's bundler finds them: Node files (.js .mjs .cjs .ts .mts .cts, not
// .d.ts) at the top level, folders holding <folder>.<ext> or index.<ext>, and
// folders holding a Go main.go. Names starting with "." or "_" are skipped
// (shared code). Two sources with one name are an error. The result is
// sorted by name.
func ScanFunctions(dir string) ([]SourceFunction, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("functions dir %s: %w", dir, err)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil, fmt.Errorf("functions dir %s: %w", dir, err)
	}
	var out []SourceFunction
	where := map[string]string{}
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_") {
			continue
		}
		full := filepath.Join(abs, n)
		var sf SourceFunction
		var ok bool
		if e.IsDir() {
			sf, ok, err = scanFolder(full, n)
		} else {
			sf, ok, err = scanFile(full, n)
		}
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if prev, dup := where[sf.Name]; dup {
			return nil, fmt.Errorf("functions dir %s: two functions named %q (%s and %s)", dir, sf.Name, prev, n)
		}
		where[sf.Name] = n
		sf.Background = isBackgroundName(sf.Name)
		out = append(out, sf)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func scanFile(full, n string) (SourceFunction, bool, error) {
	ext := filepath.Ext(n)
	if !isNodeExt(ext) || strings.HasSuffix(strings.TrimSuffix(n, ext), ".d") {
		return SourceFunction{}, false, nil
	}
	name := strings.TrimSuffix(n, ext)
	if validFunctionName(name) != nil {
		return SourceFunction{}, false, nil
	}
	st, err := os.Stat(full)
	if err != nil {
		return SourceFunction{}, false, fmt.Errorf("function %s: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		return SourceFunction{}, false, nil
	}
	return SourceFunction{Name: name, MainFile: full, Runtime: RuntimeJS, ModTime: st.ModTime()}, true, nil
}

func scanFolder(full, n string) (SourceFunction, bool, error) {
	if validFunctionName(n) != nil {
		return SourceFunction{}, false, nil
	}
	var main string
	rt := RuntimeJS
	for _, base := range []string{n, "index"} {
		for _, ext := range nodeExts {
			p := filepath.Join(full, base+ext)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				main = p
				break
			}
		}
		if main != "" {
			break
		}
	}
	if main == "" {
		p := filepath.Join(full, "main.go")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			main, rt = p, RuntimeGo
		}
	}
	if main == "" {
		return SourceFunction{}, false, nil
	}
	mt, err := newestModTime(full)
	if err != nil {
		return SourceFunction{}, false, fmt.Errorf("function %s: %w", n, err)
	}
	return SourceFunction{Name: n, MainFile: main, Runtime: rt, ModTime: mt}, true, nil
}

func isNodeExt(ext string) bool {
	for _, e := range nodeExts {
		if ext == e {
			return true
		}
	}
	return false
}

var errTooMany = errors.New("too many files")

// newestModTime returns the newest modification time of the regular files
// under dir, skipping node_modules and dot folders.
func newestModTime(dir string) (time.Time, error) {
	var newest time.Time
	count := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		count++
		if count > maxScanFiles {
			return errTooMany
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.ModTime().After(newest) {
			newest = info.ModTime()
		}
		return nil
	})
	if errors.Is(err, errTooMany) {
		return newest, nil // enough seen: the bound keeps a check cheap
	}
	return newest, err
}

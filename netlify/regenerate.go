package netlify

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/uras-dev/uras/internal/fsutil"
)

// BuildManifest builds a manifest for the functions found in functionsDir
// (see ScanFunctions), stamped now, for a manifest to live at manifestPath.
// What the sources cannot tell (schedule, display name, generator, routes,
// ...) is carried over from prev, the manifest being replaced, for functions
// that are still there; prev may be nil. Path names the zip the bundler
// would write next to the manifest.
func BuildManifest(functionsDir, manifestPath string, prev *Manifest, now time.Time) (*Manifest, error) {
	srcs, err := ScanFunctions(functionsDir)
	if err != nil {
		return nil, err
	}
	outDir, err := filepath.Abs(manifestDir(manifestPath))
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", manifestPath, err)
	}
	m := &Manifest{
		Functions: make([]ManifestFunction, 0, len(srcs)),
		System:    ManifestSystem{Arch: nodeArch(runtime.GOARCH), Platform: nodePlatform(runtime.GOOS)},
		Timestamp: now.UnixMilli(),
		Version:   ManifestVersion,
	}
	for _, s := range srcs {
		var f ManifestFunction
		if prev != nil {
			f, _ = prev.Function(s.Name)
		}
		f.Name = s.Name
		f.MainFile = s.MainFile
		f.Runtime = s.Runtime
		f.Path = filepath.Join(outDir, s.Name+".zip")
		switch {
		case s.Background:
			f.InvocationMode = InvocationBackground
		case f.InvocationMode == InvocationBackground:
			f.InvocationMode = ""
		}
		if s.Runtime == RuntimeGo {
			f.Bundler = ""
		}
		m.Functions = append(m.Functions, f)
	}
	return m, nil
}

// RegenerateManifest rebuilds the manifest at manifestPath from functionsDir
// (see BuildManifest) and writes it atomically. The file it replaces, if
// any (even an unparsable one), is kept as manifestPath+".bak". A path
// that is not a regular file (a FIFO, a device, a directory) is never
// read nor replaced: that is an error naming it.
func RegenerateManifest(functionsDir, manifestPath string, now time.Time) (*Manifest, error) {
	old, err := fsutil.ReadFile(manifestPath, maxManifest)
	tooLarge := errors.Is(err, fsutil.ErrTooLarge) // kept by renaming it, unread
	switch {
	case err == nil, tooLarge, errors.Is(err, fs.ErrNotExist):
	case errors.Is(err, fsutil.ErrNotRegular):
		return nil, fmt.Errorf("regenerate manifest: %w: remove it to let a manifest be written there", err)
	default:
		return nil, fmt.Errorf("regenerate manifest: %w", err)
	}
	var prev *Manifest
	if old != nil {
		prev, _ = ParseManifest(old) // an invalid one carries nothing over
	}
	m, err := BuildManifest(functionsDir, manifestPath, prev, now)
	if err != nil {
		return nil, fmt.Errorf("regenerate manifest: %w", err)
	}
	data, err := MarshalManifest(m)
	if err != nil {
		return nil, fmt.Errorf("regenerate manifest: %w", err)
	}
	if err := os.MkdirAll(manifestDir(manifestPath), 0o755); err != nil {
		return nil, fmt.Errorf("regenerate manifest: %w", err)
	}
	switch {
	case tooLarge:
		if err := os.Rename(manifestPath, manifestPath+".bak"); err != nil {
			return nil, fmt.Errorf("regenerate manifest: keep previous: %w", err)
		}
	case old != nil:
		if err := fsutil.WriteFileAtomic(manifestPath+".bak", old, 0o644); err != nil {
			return nil, fmt.Errorf("regenerate manifest: keep previous: %w", err)
		}
	}
	if err := fsutil.WriteFileAtomic(manifestPath, data, 0o644); err != nil {
		return nil, fmt.Errorf("regenerate manifest: %w", err)
	}
	return m, nil
}

// nodeArch maps GOARCH to Node's process.arch, which the bundler records.
func nodeArch(goarch string) string {
	switch goarch {
	case "amd64":
		return "x64"
	case "386":
		return "ia32"
	}
	return goarch
}

// nodePlatform maps GOOS to Node's process.platform.
func nodePlatform(goos string) string {
	if goos == "windows" {
		return "win32"
	}
	return goos
}

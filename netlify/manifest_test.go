package netlify_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/netlify"
)

func TestReadManifestBundlerFormat(t *testing.T) {
	t.Parallel()
	m, err := netlify.ReadManifest(filepath.Join("testdata", "manifest.json"))
	require.NoError(t, err)
	assert.Equal(t, 1, m.Version)
	assert.Equal(t, netlify.ManifestSystem{Arch: "x64", Platform: "linux"}, m.System)
	assert.Equal(t, time.UnixMilli(1718000000000), m.Time())
	require.Len(t, m.Functions, 4)

	hello, ok := m.Function("hello")
	require.True(t, ok)
	assert.Equal(t, "/opt/build/repo/netlify/functions/hello.mts", hello.MainFile)
	assert.Equal(t, "/opt/build/repo/.netlify/functions/hello.zip", hello.Path)
	assert.Equal(t, netlify.RuntimeJS, hello.Runtime)
	assert.Equal(t, "nodejs20.x", hello.RuntimeVersion)
	assert.Equal(t, "Hello", hello.DisplayName)
	assert.Equal(t, "esbuild", hello.Bundler)
	assert.Equal(t, netlify.InvocationBuffer, hello.InvocationMode)
	assert.Equal(t, 10, hello.Priority)
	assert.JSONEq(t, `{"runtimeAPIVersion":2}`, string(hello.BuildData))
	assert.JSONEq(t, `[{"pattern":"/api/hello","literal":"/api/hello","methods":["GET"]}]`, string(hello.Routes))
	assert.False(t, hello.Background())

	bg, _ := m.Function("sync-background")
	assert.True(t, bg.Background())
	nightly, _ := m.Function("nightly")
	assert.Equal(t, "@daily", nightly.Schedule)
	gofn, _ := m.Function("gofn")
	assert.Equal(t, netlify.RuntimeGo, gofn.Runtime)

	eps := netlify.EndpointsFromManifest(m)
	var names []string
	for _, e := range eps {
		names = append(names, e.Name)
	}
	assert.Equal(t, []string{"hello", "sync-background", "gofn"}, names, "scheduled functions are not probed")
	assert.True(t, eps[1].Background)
}

func TestParseManifestRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, data, want string
	}{
		{"empty", "", "empty"},
		{"not an object", `[1,2]`, "not a JSON object"},
		{"truncated", `{"functions":[`, "unexpected EOF"},
		{"trailing data", `{"functions":[],"timestamp":1}{}`, "data after"},
		{"no functions", `{"timestamp":1}`, `no "functions"`},
		{"functions not a list", `{"functions":{},"timestamp":1}`, "cannot unmarshal"},
		{"no timestamp", `{"functions":[]}`, `no "timestamp"`},
		{"negative timestamp", `{"functions":[],"timestamp":-5}`, "negative timestamp"},
		{"string timestamp", `{"functions":[],"timestamp":"now"}`, "cannot unmarshal"},
		{"nameless function", `{"functions":[{"path":"x"}],"timestamp":1}`, "functions[0]: empty name"},
		{"slash in name", `{"functions":[{"name":"a/b"}],"timestamp":1}`, "not allowed"},
		{"dot-dot name", `{"functions":[{"name":".."}],"timestamp":1}`, `name ".."`},
		{"duplicate", `{"functions":[{"name":"a"},{"name":"a"}],"timestamp":1}`, `functions[1]: duplicate name "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := netlify.ParseManifest([]byte(tt.data))
			require.ErrorIs(t, err, netlify.ErrManifestInvalid)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestReadManifestMissing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := netlify.ReadManifest(filepath.Join(dir, "manifest.json"))
	require.ErrorIs(t, err, netlify.ErrManifestMissing)
	_, err = netlify.ReadManifest(dir)
	require.ErrorIs(t, err, netlify.ErrManifestInvalid, "a directory is not a manifest")
}

func TestScanFunctions(t *testing.T) {
	t.Parallel()
	fnDir, _ := project(t, t0)
	fns, err := netlify.ScanFunctions(fnDir)
	require.NoError(t, err)
	type row struct {
		Name       string
		Main       string
		Runtime    netlify.Runtime
		Background bool
	}
	var got []row
	for _, f := range fns {
		rel, _ := filepath.Rel(fnDir, f.MainFile)
		got = append(got, row{f.Name, rel, f.Runtime, f.Background})
		assert.True(t, f.ModTime.Equal(t0), "%s mtime %s", f.Name, f.ModTime)
	}
	assert.Equal(t, []row{
		{"gofn", "gofn/main.go", netlify.RuntimeGo, false},
		{"hello", "hello.mts", netlify.RuntimeJS, false},
		{"sync-background", "sync-background/index.js", netlify.RuntimeJS, true},
	}, got)

	writeFile(t, fnDir, "hello/index.js", "x", t0)
	_, err = netlify.ScanFunctions(fnDir)
	require.ErrorContains(t, err, `two functions named "hello"`)

	_, err = netlify.ScanFunctions(filepath.Join(fnDir, "nope"))
	require.Error(t, err)
}

func TestRegenerateManifestRoundTrip(t *testing.T) {
	t.Parallel()
	fnDir, mp := project(t, t0)
	// The previous manifest knows things sources cannot tell (a schedule, a
	// display name), and a function that is gone.
	prev := `{"functions":[{"name":"hello","path":"/old/hello.zip","mainFile":"/old/hello.mts","runtime":"js","schedule":"@hourly","displayName":"Hello!","bundler":"esbuild"},` +
		`{"name":"gone","path":"/old/gone.zip","mainFile":"/old/gone.js","runtime":"js"}],"system":{"arch":"x64","platform":"linux"},"timestamp":1,"version":1}`
	require.NoError(t, os.MkdirAll(filepath.Dir(mp), 0o755))
	require.NoError(t, os.WriteFile(mp, []byte(prev), 0o644))

	now := t0.Add(time.Hour)
	m, err := netlify.RegenerateManifest(fnDir, mp, now)
	require.NoError(t, err)

	bak, err := os.ReadFile(mp + ".bak")
	require.NoError(t, err)
	assert.Equal(t, prev, string(bak), "the previous manifest is kept as .bak")

	read, err := netlify.ReadManifest(mp)
	require.NoError(t, err)
	assert.Equal(t, m, read, "what is written reads back the same")
	assert.Equal(t, now.UnixMilli(), read.Timestamp)
	assert.Equal(t, netlify.ManifestVersion, read.Version)

	var names []string
	for _, f := range read.Functions {
		names = append(names, f.Name)
		assert.True(t, filepath.IsAbs(f.MainFile))
		assert.Equal(t, filepath.Join(filepath.Dir(mp), f.Name+".zip"), f.Path)
	}
	assert.Equal(t, []string{"gofn", "hello", "sync-background"}, names)
	hello, _ := read.Function("hello")
	assert.Equal(t, "@hourly", hello.Schedule, "kept from the previous manifest")
	assert.Equal(t, "Hello!", hello.DisplayName)
	assert.Equal(t, filepath.Join(fnDir, "hello.mts"), hello.MainFile)
	bg, _ := read.Function("sync-background")
	assert.Equal(t, netlify.InvocationBackground, bg.InvocationMode)

	// The regenerated manifest is clean for the checker.
	rep := (&netlify.ManifestChecker{FunctionsDir: fnDir, ManifestPath: mp}).Check(t.Context())
	assert.Empty(t, rep.Findings)
}

func TestRegenerateManifestOverInvalid(t *testing.T) {
	t.Parallel()
	fnDir, mp := project(t, t0)
	require.NoError(t, os.MkdirAll(filepath.Dir(mp), 0o755))
	require.NoError(t, os.WriteFile(mp, []byte("{garbage"), 0o644))
	_, err := netlify.RegenerateManifest(fnDir, mp, t0.Add(time.Hour))
	require.NoError(t, err)
	bak, err := os.ReadFile(mp + ".bak")
	require.NoError(t, err)
	assert.Equal(t, "{garbage", string(bak))
	_, err = netlify.ReadManifest(mp)
	require.NoError(t, err)
}

func FuzzParseManifest(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join("testdata", "manifest.json"))
	require.NoError(f, err)
	f.Add(seed)
	f.Add([]byte(`{"functions":[],"timestamp":0}`))
	f.Add([]byte(`{"functions":[{"name":"a","buildData":null}],"timestamp":1,"version":2}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := netlify.ParseManifest(data)
		if err != nil {
			require.ErrorIs(t, err, netlify.ErrManifestInvalid)
			require.Nil(t, m)
			return
		}
		// A manifest that parses has usable, unique names and survives a
		// round trip.
		seen := map[string]bool{}
		for _, fn := range m.Functions {
			require.NotEmpty(t, fn.Name)
			require.False(t, seen[fn.Name])
			seen[fn.Name] = true
		}
		out, err := netlify.MarshalManifest(m)
		require.NoError(t, err)
		m2, err := netlify.ParseManifest(out)
		require.NoError(t, err)
		require.Equal(t, len(m.Functions), len(m2.Functions))
		require.Equal(t, m.Timestamp, m2.Timestamp)
	})
}

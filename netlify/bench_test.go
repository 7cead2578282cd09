package netlify_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/netlify/netlifytest"
)

func BenchmarkParseManifest(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "manifest.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := netlify.ParseManifest(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkManifestCheck checks a project of 50 functions (25 files, 25
// folders of 4 files).
func BenchmarkManifestCheck(b *testing.B) {
	root := b.TempDir()
	fns := filepath.Join(root, "functions")
	for i := range 25 {
		must(b, os.MkdirAll(filepath.Join(fns, fmt.Sprintf("dir%02d", i)), 0o755))
		must(b, os.WriteFile(filepath.Join(fns, fmt.Sprintf("fn%02d.mjs", i)), []byte("x"), 0o644))
		for _, f := range []string{"index.js", "a.js", "b.js", "c.js"} {
			must(b, os.WriteFile(filepath.Join(fns, fmt.Sprintf("dir%02d", i), f), []byte("x"), 0o644))
		}
	}
	mp := filepath.Join(root, "manifest.json")
	if _, err := netlify.RegenerateManifest(fns, mp, timeNowPlusHour()); err != nil {
		b.Fatal(err)
	}
	mc := &netlify.ManifestChecker{FunctionsDir: fns, ManifestPath: mp}
	for b.Loop() {
		if r := mc.Check(context.Background()); len(r.Findings) != 0 || r.Err != nil {
			b.Fatalf("%+v", r)
		}
	}
}

func BenchmarkGetSite(b *testing.B) {
	srv := netlifytest.NewServer()
	defer srv.Close()
	site := srv.AddSite(netlify.Site{ID: "s"})
	srv.AddDeploy(site, netlify.Deploy{ID: "d"}, true)
	c := srv.Client()
	for b.Loop() {
		if _, err := c.GetSite(context.Background(), site); err != nil {
			b.Fatal(err)
		}
	}
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

package pm2_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
)

// FuzzReadDump: any dump file gives a Dump, never a panic; its error wraps
// ErrBadOutput and never quotes the file (which holds every process's
// environment); the names it lists are never empty.
func FuzzReadDump(f *testing.F) {
	const secret = "s3cr3t-TOKEN"
	for _, s := range []string{
		`[{"name":"web","pm_id":0,"env":{"TOKEN":"` + secret + `"},"TOKEN":"` + secret + `"}]`,
		`[{"name":"web"},{"name":"worker"},{"name":"web"}]`,
		`[]`, ``, `   `, `null`, `[null,{"name":""}]`, `{"name":"web"}`,
		`[{"name":5,"TOKEN":"` + secret + `"}]`,
		`[{"name":"web","env":{"TOKEN":"` + secret,
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "dump.pm2")
		require.NoError(t, os.WriteFile(path, data, 0o600))
		d := pm2.ReadDump(path)
		assert.True(t, d.Exists)
		if d.Err != nil {
			assert.True(t, errors.Is(d.Err, pm2.ErrBadOutput), "error %v does not wrap ErrBadOutput", d.Err)
			assert.NotContains(t, d.Err.Error(), secret)
			assert.False(t, d.Usable())
			return
		}
		for _, n := range d.Names {
			assert.NotEmpty(t, n)
		}
		assert.Equal(t, len(d.Names) > 0, d.Usable())
	})
}

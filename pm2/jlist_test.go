package pm2

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeSecret is the value of URAS_FAKE_SECRET in the environment of the
// daemon that produced testdata/jlist/pm2-7.0.4.json; it must never come out.
const fakeSecret = "fake-secret-do-not-leak"

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "jlist", name))
	require.NoError(t, err)
	return b
}

func TestDecodeProcessesRealOutput(t *testing.T) {
	t.Parallel()
	data := readTestdata(t, "pm2-7.0.4.json")
	require.Contains(t, string(data), fakeSecret, "the seed must carry an env secret for this test to mean anything")

	procs, err := decodeProcesses(data)
	require.NoError(t, err)
	require.Len(t, procs, 5)

	web := procs[0]
	assert.Equal(t, 0, web.ID)
	assert.Equal(t, "web", web.Name)
	assert.Equal(t, "default", web.Namespace)
	assert.Equal(t, StatusOnline, web.Status)
	assert.Equal(t, ExecFork, web.ExecMode)
	assert.Positive(t, web.PID)
	assert.Positive(t, web.MemoryBytes)
	assert.True(t, web.Autorestart)
	assert.Nil(t, web.ExitCode)
	assert.True(t, strings.HasSuffix(web.OutLogPath, "web-out.log"), web.OutLogPath)
	assert.True(t, strings.HasSuffix(web.ErrLogPath, "web-error.log"), web.ErrLogPath)
	assert.False(t, web.StartedAt.IsZero())
	assert.False(t, web.CreatedAt.IsZero())
	assert.True(t, web.StartedAt.After(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)))

	api := procs[1]
	assert.Equal(t, "api", api.Name)
	assert.Equal(t, "backend", api.Namespace)
	assert.Equal(t, ExecCluster, api.ExecMode)
	assert.Equal(t, 2, procs[2].ID)

	crashy := procs[3]
	assert.Equal(t, StatusErrored, crashy.Status)
	assert.Equal(t, 0, crashy.PID)
	require.NotNil(t, crashy.ExitCode)
	assert.Equal(t, 3, *crashy.ExitCode)
	assert.Positive(t, crashy.Restarts)

	assert.Equal(t, StatusStopped, procs[4].Status)

	// Nothing of the environment reaches the typed values.
	out, err := json.Marshal(procs)
	require.NoError(t, err)
	assert.NotContains(t, string(out), fakeSecret)
	assert.NotContains(t, string(out), "URAS_FAKE_SECRET")
}

func TestDecodeProcessesAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []Process
	}{
		{"empty list", "[]", []Process{}},
		{"surrounding whitespace", " \n[]\n", []Process{}},
		{"minimal", `[{"pm_id":7,"name":"a"}]`, []Process{{ID: 7, Name: "a"}}},
		{"id only in pm2_env", `[{"name":"a","pm2_env":{"pm_id":4}}]`, []Process{{ID: 4, Name: "a"}}},
		{"numbers as strings and nulls", `[{"pm_id":"3","name":"a","pid":null,"monit":{"memory":"1024","cpu":"1.5"},"pm2_env":{"restart_time":"2","exit_code":null,"autorestart":"false"}}]`,
			[]Process{{ID: 3, Name: "a", MemoryBytes: 1024, CPUPercent: 1.5, Restarts: 2}}},
		{"unknown status kept", `[{"pm_id":1,"name":"a","pm2_env":{"status":"hibernating"}}]`,
			[]Process{{ID: 1, Name: "a", Status: "hibernating"}}},
		{"exit code", `[{"pm_id":1,"name":"a","pm2_env":{"exit_code":137,"autorestart":true}}]`,
			[]Process{{ID: 1, Name: "a", ExitCode: ptr(137), Autorestart: true}}},
		{"times", `[{"pm_id":1,"name":"a","pm2_env":{"pm_uptime":1700000000123,"created_at":1700000000000}}]`,
			[]Process{{ID: 1, Name: "a", StartedAt: time.UnixMilli(1700000000123), CreatedAt: time.UnixMilli(1700000000000)}}},
		{"env ignored even when malformed for us", `[{"pm_id":1,"name":"a","pm2_env":{"env":{"status":12,"TOKEN":{"x":[1,2]}},"TOKEN":"s"}}]`,
			[]Process{{ID: 1, Name: "a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeProcesses([]byte(tt.in))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestDecodeProcessesRejects(t *testing.T) {
	t.Parallel()
	real := readTestdata(t, "pm2-7.0.4.json")
	tests := []struct {
		name    string
		in      string
		wantMsg string
	}{
		{"empty", "", "empty"},
		{"blank", " \n\t", "empty"},
		{"warning before JSON", "[PM2][WARN] Current process list is not synchronized with saved list\n" + string(real), `starting "[PM2][WARN] Current process list is not synchronized with saved "...`},
		{"banner before JSON", "\n  -------------\n__/\\\\\\\\ PM2 banner\n[]", "not a JSON array"},
		{"truncated", string(real[:len(real)/2]), "not a JSON array"},
		{"object not array", `{"pm_id":1}`, `starting ""`},
		{"null", "null", "not a JSON array"},
		{"wrong type", `[{"pm_id":1,"name":5}]`, "field name: got JSON number, want string"},
		{"null element", `[null]`, "element 0 is null"},
		{"no id", `[{"name":"a"}]`, "no pm_id"},
		{"bad number", `[{"pm_id":1,"name":"a","pid":"12x"}]`, "not a number"},
		{"bad bool", `[{"pm_id":1,"name":"a","pm2_env":{"autorestart":"sometimes"}}]`, "not a boolean"},
		{"garbage after", "[] trailing", "not a JSON array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeProcesses([]byte(tt.in))
			require.Error(t, err)
			assert.Nil(t, got)
			assert.ErrorIs(t, err, ErrBadOutput)
			assert.Contains(t, err.Error(), tt.wantMsg)
			assert.NotContains(t, err.Error(), fakeSecret)
		})
	}
}

func TestDecodeProcessesRealBanner(t *testing.T) {
	t.Parallel()
	// pm2 jlist run with no daemon starts one and prints its banner first.
	_, err := decodeProcesses(readTestdata(t, "spawned-daemon-banner.txt"))
	require.ErrorIs(t, err, ErrBadOutput)
	assert.Contains(t, err.Error(), "not a JSON array")
	assert.Less(t, len(err.Error()), 200)
}

func TestDecodeProcessesErrorNeverQuotesObjects(t *testing.T) {
	t.Parallel()
	// A short name puts the env close to the start: the quote must stop at '{'.
	in := `[{"pid":1,"name":"w","pm2_env":{"env":{"TOKEN":"` + fakeSecret + `"`
	_, err := decodeProcesses([]byte(in))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "TOKEN")
	assert.NotContains(t, err.Error(), fakeSecret)
	assert.Contains(t, err.Error(), `starting "["...`)
}

func FuzzDecodeProcesses(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("testdata", "jlist"))
	require.NoError(f, err)
	for _, e := range entries {
		f.Add(readTestdata(f, e.Name()))
	}
	f.Add([]byte(`[{"pm_id":1,"name":"a","pm2_env":{"status":"online","exit_code":1}}]`))
	f.Add([]byte("[PM2][WARN] x\n[]"))
	f.Add([]byte(`[{"pm_id":"1e308","pid":-1e400}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		procs, err := decodeProcesses(data)
		if err != nil {
			require.ErrorIs(t, err, ErrBadOutput)
			require.Nil(t, procs)
			// The error quotes at most a short prefix, never object content.
			require.LessOrEqual(t, len(err.Error()), 400)
			return
		}
		require.True(t, json.Valid(data))
		for _, p := range procs {
			require.GreaterOrEqual(t, p.MemoryBytes, uint64(0))
			if !p.StartedAt.IsZero() {
				require.Positive(t, p.StartedAt.UnixMilli())
			}
		}
	})
}

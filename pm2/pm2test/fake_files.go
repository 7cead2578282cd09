package pm2test

// The files a FakeClient reads and writes as PM2 does: dump.pm2 and
// dump.pm2.bak in its home, and JSON ecosystem files.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/uras-dev/uras/pm2"
)

// FakeSecret is the value of the environment variable FAKE_SECRET that a
// FakeClient with a home writes into every dump entry, as PM2 writes each
// app's environment: a test can check that it appears nowhere else.
const FakeSecret = "fake-secret-value-7d1c"

// SetHome makes the fake keep its saved list in dir as PM2 does: Save
// copies dir/dump.pm2 to dir/dump.pm2.bak and writes dir/dump.pm2 (one
// entry per process, with an environment holding FakeSecret); Resurrect
// reads dir/dump.pm2, falling back to dir/dump.pm2.bak (and deleting
// dump.pm2) when it does not decode. "" goes back to a list in memory.
func (f *FakeClient) SetHome(dir string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.home = dir
}

// Home returns the directory SetHome set.
func (f *FakeClient) Home() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.home
}

// SavedLists returns the names of the processes each successful Save
// wrote, oldest first.
func (f *FakeClient) SavedLists() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([][]string, len(f.saved))
	for i, s := range f.saved {
		out[i] = slices.Clone(s)
	}
	return out
}

// dumpEntry is what the fake writes of a process, shaped like PM2's
// pm2_env (the fields pm2.ReadDump decodes, and an environment).
type dumpEntry struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	ExecPath    string            `json:"pm_exec_path"`
	Cwd         string            `json:"pm_cwd"`
	ExecMode    pm2.ExecMode      `json:"exec_mode"`
	Status      pm2.ProcessStatus `json:"status"`
	Autorestart bool              `json:"autorestart"`
	RestartTime int               `json:"restart_time"`
	Env         map[string]string `json:"env"`
	FakeSecret  string            `json:"FAKE_SECRET"`
}

// writeSaved saves procs as PM2 does (f.mu held).
func (f *FakeClient) writeSaved(procs []pm2.Process) error {
	dump, bak := filepath.Join(f.home, pm2.DumpFile), filepath.Join(f.home, pm2.DumpBackup)
	if b, err := os.ReadFile(dump); err == nil {
		if err := os.WriteFile(bak, b, 0o600); err != nil {
			return fmt.Errorf("fake pm2 save: back up the dump: %w", err)
		}
	}
	entries := make([]dumpEntry, len(procs))
	for i, p := range procs {
		entries[i] = dumpEntry{Name: p.Name, Namespace: p.Namespace, ExecPath: "/fake/" + p.Name + ".js", Cwd: "/fake",
			ExecMode: p.ExecMode, Status: p.Status, Autorestart: p.Autorestart, RestartTime: p.Restarts,
			Env: map[string]string{"FAKE_SECRET": FakeSecret}, FakeSecret: FakeSecret}
	}
	b, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(dump, b, 0o600); err != nil {
		return fmt.Errorf("fake pm2 save: %w", err)
	}
	return nil
}

// readSaved reads the list Resurrect restores (f.mu held).
func (f *FakeClient) readSaved() []pm2.Process {
	dump := filepath.Join(f.home, pm2.DumpFile)
	procs, err := readDumpFile(dump)
	if err == nil {
		return procs
	}
	if _, statErr := os.Stat(dump); statErr == nil {
		_ = os.Remove(dump) // PM2 does not keep a dump it cannot parse
	}
	procs, _ = readDumpFile(filepath.Join(f.home, pm2.DumpBackup))
	return procs
}

// readDumpFile reads the processes of a dump file.
func readDumpFile(path string) ([]pm2.Process, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var entries []*dumpEntry
	if err := json.Unmarshal(bytes.TrimSpace(b), &entries); err != nil {
		return nil, fmt.Errorf("%s does not decode: %w", filepath.Base(path), pm2.ErrBadOutput)
	}
	var out []pm2.Process
	for _, e := range entries {
		if e == nil || e.Name == "" {
			continue
		}
		out = append(out, pm2.Process{Name: e.Name, Namespace: e.Namespace, ExecMode: e.ExecMode, Status: e.Status,
			Autorestart: e.Autorestart, Restarts: e.RestartTime})
	}
	return out, nil
}

// readEcosystem reads the apps of a JSON ecosystem file on disk, one
// process per instance.
func readEcosystem(path string) ([]pm2.Process, error) {
	if filepath.Ext(path) != ".json" {
		return nil, fmt.Errorf("not a JSON ecosystem file the fake knows: %w", os.ErrNotExist)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var file struct {
		Apps []struct {
			Name        string       `json:"name"`
			Namespace   string       `json:"namespace"`
			ExecMode    pm2.ExecMode `json:"exec_mode"`
			Instances   int          `json:"instances"`
			Autorestart *bool        `json:"autorestart"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		return nil, errors.New("ecosystem file does not decode")
	}
	var out []pm2.Process
	for _, a := range file.Apps {
		for range max(a.Instances, 1) {
			out = append(out, pm2.Process{Name: a.Name, Namespace: a.Namespace, ExecMode: a.ExecMode,
				Autorestart: a.Autorestart == nil || *a.Autorestart})
		}
	}
	return out, nil
}

// RestoreApp implements pm2.AppRestorer: it adds every instance of app
// name the dump file lists, unless the daemon runs the app already.
func (f *FakeClient) RestoreApp(ctx context.Context, dumpPath, name string) error {
	after, err := f.begin(ctx, "RestoreApp", dumpPath, name)
	if err != nil {
		return err
	}
	if err := f.needDaemon("RestoreApp"); err != nil {
		return f.end(nil, err)
	}
	entries, err := readDumpFile(dumpPath)
	if err != nil {
		return f.end(nil, fmt.Errorf("fake pm2 restore %s: %w", name, err))
	}
	entries = slices.DeleteFunc(entries, func(p pm2.Process) bool { return p.Name != name })
	if len(entries) == 0 {
		return f.end(nil, fmt.Errorf("fake pm2 restore %s: %s does not list it: %w", name, dumpPath, pm2.ErrProcessNotFound))
	}
	if slices.ContainsFunc(f.procs, func(p pm2.Process) bool { return p.Name == name }) {
		return f.end(after, nil)
	}
	for _, p := range entries {
		f.addNew(p)
	}
	return f.end(after, nil)
}

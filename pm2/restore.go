package pm2

// Restoring one app at a time: from a dump file's entries (as pm2
// resurrect does for each app the daemon lacks), and from a known-good
// definition. Deleting an app, for the ladder's delete-and-re-add rung.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/uras-dev/uras/internal/fsutil"
)

// AppRestorer is implemented by clients that can start one app from a dump
// file, with everything the dump saved for it (its environment included,
// which passes from the file to the daemon without being decoded), the way
// pm2 resurrect starts each app the daemon lacks. CLI, Native and
// pm2test.FakeClient implement it.
type AppRestorer interface {
	// RestoreApp starts every instance of the app named name that the dump
	// file at dumpPath lists. It does nothing when the daemon already runs
	// an app of that name. A dump that does not list the app gives an
	// error wrapping ErrProcessNotFound.
	RestoreApp(ctx context.Context, dumpPath, name string) error
}

// Deleter is implemented by clients that can delete an app from the daemon
// (pm2 delete). CLI, Native and pm2test.FakeClient implement it.
type Deleter interface {
	// Delete stops and forgets every process nameOrID names. An unknown
	// name gives an error wrapping ErrProcessNotFound.
	Delete(ctx context.Context, nameOrID string) error
}

var (
	_ AppRestorer = (*Native)(nil)
	_ AppRestorer = (*CLI)(nil)
	_ Deleter     = (*Native)(nil)
	_ Deleter     = (*CLI)(nil)
)

// dumpEntries returns the raw entries of the dump file at path that are
// named name. The entries are passed on as they are; only their names are
// decoded.
func dumpEntries(path, name string) ([]json.RawMessage, error) {
	b, err := fsutil.ReadFile(path, MaxDumpSize)
	if err != nil {
		return nil, fmt.Errorf("pm2: restore %s: %w", name, err)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("pm2: restore %s: %w: decode %s: %s", name, ErrBadOutput, path, safeJSONError(err))
	}
	var out []json.RawMessage
	for _, r := range raw {
		var e struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(r, &e) == nil && e.Name == name {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("pm2: restore %s: %s does not list it: %w", name, filepath.Base(path), ErrProcessNotFound)
	}
	return out, nil
}

// RestoreApp implements AppRestorer with the daemon's prepare call, once
// per saved instance, as pm2 resurrect does.
func (n *Native) RestoreApp(ctx context.Context, dumpPath, name string) error {
	entries, err := dumpEntries(dumpPath, name)
	if err != nil {
		return err
	}
	procs, err := n.List(ctx)
	if err != nil {
		return fmt.Errorf("pm2: restore %s: %w", name, err)
	}
	for _, p := range procs {
		if p.Name == name {
			return nil // already there: a retry after the first try took effect
		}
	}
	for i, e := range entries {
		if _, err := n.call(ctx, "prepare", e); err != nil {
			return fmt.Errorf("pm2: restore %s (instance %d of %d) from %s: %w", name, i+1, len(entries), filepath.Base(dumpPath), err)
		}
	}
	return nil
}

// Delete implements Deleter with the daemon's deleteProcessId call, then
// tells the daemon the deletion was manual, as the CLI does.
func (n *Native) Delete(ctx context.Context, nameOrID string) error {
	ids, err := n.resolve(ctx, nameOrID)
	if err != nil {
		return fmt.Errorf("pm2 delete %q: %w", nameOrID, err)
	}
	for _, id := range ids {
		if _, err := n.call(ctx, "deleteProcessId", id); err != nil {
			return fmt.Errorf("pm2 delete %q (id %d): %w", nameOrID, id, err)
		}
		// The process is gone: the daemon may not know the id to notify
		// about any more, which is no failure of the deletion.
		_, _ = n.call(ctx, "notifyByProcessId", map[string]any{"id": id, "action_name": "delete", "manually": true})
	}
	return nil
}

// RestoreApp implements AppRestorer over the daemon's RPC socket (the pm2
// command has no way to resurrect a single app).
func (c *CLI) RestoreApp(ctx context.Context, dumpPath, name string) error {
	if err := daemonListening(ctx, c.Home()); err != nil {
		return fmt.Errorf("pm2: restore %s: %w", name, err)
	}
	return NewNative(NativeOptions{Home: c.Home(), Timeout: c.timeout}).RestoreApp(ctx, dumpPath, name)
}

// Delete runs pm2 delete nameOrID.
func (c *CLI) Delete(ctx context.Context, nameOrID string) error {
	return c.processCommand(ctx, "delete", nameOrID)
}

// startDefinition starts app d the way an ecosystem file declaring it
// would: it writes a private JSON ecosystem file with d (no environment:
// none was kept) and starts it with --only d.Name.
func startDefinition(ctx context.Context, client Client, d AppDefinition) error {
	if d.Name == "" || d.Script == "" {
		return fmt.Errorf("pm2: start %q from its known-good definition: no script recorded", d.Name)
	}
	dir, err := os.MkdirTemp("", "uras-pm2-app-")
	if err != nil {
		return fmt.Errorf("pm2: start %s from its known-good definition: %w", d.Name, err)
	}
	defer os.RemoveAll(dir)
	b, err := json.Marshal(map[string]any{"apps": []any{d.ecosystemApp()}})
	if err != nil {
		return fmt.Errorf("pm2: start %s from its known-good definition: %w", d.Name, err)
	}
	file := filepath.Join(dir, "app-"+strconv.Itoa(os.Getpid())+".json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		return fmt.Errorf("pm2: start %s from its known-good definition: %w", d.Name, err)
	}
	if err := client.StartEcosystem(ctx, file, d.Name); err != nil {
		return fmt.Errorf("pm2: start %s from its known-good definition: %w", d.Name, err)
	}
	return nil
}

// errUnsupported says that client cannot do what a rung needs.
func errUnsupported(client Client, what string) error {
	return fmt.Errorf("pm2: %T cannot %s: %w", client, what, errors.ErrUnsupported)
}

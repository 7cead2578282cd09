package pm2

import "context"

// Updater is a Client that can replace its PM2 daemon with a fresh one of
// the installed PM2: `pm2 update` saves the process list, kills the daemon,
// launches a new one and resurrects the list. It frees a daemon that
// leaked memory. CLI is an Updater, and Native is one through its
// fallback. Note that the save replaces dump.pm2 with what runs at that
// moment: the Recoverer plans it only while every expected app is fine,
// and runs it only if they still are when it acts.
type Updater interface {
	Update(ctx context.Context) error
}

var (
	_ Updater = (*CLI)(nil)
	_ Updater = (*Native)(nil)
)

// Update runs pm2 update against a running daemon.
func (c *CLI) Update(ctx context.Context) error {
	_, err := c.runDaemon(ctx, "update")
	return err
}

// Update runs on the fallback client: only the CLI can launch a daemon.
func (n *Native) Update(ctx context.Context) error {
	u, ok := n.fallback.(Updater)
	if !ok {
		return n.unsupported("update")
	}
	return u.Update(ctx)
}

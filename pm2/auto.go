package pm2

// Choosing between the CLI and the native client.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// ClientMode says which Client OpenClient returns.
type ClientMode string

// The client modes.
const (
	// ClientAuto uses the native client when the daemon's RPC socket is
	// there and answers a ping, the CLI otherwise.
	ClientAuto ClientMode = "auto"
	// ClientNative always uses the native client (with the CLI as its
	// fallback for resurrect, ecosystem starts and save).
	ClientNative ClientMode = "native"
	// ClientCLI always uses the CLI.
	ClientCLI ClientMode = "cli"
)

// ParseClientMode reads a configuration value: "auto" (or empty), "native"
// or "cli", in any case.
func ParseClientMode(s string) (ClientMode, error) {
	switch m := ClientMode(strings.ToLower(strings.TrimSpace(s))); m {
	case "", ClientAuto:
		return ClientAuto, nil
	case ClientNative, ClientCLI:
		return m, nil
	}
	return "", fmt.Errorf("pm2: unknown client mode %q (want auto, native or cli)", s)
}

// autoProbeTimeout bounds the ping OpenClient sends in ClientAuto mode.
const autoProbeTimeout = time.Second

// OpenClient returns the Client mode asks for, for the daemon cli works on:
// cli itself, or a Native client on cli's PM2_HOME with cli as its
// fallback. In ClientAuto mode it pings the daemon's RPC socket (within a
// second) and returns the native client when it answers, cli otherwise; so
// a daemon that is down when OpenClient runs gets the CLI, which works just
// as well for resurrecting it. opts may set the native client's timeouts; its
// Home and Fallback default to cli's.
func OpenClient(ctx context.Context, mode ClientMode, cli *CLI, opts NativeOptions) (Client, error) {
	if cli == nil {
		return nil, fmt.Errorf("pm2: OpenClient needs a CLI client")
	}
	mode, err := ParseClientMode(string(mode))
	if err != nil {
		return nil, err
	}
	if mode == ClientCLI {
		return cli, nil
	}
	if opts.Home == "" {
		opts.Home = cli.Home()
	}
	if opts.Fallback == nil {
		opts.Fallback = cli
	}
	n := NewNative(opts)
	if mode == ClientNative {
		return n, nil
	}
	pctx, cancel := context.WithTimeout(ctx, autoProbeTimeout)
	defer cancel()
	if err := n.ping(pctx); err != nil {
		return cli, nil
	}
	return n, nil
}

// ping calls the daemon's ping method, which answers {"msg":"pong"}.
func (n *Native) ping(ctx context.Context) error {
	raw, err := n.call(ctx, "ping", struct{}{})
	if err != nil {
		return err
	}
	var pong struct {
		Msg string `json:"msg"`
	}
	if json.Unmarshal(raw, &pong) != nil || pong.Msg != "pong" {
		return fmt.Errorf("%w: pm2 rpc ping: no pong in the answer", ErrProtocol)
	}
	return nil
}

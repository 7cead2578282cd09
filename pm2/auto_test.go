package pm2_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
)

func TestParseClientMode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    pm2.ClientMode
		wantErr bool
	}{
		{"", pm2.ClientAuto, false},
		{"auto", pm2.ClientAuto, false},
		{" Native ", pm2.ClientNative, false},
		{"CLI", pm2.ClientCLI, false},
		{"socket", "", true},
	}
	for _, tt := range tests {
		got, err := pm2.ParseClientMode(tt.in)
		if tt.wantErr {
			require.Error(t, err, tt.in)
			assert.Contains(t, err.Error(), "auto, native or cli")
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func TestOpenClient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	answering := fakeDaemon(t).home
	silent := startFakeRPC(t, func(rpcCall) string { return `{"args":[{"msg":"nope"}]}` }).home
	down := shortDir(t)

	tests := []struct {
		name       string
		mode       pm2.ClientMode
		home       string
		wantNative bool
	}{
		{"auto picks native when the daemon answers", pm2.ClientAuto, answering, true},
		{"empty mode is auto", "", answering, true},
		{"auto falls back to the CLI when the daemon is down", pm2.ClientAuto, down, false},
		{"auto wants a pong", pm2.ClientAuto, silent, false},
		{"native forced even when down", pm2.ClientNative, down, true},
		{"cli forced", pm2.ClientCLI, answering, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cli := pm2.NewCLI(pm2.WithHome(tt.home))
			c, err := pm2.OpenClient(ctx, tt.mode, cli, pm2.NativeOptions{})
			require.NoError(t, err)
			if !tt.wantNative {
				assert.Same(t, cli, c)
				return
			}
			n, ok := c.(*pm2.Native)
			require.True(t, ok, "got %T", c)
			assert.Equal(t, tt.home, n.Home())
		})
	}

	_, err := pm2.OpenClient(ctx, "bogus", pm2.NewCLI(pm2.WithHome(down)), pm2.NativeOptions{})
	require.Error(t, err)
	_, err = pm2.OpenClient(ctx, pm2.ClientAuto, nil, pm2.NativeOptions{})
	require.Error(t, err)
}

// Pick the client from configuration: "auto" uses the daemon's socket when
// it answers.
func ExampleOpenClient() {
	ctx := context.Background()
	mode, err := pm2.ParseClientMode("auto") // from a config file: auto | native | cli
	if err != nil {
		fmt.Println(err)
		return
	}
	cli := pm2.NewCLI(pm2.WithHome("/srv/pm2"))
	client, err := pm2.OpenClient(ctx, mode, cli, pm2.NativeOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, native := client.(*pm2.Native)
	fmt.Println("native:", native)
}

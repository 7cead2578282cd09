package pm2test_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
)

func TestStartDaemon(t *testing.T) {
	t.Parallel()
	d := pm2test.StartDaemon(t,
		pm2test.App{Name: "web", Script: pm2test.AppUp},
		pm2test.App{Name: "crashy", Script: pm2test.AppCrash, MaxRestarts: 1, MinUptime: 1000},
	)
	assert.LessOrEqual(t, len(d.Home)+len("/rpc.sock"), 107, "socket path too long: %s", d.Home)

	web := d.WaitStatus(t, "web", pm2.StatusOnline, 20*time.Second)
	assert.Positive(t, web.PID)
	d.WaitStatus(t, "crashy", pm2.StatusErrored, 20*time.Second)

	info, err := d.Client.Ping(context.Background())
	require.NoError(t, err)
	assert.Positive(t, info.PID)
	assert.NotEmpty(t, info.Version)

	d.KillDaemon(t)
	_, err = d.Client.List(context.Background())
	require.ErrorIs(t, err, pm2.ErrDaemonDown)
	_, err = d.Client.Ping(context.Background())
	require.ErrorIs(t, err, pm2.ErrDaemonDown)
}

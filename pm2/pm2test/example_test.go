package pm2test_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// A FakeClient scripted to fail: a command fails once, the daemon dies, a
// call hangs until its caller gives up. It records what was called.
func ExampleFakeClient() {
	ctx := context.Background()
	fake := pm2test.NewFakeClient(pm2.Process{Name: "web"})

	fake.FailNext("Restart", redundancytest.Fault{Err: errors.New("pm2 restart web: exit status 1")})
	fmt.Println(fake.Restart(ctx, "web"))
	fmt.Println(fake.Restart(ctx, "web"))

	fake.KillDaemon()
	_, err := fake.List(ctx)
	fmt.Println(errors.Is(err, pm2.ErrDaemonDown))

	fake.FailNext("Ping", redundancytest.Fault{Hang: true})
	short, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	_, err = fake.Ping(short)
	fmt.Println(errors.Is(err, context.DeadlineExceeded))

	fmt.Println(fake.CallCount("Restart"), len(fake.Calls()))
	// Output:
	// pm2 restart web: exit status 1
	// <nil>
	// true
	// true
	// 2 4
}

//go:build !unix

package pm2

import (
	"context"
	"errors"
)

func stopHolder(context.Context, PortHolder, int, []string) error { return errors.ErrUnsupported }

//go:build !unix

package redundancy

import (
	"errors"
	"os"
)

const lockOpenFlags = 0

var errWouldBlock = errors.New("lock held elsewhere")

func flock(*os.File, bool) error {
	return errors.New("file locks are not supported on this platform")
}

func funlock(*os.File) {}

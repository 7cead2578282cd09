//go:build !unix

package pm2test

import "errors"

// Signals are not available here: the real-daemon helpers fail their test.
type sig int

const (
	sigKill sig = iota
	sigStop
	sigCont
)

func signal(int, sig) error { return errors.ErrUnsupported }

func exists(int) bool { return false }

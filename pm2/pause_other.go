//go:build !unix

package pm2

import "errors"

// PauseDaemon is not supported here: the returned pause always fails, and
// RotateLog then rotates without pausing.
func PauseDaemon(home string) func() (func(), error) {
	return func() (func(), error) { return nil, errors.ErrUnsupported }
}

func continueDaemon(string) error { return errors.ErrUnsupported }

//go:build !linux && !darwin

package pm2

import "errors"

// freeBytes is not implemented here: the disk check is skipped.
func freeBytes(string) (uint64, error) { return 0, errors.ErrUnsupported }

//go:build !unix

package pm2

import "os/exec"

// ownGroup leaves cmd as it is: process groups are a Unix notion; the
// program alone is killed when its context ends.
func ownGroup(*exec.Cmd) {}

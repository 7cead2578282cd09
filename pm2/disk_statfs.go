//go:build linux || darwin

package pm2

import "syscall"

// freeBytes returns the space available to unprivileged users on the
// volume holding dir.
func freeBytes(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}

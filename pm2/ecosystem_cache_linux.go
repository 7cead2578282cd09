//go:build linux

package pm2

import (
	"os"
	"syscall"
	"time"
)

func keyOf(path string, fi os.FileInfo) fileKey {
	k := fileKey{path: path, size: fi.Size(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		k.ctime = time.Unix(int64(st.Ctim.Sec), int64(st.Ctim.Nsec))
		k.dev, k.ino = uint64(st.Dev), st.Ino
	}
	return k
}

//go:build !linux

package pm2

import "os"

func keyOf(path string, fi os.FileInfo) fileKey {
	return fileKey{path: path, size: fi.Size(), mtime: fi.ModTime()}
}

package fsutil

import (
	"fmt"
	"io"
)

// ReadTail reads the last n bytes (fewer when the file is smaller) of the
// regular file at path, refusing anything else without blocking, as
// ReadFile does.
func ReadTail(path string, n int64) ([]byte, error) {
	f, err := openNonBlocking(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("read %s: %w (%s)", path, ErrNotRegular, st.Mode().Type())
	}
	off := max(st.Size()-n, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, n))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

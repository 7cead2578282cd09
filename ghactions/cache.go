package ghactions

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// maxCachedBody bounds one cached answer; larger answers pass uncached.
const maxCachedBody = 8 << 20

// maxCacheEntries bounds the cache; past it an arbitrary entry is dropped.
const maxCacheEntries = 2048

// cachedAnswer is the last 200 answer to one GET, kept for 304s.
type cachedAnswer struct {
	etag   string
	body   []byte
	header http.Header
}

// lookup makes a GET conditional when its answer is cached: it returns the
// cache key ("" for other methods) and the entry it sent If-None-Match for.
func (t *Transport) lookup(out *http.Request) (string, *cachedAnswer) {
	if out.Method != http.MethodGet {
		return "", nil
	}
	key := out.URL.String() + "\x00" + out.Header.Get("Accept")
	t.mu.Lock()
	hit := t.cache[key]
	t.mu.Unlock()
	if hit == nil || out.Header.Get("If-None-Match") != "" {
		return key, nil
	}
	out.Header.Set("If-None-Match", hit.etag)
	return key, hit
}

// readCacheable reads the body of an answer worth caching (a 200 to a GET
// with an ETag, not too large) and puts it back readable. It returns nil
// for other answers, leaving their body untouched.
func (t *Transport) readCacheable(req *http.Request, resp *http.Response, key string) ([]byte, error) {
	if key == "" || resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == "" || resp.ContentLength > maxCachedBody {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxCachedBody+1))
	_ = resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("ghactions: read answer of GET %s: %w", req.URL.Path, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	if len(b) > maxCachedBody {
		return nil, nil
	}
	return b, nil
}

// storeLocked serves a 304 from the cache, or keeps (or forgets) a fresh
// answer. t.mu is held.
func (t *Transport) storeLocked(resp *http.Response, key string, hit *cachedAnswer, body []byte) {
	switch {
	case resp.StatusCode == http.StatusNotModified && hit != nil:
		t.stats.NotModified++
		_ = resp.Body.Close()
		h := hit.header.Clone()
		for k, v := range resp.Header { // fresh rate headers and the like
			h[k] = v
		}
		h.Set("X-From-Cache", "1")
		h.Set("Content-Length", strconv.Itoa(len(hit.body)))
		resp.StatusCode, resp.Status = http.StatusOK, "200 OK"
		resp.Header = h
		resp.ContentLength = int64(len(hit.body))
		resp.Body = io.NopCloser(bytes.NewReader(hit.body))
	case body != nil:
		if _, ok := t.cache[key]; !ok && len(t.cache) >= maxCacheEntries {
			for k := range t.cache {
				delete(t.cache, k)
				break
			}
		}
		t.cache[key] = &cachedAnswer{etag: resp.Header.Get("ETag"), body: body, header: resp.Header.Clone()}
	case key != "" && resp.StatusCode == http.StatusOK:
		delete(t.cache, key) // no ETag, or too large: the old entry is stale
	}
}

package ghtest

import "net/http"

// WithHandlerWrap wraps the server's handler (the tests validate every
// exchange against GitHub's OpenAPI description through it).
func WithHandlerWrap(wrap func(http.Handler) http.Handler) Option {
	return func(s *Server) { s.wrap = wrap }
}

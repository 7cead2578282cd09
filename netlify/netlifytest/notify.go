package netlifytest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"

	"github.com/golang-jwt/jwt/v5"

	"github.com/uras-dev/uras/netlify"
)

// Deploy notifications: Netlify POSTs the deploy an event is about to the
// URL of an "HTTP POST request" notification, with a JSON Web Signature
// made with the notification's JWS secret token. The server renders the
// body and the signature as Netlify does; Notify sends them.

// Notification returns the body Netlify POSTs for an event about deploy
// id (the deploy as the API shows it), and whether the deploy exists.
func (s *Server) Notification(id string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	d, ok := s.deploys[id]
	if !ok {
		return nil, false
	}
	var buf bytes.Buffer
	if err := jsonEncode(&buf, s.renderDeploy(d)); err != nil {
		panic("netlifytest: render deploy: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), true
}

// SignNotification returns the X-Webhook-Signature Netlify sends with body
// for a notification whose JWS secret token is secret: an HS256 JWS with
// the claims iss "netlify" and sha256, the body's hex SHA-256.
func SignNotification(secret, body []byte) string {
	sum := sha256.Sum256(body)
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss":    netlify.SignatureIssuer,
		"sha256": hex.EncodeToString(sum[:]),
	})
	s, err := tok.SignedString(secret)
	if err != nil {
		panic("netlifytest: sign notification: " + err.Error())
	}
	return s
}

// NewNotificationRequest returns the request Netlify sends to url: a POST
// of body as JSON, signed with secret (unsigned when secret is empty).
func NewNotificationRequest(ctx context.Context, url string, body, secret []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("netlifytest: notification request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Netlify")
	if len(secret) > 0 {
		req.Header.Set(netlify.SignatureHeader, SignNotification(secret, body))
	}
	return req, nil
}

// Notify POSTs the notification of deploy id to url, signed with secret,
// as Netlify does after a deploy event, and returns the status answered.
func (s *Server) Notify(ctx context.Context, hc *http.Client, url, deployID string, secret []byte) (int, error) {
	body, ok := s.Notification(deployID)
	if !ok {
		return 0, fmt.Errorf("netlifytest: notify: no deploy %q", deployID)
	}
	req, err := NewNotificationRequest(ctx, url, body, secret)
	if err != nil {
		return 0, err
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("netlifytest: notify: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, nil
}

package netlify_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uras-dev/uras/netlify"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

const fuzzToken = "nfp_fuzzSECRETtoken0123456789"

// FuzzAPIResponse feeds the client answers of any status, body and Link
// header, for every call it makes: no panic, an error that names the
// package and never holds the token (even when the answer echoes it),
// pages that only move forward.
func FuzzAPIResponse(f *testing.F) {
	for _, seed := range []struct {
		status      uint16
		body, link  string
		contentType string
	}{
		{200, `{"id":"d1","site_id":"s","state":"ready","error_message":null,"published_at":null,"locked":null,"created_at":"2018-08-03T22:30:20.261Z","summary":{},"available_functions":[{"n":"hello"}]}`, "", "application/json"},
		{200, `[{"id":"d1","state":"error","error_message":"Canceled build","created_at":"2026-03-01T12:00:00.000Z"}]`, `<https://api.netlify.com/api/v1/sites/s/deploys?page=2&per_page=100>; rel="next", <https://api.netlify.com/api/v1/sites/s/deploys?page=9>; rel="last"`, "application/json"},
		{200, `{"id":"s","published_deploy":{"id":"d","state":"ready"},"build_settings":{"id":1,"env":{}}}`, "", "application/json"},
		{200, `[]`, `<x?page=1>; rel="next"`, "application/json"},
		{200, `null`, "", "application/json"},
		{200, `{"id": "truncated`, "", "application/json"},
		{200, `{"created_at":"yesterday"}`, "", "application/json"},
		{200, `{"id":1,"state":["ready"]}`, "", "application/json"},
		{201, ``, "", "application/json"},
		{401, `{"code":401,"message":"Access Denied: ` + fuzzToken + `"}`, "", "application/json"},
		{422, `{"code":422,"message":"Deploy is not ready"}`, "", "application/json"},
		{429, `{"code":429,"message":"Rate limit exceeded"}`, "", "application/json"},
		{500, strings.Repeat("x", 60) + fuzzToken, "", "text/plain"},
		{502, "<html><head><title>502 Bad Gateway</title></head></html>", "", "text/html"},
	} {
		f.Add(seed.status, seed.body, seed.link, seed.contentType)
	}
	f.Fuzz(func(t *testing.T, status uint16, body, link, contentType string) {
		code := 200 + int(status)%400 // 200..599
		rt := roundTripFunc(func(req *http.Request) (*http.Response, error) {
			h := http.Header{}
			h.Set("Content-Type", contentType)
			h.Set("Link", link)
			h.Set("X-RateLimit-Reset", "1")
			return &http.Response{StatusCode: code, Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
		})
		c := netlify.NewAPIClient(netlify.WithBaseURL("https://api.netlify.com/api/v1"), netlify.WithToken(fuzzToken),
			netlify.WithHTTPClient(&http.Client{Transport: rt}), netlify.WithRetry(1, time.Millisecond),
			netlify.WithClock(newRecClock(t0)), netlify.WithMaxRateLimitWait(time.Second))
		ctx := context.Background()
		check := func(what string, err error) {
			if err == nil {
				return
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "netlify: ") {
				t.Fatalf("%s: error does not name the package: %q", what, msg)
			}
			// The whole token never; nor a piece of it cut off by
			// truncation when the answer held the whole.
			if strings.Contains(msg, fuzzToken) || (strings.Contains(body, fuzzToken) && strings.Contains(msg, fuzzToken[:12])) {
				t.Fatalf("%s: the token leaked into the error: %q", what, msg)
			}
			if strings.Contains(msg, "hook-secret") {
				t.Fatalf("%s: the build hook URL leaked into the error: %q", what, msg)
			}
			if len(msg) > 1024 {
				t.Fatalf("%s: an error of %d bytes", what, len(msg))
			}
		}
		_, err := c.GetSite(ctx, "s")
		check("GetSite", err)
		ds, page, err := c.ListDeploys(ctx, "s", netlify.ListDeploysOptions{Page: 3})
		check("ListDeploys", err)
		if err == nil && (page.Next != 0 && page.Next <= 3 || page.Last < 0 || page.Next < 0) {
			t.Fatalf("page %+v from Link %q", page, link)
		}
		_ = ds
		n := 0
		for _, err := range netlify.AllDeploys(ctx, c, "s", netlify.ListDeploysOptions{}) {
			check("AllDeploys", err)
			if n++; n > 100_000 {
				t.Fatal("AllDeploys does not end")
			}
		}
		_, err = c.GetDeploy(ctx, "s", "d")
		check("GetDeploy", err)
		_, err = c.RestoreDeploy(ctx, "s", "d")
		check("RestoreDeploy", err)
		_, err = c.CancelDeploy(ctx, "d")
		check("CancelDeploy", err)
		_, err = c.LockDeploy(ctx, "d")
		check("LockDeploy", err)
		_, err = c.CreateBuild(ctx, "s", netlify.CreateBuildOptions{ClearCache: true})
		check("CreateBuild", err)
		check("TriggerBuildHook", c.TriggerBuildHook(ctx, "https://api.netlify.com/build_hooks/hook-secret", netlify.BuildHookOptions{}))
	})
}

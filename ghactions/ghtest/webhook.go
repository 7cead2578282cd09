package ghtest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"

	"github.com/uras-dev/uras/ghactions"
)

// Webhook deliveries: GitHub POSTs an event's payload to a repository's
// webhook URL with headers naming the event and the delivery and an
// HMAC-SHA256 of the body made with the webhook's secret. The server
// renders payloads from its state as GitHub does; NewDelivery and Deliver
// send them.

// WorkflowRunPayload returns the body of the workflow_run delivery GitHub
// sends when run id is requested, in_progress or completed (action): the
// run as the API shows it, its workflow, its repository and the sender;
// false when there is no such run.
func (s *Server) WorkflowRunPayload(id int64, action string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked()
	e, ok := s.runs[id]
	if !ok {
		return nil, false
	}
	return mustJSON(obj{
		"action":       action,
		"workflow_run": s.runJSON(e),
		"workflow":     s.wfJSON(e.wf),
		"repository":   s.fullRepoJSON(e.wf.repo),
		"sender":       s.userJSON(e.wf.repo.owner, e.wf.repo.id+1_000_000),
	}), true
}

// WorkflowJobPayload returns the body of a workflow_job delivery about a
// job of run id: action queued, in_progress, waiting or completed (then
// with conclusion); false when there is no such run.
func (s *Server) WorkflowJobPayload(runID int64, action string, conclusion ghactions.RunConclusion) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.runs[runID]
	if !ok {
		return nil, false
	}
	r, full := e.v, e.wf.repo.fullName()
	status := action
	var concl, completed any
	if action == "completed" {
		concl, completed = string(conclusion), ts(r.UpdatedAt)
	}
	jobID := 70_000_000 + r.ID
	return mustJSON(obj{
		"action": action,
		"workflow_job": obj{
			"id": jobID, "run_id": r.ID, "run_attempt": r.Attempt, "workflow_name": r.Name,
			"head_branch": r.Branch, "head_sha": r.HeadSHA, "name": "build", "status": status,
			"conclusion": concl, "started_at": ts(r.StartedAt), "completed_at": completed,
			"created_at": ts(r.CreatedAt), "labels": []any{"ubuntu-latest"}, "steps": []any{},
			"url":       fmt.Sprintf("%s/repos/%s/actions/jobs/%d", s.api(), full, jobID),
			"run_url":   fmt.Sprintf("%s/repos/%s/actions/runs/%d", s.api(), full, r.ID),
			"html_url":  fmt.Sprintf("%s/%s/actions/runs/%d/job/%d", web, full, r.ID, jobID),
			"runner_id": nil, "runner_name": nil, "runner_group_id": nil, "runner_group_name": nil,
		},
		"repository": s.fullRepoJSON(e.wf.repo),
		"sender":     s.userJSON(e.wf.repo.owner, e.wf.repo.id+1_000_000),
	}), true
}

// SignDelivery returns the X-Hub-Signature-256 GitHub sends with body for
// a webhook whose secret is secret: "sha256=" and the hex HMAC-SHA256.
func SignDelivery(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// NewDeliveryID returns a fresh delivery GUID, as X-GitHub-Delivery
// carries.
func NewDeliveryID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// NewDelivery returns the request GitHub sends to url for event (the
// X-GitHub-Event name) with delivery id and body as JSON, signed with
// secret (SHA-256, and the legacy SHA-1 header as GitHub still sends it;
// unsigned when secret is empty).
func NewDelivery(ctx context.Context, url, event, id string, body, secret []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("ghtest: delivery request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/ghtest")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-GitHub-Hook-ID", "460000001")
	req.Header.Set("X-GitHub-Hook-Installation-Target-Type", "repository")
	if len(secret) > 0 {
		req.Header.Set("X-Hub-Signature-256", SignDelivery(secret, body))
		m := hmac.New(sha1.New, secret)
		m.Write(body)
		req.Header.Set("X-Hub-Signature", "sha1="+hex.EncodeToString(m.Sum(nil)))
	}
	return req, nil
}

// Deliver POSTs body as a delivery of event to url, signed with secret,
// with a fresh delivery id, and returns the status answered.
func Deliver(ctx context.Context, hc *http.Client, url, event string, body, secret []byte) (int, error) {
	req, err := NewDelivery(ctx, url, event, NewDeliveryID(), body, secret)
	if err != nil {
		return 0, err
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("ghtest: deliver %s: %w", event, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, nil
}

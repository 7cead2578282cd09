package uras_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"

	"strings"
	"testing"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/redundancy"
)

// Example_embedding is the README's embedding snippet (TestREADMEShowsTheEmbeddingExample
// keeps the two the same): a program that keeps PM2 apps and a
// repository's GitHub Actions alive with one orchestrator.
func Example_embedding() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))

	// The known-good process list outlives restarts in a store.
	store, err := redundancy.NewFileStore("uras-store")
	if err != nil {
		log.Error("store", "err", err)
		os.Exit(2)
	}
	apps, err1 := pm2.NewTargets(ctx, &pm2.TargetConfig{
		Home: "/srv/app/.pm2", // PM2_HOME: the dump and daemon checks look here
		Apps: []pm2.AppConfig{{Name: "web", MaxMemory: 512 << 20}, {Name: "worker"}},
	}, pm2.WithStore(store), pm2.WithLogger(log))
	ci, err2 := ghactions.NewTargets(ctx, &ghactions.TargetConfig{
		Repos: []ghactions.RepoConfig{{Repo: ghactions.Repo{Owner: "octo", Name: "app"}}}, // its default branch
	}, ghactions.WithToken(os.Getenv("GITHUB_TOKEN"))) // your program reads its secrets
	if err := errors.Join(err1, err2); err != nil {
		log.Error("targets", "err", err)
		os.Exit(2)
	}

	opts := []redundancy.Option{redundancy.WithLogger(log), redundancy.WithStateFile("uras-state.json")} // events are logged
	if hook, err := redundancy.NewWebhookNotifier(os.Getenv("ALERT_WEBHOOK_URL")); err == nil {
		opts = append(opts, redundancy.WithAlertNotifier(hook)) // alerts are posted as JSON
	}
	o := redundancy.New(opts...)
	for _, g := range []redundancy.Group{apps, ci} {
		for _, t := range g.Targets {
			if err := o.Add(t); err != nil {
				log.Error("add target", "err", err)
				os.Exit(2)
			}
		}
		for _, note := range g.Notes {
			log.Warn("not watched", "note", note)
		}
	}
	go http.ListenAndServe("127.0.0.1:8099", o.Handler()) // application/health+json
	// Run returns after in-flight actions finish.
	_ = o.Run(ctx)
}

// The README's embedding snippet is this file's Example_embedding, so
// that the compiler checks it.
func TestREADMEShowsTheEmbeddingExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	snippet := between(t, string(readme), "func main() {\n", "}\n```")
	example := between(t, string(self), "func Example_embedding() {\n", "}\n\n// The README")
	if snippet != example {
		t.Errorf("README.md's embedding snippet and Example_embedding differ:\n--- README\n%s\n--- Example\n%s", snippet, example)
	}
}

func between(t *testing.T, s, from, to string) string {
	t.Helper()
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		t.Fatalf("%q not found", from)
	}
	out, _, ok := strings.Cut(rest, to)
	if !ok {
		t.Fatalf("%q not found", to)
	}
	return out
}

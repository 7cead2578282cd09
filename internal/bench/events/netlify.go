package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/netlify/netlifytest"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// netlifyLatency times rounds failed deploys until the site's target turns
// unhealthy: told by a deploy notification (webhook), or found by a check
// every second.
func netlifyLatency(ctx context.Context, rounds int, webhook bool) ([]time.Duration, error) {
	srv := netlifytest.NewServer()
	defer srv.Close()
	site := srv.AddSite(netlify.Site{ID: "site-1", Name: "shop"})
	srv.AddDeploy(site, netlify.Deploy{}, true)
	o := redundancy.New()
	t := redundancy.Target{Name: "shop", Checker: &netlify.DeployChecker{Client: srv.Client(), SiteID: site},
		Policy: watchPolicy(redundancy.MinInterval)}
	var hook *netlify.Webhook
	var public *httptest.Server
	if webhook {
		var err error
		if hook, err = netlify.NewWebhook(secret); err != nil {
			return nil, err
		}
		public = httptest.NewServer(hook)
		defer public.Close()
		t.Source, t.Policy = hook.Source(site), watchPolicy(netlify.SafetyNetInterval)
	}
	if err := o.Add(t); err != nil {
		return nil, err
	}
	w := watch(o, "shop")
	defer start(ctx, o)()
	if _, err := w.wait(ctx, redundancy.StatusHealthy); err != nil {
		return nil, err
	}
	if webhook {
		if err := until(ctx, func() bool { return hook.Stats().Watchers == 1 }); err != nil {
			return nil, err
		}
	}
	send := func(id string) error {
		code, err := srv.Notify(ctx, public.Client(), public.URL, id, secret)
		if err == nil && code != http.StatusAccepted {
			err = fmt.Errorf("notification answered %d", code)
		}
		return err
	}
	var lats []time.Duration
	for range rounds {
		if !webhook {
			time.Sleep(rand.N(redundancy.MinInterval))
		}
		t0 := time.Now()
		bad := srv.AddDeploy(site, netlify.Deploy{State: netlify.DeployError, ErrorMessage: "Build script returned non-zero exit code: 2"}, false)
		if webhook {
			t0 = time.Now()
			if err := send(bad); err != nil {
				return nil, err
			}
		}
		at, err := w.wait(ctx, redundancy.StatusUnhealthy)
		if err != nil {
			return nil, err
		}
		lats = append(lats, at.Sub(t0))
		good := srv.AddDeploy(site, netlify.Deploy{}, true)
		if webhook {
			if err := send(good); err != nil {
				return nil, err
			}
		}
		if _, err := w.wait(ctx, redundancy.StatusHealthy); err != nil {
			return nil, err
		}
	}
	return lats, nil
}

// netlifyCost simulates an hour of a site deployed every 15 minutes on a
// fake clock and counts the fake's calls: polling every
// redundancy.DefaultInterval, then with notifications and polling every
// netlify.SafetyNetInterval.
func netlifyCost(ctx context.Context) ([2]cost, error) {
	var out [2]cost
	for i, webhook := range []bool{false, true} {
		clk := redundancytest.NewFakeClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
		srv := netlifytest.NewServer(netlifytest.WithClock(clk))
		site := srv.AddSite(netlify.Site{ID: "site-1", Name: "shop"})
		srv.AddDeploy(site, netlify.Deploy{}, true)
		o := redundancy.New(redundancy.WithClock(clk))
		p := watchPolicy(redundancy.DefaultInterval)
		var public *httptest.Server
		wctx, cancel := context.WithCancel(ctx)
		if webhook {
			p.Interval = netlify.SafetyNetInterval
			hook, err := netlify.NewWebhook(secret)
			if err != nil {
				cancel()
				return out, err
			}
			public = httptest.NewServer(hook)
			go func() { _ = hook.Source(site).Watch(wctx, func() { o.Trigger("shop") }) }()
			if err := until(ctx, func() bool { return hook.Stats().Watchers == 1 }); err != nil {
				cancel()
				return out, err
			}
		}
		err := o.Add(redundancy.Target{Name: "shop", Checker: &netlify.DeployChecker{Client: srv.Client(), SiteID: site, Clock: clk}, Policy: p})
		var deploy string
		for sec := 0; sec < 3600 && err == nil; sec++ {
			notify := func(id string) {
				if webhook && err == nil {
					var code int
					code, err = srv.Notify(ctx, public.Client(), public.URL, id, secret)
					if err == nil && code != http.StatusAccepted {
						err = fmt.Errorf("notification answered %d", code)
					}
					out[i].deliveries++
				}
			}
			switch sec % 900 {
			case 60: // deploy created
				deploy = srv.AddDeploy(site, netlify.Deploy{State: netlify.DeployNew}, false)
				out[i].runs++
				notify(deploy)
			case 70: // building
				srv.SetDeployState(site, deploy, netlify.DeployBuilding, "")
				notify(deploy)
			case 190: // succeeded
				srv.SetDeployState(site, deploy, netlify.DeployReady, "")
				notify(deploy)
			}
			if s := o.Tick(ctx); err == nil && s.Status != redundancy.StatusHealthy {
				err = fmt.Errorf("at %ds: %s", sec, s.Targets[0].Report.Summary)
			}
			clk.Advance(time.Second)
		}
		out[i].calls = len(srv.Calls())
		cancel()
		if public != nil {
			public.Close()
		}
		srv.Close()
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

package netlify

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// Option tunes NewAPIClient or NewTargets. Each option says which
// constructors take it; giving a constructor an option it does not take is
// an error, not a silent no-op.
type Option struct {
	name  string
	apply func(*settings)
}

type settings struct {
	// the API client's
	token      string
	baseURL    string
	httpClient *http.Client
	timeout    time.Duration
	maxRetries int
	retryBase  time.Duration
	maxRLWait  time.Duration
	clock      redundancy.Clock
	userAgent  string

	// NewTargets'
	client    Client
	logger    *slog.Logger
	store     redundancy.Store
	name      string
	buildHook string
	hookKey   string
	given     []string // the names of the options given
}

// clientOptions are the options NewAPIClient takes.
var clientOptions = []string{"WithToken", "WithBaseURL", "WithHTTPClient", "WithTimeout", "WithRetry",
	"WithMaxRateLimitWait", "WithClock", "WithUserAgent"}

func defaults() settings {
	return settings{
		baseURL:    DefaultBaseURL,
		timeout:    DefaultCallTimeout,
		maxRetries: DefaultMaxRetries,
		retryBase:  DefaultRetryBase,
		maxRLWait:  DefaultMaxRateLimitWait,
		clock:      redundancy.RealClock{},
		userAgent:  "uras-netlify",
	}
}

// apply applies opts for constructor ctor, which takes the options named
// in allowed; an option it does not take is an error (opts are still
// applied, so that the error can be reported where it is seen).
func apply(ctor string, opts []Option, allowed ...string) (settings, error) {
	s := defaults()
	var err error
	for _, o := range opts {
		if o.apply == nil {
			err = fmt.Errorf("netlify: %s: zero Option given", ctor)
			continue
		}
		if !slices.Contains(allowed, o.name) && err == nil {
			err = fmt.Errorf("netlify: %s does not take option %s", ctor, o.name)
		}
		o.apply(&s)
		s.given = append(s.given, o.name)
	}
	return s, err
}

// WithToken sets the personal access token (NewAPIClient, NewTargets).
// There is no default: without it every API call fails with ErrNoToken
// (build hooks need none). No constructor reads the environment: a program
// reads its secrets once, registers them with its redactor and passes them
// here. The token is sent only to the API root, never to build hook URLs,
// and never appears in errors or logs.
func WithToken(token string) Option {
	return Option{"WithToken", func(s *settings) { s.token = token }}
}

// WithBaseURL points the client at another API root (a proxy, or
// netlifytest.Server) (NewAPIClient; NewTargets reads TargetConfig.APIURL).
// Default DefaultBaseURL.
func WithBaseURL(u string) Option {
	return Option{"WithBaseURL", func(s *settings) { s.baseURL = u }}
}

// WithHTTPClient sets the API client's HTTP client (NewAPIClient,
// NewTargets). Default: a new http.Client (its deadline comes from
// WithTimeout).
func WithHTTPClient(hc *http.Client) Option {
	return Option{"WithHTTPClient", func(s *settings) { s.httpClient = hc }}
}

// WithTimeout bounds one API call, retries and rate-limit waits included
// (NewAPIClient, NewTargets). Default DefaultCallTimeout.
func WithTimeout(d time.Duration) Option {
	return Option{"WithTimeout", func(s *settings) { s.timeout = d }}
}

// WithRetry sets how many times a 429, or for a read a 5xx or network
// failure, is retried and the first backoff (doubling after each)
// (NewAPIClient, NewTargets). Defaults DefaultMaxRetries and
// DefaultRetryBase; max 0 disables retries.
func WithRetry(max int, base time.Duration) Option {
	return Option{"WithRetry", func(s *settings) { s.maxRetries, s.retryBase = max, base }}
}

// WithMaxRateLimitWait bounds how long a 429 may make a call wait for the
// limit to reset; a later reset returns a *RateLimitError at once
// (NewAPIClient, NewTargets). Default DefaultMaxRateLimitWait.
func WithMaxRateLimitWait(d time.Duration) Option {
	return Option{"WithMaxRateLimitWait", func(s *settings) { s.maxRLWait = d }}
}

// WithClock sets the clock (NewAPIClient, NewTargets): rate-limit resets,
// probe latencies, how long a deploy has been building, the times of
// regenerated manifests and known-good records. Default
// redundancy.RealClock.
func WithClock(clk redundancy.Clock) Option {
	return Option{"WithClock", func(s *settings) { s.clock = clk }}
}

// WithUserAgent sets the User-Agent header of API calls (NewAPIClient,
// NewTargets). Default "uras-netlify".
func WithUserAgent(ua string) Option {
	return Option{"WithUserAgent", func(s *settings) { s.userAgent = ua }}
}

// WithClient makes NewTargets talk to the API through c instead of an
// APIClient of its own (a test double; a client shared by several
// targets). The API options (WithToken, WithHTTPClient, ...) then do not
// apply, and TargetConfig.APIURL is not used.
func WithClient(c Client) Option {
	return Option{"WithClient", func(s *settings) { s.client = c }}
}

// WithLogger makes NewTargets log, at debug level, what it builds and what
// it leaves out (NewTargets; default: nothing is logged).
func WithLogger(l *slog.Logger) Option {
	return Option{"WithLogger", func(s *settings) { s.logger = l }}
}

// WithStore keeps the known-good deploys (KnownGood) in store, so that
// they outlive the process and a restarted monitor still knows which
// deploy it may restore (NewTargets; default: in memory).
func WithStore(store redundancy.Store) Option {
	return Option{"WithStore", func(s *settings) { s.store = store }}
}

// WithName names the system NewTargets builds for (default "netlify"): the
// Group's name, the prefix of its target's name ("netlify-<site id>") and
// of its notes. Give each of several Netlify sections its own.
func WithName(name string) Option {
	return Option{"WithName", func(s *settings) { s.name = name }}
}

// WithBuildHookURL makes rebuilds POST to a build hook instead of calling
// the builds API (NewTargets). The URL is a credential: like the token,
// the caller reads it (TargetConfig.BuildHookEnv names its variable) and
// it never appears in actions, errors or logs. The hook must build the
// deploys watched (production, or TargetConfig.Branch).
func WithBuildHookURL(u string) Option {
	return Option{"WithBuildHookURL", func(s *settings) { s.buildHook = u }}
}

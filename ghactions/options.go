package ghactions

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// Option tunes NewTargets, NewClient, NewChecker, NewRecoverer or
// NewWorkflowFiles.
// Each option says which constructors take it; giving a constructor an
// option it does not take is an error, not a silent no-op.
type Option struct {
	name  string
	apply func(*settings) error
}

type settings struct {
	token      string
	baseURL    string
	httpClient *http.Client
	clock      redundancy.Clock
	stuckAfter time.Duration
	waitAfter  time.Duration
	cancelWait time.Duration
	forceAfter time.Duration
	poll       time.Duration
	rateFloor  float64
	maxReruns  int
	backupWF   string
	enableMan  bool
	lintIgnore []string

	// NewTargets'
	api       API
	logger    *slog.Logger
	name      string
	backupDir string
	hookKey   string
	rates     RateLimits
}

// The defaults a constructor uses for options not given.
const (
	DefaultStuckAfter = time.Hour // a run queued or in progress longer is stuck
	// DefaultWaitingAfter: a run waiting for a review (or requested,
	// pending) longer is reported, never touched.
	DefaultWaitingAfter = 24 * time.Hour
	// DefaultCancelWait is how long one cancel action waits for GitHub to
	// end a run it accepted to cancel (cancellation is asynchronous).
	DefaultCancelWait = time.Minute
	// DefaultForceCancelAfter: a run still not ended this long after its
	// cancel was accepted is force-cancelled; a force-cancel that has not
	// landed this long after is given up (escalated).
	DefaultForceCancelAfter = 5 * time.Minute
	// DefaultPollInterval is how often a waiting action reads a run again,
	// unless GitHub's x-poll-interval asks for longer.
	DefaultPollInterval = 5 * time.Second
	DefaultRateFloor    = 0.10 // below this part of the core limit left: degraded
	DefaultMaxReruns    = 2    // re-runs of failed jobs per run before the backup workflow
	DefaultBaseURL      = "https://api.github.com/"
	DefaultTimeout      = 30 * time.Second // of the default HTTP client
)

func defaults() settings {
	return settings{
		clock:      redundancy.RealClock{},
		stuckAfter: DefaultStuckAfter,
		waitAfter:  DefaultWaitingAfter,
		cancelWait: DefaultCancelWait,
		forceAfter: DefaultForceCancelAfter,
		poll:       DefaultPollInterval,
		rateFloor:  DefaultRateFloor,
		maxReruns:  DefaultMaxReruns,
		baseURL:    DefaultBaseURL,
	}
}

// build applies opts for constructor ctor, which accepts the option names
// in allowed.
func build(ctor string, opts []Option, allowed ...string) (settings, error) {
	s := defaults()
	for _, o := range opts {
		if o.apply == nil {
			return s, fmt.Errorf("ghactions: %s: zero Option given", ctor)
		}
		ok := false
		for _, a := range allowed {
			ok = ok || a == o.name
		}
		if !ok {
			return s, fmt.Errorf("ghactions: %s does not take option %s", ctor, o.name)
		}
		if err := o.apply(&s); err != nil {
			return s, fmt.Errorf("ghactions: %s: %s: %w", ctor, o.name, err)
		}
	}
	return s, nil
}

// WithToken sets the API token (NewClient; default none). NewClient never
// reads the environment: a program reads its secrets once, registers them
// with its redactor and passes them here. The token is sent only in the
// Authorization header of requests to the API host; it is never logged or
// put in a finding or error.
func WithToken(token string) Option {
	return Option{"WithToken", func(s *settings) error { s.token = token; return nil }}
}

// WithBaseURL points NewClient at another API root, such as GitHub
// Enterprise ("https://ghe.example.com/api/v3/") or a ghtest.Server.
func WithBaseURL(u string) Option {
	return Option{"WithBaseURL", func(s *settings) error {
		if u == "" {
			return fmt.Errorf("base URL is empty")
		}
		s.baseURL = u
		return nil
	}}
}

// WithHTTPClient makes NewClient send through c's transport, keeping c's
// timeout (default: http.DefaultTransport, DefaultTimeout).
func WithHTTPClient(c *http.Client) Option {
	return Option{"WithHTTPClient", func(s *settings) error {
		if c == nil {
			return fmt.Errorf("http client is nil")
		}
		s.httpClient = c
		return nil
	}}
}

// WithClock sets the clock (NewClient, NewChecker, NewFilesChecker): when
// rate limits lift, how old a run is, the time in ".broken-<time>" names.
func WithClock(c redundancy.Clock) Option {
	return Option{"WithClock", func(s *settings) error {
		if c == nil {
			return fmt.Errorf("clock is nil")
		}
		s.clock = c
		return nil
	}}
}

// WithStuckAfter sets how long a run may stay queued or in progress before
// it is stuck (NewChecker; default DefaultStuckAfter).
func WithStuckAfter(d time.Duration) Option {
	return positive("WithStuckAfter", d, func(s *settings) { s.stuckAfter = d })
}

// WithWaitingAfter sets how long a run may wait for a review or a
// deployment protection rule (status waiting, requested or pending) before
// it is reported as ProblemRunWaiting (NewChecker; default
// DefaultWaitingAfter). Such a run is never cancelled: GitHub fails it by
// itself after 30 days.
func WithWaitingAfter(d time.Duration) Option {
	return positive("WithWaitingAfter", d, func(s *settings) { s.waitAfter = d })
}

// WithCancelWait sets how long one cancel action waits for a cancelled run
// to end before it reports that the cancel has not landed yet
// (NewRecoverer; default DefaultCancelWait). Keep it below the policy's
// ActionTimeout.
func WithCancelWait(d time.Duration) Option {
	return positive("WithCancelWait", d, func(s *settings) { s.cancelWait = d })
}

// WithForceCancelAfter sets how long after an accepted cancel a run that
// has not ended is force-cancelled, and how long after a force-cancel it
// is given up (NewRecoverer; default DefaultForceCancelAfter).
func WithForceCancelAfter(d time.Duration) Option {
	return positive("WithForceCancelAfter", d, func(s *settings) { s.forceAfter = d })
}

// WithPollInterval sets how often a waiting action reads a run again
// (NewRecoverer; default DefaultPollInterval). A longer x-poll-interval
// from GitHub wins.
func WithPollInterval(d time.Duration) Option {
	return positive("WithPollInterval", d, func(s *settings) { s.poll = d })
}

// WithRateFloor sets the part of the core rate limit below which the check
// is degraded (NewChecker; default DefaultRateFloor).
func WithRateFloor(f float64) Option {
	return Option{"WithRateFloor", func(s *settings) error {
		if f < 0 || f >= 1 {
			return fmt.Errorf("floor %g is outside [0, 1)", f)
		}
		s.rateFloor = f
		return nil
	}}
}

// WithMaxReruns sets how many times the failed jobs of one run are re-run
// (judged by its run_attempt) before the backup workflow is dispatched
// (NewRecoverer; default DefaultMaxReruns; 0: never re-run).
func WithMaxReruns(n int) Option {
	return Option{"WithMaxReruns", func(s *settings) error {
		if n < 0 {
			return fmt.Errorf("count %d is negative", n)
		}
		s.maxReruns = n
		return nil
	}}
}

// WithBackupWorkflow names a workflow (file name such as "backup.yml", or
// its path) to dispatch on the branch once a failed run's re-runs are spent
// (NewRecoverer; default none). It needs a workflow_dispatch trigger.
func WithBackupWorkflow(file string) Option {
	return Option{"WithBackupWorkflow", func(s *settings) error {
		if file == "" {
			return fmt.Errorf("workflow name is empty")
		}
		s.backupWF = file
		return nil
	}}
}

// WithEnableManuallyDisabled makes the recoverer enable workflows that a
// person disabled (NewRecoverer). By default they are left alone and only
// reported.
func WithEnableManuallyDisabled(on bool) Option {
	return Option{"WithEnableManuallyDisabled", func(s *settings) error { s.enableMan = on; return nil }}
}

// WithLintIgnore drops actionlint findings whose message matches one of the
// regular expressions (NewFilesChecker).
func WithLintIgnore(patterns ...string) Option {
	return Option{"WithLintIgnore", func(s *settings) error {
		s.lintIgnore = append(s.lintIgnore, patterns...)
		return nil
	}}
}

// positive is the Option name that sets a duration d, which must be
// positive.
func positive(name string, d time.Duration, set func(*settings)) Option {
	return Option{name, func(s *settings) error {
		if d <= 0 {
			return fmt.Errorf("duration %s is not positive", d)
		}
		set(s)
		return nil
	}}
}

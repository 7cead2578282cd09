package redundancy_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
)

// A section's alert keys are laid over the file's, field by field; unset
// fields end at AlertPolicy's defaults.
func TestAlertPolicyConfigOverAndPolicy(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	file := redundancy.AlertPolicyConfig{PageRepairs: &yes, Renotify: 2 * time.Hour, Flap: redundancy.FlapConfig{Count: 5}}
	section := redundancy.AlertPolicyConfig{PageRepairs: &no, Flap: redundancy.FlapConfig{Window: 30 * time.Minute}}
	assert.Equal(t, redundancy.AlertPolicy{PageRepairs: false, Renotify: 2 * time.Hour, FlapCount: 5, FlapWindow: 30 * time.Minute},
		section.Over(file).Policy(), "page_repairs: false in a section wins over the file's true")
	assert.Equal(t, redundancy.AlertPolicy{}, redundancy.AlertPolicyConfig{}.Policy(), "nothing set: the defaults")
	never := redundancy.AlertPolicyConfig{Renotify: -time.Second, Flap: redundancy.FlapConfig{Count: -1}}
	require.NoError(t, never.Validate())
	assert.Equal(t, redundancy.AlertPolicy{Renotify: -time.Second, FlapCount: -1}, never.Policy(), "negative: never")

	for _, tc := range []struct {
		c    redundancy.AlertPolicyConfig
		want string
	}{
		{redundancy.AlertPolicyConfig{Flap: redundancy.FlapConfig{Window: -time.Minute}}, "flap.window: negative duration -1m0s"},
		{redundancy.AlertPolicyConfig{Renotify: 10 * time.Second}, "renotify: 10s is below the minimum 1m0s (a negative value: never)"},
	} {
		err := tc.c.Validate()
		var ce *redundancy.ConfigError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, tc.want, err.Error())
	}
}

// unknown_is_failing and escalation_hold are policy keys like the others:
// unset in a section, the file's value; unknown_is_failing: false in a
// section wins over the file's true.
func TestPolicyConfigUnknownIsFailingAndEscalationHold(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	file := redundancy.PolicyConfig{UnknownIsFailing: &yes, EscalationHold: 10 * time.Minute}
	p := redundancy.PolicyConfig{}.Over(file).Policy()
	assert.True(t, p.UnknownIsFailing)
	assert.Equal(t, 10*time.Minute, p.EscalationHold)
	p = redundancy.PolicyConfig{UnknownIsFailing: &no, EscalationHold: time.Minute}.Over(file).Policy()
	assert.False(t, p.UnknownIsFailing)
	assert.Equal(t, time.Minute, p.EscalationHold)
	assert.False(t, redundancy.PolicyConfig{}.Policy().UnknownIsFailing, "default: unknown is not failing")
	err := redundancy.PolicyConfig{EscalationHold: -time.Second}.Validate()
	assert.EqualError(t, err, "escalation_hold: negative duration -1s")
}

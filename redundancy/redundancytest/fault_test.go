package redundancytest_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy/redundancytest"
)

func TestFaultsMatchAndSpend(t *testing.T) {
	t.Parallel()
	var fs redundancytest.Faults
	boom := errors.New("boom")
	fs.FailNext("POST /repos/*/*/actions/runs/*/cancel", redundancytest.Fault{Status: 409, Times: 2})
	fs.FailNext("Restart", redundancytest.Fault{Err: boom})

	_, ok := fs.Take("GET /repos/o/r/actions/runs/7")
	assert.False(t, ok, "a GET must not match a POST pattern")
	for i := range 2 {
		f, ok := fs.Take("POST /repos/o/r/actions/runs/7/cancel")
		require.True(t, ok, "hit %d", i+1)
		assert.Equal(t, 409, f.Status)
	}
	_, ok = fs.Take("POST /repos/o/r/actions/runs/7/cancel")
	assert.False(t, ok, "Times: 2 is spent after two hits")

	f, ok := fs.Take("Restart")
	require.True(t, ok)
	assert.ErrorIs(t, f.Err, boom)
	_, ok = fs.Take("Restart")
	assert.False(t, ok, "Times: 0 means once")
}

func TestFaultsForeverAndClear(t *testing.T) {
	t.Parallel()
	var fs redundancytest.Faults
	fs.FailNext("", redundancytest.Fault{Status: 502, Times: -1})
	for range 5 {
		_, ok := fs.Take("POST /api/v1/sites/s1/builds")
		require.True(t, ok)
	}
	fs.ClearFaults()
	_, ok := fs.Take("POST /api/v1/sites/s1/builds")
	assert.False(t, ok)
}

func TestFaultsFirstArmedWins(t *testing.T) {
	t.Parallel()
	var fs redundancytest.Faults
	fs.FailNext("List", redundancytest.Fault{Status: 1})
	fs.FailNext("*", redundancytest.Fault{Status: 2})
	f, _ := fs.Take("List")
	assert.Equal(t, 1, f.Status)
	f, _ = fs.Take("List")
	assert.Equal(t, 2, f.Status)
	assert.False(t, redundancytest.MatchCall("[", "List"), "a malformed pattern matches nothing")
}

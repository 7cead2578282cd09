package netlify_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/netlify/netlifytest"
)

func TestProbeCustomURLHidesQuery(t *testing.T) {
	t.Parallel()
	srv := netlifytest.NewServer()
	t.Cleanup(srv.Close)
	srv.SetFunction("hello", netlifytest.Function{Status: 500})
	pc := &netlify.ProbeChecker{Endpoints: []netlify.Endpoint{{Name: "hello", URL: srv.URL() + "/.netlify/functions/hello?key=s3cr3t"}}}
	rep := pc.Check(context.Background())
	require.Len(t, rep.Findings, 1)
	assert.Contains(t, rep.Findings[0].Detail, srv.URL()+"/.netlify/functions/hello: status 500")
	assert.NotContains(t, rep.Findings[0].Detail, "s3cr3t")

	rep = (&netlify.ProbeChecker{Endpoints: []netlify.Endpoint{{Name: "x"}}}).Check(context.Background())
	require.Len(t, rep.Findings, 1)
	assert.Contains(t, rep.Findings[0].Detail, "SiteURL is empty")
}

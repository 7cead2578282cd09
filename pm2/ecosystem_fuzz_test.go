package pm2

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fuzzSecret is planted in env blocks of the seeds: no error may quote it.
const fuzzSecret = "s3cr3t-TOKEN"

func fuzzEcosystem(f *testing.F, ext string, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		eco, err := parseEcosystem("eco"+ext, ext, data)
		if err != nil {
			require.Nil(t, eco)
			require.True(t, errors.Is(err, ErrEcosystem), "error %v does not wrap ErrEcosystem", err)
			assert.NotContains(t, err.Error(), fuzzSecret)
			assertSafe(t, err.Error())
			return
		}
		require.NotNil(t, eco)
		for _, a := range eco.Apps {
			assert.NotEmpty(t, strings.TrimSpace(a.Name))
		}
	})
}

func FuzzParseEcosystemJSON(f *testing.F) {
	b, err := os.ReadFile(ecoPath("ecosystem.json"))
	require.NoError(f, err)
	fuzzEcosystem(f, ".json", string(b),
		`[{"name":"web","script":"a.js"}]`,
		`{"apps":[{"name":"web","env":{"TOKEN":"`+fuzzSecret+`"}}]}`,
		`{"apps":[{"name":5}]}`,
		`{"apps":[null]}`,
		`{"apps":{}}`,
		`{"apps":[{"name":"web","instances":"max"}]}`,
		`{"apps":[{"name":"web","env":{"TOKEN":"`+fuzzSecret,
		``, `null`, `[`)
}

func FuzzParseEcosystemYAML(f *testing.F) {
	b, err := os.ReadFile(ecoPath("ecosystem.yaml"))
	require.NoError(f, err)
	fuzzEcosystem(f, ".yaml", string(b),
		"apps:\n  - name: web\n    env:\n      TOKEN: "+fuzzSecret+"\n",
		"apps: "+fuzzSecret+"\n",
		"apps:\n  - name: [a, b]\n",
		"apps:\n  - name: web\n    instances: "+fuzzSecret+"\n",
		"a: &a [*a, *a]\napps: *a\n",
		"apps:\n  - name: web\n\tbad: tab\n",
		"apps: *"+fuzzSecret+"\n",
		"apps: !"+fuzzSecret+" x\n",
		"apps:\n  - name: web\n    instances: !!int "+fuzzSecret+"\n",
		"---\n", "")
}

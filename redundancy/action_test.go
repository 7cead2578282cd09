package redundancy_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/uras-dev/uras/redundancy"
)

func TestActionString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a    redundancy.Action
		want string
	}{
		{redundancy.Action{Verb: "pm2.restart", Subject: "web"}, "pm2.restart web"},
		{redundancy.Action{Verb: "pm2.resurrect"}, "pm2.resurrect"},
		{redundancy.Action{Subject: "web"}, "web"},
		{redundancy.Action{}, ""},
	} {
		assert.Equal(t, tc.want, tc.a.String())
	}
}

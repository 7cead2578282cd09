package pm2

import (
	"context"

	"github.com/uras-dev/uras/redundancy"
)

// PlanOps exposes planOps to the external tests: the actions for the
// problems of checker_ops, as Plan adds them.
func PlanOps(ctx context.Context, r *Recoverer, rep redundancy.Report) []redundancy.Action {
	actions, _ := r.planOps(ctx, rep, map[string]bool{})
	return actions
}

// ConfigOf exposes TargetConfig.config: the Config NewTargets gives the
// checker and the recoverer.
func ConfigOf(c *TargetConfig, home string) Config { return c.config(home) }

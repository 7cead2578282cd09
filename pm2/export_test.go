package pm2

import (
	"context"
	"strings"

	"github.com/uras-dev/uras/redundancy"
)

// PlanOps exposes planOps to the external tests: the actions for the
// problems of checker_ops, as Plan adds them.
func PlanOps(ctx context.Context, r *Recoverer, rep redundancy.Report) []redundancy.Action {
	actions, _ := r.planOps(ctx, rep, map[string]bool{})
	return actions
}

// TitleNamesHome exposes titleNamesHome: whether a daemon's command line
// (NULs and all) names home, as far as the title shows it.
func TitleNamesHome(cmdline, home string) bool {
	return titleNamesHome(strings.TrimSpace(strings.ReplaceAll(cmdline, "\x00", " ")), home)
}

// ConfigOf exposes TargetConfig.config: the Config NewTargets gives the
// checker and the recoverer.
func ConfigOf(c *TargetConfig, home string) Config { return c.config(home) }

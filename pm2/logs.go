package pm2

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/uras-dev/uras/redundancy"
)

// logFindings checks the size of every process's out and error log, of
// PM2_HOME/pm2.log, and the free space on the log volume.
func (c *Checker) logFindings(procs []Process) []redundancy.Finding {
	cfg := c.cfg
	var out []redundancy.Finding
	seen := map[string]bool{}
	var dirs, allowed []string
	for _, p := range procs {
		if len(cfg.Apps) > 0 {
			if _, ok := cfg.app(p.Name); !ok {
				continue
			}
		}
		for _, l := range []struct{ kind, path string }{{"out", p.OutLogPath}, {"error", p.ErrLogPath}} {
			if !rotatable(l.path) || seen[l.path] {
				continue
			}
			seen[l.path] = true
			dirs = append(dirs, filepath.Dir(l.path))
			if cfg.LogMaxBytes < 0 {
				continue
			}
			if fi, err := os.Stat(l.path); err == nil && fi.Size() > cfg.LogMaxBytes {
				f := redundancy.Finding{Subject: l.path, Problem: ProblemLogLarge, Status: redundancy.StatusDegraded,
					Detail: fmt.Sprintf("%s %s log is %s (limit %s)", p.Name, l.kind, bytesString(fi.Size()), bytesString(cfg.LogMaxBytes))}
				if allowed == nil {
					allowed = cfg.logDirs()
				}
				if _, ok := within(l.path, allowed); !ok {
					f.Problem = ProblemLogOutsideDirs
					f.Detail += "; outside PM2_HOME and the allowed log directories: not rotated"
				}
				out = append(out, f)
			}
		}
	}
	if cfg.Home != "" {
		dirs = append(dirs, cfg.Home)
		if cfg.DaemonLogMaxBytes >= 0 {
			path := filepath.Join(cfg.Home, DaemonLog)
			if fi, err := os.Stat(path); err == nil && fi.Size() > cfg.DaemonLogMaxBytes {
				out = append(out, redundancy.Finding{Subject: path, Problem: ProblemDaemonLogLarge, Status: redundancy.StatusDegraded,
					Detail: fmt.Sprintf("pm2.log is %s (limit %s)", bytesString(fi.Size()), bytesString(cfg.DaemonLogMaxBytes))})
			}
		}
	}
	if cfg.MinFreeBytes >= 0 && len(dirs) > 0 {
		if free, err := freeBytes(dirs[0]); err == nil && free < uint64(cfg.MinFreeBytes) {
			out = append(out, redundancy.Finding{Subject: dirs[0], Problem: ProblemDiskLow, Status: redundancy.StatusDegraded,
				Detail: fmt.Sprintf("%s free on the log volume (floor %s)", bytesString(int64(min(free, 1<<62))), bytesString(cfg.MinFreeBytes))})
		}
	}
	return out
}

// rotatable reports whether path is a log file we may rotate: set, and not
// a device such as /dev/null (PM2's "out_file: /dev/null").
func rotatable(path string) bool {
	if path == "" || path == os.DevNull {
		return false
	}
	fi, err := os.Stat(path)
	return err != nil || fi.Mode().IsRegular()
}

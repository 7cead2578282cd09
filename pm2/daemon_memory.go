package pm2

import (
	"fmt"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// memoryTrack follows one daemon's resident memory over its life: the
// first sample taken of it, the last and the peak. A new daemon (another
// pid) starts a new track.
type memoryTrack struct {
	pid         int
	first, last memorySample
	peak        uint64
}

type memorySample struct {
	at  time.Time
	rss uint64
}

// observe records a sample of pid's memory.
func (m *memoryTrack) observe(pid int, s memorySample) {
	if pid != m.pid {
		*m = memoryTrack{pid: pid, first: s}
	}
	m.last = s
	m.peak = max(m.peak, s.rss)
}

// growth describes how the memory changed since the first sample.
func (m *memoryTrack) growth() string {
	span := m.last.at.Sub(m.first.at)
	if span < time.Minute {
		return "first seen now"
	}
	delta := int64(m.last.rss) - int64(m.first.rss)
	sign := "+"
	if delta < 0 {
		sign, delta = "-", -delta
	}
	s := fmt.Sprintf("%s%s in %s since first seen (peak %s)", sign, bytesString(delta), span.Round(time.Minute), bytesString(int64(m.peak)))
	if span >= time.Hour && delta > 0 && sign == "+" {
		s += fmt.Sprintf(", about %s a day", bytesString(int64(float64(delta)/span.Hours()*24)))
	}
	return s
}

// daemonMemoryFindings samples the daemon's resident memory and reports it
// above Config.DaemonMaxMemoryBytes.
func (c *Checker) daemonMemoryFindings(now time.Time) []redundancy.Finding {
	pid := godPID(c.cfg.Home)
	if pid <= 0 {
		return nil
	}
	rss, err := procRSS(pid)
	if err != nil {
		return nil
	}
	c.ops.mu.Lock()
	defer c.ops.mu.Unlock()
	c.ops.daemon.observe(pid, memorySample{at: now, rss: rss})
	if rss <= c.cfg.DaemonMaxMemoryBytes {
		return nil
	}
	d := fmt.Sprintf("PM2 daemon (pid %d) uses %s resident, above the bound %s; %s", pid, bytesString(int64(rss)),
		bytesString(int64(c.cfg.DaemonMaxMemoryBytes)), c.ops.daemon.growth())
	if c.cfg.MaintenanceWindow == nil {
		d += "; no maintenance window configured: alert only"
	}
	return []redundancy.Finding{{Subject: SubjectDaemon, Problem: ProblemDaemonMemoryHigh, Status: redundancy.StatusDegraded, Detail: d}}
}

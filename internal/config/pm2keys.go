package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/uras-dev/uras/pm2"
)

// Size is a byte count written with a unit: 10MB, 512KiB, 1.5G, 4096 (bytes).
// KB, MB, GB, TB are powers of 1000; KiB, MiB, GiB, TiB and the bare K, M,
// G, T (PM2's own "150M") are powers of 1024; units are case-insensitive.
// Where a key says so, "off" turns the check off (SizeOff).
type Size int64

// SizeOff is the value of a Size written "off".
const SizeOff Size = -1

// sizeUnits maps a unit, lower-cased, to its multiplier.
var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
	"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
}

// ParseSize reads a Size (see Size): "10MB", "512KiB", "1.5G", "4096",
// "off".
func ParseSize(s string) (Size, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "off" {
		return SizeOff, nil
	}
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	mult, ok := sizeUnits[unit]
	if num == "" || !ok {
		return 0, fmt.Errorf("bad size %q (want a number and a unit, such as 10MB, 512KiB or 1G)", s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("bad size %q (want a number and a unit, such as 10MB, 512KiB or 1G)", s)
	}
	bytes := v * mult
	if bytes > math.MaxInt64/2 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return Size(bytes), nil
}

// UnmarshalYAML reads a Size; a bad one is an error naming the line.
func (z *Size) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: want a size such as 10MB", n.Line)}}
	}
	v, err := ParseSize(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*z = v
	return nil
}

// MarshalYAML writes the size in bytes ("off" for SizeOff).
func (z Size) MarshalYAML() (any, error) {
	if z == SizeOff {
		return "off", nil
	}
	return int64(z), nil
}

// Bytes returns the size in bytes, or mb MiB when the size is unset (the
// older *_mb key), or -1 for off.
func (z Size) Bytes(mb int64) int64 {
	switch {
	case z == SizeOff:
		return -1
	case z != 0:
		return int64(z)
	}
	return mb << 20
}

// PM2Probe checks that an app PM2 calls online really serves (see
// pm2.Probe).
type PM2Probe struct {
	Port         int      `yaml:"port"`          // TCP port to dial (and to look up on EADDRINUSE)
	Host         string   `yaml:"host"`          // default 127.0.0.1
	URL          string   `yaml:"url"`           // http(s) URL that must answer 2xx/3xx
	ExpectStatus int      `yaml:"expect_status"` // the one status that passes
	Timeout      Duration `yaml:"timeout"`       // default 2s
	Grace        Duration `yaml:"grace"`         // after a start; default 10s
	// OwnHolders declares processes outside PM2 holding the port as ours
	// (command-line substrings): only those may be stopped. Default none.
	OwnHolders []string `yaml:"own_holders"`
}

// Probe returns the probe as package pm2 takes it.
func (p *PM2Probe) Probe() *pm2.Probe {
	if p == nil {
		return nil
	}
	return &pm2.Probe{Port: p.Port, Host: p.Host, URL: p.URL, ExpectStatus: p.ExpectStatus,
		Timeout: time.Duration(p.Timeout), Grace: time.Duration(p.Grace), OwnHolders: p.OwnHolders}
}

// validatePM2Keys checks the PM2 keys of sizes, counts, log directories
// and probes.
func validatePM2Keys(bad func(string, string, ...any) *Error, p *PM2) *Error {
	l := p.Limits
	for _, pair := range []struct {
		key, old string
		size     Size
		mb       int64
		offOK    bool
	}{
		{"pm2.limits.log_max", "log_max_mb", l.LogMax, l.LogMaxMB, true},
		{"pm2.limits.min_free", "min_free_mb", l.MinFree, l.MinFreeMB, true},
		{"pm2.limits.max_memory", "max_memory_mb", l.MaxMemory, int64(min(l.MaxMemoryMB, math.MaxInt64>>20)), false},
		{"pm2.limits.daemon_log_max", "", l.DaemonLogMax, 0, true},
		{"pm2.limits.daemon_max_memory", "", l.DaemonMaxMemory, 0, false},
	} {
		if pair.size != 0 && pair.mb != 0 { // a negative *_mb (off, as before) counts as given
			return bad(pair.key, "give %s or %s, not both", pair.key[strings.LastIndexByte(pair.key, '.')+1:], pair.old)
		}
		if pair.size == SizeOff && !pair.offOK {
			return bad(pair.key, `"off" is not allowed here (leave it out for no limit)`)
		}
	}
	for _, f := range []struct {
		key string
		v   int
	}{{"pm2.limits.log_keep", l.LogKeep}, {"pm2.limits.cpu_checks", l.CPUChecks}, {"pm2.limits.crash_loop_restarts", l.CrashLoopRestarts}} {
		if f.v < 0 {
			return bad(f.key, "may not be negative")
		}
	}
	for i, d := range p.LogDirs {
		if strings.TrimSpace(d) == "" {
			return bad(fmt.Sprintf("pm2.log_dirs[%d]", i), "empty directory")
		}
	}
	for i, a := range p.Apps {
		key := fmt.Sprintf("pm2.apps[%d]", i)
		if a.MaxMemory != 0 && a.MaxMemoryMB != 0 {
			return bad(key+".max_memory", "give max_memory or max_memory_mb, not both")
		}
		if a.MaxMemory == SizeOff {
			return bad(key+".max_memory", `"off" is not allowed here (leave it out for no limit)`)
		}
		if a.Probe != nil {
			if err := a.Probe.Probe().Validate(); err != nil {
				return bad(key+".probe", "%s", strings.TrimPrefix(err.Error(), "pm2: probe: "))
			}
		}
	}
	return nil
}

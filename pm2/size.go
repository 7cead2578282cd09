package pm2

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Size is a byte count written with a unit in a configuration file: 10MB,
// 512KiB, 1.5G, 4096 (bytes). KB, MB, GB, TB are powers of 1000; KiB, MiB,
// GiB, TiB and the bare K, M, G, T (PM2's own "150M") are powers of 1024;
// units are case-insensitive. Where a key says so, "off" turns a check off
// (SizeOff).
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

// ParseSize reads a Size: "10MB", "512KiB", "1.5G", "4096", "off".
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
	v, err := strconv.ParseFloat(num, 64)
	if num == "" || !ok || err != nil {
		return 0, fmt.Errorf("bad size %q (want a number and a unit, such as 10MB, 512KiB or 1G)", s)
	}
	if v*mult > math.MaxInt64/2 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return Size(v * mult), nil
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

// String returns the size in bytes, or "off".
func (z Size) String() string {
	if z == SizeOff {
		return "off"
	}
	return strconv.FormatInt(int64(z), 10) + "B"
}

// bytes returns the size in bytes, or mb MiB when the size is unset (the
// older *_mb key), or -1 for off.
func (z Size) bytes(mb int64) int64 {
	switch {
	case z == SizeOff:
		return -1
	case z != 0:
		return int64(z)
	}
	return mb << 20
}

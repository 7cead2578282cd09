package pm2

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// AppDefinition is how PM2 runs one app, as its dump file saves it: the
// script, its arguments, the interpreter, the exec mode, the instance count
// and the restart settings. It carries typed fields only: the environment
// (pm2_env.env and the variables PM2 copies beside it) is never decoded
// into it, so a definition holds no secret and starting an app from it
// gives the app the environment of whoever starts it, not its saved one.
type AppDefinition struct {
	Name            string   `json:"name"`
	Namespace       string   `json:"namespace,omitempty"`
	Script          string   `json:"script"`                     // pm_exec_path
	Cwd             string   `json:"cwd,omitempty"`              // pm_cwd
	Args            []string `json:"args,omitempty"`             // args
	Interpreter     string   `json:"interpreter,omitempty"`      // exec_interpreter
	InterpreterArgs []string `json:"interpreter_args,omitempty"` // node_args
	ExecMode        ExecMode `json:"exec_mode,omitempty"`
	// Instances is how many processes of the app run (the dump saves one
	// entry per instance).
	Instances int `json:"instances"`
	// Autorestart is PM2's autorestart (nil: PM2's default, true).
	Autorestart      *bool  `json:"autorestart,omitempty"`
	MaxMemoryRestart int64  `json:"max_memory_restart,omitempty"` // bytes
	MinUptimeMS      int64  `json:"min_uptime_ms,omitempty"`
	MaxRestarts      int    `json:"max_restarts,omitempty"`
	RestartDelayMS   int64  `json:"restart_delay_ms,omitempty"`
	KillTimeoutMS    int64  `json:"kill_timeout_ms,omitempty"`
	CronRestart      string `json:"cron_restart,omitempty"`
	OutFile          string `json:"out_file,omitempty"`   // pm_out_log_path
	ErrorFile        string `json:"error_file,omitempty"` // pm_err_log_path
	MergeLogs        bool   `json:"merge_logs,omitempty"`
}

// wireDefinition holds the fields of one dump entry (a pm2_env object)
// that AppDefinition carries; nothing else of the entry is decoded.
type wireDefinition struct {
	Name             string      `json:"name"`
	Namespace        string      `json:"namespace"`
	ExecPath         string      `json:"pm_exec_path"`
	Cwd              string      `json:"pm_cwd"`
	Args             wireStrings `json:"args"`
	Interpreter      string      `json:"exec_interpreter"`
	NodeArgs         wireStrings `json:"node_args"`
	ExecMode         string      `json:"exec_mode"`
	Autorestart      *looseBool  `json:"autorestart"`
	MaxMemoryRestart looseNum    `json:"max_memory_restart"`
	MinUptime        looseNum    `json:"min_uptime"`
	MaxRestarts      looseNum    `json:"max_restarts"`
	RestartDelay     looseNum    `json:"restart_delay"`
	KillTimeout      looseNum    `json:"kill_timeout"`
	CronRestart      wireString  `json:"cron_restart"`
	OutLogPath       string      `json:"pm_out_log_path"`
	ErrLogPath       string      `json:"pm_err_log_path"`
	MergeLogs        looseBool   `json:"merge_logs"`
}

func (w *wireDefinition) definition() AppDefinition {
	d := AppDefinition{
		Name:             w.Name,
		Namespace:        w.Namespace,
		Script:           w.ExecPath,
		Cwd:              w.Cwd,
		Args:             []string(w.Args),
		Interpreter:      w.Interpreter,
		InterpreterArgs:  []string(w.NodeArgs),
		ExecMode:         ExecMode(w.ExecMode),
		Instances:        1,
		MaxMemoryRestart: int64(w.MaxMemoryRestart),
		MinUptimeMS:      int64(w.MinUptime),
		MaxRestarts:      int(min(w.MaxRestarts, 1<<30)),
		RestartDelayMS:   int64(w.RestartDelay),
		KillTimeoutMS:    int64(w.KillTimeout),
		CronRestart:      string(w.CronRestart),
		OutFile:          w.OutLogPath,
		ErrorFile:        w.ErrLogPath,
		MergeLogs:        bool(w.MergeLogs),
	}
	if w.Autorestart != nil {
		b := bool(*w.Autorestart)
		d.Autorestart = &b
	}
	if !d.MergeLogs {
		// Each instance logs to <file>-<pm id>.log: keep the file the
		// app declares, from which PM2 derives them again.
		d.OutFile = instanceSuffix.ReplaceAllString(d.OutFile, "$1")
		d.ErrorFile = instanceSuffix.ReplaceAllString(d.ErrorFile, "$1")
	}
	return d
}

// instanceSuffix is the "-<pm id>" PM2 puts before the extension of an
// instance's own log file.
var instanceSuffix = regexp.MustCompile(`-[0-9]+(\.[A-Za-z0-9]+)?$`)

// decodeDump reads a dump's entries (a JSON array of pm2_env objects):
// the name of each entry, in file order, and the apps' definitions, the
// entries of one app's instances merged into one, in first-seen order.
// Entries without a name are skipped.
func decodeDump(data []byte) (names []string, apps []AppDefinition, err error) {
	var entries []*wireDefinition
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, nil, fmt.Errorf("%w: decode dump: %s", ErrBadOutput, safeJSONError(err))
	}
	for _, e := range entries {
		if e == nil || e.Name == "" {
			continue
		}
		names = append(names, e.Name)
		if i := slices.IndexFunc(apps, func(d AppDefinition) bool { return d.Name == e.Name }); i >= 0 {
			apps[i].Instances++
			continue
		}
		apps = append(apps, e.definition())
	}
	return names, apps, nil
}

// ecosystemApp is the app object of a JSON ecosystem file that starts d
// as PM2 saved it (without its environment).
func (d AppDefinition) ecosystemApp() map[string]any {
	app := map[string]any{"name": d.Name, "script": d.Script}
	set := func(k string, v any, ok bool) {
		if ok {
			app[k] = v
		}
	}
	set("namespace", d.Namespace, d.Namespace != "" && d.Namespace != "default")
	set("cwd", d.Cwd, d.Cwd != "")
	set("args", d.Args, len(d.Args) > 0)
	set("interpreter", d.Interpreter, d.Interpreter != "")
	set("node_args", d.InterpreterArgs, len(d.InterpreterArgs) > 0)
	set("exec_mode", string(d.ExecMode), d.ExecMode != "")
	set("instances", d.Instances, d.Instances > 1)
	if d.Autorestart != nil {
		app["autorestart"] = *d.Autorestart
	}
	set("max_memory_restart", d.MaxMemoryRestart, d.MaxMemoryRestart > 0)
	set("min_uptime", d.MinUptimeMS, d.MinUptimeMS > 0)
	set("max_restarts", d.MaxRestarts, d.MaxRestarts > 0)
	set("restart_delay", d.RestartDelayMS, d.RestartDelayMS > 0)
	set("kill_timeout", d.KillTimeoutMS, d.KillTimeoutMS > 0)
	set("cron_restart", d.CronRestart, d.CronRestart != "")
	set("out_file", d.OutFile, d.OutFile != "")
	set("error_file", d.ErrorFile, d.ErrorFile != "")
	set("merge_logs", true, d.MergeLogs)
	return app
}

// wireStrings is a list of strings PM2 may also hold as one string
// (split on spaces, as PM2 does) or null.
type wireStrings []string

func (s *wireStrings) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*s = nil
		return nil
	case len(b) > 0 && b[0] == '"':
		var one string
		if json.Unmarshal(b, &one) != nil {
			return wireError("a malformed string where a list of strings was expected")
		}
		*s = strings.Fields(one)
		return nil
	}
	var list []string
	if json.Unmarshal(b, &list) != nil {
		return wireError("a value that is not a list of strings where one was expected")
	}
	*s = list
	return nil
}

// wireString is a string PM2 may also hold as null or false (unset).
type wireString string

func (s *wireString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var v string
		if json.Unmarshal(b, &v) != nil {
			return wireError("a malformed string")
		}
		*s = wireString(v)
		return nil
	}
	*s = "" // null, false, a number: not a string setting
	return nil
}

// looseNum is a setting PM2 holds as a number, a numeric string or
// something else (a unit string such as "300M" it did not convert, null):
// anything that is not a non-negative number reads as 0, unset. A setting
// never makes a whole dump unreadable.
type looseNum int64

func (n *looseNum) UnmarshalJSON(b []byte) error {
	var w wireNum
	if w.UnmarshalJSON(b) != nil || w < 0 || w > 1<<53 {
		*n = 0
		return nil
	}
	*n = looseNum(w)
	return nil
}

// looseBool is a boolean setting; anything that is not true or "true"
// reads as false.
type looseBool bool

func (v *looseBool) UnmarshalJSON(b []byte) error {
	var w wireBool
	*v = looseBool(w.UnmarshalJSON(b) == nil && bool(w))
	return nil
}

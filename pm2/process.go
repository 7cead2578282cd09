package pm2

import "time"

// ProcessStatus is PM2's status of a process (pm2_env.status). Values PM2
// adds later are kept as they come, not rejected.
type ProcessStatus string

// The statuses PM2 uses.
const (
	StatusOnline         ProcessStatus = "online"
	StatusStopping       ProcessStatus = "stopping"
	StatusStopped        ProcessStatus = "stopped"
	StatusLaunching      ProcessStatus = "launching"
	StatusErrored        ProcessStatus = "errored"
	StatusOneLaunch      ProcessStatus = "one-launch-status"
	StatusWaitingRestart ProcessStatus = "waiting restart"
)

// ExecMode is fork or cluster (pm2_env.exec_mode).
type ExecMode string

// The exec modes.
const (
	ExecFork    ExecMode = "fork_mode"
	ExecCluster ExecMode = "cluster_mode"
)

// Process is one PM2-managed process. It carries typed fields only: PM2's
// environment dump (pm2_env.env and the variables PM2 copies into pm2_env)
// is never decoded into it.
type Process struct {
	ID               int           `json:"pm_id"`
	Name             string        `json:"name"`
	Namespace        string        `json:"namespace,omitempty"`
	PID              int           `json:"pid"`
	Status           ProcessStatus `json:"status"`
	Restarts         int           `json:"restarts"`          // restart_time
	UnstableRestarts int           `json:"unstable_restarts"` // unstable_restarts
	StartedAt        time.Time     `json:"started_at"`        // pm_uptime
	CreatedAt        time.Time     `json:"created_at"`        // created_at
	MemoryBytes      uint64        `json:"memory_bytes"`      // monit.memory
	CPUPercent       float64       `json:"cpu_percent"`       // monit.cpu
	ExecMode         ExecMode      `json:"exec_mode"`
	OutLogPath       string        `json:"out_log_path,omitempty"`
	ErrLogPath       string        `json:"err_log_path,omitempty"`
	ExitCode         *int          `json:"exit_code,omitempty"` // exit_code, when PM2 reports one
	Autorestart      bool          `json:"autorestart"`
}

package ghactions

import "github.com/uras-dev/uras/redundancy"

// Problems this package reports. The codes are stable.
const (
	// Workflow files (FilesChecker).
	ProblemFileInvalid redundancy.Problem = "github.workflow-file-invalid" // actionlint found errors
	ProblemFileMissing redundancy.Problem = "github.workflow-file-missing" // a known-good file was deleted
	ProblemFileEmpty   redundancy.Problem = "github.workflow-file-empty"   // the file is empty or blank

	// Repository health (Checker).
	ProblemWorkflowDisabled         redundancy.Problem = "github.workflow-disabled"          // disabled_inactivity or disabled_fork
	ProblemWorkflowDisabledManually redundancy.Problem = "github.workflow-disabled-manually" // a person disabled it
	ProblemWorkflowState            redundancy.Problem = "github.workflow-state"             // a state this package does not know
	ProblemWorkflowNotFound         redundancy.Problem = "github.workflow-not-found"         // a configured workflow is not in the repository
	ProblemRunFailed                redundancy.Problem = "github.run-failed"                 // latest completed run: failure, timed_out, startup_failure
	ProblemRunCancelled             redundancy.Problem = "github.run-cancelled"              // latest completed run: cancelled
	ProblemRunActionRequired        redundancy.Problem = "github.run-action-required"        // latest completed run: action_required (or stale)
	ProblemRunStuck                 redundancy.Problem = "github.run-stuck"                  // queued or in progress past the bound
	ProblemRunWaiting               redundancy.Problem = "github.run-waiting"                // waiting, requested or pending past the bound (alert only)
	ProblemRateLimitLow             redundancy.Problem = "github.rate-limit-low"             // less than the floor of the core limit left
	ProblemRateLimited              redundancy.Problem = "github.rate-limited"               // a limit is spent: nothing could be asked
	ProblemAPIUnreachable           redundancy.Problem = "github.api-unreachable"            // the API failed (5xx, timeout, bad answer)
)

// Action verbs this package plans. They are stable.
const (
	VerbEnableWorkflow   = "github.enable-workflow"
	VerbRerunFailedJobs  = "github.rerun-failed-jobs"
	VerbDispatchWorkflow = "github.dispatch-workflow"
	VerbCancelRun        = "github.cancel-run"  // cancel, force-cancel when cancel cannot land, wait for the end
	VerbRestartRun       = "github.restart-run" // after a cancel: re-run, or dispatch anew after a force-cancel
	VerbRerunWorkflow    = "github.rerun-workflow"
	VerbRestoreFile      = "github.restore-workflow-file"
)

// WorkflowState is a workflow's "state" as GitHub reports it. Values this
// package does not know are kept as they came.
type WorkflowState string

// The workflow states GitHub documents.
const (
	WorkflowActive             WorkflowState = "active"
	WorkflowDeleted            WorkflowState = "deleted"
	WorkflowDisabledFork       WorkflowState = "disabled_fork"
	WorkflowDisabledInactivity WorkflowState = "disabled_inactivity"
	WorkflowDisabledManually   WorkflowState = "disabled_manually"
)

// RunStatus is a run's "status"; RunConclusion its "conclusion" once
// completed. Unknown values are kept.
type (
	RunStatus     string
	RunConclusion string
)

// awaitsApproval reports whether a run in status s waits for something
// other than a runner: a required reviewer or a deployment protection rule
// (waiting), or approval to run at all (requested, pending). GitHub fails
// such a run by itself after 30 days; it is never stuck.
func (s RunStatus) awaitsApproval() bool {
	return s == RunWaiting || s == RunRequested || s == RunPending
}

// Run statuses and conclusions GitHub documents.
const (
	RunCompleted  RunStatus = "completed"
	RunQueued     RunStatus = "queued"
	RunInProgress RunStatus = "in_progress"
	RunWaiting    RunStatus = "waiting"
	RunPending    RunStatus = "pending"
	RunRequested  RunStatus = "requested"

	ConclusionSuccess        RunConclusion = "success"
	ConclusionFailure        RunConclusion = "failure"
	ConclusionNeutral        RunConclusion = "neutral"
	ConclusionCancelled      RunConclusion = "cancelled"
	ConclusionSkipped        RunConclusion = "skipped"
	ConclusionTimedOut       RunConclusion = "timed_out"
	ConclusionActionRequired RunConclusion = "action_required"
	ConclusionStartupFailure RunConclusion = "startup_failure"
	ConclusionStale          RunConclusion = "stale"
)

// judge returns the problem and status a completed run's conclusion makes,
// or ok false when the conclusion is fine.
func (c RunConclusion) judge() (redundancy.Problem, redundancy.Status, bool) {
	switch c {
	case ConclusionSuccess, ConclusionNeutral, ConclusionSkipped:
		return "", redundancy.StatusHealthy, false
	case ConclusionFailure, ConclusionTimedOut, ConclusionStartupFailure:
		return ProblemRunFailed, redundancy.StatusUnhealthy, true
	case ConclusionCancelled:
		return ProblemRunCancelled, redundancy.StatusDegraded, true
	default: // action_required, stale, and values GitHub may add
		return ProblemRunActionRequired, redundancy.StatusDegraded, true
	}
}

// ProblemDeps returns the dependencies between the problems of a
// repository target (redundancy.Target.ProblemDeps, set by NewTargets):
// the problems of runs and workflows depend on ProblemAPIUnreachable and
// ProblemRateLimited, so that during a GitHub outage or a spent rate limit
// the one alert is the API's (its Affected lists the rest) and no run is
// re-run or workflow enabled against an API that cannot answer.
func ProblemDeps() redundancy.ProblemDeps {
	api := []redundancy.Problem{ProblemAPIUnreachable, ProblemRateLimited}
	d := redundancy.ProblemDeps{}
	for _, p := range []redundancy.Problem{
		ProblemRunFailed, ProblemRunCancelled, ProblemRunActionRequired, ProblemRunStuck, ProblemRunWaiting,
		ProblemWorkflowDisabled, ProblemWorkflowDisabledManually, ProblemWorkflowState, ProblemWorkflowNotFound,
	} {
		d[p] = api
	}
	return d
}

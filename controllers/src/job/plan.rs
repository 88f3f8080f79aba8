//! The Job decision: from a Job and the pods of its namespace, which pods to adopt, release, create and
//! delete, the status to report, the events to record and whether the Job has outlived its
//! `ttlSecondsAfterFinished`. Pure: no IO, no clock (the caller passes `now`).
//!
//! Counting finished pods: Kubernetes keeps a finalizer on every Job pod and moves finished pods through
//! `status.uncountedTerminatedPods` into the counters, so a finished pod deleted early is still counted. Here
//! the counters are the finished pods that exist, never lower than the counters already reported
//! (`uncountedTerminatedPods` stays empty). A finished pod deleted before the Job finishes is then forgotten
//! by the next count that exceeds it, which can cost an extra run of a NonIndexed Job; an Indexed Job is
//! exact, since `completedIndexes` keeps every index once seen.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use api::selector::LabelSelector;
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobSpec, JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::indexes;
use crate::owners;
use crate::pods;

/// The `spec.managedBy` value that names this controller (a Job managed by another is left alone).
pub const MANAGED_BY: &str = "kubernetes.io/job-controller";

/// How long a Job waits before replacing failed pods: `base` after the first failure, doubling with each
/// further one, at most `max` (Kubernetes: 10 s and 6 minutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay after one failure.
    pub base: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { base: Duration::from_secs(10), max: Duration::from_secs(360) }
    }
}

impl Backoff {
    /// The delay after `failures` failures (none after none).
    pub fn after(&self, failures: i32) -> Duration {
        if failures <= 0 {
            return Duration::ZERO;
        }
        let doublings = u32::try_from(failures - 1).unwrap_or(0).min(20);
        self.base.saturating_mul(1 << doublings).min(self.max)
    }
}

/// What the plan is given.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The Job as cached.
    pub job: &'a Job,
    /// The pods of the Job's namespace, in any order.
    pub pods: &'a [Arc<Pod>],
    /// False while earlier creations or deletions are not in the cache yet: nothing more is created or
    /// deleted then, only status is reported.
    pub manage: bool,
    /// The time now.
    pub now: Timestamp,
    /// How long replacements of failed pods wait.
    pub backoff: Backoff,
}

/// An event to record about the Job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Whether it is a `Warning` (otherwise `Normal`).
    pub warning: bool,
    /// The event reason (`Completed`, `BackoffLimitExceeded`...).
    pub reason: &'static str,
    /// The event message.
    pub message: String,
}

/// What one reconcile of a Job should do.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Orphan pods matching the selector, to take ownership of.
    pub adopt: Vec<String>,
    /// Owned pods that no longer match the selector, to let go.
    pub release: Vec<String>,
    /// Pods to create: one entry per pod, its completion index for an Indexed Job.
    pub create: Vec<Option<i32>>,
    /// Active pods to delete.
    pub delete: Vec<String>,
    /// The status to write (equal to the current one when nothing changed).
    pub status: JobStatus,
    /// Events to record once the status is written.
    pub notes: Vec<Note>,
    /// The Job finished more than `ttlSecondsAfterFinished` ago: delete it (and its pods).
    pub delete_job: bool,
    /// When to look again (a backoff or deadline ending, a TTL expiring).
    pub recheck_after: Option<Duration>,
}

/// Why a Job cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The selector does not parse (validation should have refused it).
    #[error("invalid selector: {0}")]
    Selector(String),
}

/// A terminal or pre-terminal condition: (type, reason, message).
type Finish = (&'static str, &'static str, &'static str);

const BACKOFF_LIMIT: Finish =
    ("FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit");
const DEADLINE: Finish =
    ("FailureTarget", "DeadlineExceeded", "Job was active longer than specified deadline");
const SUCCESS: Finish =
    ("SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods");

/// Plans one reconcile.
pub fn plan(input: Input<'_>) -> Result<Plan, PlanError> {
    let Input { job, now, .. } = input;
    let spec = job.spec.clone().unwrap_or_default();
    let current = job.status.clone().unwrap_or_default();
    let mut plan = Plan { status: current.clone(), ..Plan::default() };
    if spec.managed_by.as_deref().is_some_and(|m| m != MANAGED_BY)
        || job.metadata.deletion_timestamp.is_some()
    {
        return Ok(plan);
    }
    if let Some(finished_at) = finished_at(&current) {
        expire(&mut plan, spec.ttl_seconds_after_finished, finished_at, now);
        return Ok(plan);
    }

    let uid = job.metadata.uid.as_deref().unwrap_or_default();
    let selector = spec
        .selector
        .as_ref()
        .map(LabelSelector::from_k8s)
        .transpose()
        .map_err(|e| PlanError::Selector(e.to_string()))?
        .unwrap_or_else(LabelSelector::nothing);
    let claim = owners::claim(uid, &selector, false, input.pods.iter().map(AsRef::as_ref));
    plan.adopt = claim.adopt;
    plan.release = claim.release;
    let owned = claim.owned;

    let indexed = spec.completion_mode.as_deref() == Some("Indexed") && spec.completions.is_some();
    let completions = spec.completions;
    let mut active: Vec<&Pod> = owned.iter().copied().filter(|p| pods::is_active(p)).collect();
    let terminating =
        owned.iter().filter(|p| p.metadata.deletion_timestamp.is_some() && !pods::is_finished(p)).count();
    let failed_pods: Vec<&Pod> = owned.iter().copied().filter(|p| pods::phase(p) == "Failed").collect();
    let succeeded_pods = owned.iter().filter(|p| pods::phase(p) == "Succeeded");

    let mut completed = BTreeSet::new();
    let succeeded = if let (true, Some(total)) = (indexed, completions) {
        completed = indexes::parse(current.completed_indexes.as_deref().unwrap_or_default(), total);
        completed.extend(succeeded_pods.filter_map(|p| indexes::of(p, total)));
        completed.len() as i32
    } else {
        (succeeded_pods.count() as i32).max(current.succeeded.unwrap_or(0))
    };
    let failed = (failed_pods.len() as i32).max(current.failed.unwrap_or(0));

    let suspended = spec.suspend == Some(true);
    let mut conditions = current.conditions.clone().unwrap_or_default();
    let mut notes = Vec::new();
    suspension(&mut conditions, &mut notes, suspended, now);
    let start_time = if suspended { None } else { Some(current.start_time.clone().unwrap_or(Time(now))) };

    // A pre-terminal condition, once set, stays: the Job only waits for its pods to stop.
    let target = conditions
        .iter()
        .find(|c| matches!(c.type_.as_str(), "FailureTarget" | "SuccessCriteriaMet") && c.status == "True")
        .map(|c| (c.type_.clone(), c.reason.clone(), c.message.clone()));
    let target = target.or_else(|| {
        let (type_, reason, message) =
            finish(&spec, succeeded, failed, &active, suspended, start_time.as_ref(), now)?;
        set_condition(&mut conditions, condition(type_, reason, message, now));
        Some((type_.to_owned(), Some(reason.to_owned()), Some(message.to_owned())))
    });

    let mut completion_time = current.completion_time.clone();
    if let Some((type_, reason, message)) = target {
        // Finishing: stop what still runs, then declare the end once nothing does.
        if input.manage {
            plan.delete = active.iter().filter_map(|p| p.metadata.name.clone()).collect();
        }
        if active.is_empty() && terminating == 0 {
            let reason = reason.unwrap_or_default();
            let message = message.unwrap_or_default();
            if type_ == "SuccessCriteriaMet" {
                set_condition(&mut conditions, condition("Complete", &reason, &message, now));
                completion_time = Some(Time(now));
                notes.push(Note { warning: false, reason: "Completed", message: "Job completed".to_owned() });
            } else {
                set_condition(&mut conditions, condition("Failed", &reason, &message, now));
                let reason = if reason == DEADLINE.1 { DEADLINE.1 } else { BACKOFF_LIMIT.1 };
                notes.push(Note { warning: true, reason, message });
            }
            if let Some(ttl) = spec.ttl_seconds_after_finished {
                plan.recheck_after = Some(Duration::from_secs(u64::try_from(ttl).unwrap_or(0)));
            }
        }
    } else {
        let parallelism = spec.parallelism.unwrap_or(1).max(0);
        let wanted = if suspended {
            0
        } else {
            match completions {
                // A work queue: once one pod succeeded, no new ones start; the others finish on their own.
                None if succeeded > 0 => active.len() as i32,
                None => parallelism,
                Some(total) => parallelism.min((total - succeeded).max(0)),
            }
        };
        let want = usize::try_from(wanted).unwrap_or(0);
        if input.manage {
            if let (true, Some(total)) = (indexed, completions) {
                plan_indexed(&mut plan, &mut active, &completed, total, want);
            } else if active.len() > want {
                active.sort_by(|a, b| pods::deletion_order(a, b));
                let surplus = active.len() - want;
                plan.delete = active[..surplus].iter().filter_map(|p| p.metadata.name.clone()).collect();
            } else {
                plan.create = vec![None; want - active.len()];
            }
            if !plan.create.is_empty() {
                // Replacements of failed pods wait out the backoff from the latest failure.
                let backoff_left = last_failure(&failed_pods)
                    .and_then(|at| {
                        at.checked_add(SignedDuration::try_from(input.backoff.after(failed)).ok()?).ok()
                    })
                    .filter(|ready_at| *ready_at > now)
                    .map(|ready_at| now.duration_until(ready_at).unsigned_abs());
                if let Some(left) = backoff_left {
                    plan.create.clear();
                    plan.recheck_after = Some(left);
                }
            }
        }
        if let Some(deadline) = deadline(spec.active_deadline_seconds, start_time.as_ref())
            && !suspended
        {
            let until_deadline = now.duration_until(deadline).unsigned_abs();
            plan.recheck_after = Some(plan.recheck_after.map_or(until_deadline, |w| w.min(until_deadline)));
        }
    }

    let ready = active.iter().filter(|p| pods::is_ready(p)).count() as i32;
    plan.status = JobStatus {
        active: Some(active.len() as i32),
        ready: Some(ready),
        terminating: Some(terminating as i32),
        succeeded: Some(succeeded),
        failed: Some(failed),
        completed_indexes: (indexed && !completed.is_empty()).then(|| indexes::format(&completed)),
        failed_indexes: current.failed_indexes.clone(),
        start_time,
        completion_time,
        conditions: (!conditions.is_empty()).then_some(conditions),
        uncounted_terminated_pods: Some(UncountedTerminatedPods::default()),
    };
    plan.notes = notes;
    Ok(plan)
}

/// Indexed Jobs: one active pod per index still to complete. Duplicates of an index, pods without a valid
/// one and pods of completed indexes go; the lowest pending indexes start, up to `want` active pods.
fn plan_indexed(plan: &mut Plan, active: &mut Vec<&Pod>, completed: &BTreeSet<i32>, total: i32, want: usize) {
    active.sort_by(|a, b| pods::deletion_order(a, b).reverse());
    let mut running: BTreeMap<i32, &Pod> = BTreeMap::new();
    let mut keep = Vec::new();
    for pod in active.iter().copied() {
        match indexes::of(pod, total) {
            Some(index) if !completed.contains(&index) && !running.contains_key(&index) => {
                running.insert(index, pod);
                keep.push(pod);
            }
            _ => plan.delete.extend(pod.metadata.name.clone()),
        }
    }
    if keep.len() > want {
        // Highest indexes go first, so the lowest keep running.
        let surplus: Vec<i32> = running.keys().rev().take(keep.len() - want).copied().collect();
        for index in surplus {
            if let Some(pod) = running.remove(&index) {
                plan.delete.extend(pod.metadata.name.clone());
            }
        }
    } else {
        let pending = (0..total).filter(|i| !completed.contains(i) && !running.contains_key(i));
        plan.create = pending.take(want - keep.len()).map(Some).collect();
    }
    plan.delete.sort();
}

/// Whether the Job has just met its end: too many failures, past its deadline, or enough successes with
/// nothing left running. Failure wins over success, as in Kubernetes.
fn finish(
    spec: &JobSpec,
    succeeded: i32,
    failed: i32,
    active: &[&Pod],
    suspended: bool,
    start_time: Option<&Time>,
    now: Timestamp,
) -> Option<Finish> {
    let done = match spec.completions {
        None => succeeded > 0 && active.is_empty(),
        Some(total) => succeeded >= total && active.is_empty(),
    };
    if failed > spec.backoff_limit.unwrap_or(6) || past_backoff_limit_on_failure(spec, active) {
        Some(BACKOFF_LIMIT)
    } else if !suspended && deadline(spec.active_deadline_seconds, start_time).is_some_and(|d| d <= now) {
        Some(DEADLINE)
    } else {
        done.then_some(SUCCESS)
    }
}

/// With `restartPolicy: OnFailure` failed containers restart in place; their restarts count against
/// `backoffLimit` (Kubernetes' `pastBackoffLimitOnFailure`).
fn past_backoff_limit_on_failure(spec: &JobSpec, active: &[&Pod]) -> bool {
    let template = spec.template.spec.as_ref();
    if template.and_then(|s| s.restart_policy.as_deref()) != Some("OnFailure") {
        return false;
    }
    let restarts: i32 = active
        .iter()
        .filter_map(|p| p.status.as_ref())
        .flat_map(|s| s.init_container_statuses.iter().flatten().chain(s.container_statuses.iter().flatten()))
        .map(|c| c.restart_count)
        .sum();
    match spec.backoff_limit.unwrap_or(6) {
        0 => restarts > 0,
        limit => restarts >= limit,
    }
}

/// When the Job must be done by, if it has a deadline and has started.
fn deadline(seconds: Option<i64>, start: Option<&Time>) -> Option<Timestamp> {
    let (seconds, start) = (seconds?, start?);
    Some(start.0.checked_add(SignedDuration::from_secs(seconds)).unwrap_or(Timestamp::MAX))
}

/// The newest time one of these failed pods finished (its containers' end, else its creation).
fn last_failure(failed: &[&Pod]) -> Option<Timestamp> {
    failed
        .iter()
        .filter_map(|p| {
            let ends = p
                .status
                .as_ref()
                .into_iter()
                .flat_map(|s| s.container_statuses.iter().flatten())
                .filter_map(|c| Some(c.state.as_ref()?.terminated.as_ref()?.finished_at.as_ref()?.0))
                .max();
            ends.or_else(|| p.metadata.creation_timestamp.as_ref().map(|t| t.0))
        })
        .max()
}

/// When the Job finished, if it has (its `Complete` or `Failed` condition is `True`).
fn finished_at(status: &JobStatus) -> Option<Timestamp> {
    let condition = status
        .conditions
        .iter()
        .flatten()
        .find(|c| matches!(c.type_.as_str(), "Complete" | "Failed") && c.status == "True")?;
    let at = status.completion_time.as_ref().or(condition.last_transition_time.as_ref());
    Some(at.map_or(Timestamp::UNIX_EPOCH, |t| t.0))
}

/// `ttlSecondsAfterFinished`: delete the Job once it has been finished that long.
fn expire(plan: &mut Plan, ttl: Option<i32>, finished_at: Timestamp, now: Timestamp) {
    let Some(ttl) = ttl else { return };
    let expires =
        finished_at.checked_add(SignedDuration::from_secs(i64::from(ttl))).unwrap_or(Timestamp::MAX);
    if expires <= now {
        plan.delete_job = true;
    } else {
        plan.recheck_after = Some(now.duration_until(expires).unsigned_abs());
    }
}

/// The `Suspended` condition follows `spec.suspend`, with `Suspended` and `Resumed` events.
fn suspension(conditions: &mut Vec<JobCondition>, notes: &mut Vec<Note>, suspended: bool, now: Timestamp) {
    let was = conditions.iter().any(|c| c.type_ == "Suspended" && c.status == "True");
    if suspended && !was {
        set_condition(conditions, condition("Suspended", "JobSuspended", "Job suspended", now));
        notes.push(Note { warning: false, reason: "Suspended", message: "Job suspended".to_owned() });
    } else if !suspended && was {
        let mut resumed = condition("Suspended", "JobResumed", "Job resumed", now);
        "False".clone_into(&mut resumed.status);
        set_condition(conditions, resumed);
        notes.push(Note { warning: false, reason: "Resumed", message: "Job resumed".to_owned() });
    }
}

fn condition(type_: &str, reason: &str, message: &str, now: Timestamp) -> JobCondition {
    JobCondition {
        type_: type_.to_owned(),
        status: "True".to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        last_probe_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    }
}

/// Replaces the condition of the same type, or appends it; the transition time moves only when the status
/// changes.
fn set_condition(conditions: &mut Vec<JobCondition>, mut new: JobCondition) {
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        Some(old) => {
            if old.status == new.status {
                new.last_transition_time.clone_from(&old.last_transition_time);
            }
            *old = new;
        }
        None => conditions.push(new),
    }
}

#[cfg(test)]
mod tests;

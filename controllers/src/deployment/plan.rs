//! The Deployment decision: from a Deployment and the ReplicaSets it controls, one rollout step (which
//! ReplicaSet to create, how to scale each, which old ones to delete) and the status to report, following
//! Kubernetes' deployment controller step for step. Pure: no IO, no clock (the caller passes `now`).
//!
//! The step works on copies of the ReplicaSets: it scales and annotates them as Kubernetes would, and the
//! differences from what was observed become the plan's updates.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use api::intstr::scaled_value;
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet, ReplicaSetSpec,
};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::revision;
use crate::hash::{self, POD_TEMPLATE_HASH_LABEL};
use crate::owners;

/// What the Deployment controller sees for one Deployment.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The Deployment.
    pub deployment: &'a Deployment,
    /// The ReplicaSets it controls (after adoption), in any order.
    pub replica_sets: &'a [Arc<ReplicaSet>],
    /// Whether pods of its old ReplicaSets still run (terminating ones included): Recreate waits for them.
    pub old_pods_running: bool,
    /// The current time.
    pub now: Timestamp,
}

/// A change to an existing ReplicaSet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// The ReplicaSet's name.
    pub name: String,
    /// The resource version the change was computed from (a precondition, so a stale view fails).
    pub resource_version: Option<String>,
    /// Its new `spec.replicas`, when that changes.
    pub replicas: Option<i32>,
    /// Its new `spec.minReadySeconds`, when that changes.
    pub min_ready_seconds: Option<i32>,
    /// Its full new annotations, when they change.
    pub annotations: Option<BTreeMap<String, String>>,
}

/// An event to record on the Deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The reason (`ScalingReplicaSet`).
    pub reason: &'static str,
    /// The message.
    pub message: String,
}

/// One rollout step.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// A new ReplicaSet to create for the current template.
    pub create: Option<ReplicaSet>,
    /// Changes to existing ReplicaSets.
    pub updates: Vec<Update>,
    /// Old ReplicaSets beyond `revisionHistoryLimit` to delete: (name, uid).
    pub delete: Vec<(String, String)>,
    /// The Deployment's new revision annotation, when it changes.
    pub revision: Option<String>,
    /// The status to write.
    pub status: DeploymentStatus,
    /// When to look again even if nothing changes (the progress deadline).
    pub requeue_after: Option<Duration>,
    /// Events to record.
    pub notes: Vec<Note>,
}

/// Why a Deployment cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// `maxSurge` or `maxUnavailable` is not a count or a percentage.
    #[error(transparent)]
    IntOrString(#[from] api::intstr::NotAPercentage),
}

/// Progressing condition reasons, as `kubectl rollout status` and `describe` read them.
mod reason {
    pub const NEW_RS_CREATED: &str = "NewReplicaSetCreated";
    pub const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
    pub const RS_UPDATED: &str = "ReplicaSetUpdated";
    pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
    pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
    pub const PAUSED: &str = "DeploymentPaused";
    pub const RESUMED: &str = "DeploymentResumed";
    pub const MIN_AVAILABLE: &str = "MinimumReplicasAvailable";
    pub const MIN_UNAVAILABLE: &str = "MinimumReplicasUnavailable";
}

/// The resolved rollout bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bounds {
    replicas: i32,
    surge: i32,
    unavailable: i32,
}

/// The working state of one step.
struct Step<'a> {
    d: &'a Deployment,
    bounds: Bounds,
    now: Timestamp,
    /// Copies of the observed ReplicaSets (sorted oldest first), then the one to create, if any.
    sets: Vec<ReplicaSet>,
    observed: usize,
    new: Option<usize>,
}

/// Plans one step for a Deployment.
pub fn plan(input: Input<'_>) -> Result<Plan, PlanError> {
    let d = input.deployment;
    let bounds = bounds(d)?;
    let mut sets: Vec<ReplicaSet> = input.replica_sets.iter().map(|rs| (**rs).clone()).collect();
    sets.sort_by(|a, b| {
        created(&a.metadata).cmp(&created(&b.metadata)).then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
    let new = sets.iter().position(|rs| {
        rs.spec.template.as_ref().is_some_and(|t| hash::equal_ignoring_hash(t, &d.spec.template))
    });
    let observed = sets.len();
    let mut step = Step { d, bounds, now: input.now, sets, observed, new };
    let mut conditions = d.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
    let paused = d.spec.paused == Some(true);
    let deleting = d.metadata.deletion_timestamp.is_some();
    let has_deadline = has_progress_deadline(d);
    let progressing_reason = condition(&conditions, "Progressing").and_then(|c| c.reason.clone());
    if paused && progressing_reason.as_deref() != Some(reason::PAUSED) {
        set_condition(
            &mut conditions,
            new_condition("Progressing", "Unknown", reason::PAUSED, "Deployment is paused", input.now),
        );
    } else if !paused && progressing_reason.as_deref() == Some(reason::PAUSED) {
        set_condition(
            &mut conditions,
            new_condition("Progressing", "Unknown", reason::RESUMED, "Deployment is resumed", input.now),
        );
    }
    let mut delete = Vec::new();
    if !deleting {
        let recreate = strategy(d) == "Recreate";
        // Recreate makes the new ReplicaSet only once the old pods are gone.
        let create_new = !paused && (!recreate || (step.active_old().is_empty() && !input.old_pods_running));
        step.sync_new_replica_set(create_new, has_deadline, &mut conditions);
        if paused || step.is_scaling_event() {
            step.scale_proportionally();
            if paused {
                delete = step.cleanup();
            }
        } else if recreate {
            delete = step.recreate(input.old_pods_running);
        } else {
            delete = step.rolling();
        }
    }
    let status = step.status(&mut conditions, paused || deleting, has_deadline);
    let requeue_after = if paused || deleting { None } else { stuck_requeue(d, &status, input.now) };
    let revision = step
        .new
        .map(|i| revision::revision(&step.sets[i].metadata).to_string())
        .filter(|r| d.metadata.annotations.as_ref().and_then(|a| a.get(revision::REVISION)) != Some(r));
    let (create, updates, notes) = step.changes(input.replica_sets);
    Ok(Plan { create, updates, delete, revision, status, requeue_after, notes })
}

impl Step<'_> {
    fn old(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.sets.len()).filter(move |i| Some(*i) != self.new)
    }

    fn active_old(&self) -> Vec<usize> {
        self.old().filter(|i| replicas(&self.sets[*i]) > 0).collect()
    }

    fn total_replicas(&self) -> i32 {
        self.sets.iter().map(replicas).sum()
    }

    fn total_available(&self) -> i32 {
        self.sets.iter().map(surely_available).sum()
    }

    /// Finds or creates the ReplicaSet for the current template and brings its annotations up to date
    /// (Kubernetes' `getNewReplicaSet`).
    fn sync_new_replica_set(
        &mut self,
        create: bool,
        has_deadline: bool,
        conditions: &mut Vec<DeploymentCondition>,
    ) {
        let d = self.d;
        let max_old = self.old().map(|i| revision::revision(&self.sets[i].metadata)).max().unwrap_or(0);
        let new_revision = max_old + 1;
        let empty = BTreeMap::new();
        let d_annotations = d.metadata.annotations.as_ref().unwrap_or(&empty);
        let max = self.bounds.replicas + self.bounds.surge;
        if let Some(i) = self.new {
            let rs = &mut self.sets[i];
            let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
            revision::sync_new_replica_set(
                d_annotations,
                annotations,
                new_revision,
                true,
                (self.bounds.replicas, max),
            );
            if rs.spec.min_ready_seconds != d.spec.min_ready_seconds {
                rs.spec.min_ready_seconds = d.spec.min_ready_seconds;
            }
            if has_deadline && condition(conditions, "Progressing").is_none() {
                let message = format!("Found new replica set \"{}\"", name(&rs.metadata));
                set_condition(
                    conditions,
                    new_condition("Progressing", "True", reason::FOUND_NEW_RS, &message, self.now),
                );
            }
            return;
        }
        if !create {
            return;
        }
        let collision_count = d.status.as_ref().and_then(|s| s.collision_count);
        let template_hash = hash::pod_template_hash(&d.spec.template, collision_count);
        let mut template: PodTemplateSpec = d.spec.template.clone();
        let labels = template
            .metadata
            .get_or_insert_with(ObjectMeta::default)
            .labels
            .get_or_insert_with(BTreeMap::new);
        labels.insert(POD_TEMPLATE_HASH_LABEL.to_owned(), template_hash.clone());
        let labels = labels.clone();
        let mut selector = d.spec.selector.clone();
        selector
            .match_labels
            .get_or_insert_with(BTreeMap::new)
            .insert(POD_TEMPLATE_HASH_LABEL.to_owned(), template_hash.clone());
        let rs_name = format!("{}-{template_hash}", name(&d.metadata));
        let mut annotations = BTreeMap::new();
        revision::sync_new_replica_set(
            d_annotations,
            &mut annotations,
            new_revision,
            false,
            (self.bounds.replicas, max),
        );
        let rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(rs_name.clone()),
                namespace: d.metadata.namespace.clone(),
                labels: Some(labels),
                annotations: Some(annotations),
                owner_references: Some(vec![owners::controller_ref(d)]),
                ..ObjectMeta::default()
            },
            spec: ReplicaSetSpec {
                replicas: Some(0),
                min_ready_seconds: d.spec.min_ready_seconds,
                selector,
                template: Some(template),
            },
            status: None,
        };
        self.sets.push(rs);
        let index = self.sets.len() - 1;
        self.new = Some(index);
        let replicas =
            if strategy(d) == "Recreate" { self.bounds.replicas } else { self.new_replicas(index) };
        self.sets[index].spec.replicas = Some(replicas);
        if has_deadline {
            let message = format!("Created new replica set \"{rs_name}\"");
            set_condition(
                conditions,
                new_condition("Progressing", "True", reason::NEW_RS_CREATED, &message, self.now),
            );
        }
    }

    /// How far the new ReplicaSet may grow now (Kubernetes' `NewRSNewReplicas` for RollingUpdate).
    fn new_replicas(&self, new: usize) -> i32 {
        let current = replicas(&self.sets[new]);
        let max_total = self.bounds.replicas + self.bounds.surge;
        let total = self.total_replicas();
        if total >= max_total {
            return current;
        }
        current + (max_total - total).min(self.bounds.replicas - current).max(0)
    }

    /// Sets a ReplicaSet's size and the replica annotations that record the Deployment's size it was
    /// scaled for (Kubernetes' `scaleReplicaSet`).
    fn scale(&mut self, i: usize, size: i32) {
        let (desired, max) = (self.bounds.replicas, self.bounds.replicas + self.bounds.surge);
        let rs = &mut self.sets[i];
        rs.spec.replicas = Some(size);
        revision::set_replicas(rs.metadata.annotations.get_or_insert_with(BTreeMap::new), desired, max);
    }

    /// Whether `spec.replicas` changed since the active ReplicaSets were last scaled.
    fn is_scaling_event(&self) -> bool {
        (0..self.sets.len()).filter(|i| replicas(&self.sets[*i]) > 0).any(|i| {
            revision::desired_replicas(&self.sets[i].metadata).is_some_and(|d| d != self.bounds.replicas)
        })
    }

    /// Kubernetes' `scale`: resizes for a change of `spec.replicas` (or while paused), spreading the change
    /// over the active ReplicaSets in proportion to their sizes.
    fn scale_proportionally(&mut self) {
        let target = self.bounds.replicas;
        let active: Vec<usize> = (0..self.sets.len()).filter(|i| replicas(&self.sets[*i]) > 0).collect();
        let only = match active.as_slice() {
            [] => self.new.or_else(|| self.old().last()),
            [one] => Some(*one),
            _ => None,
        };
        if let Some(i) = only {
            if replicas(&self.sets[i]) != target {
                self.scale(i, target);
            }
            return;
        }
        if self.new.is_some_and(|i| self.is_saturated(i)) {
            for i in self.active_old() {
                self.scale(i, 0);
            }
            return;
        }
        if strategy(self.d) != "RollingUpdate" {
            return;
        }
        let total = self.total_replicas();
        let allowed = if target > 0 { target + self.bounds.surge } else { 0 };
        let to_add = allowed - total;
        let mut order = active;
        // Growing favours the biggest (then newest) sets; shrinking the biggest (then oldest).
        order.sort_by(|a, b| {
            let (ra, rb) = (&self.sets[*a], &self.sets[*b]);
            let newer = created(&rb.metadata).cmp(&created(&ra.metadata));
            replicas(rb).cmp(&replicas(ra)).then(if to_add > 0 { newer } else { newer.reverse() })
        });
        let mut added = 0;
        let mut sizes = Vec::with_capacity(order.len());
        for &i in &order {
            let proportion = if to_add == 0 { 0 } else { self.proportion(i, to_add, added) };
            sizes.push(replicas(&self.sets[i]) + proportion);
            added += proportion;
        }
        if let Some(first) = sizes.first_mut() {
            *first = (*first + to_add - added).max(0);
        }
        for (i, size) in order.into_iter().zip(sizes) {
            self.scale(i, size);
        }
    }

    /// Kubernetes' `GetProportion`.
    fn proportion(&self, i: usize, to_add: i32, added: i32) -> i32 {
        let rs = &self.sets[i];
        let size = replicas(rs);
        if size == 0 || to_add == added {
            return 0;
        }
        let fraction = if self.bounds.replicas == 0 {
            -size
        } else {
            let deployment_total = self.bounds.replicas + self.bounds.surge;
            let annotated = revision::max_replicas(&rs.metadata)
                .unwrap_or_else(|| self.d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0));
            if annotated == 0 {
                0
            } else {
                let scaled = f64::from(size) * f64::from(deployment_total) / f64::from(annotated);
                scaled.round() as i32 - size
            }
        };
        let allowed = to_add - added;
        if to_add > 0 { fraction.min(allowed) } else { fraction.max(allowed) }
    }

    fn is_saturated(&self, i: usize) -> bool {
        let rs = &self.sets[i];
        revision::desired_replicas(&rs.metadata) == Some(self.bounds.replicas)
            && replicas(rs) == self.bounds.replicas
            && available(rs) == self.bounds.replicas
    }

    /// Kubernetes' `rolloutRolling`: grow the new ReplicaSet within `maxSurge`; if it could not grow, shrink
    /// the old ones within `maxUnavailable`; once complete, trim the history.
    fn rolling(&mut self) -> Vec<(String, String)> {
        let Some(new) = self.new else { return Vec::new() };
        let current = replicas(&self.sets[new]);
        if current > self.bounds.replicas {
            self.scale(new, self.bounds.replicas);
            return Vec::new();
        }
        if current < self.bounds.replicas {
            let grown = self.new_replicas(new);
            if grown != current {
                self.scale(new, grown);
                return Vec::new();
            }
        }
        if self.scale_down_old(new) {
            return Vec::new();
        }
        if complete(self.d, self.d.status.as_ref()) { self.cleanup() } else { Vec::new() }
    }

    /// Kubernetes' `reconcileOldReplicaSets`; returns whether anything was scaled down.
    fn scale_down_old(&mut self, new: usize) -> bool {
        let mut old = self.active_old();
        if old.is_empty() {
            return false;
        }
        let min_available = self.bounds.replicas - self.bounds.unavailable;
        let new_unavailable = replicas(&self.sets[new]) - surely_available(&self.sets[new]);
        let max_scaled_down = self.total_replicas() - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return false;
        }
        old.sort_by(|a, b| created(&self.sets[*a].metadata).cmp(&created(&self.sets[*b].metadata)));
        // First the old pods that are not available anyway.
        let mut cleaned = 0;
        for &i in &old {
            if cleaned >= max_scaled_down {
                break;
            }
            let (size, ok) = (replicas(&self.sets[i]), surely_available(&self.sets[i]));
            if size == 0 || size <= ok {
                continue;
            }
            let down = (max_scaled_down - cleaned).min(size - ok);
            self.scale(i, size - down);
            cleaned += down;
        }
        // Then available ones, as long as enough stay available.
        let available_now = self.total_available();
        let mut scaled = 0;
        if available_now > min_available {
            let budget = available_now - min_available;
            for &i in &old {
                if scaled >= budget {
                    break;
                }
                let size = replicas(&self.sets[i]);
                if size == 0 {
                    continue;
                }
                let down = size.min(budget - scaled);
                self.scale(i, size - down);
                scaled += down;
            }
        }
        cleaned + scaled > 0
    }

    /// Kubernetes' `rolloutRecreate`: all old ReplicaSets to zero, wait for their pods to stop, then the
    /// new one to full size.
    fn recreate(&mut self, old_pods_running: bool) -> Vec<(String, String)> {
        let old = self.active_old();
        if !old.is_empty() {
            for i in old {
                self.scale(i, 0);
            }
            return Vec::new();
        }
        if old_pods_running {
            return Vec::new();
        }
        if let Some(new) = self.new
            && replicas(&self.sets[new]) != self.bounds.replicas
        {
            self.scale(new, self.bounds.replicas);
            return Vec::new();
        }
        if complete(self.d, self.d.status.as_ref()) { self.cleanup() } else { Vec::new() }
    }

    /// Old ReplicaSets beyond `revisionHistoryLimit` that are fully scaled down, lowest revision first.
    fn cleanup(&self) -> Vec<(String, String)> {
        let Some(limit) = self.d.spec.revision_history_limit else { return Vec::new() };
        let mut candidates: Vec<&ReplicaSet> = self
            .old()
            .filter(|i| *i < self.observed)
            .map(|i| &self.sets[i])
            .filter(|rs| rs.metadata.deletion_timestamp.is_none())
            .collect();
        let excess = candidates.len().saturating_sub(usize::try_from(limit).unwrap_or(0));
        candidates.sort_by_key(|rs| revision::revision(&rs.metadata));
        candidates
            .into_iter()
            .take(excess)
            .filter(|rs| {
                let status = rs.status.as_ref();
                status.is_none_or(|s| s.replicas == 0)
                    && replicas(rs) == 0
                    && rs.metadata.generation.unwrap_or(0)
                        <= status.and_then(|s| s.observed_generation).unwrap_or(0)
            })
            .map(|rs| (name(&rs.metadata).to_owned(), rs.metadata.uid.clone().unwrap_or_default()))
            .collect()
    }

    /// Kubernetes' `calculateStatus` and `syncRolloutStatus`.
    fn status(
        &self,
        conditions: &mut Vec<DeploymentCondition>,
        status_only: bool,
        has_deadline: bool,
    ) -> DeploymentStatus {
        let d = self.d;
        let observed_sets = &self.sets[..self.observed];
        let count = |f: fn(&ReplicaSet) -> i32| observed_sets.iter().map(f).sum::<i32>();
        let available_count = count(available);
        let new_rs = self.new.filter(|i| *i < self.observed).map(|i| &self.sets[i]);
        let mut status = DeploymentStatus {
            observed_generation: d.metadata.generation,
            replicas: Some(count(|rs| rs.status.as_ref().map_or(0, |s| s.replicas))),
            updated_replicas: Some(new_rs.map_or(0, |rs| rs.status.as_ref().map_or(0, |s| s.replicas))),
            ready_replicas: Some(count(|rs| rs.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0))),
            available_replicas: Some(available_count),
            unavailable_replicas: Some(
                (self.sets.iter().map(replicas).sum::<i32>() - available_count).max(0),
            ),
            collision_count: d.status.as_ref().and_then(|s| s.collision_count),
            terminating_replicas: None,
            conditions: None,
        };
        if available_count >= self.bounds.replicas - self.bounds.unavailable {
            let c = new_condition(
                "Available",
                "True",
                reason::MIN_AVAILABLE,
                "Deployment has minimum availability.",
                self.now,
            );
            set_condition(conditions, c);
        } else {
            let c = new_condition(
                "Available",
                "False",
                reason::MIN_UNAVAILABLE,
                "Deployment does not have minimum availability.",
                self.now,
            );
            set_condition(conditions, c);
        }
        if !has_deadline {
            conditions.retain(|c| c.type_.as_deref() != Some("Progressing"));
        }
        let current = condition(conditions, "Progressing").cloned();
        let already_complete = status.replicas == status.updated_replicas
            && current.as_ref().is_some_and(|c| c.reason.as_deref() == Some(reason::NEW_RS_AVAILABLE));
        if has_deadline && !status_only && !already_complete {
            let rs_name = self.new.map(|i| name(&self.sets[i].metadata).to_owned());
            if complete(d, Some(&status)) {
                let message = rs_name.map_or_else(
                    || "Deployment has successfully progressed.".to_owned(),
                    |n| format!("ReplicaSet \"{n}\" has successfully progressed."),
                );
                set_condition(
                    conditions,
                    new_condition("Progressing", "True", reason::NEW_RS_AVAILABLE, &message, self.now),
                );
            } else if progressed(d, &status) {
                let message = rs_name.map_or_else(
                    || "Deployment is progressing.".to_owned(),
                    |n| format!("ReplicaSet \"{n}\" is progressing."),
                );
                let mut c = new_condition("Progressing", "True", reason::RS_UPDATED, &message, self.now);
                if let Some(current) = &current
                    && current.status.as_deref() == Some("True")
                {
                    c.last_transition_time.clone_from(&current.last_transition_time);
                }
                conditions.retain(|c| c.type_.as_deref() != Some("Progressing"));
                conditions.push(c);
            } else if timed_out(d, current.as_ref(), self.now) {
                let message = rs_name.map_or_else(
                    || "Deployment has timed out progressing.".to_owned(),
                    |n| format!("ReplicaSet \"{n}\" has timed out progressing."),
                );
                set_condition(
                    conditions,
                    new_condition("Progressing", "False", reason::TIMED_OUT, &message, self.now),
                );
            }
        }
        status.conditions = Some(conditions.clone()).filter(|c| !c.is_empty());
        status
    }

    /// What changed between the observed ReplicaSets and the working copies.
    fn changes(&self, observed: &[Arc<ReplicaSet>]) -> (Option<ReplicaSet>, Vec<Update>, Vec<Note>) {
        let mut updates = Vec::new();
        let mut notes = Vec::new();
        for rs in &self.sets[..self.observed] {
            let Some(before) = observed.iter().find(|o| o.metadata.uid == rs.metadata.uid) else { continue };
            let (from, to) = (replicas(before), replicas(rs));
            let update = Update {
                name: name(&rs.metadata).to_owned(),
                resource_version: rs.metadata.resource_version.clone(),
                replicas: (from != to).then_some(to),
                min_ready_seconds: (before.spec.min_ready_seconds != rs.spec.min_ready_seconds)
                    .then(|| rs.spec.min_ready_seconds.unwrap_or(0)),
                annotations: (before.metadata.annotations != rs.metadata.annotations)
                    .then(|| rs.metadata.annotations.clone().unwrap_or_default()),
            };
            if from != to {
                notes.push(scaling_note(name(&rs.metadata), from, to));
            }
            if update.replicas.is_some() || update.min_ready_seconds.is_some() || update.annotations.is_some()
            {
                updates.push(update);
            }
        }
        let create = self.sets.get(self.observed).cloned();
        if let Some(rs) = &create
            && replicas(rs) > 0
        {
            notes.push(scaling_note(name(&rs.metadata), 0, replicas(rs)));
        }
        (create, updates, notes)
    }
}

fn scaling_note(rs: &str, from: i32, to: i32) -> Note {
    let direction = if to > from { "up" } else { "down" };
    Note {
        reason: "ScalingReplicaSet",
        message: format!("Scaled {direction} replica set {rs} from {from} to {to}"),
    }
}

/// `maxSurge` and `maxUnavailable` resolved against `spec.replicas` (Kubernetes' `ResolveFenceposts`, with
/// `MaxUnavailable`'s cap): surge rounds up, unavailable down, and both zero means one may be unavailable.
fn bounds(d: &Deployment) -> Result<Bounds, PlanError> {
    let replicas = d.spec.replicas.unwrap_or(1);
    let rolling =
        d.spec.strategy.as_ref().filter(|s| s.type_.as_deref().unwrap_or("RollingUpdate") == "RollingUpdate");
    let Some(rolling) = rolling else { return Ok(Bounds { replicas, surge: 0, unavailable: 0 }) };
    let quarter = IntOrString::String("25%".to_owned());
    let update = rolling.rolling_update.as_ref();
    let surge = scaled_value(update.and_then(|u| u.max_surge.as_ref()).unwrap_or(&quarter), replicas, true)?;
    let mut unavailable =
        scaled_value(update.and_then(|u| u.max_unavailable.as_ref()).unwrap_or(&quarter), replicas, false)?;
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    if replicas == 0 {
        unavailable = 0;
    }
    Ok(Bounds { replicas, surge, unavailable: unavailable.min(replicas) })
}

fn strategy(d: &Deployment) -> &str {
    d.spec.strategy.as_ref().and_then(|s| s.type_.as_deref()).unwrap_or("RollingUpdate")
}

fn has_progress_deadline(d: &Deployment) -> bool {
    d.spec.progress_deadline_seconds.is_some_and(|s| s != i32::MAX)
}

fn replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.replicas.unwrap_or(1)
}

fn available(rs: &ReplicaSet) -> i32 {
    rs.status.as_ref().and_then(|s| s.available_replicas).unwrap_or(0)
}

/// The available pods a scale-down may count on: never more than the ReplicaSet is sized for. Right after a
/// ReplicaSet is scaled down its status still counts the pods about to go, and counting them would let a
/// second scale-down take availability below the promise.
fn surely_available(rs: &ReplicaSet) -> i32 {
    available(rs).min(replicas(rs))
}

fn name(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or_default()
}

fn created(meta: &ObjectMeta) -> Option<Timestamp> {
    meta.creation_timestamp.as_ref().map(|t| t.0)
}

/// Kubernetes' `DeploymentComplete`: every replica updated and available, none old, and the latest spec seen.
fn complete(d: &Deployment, status: Option<&DeploymentStatus>) -> bool {
    let Some(s) = status else { return false };
    let replicas = d.spec.replicas.unwrap_or(1);
    s.updated_replicas.unwrap_or(0) == replicas
        && s.replicas.unwrap_or(0) == replicas
        && s.available_replicas.unwrap_or(0) == replicas
        && s.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
}

/// Kubernetes' `DeploymentProgressing`: the new status is further along than the recorded one.
fn progressed(d: &Deployment, new: &DeploymentStatus) -> bool {
    let old = d.status.clone().unwrap_or_default();
    let get = |v: Option<i32>| v.unwrap_or(0);
    let old_old = get(old.replicas) - get(old.updated_replicas);
    let new_old = get(new.replicas) - get(new.updated_replicas);
    get(new.updated_replicas) > get(old.updated_replicas)
        || new_old < old_old
        || get(new.ready_replicas) > get(old.ready_replicas)
        || get(new.available_replicas) > get(old.available_replicas)
}

/// Kubernetes' `DeploymentTimedOut`.
fn timed_out(d: &Deployment, progressing: Option<&DeploymentCondition>, now: Timestamp) -> bool {
    let Some(c) = progressing else { return false };
    match c.reason.as_deref() {
        Some(reason::NEW_RS_AVAILABLE) => false,
        Some(reason::TIMED_OUT) => true,
        _ => deadline(d, c).is_some_and(|at| at < now),
    }
}

fn deadline(d: &Deployment, c: &DeploymentCondition) -> Option<Timestamp> {
    let seconds = d.spec.progress_deadline_seconds?;
    let from = c.last_update_time.as_ref()?.0;
    Some(from.checked_add(SignedDuration::from_secs(i64::from(seconds))).unwrap_or(Timestamp::MAX))
}

/// When a rollout still in progress should be looked at again to notice its deadline passing.
fn stuck_requeue(d: &Deployment, status: &DeploymentStatus, now: Timestamp) -> Option<Duration> {
    if !has_progress_deadline(d) {
        return None;
    }
    let c = condition(status.conditions.as_deref().unwrap_or_default(), "Progressing")?;
    if matches!(c.reason.as_deref(), Some(reason::NEW_RS_AVAILABLE | reason::TIMED_OUT)) {
        return None;
    }
    let at = deadline(d, c)?;
    let wait = now.duration_until(at);
    Some(if wait.is_negative() {
        Duration::from_secs(1)
    } else {
        wait.unsigned_abs() + Duration::from_secs(1)
    })
}

fn condition<'a>(conditions: &'a [DeploymentCondition], type_: &str) -> Option<&'a DeploymentCondition> {
    conditions.iter().find(|c| c.type_.as_deref() == Some(type_))
}

fn new_condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> DeploymentCondition {
    DeploymentCondition {
        type_: Some(type_.to_owned()),
        status: Some(status.to_owned()),
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        last_update_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    }
}

/// Kubernetes' `SetDeploymentCondition`: no change when status and reason are the same; the transition time
/// is kept when only the reason changes.
fn set_condition(conditions: &mut Vec<DeploymentCondition>, mut new: DeploymentCondition) {
    if let Some(current) = conditions.iter().find(|c| c.type_ == new.type_) {
        if current.status == new.status && current.reason == new.reason {
            return;
        }
        if current.status == new.status {
            new.last_transition_time.clone_from(&current.last_transition_time);
        }
    }
    conditions.retain(|c| c.type_ != new.type_);
    conditions.push(new);
}

#[cfg(test)]
mod tests;

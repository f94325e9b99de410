//! Least-privilege policies a team can apply: per Lambda role, an identity policy built from
//! what the role was seen doing (CloudTrail), what its functions' configuration needs, and what
//! the trail could not see; proved by the engine before it is emitted. docs/least-privilege.md
//! states the rules; [`generalise`] the resource patterns, [`observe`] what a trail can show,
//! [`proof`] the two proofs, [`size`] IAM's size limits.

pub mod generalise;
pub mod observe;
mod plan;
pub mod proof;
pub mod size;

use crate::evaluate::{Evaluated, EvaluatedRole};
use serde::Serialize;

pub use plan::cloudtrail_suggestion;

/// Whether a role got a suggestion, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// A suggestion that passed both proofs.
    Suggested,
    /// The evidence supports everything the role is granted: nothing to take away.
    NoChange,
    /// Not a Lambda execution role.
    NotLambda,
    /// No trail covered the window and no last-accessed data was read.
    NoUsageEvidence,
    /// A current policy could not be read or parsed: the engine cannot narrow what it cannot see.
    UnreadablePolicy,
    /// The suggestion does not fit IAM's size limits.
    OverSizeLimits,
    /// The suggestion failed a proof (a defect: the reason names the grant).
    ProofFailed,
}

impl Status {
    /// The value in the datasets.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Suggested => "suggested",
            Status::NoChange => "no_change",
            Status::NotLambda => "not_lambda",
            Status::NoUsageEvidence => "no_usage_evidence",
            Status::UnreadablePolicy => "unreadable_policy",
            Status::OverSizeLimits => "over_size_limits",
            Status::ProofFailed => "proof_failed",
        }
    }
}

/// What the suggestion rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The trail covered the window: resource-scoped.
    Cloudtrail,
    /// No trail: actions narrowed by IAM last-accessed data, resources as today.
    LastAccessed,
}

impl Basis {
    /// The value in the datasets.
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Cloudtrail => "cloudtrail",
            Basis::LastAccessed => "last_accessed",
        }
    }
}

/// One observed call group behind the suggestion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservedUse {
    /// The action.
    pub action: String,
    /// The resource (None: the trail named none).
    pub resource: Option<String>,
    /// Calls over the window.
    pub calls: u64,
}

/// What the suggestion was built from, for the README and the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Evidence {
    /// Actions the role can effectively use today.
    pub allowed_actions: usize,
    /// Of those, the actions observed or needed by a function's configuration.
    pub supported_actions: usize,
    /// Observed calls, by action and resource.
    pub observed: Vec<ObservedUse>,
    /// Actions kept as today because no trail could show them.
    pub unobservable: Vec<String>,
    /// Actions kept as today because the trail or the configuration named no resource for them.
    pub unrecorded: Vec<String>,
    /// Removed actions by service: (service, actions removed, the whole service).
    pub removed: Vec<(String, usize, bool)>,
    /// Needs of the configuration that today's policies do not grant ("action on resource").
    pub not_granted: Vec<String>,
    /// Observed calls today's identity policies do not grant (a resource policy did).
    pub elsewhere: Vec<String>,
}

impl Evidence {
    /// The share of the grant the evidence supports (0–1; 1 with nothing granted).
    pub fn share(&self) -> f64 {
        if self.allowed_actions == 0 {
            1.0
        } else {
            self.supported_actions as f64 / self.allowed_actions as f64
        }
    }

    /// Actions removed in all.
    pub fn removed_actions(&self) -> usize {
        self.removed.iter().map(|(_, n, _)| n).sum()
    }
}

/// Most functions (by name) a shared role is split among: past that, splitting the role one
/// function at a time is a redesign, not a remediation, and no per-function policy is made.
pub const PER_FUNCTION_MAX: usize = 10;

/// The suggestion for one function of a role several functions share: the role's own built from
/// that function's calls (its session name) and configuration only. A team that gives each
/// function its own role applies these.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionSuggestion {
    /// The function's name.
    pub function: String,
    /// Suggested, or why not.
    pub status: Status,
    /// Why there is none.
    pub reason: Option<String>,
    /// The policy (JSON).
    pub policy: Option<String>,
}

/// A role's least-privilege suggestion, or why there is none.
#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    /// Suggested, or why not.
    pub status: Status,
    /// What it rests on (None without a suggestion).
    pub basis: Option<Basis>,
    /// Why there is none, or what limits it.
    pub reason: Option<String>,
    /// The whole suggestion as one document (JSON).
    pub policy: Option<String>,
    /// The same, split into managed policies of at most [`size::MANAGED_CHARS`] characters.
    pub documents: Vec<String>,
    /// What it was built from.
    pub evidence: Evidence,
    /// For a role several functions share (by name), each function's own.
    pub functions: Vec<FunctionSuggestion>,
}

impl Suggestion {
    /// No suggestion, for this reason.
    pub fn none(status: Status, reason: impl Into<String>) -> Suggestion {
        Suggestion {
            status,
            basis: None,
            reason: Some(reason.into()),
            policy: None,
            documents: Vec::new(),
            evidence: Evidence::default(),
            functions: Vec::new(),
        }
    }
}

/// Whether the trail covered a role's account and regions over the window, and which services'
/// data events it logged; `Err` says why not.
fn coverage(ev: &Evaluated<'_>, r: &EvaluatedRole<'_>) -> Result<Vec<String>, String> {
    let account = r.role.account_id.as_str();
    let rows = ev.coverage_of(account);
    if rows.is_empty() {
        return Err(format!(
            "no CloudTrail logs were read for account {account}"
        ));
    }
    let covering: Vec<_> = rows.iter().filter(|c| c.covers_window()).collect();
    if covering.is_empty() {
        let days = (rows[0].window_end.millis - rows[0].window_start.millis) / 86_400_000;
        return Err(format!(
            "the logs of account {account} do not cover the {days}-day window (no use can be told from no logs)"
        ));
    }
    for f in &r.functions {
        if !covering
            .iter()
            .any(|c| c.regions.iter().any(|g| g == &f.region))
        {
            return Err(format!(
                "no CloudTrail logs for region {} of function {}",
                f.region, f.name
            ));
        }
    }
    let mut data: Vec<String> = covering
        .iter()
        .flat_map(|c| c.data_events.iter().cloned())
        .collect();
    data.sort();
    data.dedup();
    Ok(data)
}

/// The suggestion for one role.
pub fn suggest_role(ev: &Evaluated<'_>, r: &EvaluatedRole<'_>) -> Suggestion {
    if !r.is_lambda {
        return Suggestion::none(Status::NotLambda, "not a Lambda execution role");
    }
    if r.unread.contains(&"policies") || !r.policies.unusable.is_empty() {
        let what: Vec<&str> = r
            .policies
            .unusable
            .iter()
            .map(|u| u.what.as_str())
            .collect();
        return Suggestion::none(
            Status::UnreadablePolicy,
            format!(
                "a policy of the role could not be read or parsed ({})",
                what.join(", ")
            ),
        );
    }
    match coverage(ev, r) {
        Ok(data_events) => {
            let mut s = cloudtrail_suggestion(ev, r, &data_events, None);
            let names: std::collections::BTreeSet<&str> =
                r.functions.iter().map(|f| f.name.as_str()).collect();
            if s.status == Status::Suggested && names.len() > 1 && names.len() <= PER_FUNCTION_MAX {
                s.functions = names
                    .into_iter()
                    .map(|name| {
                        let f = cloudtrail_suggestion(ev, r, &data_events, Some(name));
                        FunctionSuggestion {
                            function: name.to_string(),
                            status: f.status,
                            reason: f.reason,
                            policy: f.policy,
                        }
                    })
                    .collect();
            }
            s
        }
        Err(why) if r.last_accessed.is_empty() => Suggestion::none(
            Status::NoUsageEvidence,
            format!("{why}, and no last-accessed data was read"),
        ),
        Err(why) => plan::last_accessed_suggestion(ev, r, why),
    }
}

#[cfg(test)]
mod tests;

//! Analysis of collected snapshots: effective permissions, checks, privilege escalation.
//!
//! Invariant: pure, synchronous and deterministic (no tokio, no I/O); parallelism with rayon only.
//! The same snapshot always yields the same findings in the same order.
//!
//! Status: effective permissions and the checks of [`checks::CHECKS`] exist; scores and
//! least-privilege suggestions follow (issue 4).

pub mod checks;
pub mod findings;
pub mod inputs;
pub mod privesc;
#[cfg(test)]
mod tests;

pub use checks::{CHECKS, Settings};
pub use findings::{Category, Check, Finding, Severity};

use rayon::prelude::*;
use rolescope_model::snapshot::Snapshot;
use rolescope_model::{Function, LastAccessed, Timestamp};
use rolescope_policy::summary::{GrantStatus, PrincipalPolicies, effective_permissions};
use rolescope_policy::{Catalog, Policy};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Per-role results.
#[derive(Debug, Clone, Serialize)]
pub struct RoleAnalysis {
    /// The role.
    pub role_arn: String,
    /// Its account.
    pub account_id: String,
    /// Trusted by Lambda or used by a function.
    pub is_lambda_role: bool,
    /// Functions using it.
    pub function_count: usize,
    /// Actions allowed without conditions.
    pub allowed: usize,
    /// Actions allowed only under conditions.
    pub allowed_under_conditions: usize,
    /// Actions granted but blocked by the boundary.
    pub blocked_by_boundary: usize,
    /// Actions granted but blocked by an SCP.
    pub blocked_by_scp: usize,
    /// Actions granted but explicitly denied.
    pub explicitly_denied: usize,
}

/// Everything the analysis produces for a snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    /// One entry per role, by ARN.
    pub roles: Vec<RoleAnalysis>,
    /// All findings, ordered by account, resource, check and id.
    pub findings: Vec<Finding>,
}

/// Analyse a snapshot.
pub fn analyze(cat: &Catalog, snapshot: &Snapshot, settings: &Settings) -> Analysis {
    let index = inputs::Index::new(snapshot);
    let now = snapshot
        .scan
        .as_ref()
        .map(|s| s.finished_at)
        .unwrap_or(Timestamp::from_millis(0));
    let mut by_role: HashMap<&str, Vec<&Function>> = HashMap::new();
    for f in &snapshot.functions {
        by_role.entry(f.role_arn.as_str()).or_default().push(f);
    }
    let mut la_by_role: HashMap<&str, Vec<&LastAccessed>> = HashMap::new();
    for la in &snapshot.last_accessed {
        la_by_role.entry(la.role_arn.as_str()).or_default().push(la);
    }

    let per_role: Vec<(RoleAnalysis, Vec<Finding>)> = snapshot
        .roles
        .par_iter()
        .map(|role| {
            let policies = inputs::resolve(&index, role);
            let identity: Vec<Policy> = policies.identity.iter().map(|(_, p)| p.clone()).collect();
            let (scps, scp_problems) = index.scps(role.account_id.as_str());
            let summary = effective_permissions(
                cat,
                &PrincipalPolicies {
                    identity: &identity,
                    boundary: policies.boundary.as_ref(),
                    scps,
                },
            );
            let functions = by_role
                .get(role.arn.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let last_accessed = la_by_role
                .get(role.arn.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let facts = checks::RoleFacts {
                role,
                policies: &policies,
                summary: &summary,
                functions,
                last_accessed,
                scp_problems: scp_problems.len(),
                now,
            };
            let findings = checks::role_findings(cat, &facts, settings);
            let count = |s: GrantStatus| summary.grants.iter().filter(|g| g.status == s).count();
            let is_lambda_role =
                !functions.is_empty() || role.trust_policy.contains("lambda.amazonaws.com");
            (
                RoleAnalysis {
                    role_arn: role.arn.clone(),
                    account_id: role.account_id.to_string(),
                    is_lambda_role,
                    function_count: functions.len(),
                    allowed: count(GrantStatus::Allowed),
                    allowed_under_conditions: count(GrantStatus::AllowedUnderConditions),
                    blocked_by_boundary: count(GrantStatus::BlockedByBoundary),
                    blocked_by_scp: count(GrantStatus::BlockedByScp),
                    explicitly_denied: count(GrantStatus::ExplicitlyDenied),
                },
                findings,
            )
        })
        .collect();

    let org_accounts: BTreeSet<&str> = snapshot
        .accounts
        .iter()
        .map(|a| a.account_id.as_str())
        .collect();
    let mut findings: Vec<Finding> = snapshot
        .functions
        .par_iter()
        .flat_map_iter(|f| checks::function_findings(f, &org_accounts))
        .collect();
    findings.extend(checks::analyzer_findings(&snapshot.access_findings));
    // SCPs that cannot be parsed: once per SCP, not per role.
    let mut bad_scps = BTreeMap::new();
    for account in &snapshot.accounts {
        for u in index.scps(account.account_id.as_str()).1 {
            bad_scps
                .entry(u.what.clone())
                .or_insert((account.account_id.clone(), u.reason.clone()));
        }
    }
    for (what, (account, reason)) in bad_scps {
        findings.push(Finding::new(
            checks::check("RS-VALID-001"),
            &account,
            None,
            &what,
            "",
            format!("{what} cannot be evaluated; roles were judged without it"),
            serde_json::json!({"policy": what, "reason": reason}),
            None,
        ));
    }
    let mut roles = Vec::with_capacity(per_role.len());
    for (r, mut f) in per_role {
        roles.push(r);
        findings.append(&mut f);
    }
    roles.sort_by(|a, b| a.role_arn.cmp(&b.role_arn));
    findings.sort_by(|a, b| {
        (&a.account_id, &a.resource_arn, a.check_id, &a.finding_id).cmp(&(
            &b.account_id,
            &b.resource_arn,
            b.check_id,
            &b.finding_id,
        ))
    });
    Analysis { roles, findings }
}

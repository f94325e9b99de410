//! Analysis of collected snapshots: effective permissions, checks, privilege escalation.
//!
//! Invariant: pure, synchronous and deterministic (no tokio, no I/O); parallelism with rayon only.
//! The same snapshot always yields the same findings in the same order.
//!
//! Status: effective permissions and the checks of [`checks::CHECKS`] exist; scores and
//! least-privilege suggestions follow (issue 4).

pub mod checks;
pub mod evaluate;
pub mod findings;
pub mod history;
pub mod inputs;
pub mod least;
pub mod permissions;
pub mod privesc;
pub mod score;
pub mod scp;
#[cfg(test)]
mod scp_tests;
pub mod suggest;
#[cfg(test)]
mod tests;
pub mod usage;

pub use checks::{CHECKS, Settings};
pub use evaluate::{Evaluated, EvaluatedRole};
pub use findings::{Category, Check, Finding, Severity};

use rayon::prelude::*;
use rolescope_model::Timestamp;
use rolescope_model::snapshot::Snapshot;
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
    /// Services the role can effectively use.
    pub granted_services: Vec<String>,
    /// Of those, services not used within the unused window (needs last-accessed data).
    pub unused_services: Option<Vec<String>>,
    /// Risk score with its explanation.
    pub score: score::Score,
    /// Least-privilege replacement identity policy (JSON): [`RoleAnalysis::suggestion`]'s
    /// policy.
    pub suggested_policy: Option<String>,
    /// The least-privilege suggestion, or why there is none, with its evidence.
    pub suggestion: least::Suggestion,
    /// Parts that could not be read (`policies`, `last_accessed`); the score covers the rest.
    pub unread: Vec<String>,
}

/// The score of a function, account or OU.
#[derive(Debug, Clone, Serialize)]
pub struct RollUp {
    /// Function ARN, account id or OU/root id.
    pub id: String,
    /// 0–100.
    pub score: i32,
    /// Level for the score.
    pub level: &'static str,
}

/// Everything the analysis produces for a snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    /// One entry per role, by ARN.
    pub roles: Vec<RoleAnalysis>,
    /// Function scores: the role's score combined with the function's own findings; sorted by
    /// function ARN.
    pub functions: Vec<RollUp>,
    /// Account scores: the worst role or function of the account.
    pub accounts: Vec<RollUp>,
    /// OU and root scores: the worst account below them.
    pub org_units: Vec<RollUp>,
    /// All findings, ordered by account, resource, check and id.
    pub findings: Vec<Finding>,
}

impl Analysis {
    /// The roles riskiest first (by score, then ARN): the one order of the summary's and the
    /// report's riskiest roles.
    pub fn roles_by_risk(&self) -> Vec<&RoleAnalysis> {
        let mut roles: Vec<&RoleAnalysis> = self.roles.iter().collect();
        roles.sort_by(|a, b| {
            b.score
                .score
                .cmp(&a.score.score)
                .then(a.role_arn.cmp(&b.role_arn))
        });
        roles
    }
}

/// Analyse a snapshot: [`Evaluated::new`] then [`analyze_evaluated`].
pub fn analyze(cat: &Catalog, snapshot: &Snapshot, settings: &Settings) -> Analysis {
    analyze_evaluated(
        &Evaluated::new(cat, snapshot, settings.unused_days),
        settings,
    )
}

/// Findings, scores and suggestions of an evaluated organization.
pub fn analyze_evaluated(ev: &Evaluated<'_>, settings: &Settings) -> Analysis {
    let snapshot = ev.snapshot;
    let org = checks::exposure::OrgView::new(snapshot);
    let function_findings: Vec<Vec<Finding>> = snapshot
        .functions
        .par_iter()
        .map(|f| checks::function_findings(f, &org))
        .collect();
    // Per role, the functions that are public while running as it: a public alias URL counts
    // for the roles of the versions the alias invokes, not for `$LATEST`'s.
    let mut public: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for (f, fs) in snapshot.functions.iter().zip(&function_findings) {
        for finding in fs.iter().filter(|x| x.makes_public()) {
            for role in f.roles_of(f.qualifier_of(&finding.resource_arn)) {
                public.entry(role).or_default().insert(f.arn.as_str());
            }
        }
    }

    let per_role: Vec<(RoleAnalysis, Vec<Finding>)> = ev
        .roles
        .par_iter()
        .map(|r| role_analysis(ev, r, settings, &public))
        .collect();

    let mut roles = Vec::with_capacity(per_role.len());
    let mut role_findings = Vec::with_capacity(per_role.len());
    for (r, f) in per_role {
        roles.push(r);
        role_findings.push(f);
    }
    roles.par_sort_by(|a, b| a.role_arn.cmp(&b.role_arn));
    let (functions, accounts, org_units) = roll_up(ev, &roles, &function_findings);
    // Every finding, in one order whatever the snapshot's: the key ends with the finding id,
    // which is unique, so the order the findings are gathered in does not matter.
    let mut findings: Vec<Finding> = function_findings.into_iter().flatten().collect();
    findings.extend(checks::analyzer_findings(&snapshot.access_findings));
    // SCPs that cannot be parsed: once per SCP, not per role.
    let mut bad_scps = BTreeMap::new();
    for account in &snapshot.accounts {
        for u in ev.index.scps(account.account_id.as_str()).1 {
            bad_scps
                .entry(u.what.clone())
                .or_insert((account.account_id.clone(), u.reason.clone()));
        }
    }
    for (what, (account, reason)) in bad_scps {
        findings.push(Finding::new(
            checks::check(checks::CheckId::Valid001),
            &account,
            None,
            &what,
            "",
            format!("{what} cannot be evaluated; roles were judged without it"),
            serde_json::json!({"policy": what, "reason": reason}),
            None,
        ));
    }
    findings.extend(role_findings.into_iter().flatten());
    findings.par_sort_by(|a, b| {
        (&a.account_id, &a.resource_arn, a.check_id, &a.finding_id).cmp(&(
            &b.account_id,
            &b.resource_arn,
            b.check_id,
            &b.finding_id,
        ))
    });
    Analysis {
        roles,
        functions,
        accounts,
        org_units,
        findings,
    }
}

/// One role's findings, score and suggestion.
fn role_analysis(
    ev: &Evaluated<'_>,
    r: &EvaluatedRole<'_>,
    settings: &Settings,
    public: &HashMap<&str, BTreeSet<&str>>,
) -> (RoleAnalysis, Vec<Finding>) {
    let cat = ev.cat;
    let role = r.role;
    let summary = &*r.summary;
    let facts = checks::RoleFacts::of(r, ev.now);
    let mut findings = checks::role_findings(cat, &facts, settings);
    let count = |s: GrantStatus| summary.grants.iter().filter(|g| g.status == s).count();
    let suggestion = least::suggest_role(ev, r);
    findings.extend(checks::wider_than_used(role, &suggestion));
    let suggested_policy = suggestion.policy.clone();
    let role_findings: Vec<&Finding> = findings.iter().collect();
    let score = score::role_score(
        &role_findings,
        score::RoleInputs {
            functions: r.functions.len(),
            public_functions: public.get(role.arn.as_str()).map_or(0, BTreeSet::len),
            reach: (summary.allowed().count() as f64) / cat.len().max(1) as f64,
            unused_share: r
                .unused_services
                .as_ref()
                .map(|u| u.len() as f64 / r.granted_services.len().max(1) as f64),
        },
    );
    let mut score = score;
    if suggestion.basis.is_some() {
        // How much of the grant the evidence supports: named, not weighted (the gap is
        // weighed by least_privilege_gap and RS-UNUSED-003).
        let e = &suggestion.evidence;
        score.contributions.push(score::Contribution {
            factor: format!("evidence:{}/{}", e.supported_actions, e.allowed_actions),
            weight: 0.0,
        });
    }
    (
        RoleAnalysis {
            role_arn: role.arn.clone(),
            account_id: role.account_id.to_string(),
            is_lambda_role: r.is_lambda,
            function_count: r.functions.len(),
            allowed: count(GrantStatus::Allowed),
            allowed_under_conditions: count(GrantStatus::AllowedUnderConditions),
            blocked_by_boundary: count(GrantStatus::BlockedByBoundary),
            blocked_by_scp: count(GrantStatus::BlockedByScp),
            explicitly_denied: count(GrantStatus::ExplicitlyDenied),
            granted_services: r.granted_services.iter().map(|s| s.to_string()).collect(),
            unused_services: r
                .unused_services
                .as_ref()
                .map(|u| u.iter().map(|s| s.to_string()).collect()),
            score,
            suggested_policy,
            suggestion,
            unread: r.unread.iter().map(|s| s.to_string()).collect(),
        },
        findings,
    )
}

/// Function, account and OU scores from the role scores.
fn roll_up(
    ev: &Evaluated<'_>,
    roles: &[RoleAnalysis],
    function_findings: &[Vec<Finding>],
) -> (Vec<RollUp>, Vec<RollUp>, Vec<RollUp>) {
    let snapshot = ev.snapshot;
    let role_score: HashMap<&str, i32> = roles
        .iter()
        .map(|r| (r.role_arn.as_str(), r.score.score))
        .collect();
    let mut functions = Vec::with_capacity(snapshot.functions.len());
    for (f, own) in snapshot.functions.iter().zip(function_findings) {
        let mut c: Vec<score::Contribution> = own
            .iter()
            .filter(|x| x.mitigated_by.is_none())
            .map(|x| score::Contribution {
                factor: format!("finding:{}", x.check_id),
                weight: score::severity_weight(x.severity),
            })
            .collect();
        // The function is as risky as the riskiest role any of its qualifiers runs as.
        if let Some(r) = f
            .all_roles()
            .iter()
            .filter_map(|arn| role_score.get(arn))
            .max()
        {
            c.push(score::Contribution {
                factor: "role".into(),
                weight: f64::from(*r) / 100.0,
            });
        }
        let s = score::combine(c);
        functions.push(RollUp {
            id: f.arn.clone(),
            score: s.score,
            level: s.level,
        });
    }
    functions.par_sort_by(|a, b| a.id.cmp(&b.id));
    let mut account_score: BTreeMap<&str, i32> = snapshot
        .accounts
        .iter()
        .map(|a| (a.account_id.as_str(), 0))
        .collect();
    for r in roles {
        let e = account_score.entry(r.account_id.as_str()).or_insert(0);
        *e = (*e).max(r.score.score);
    }
    for f in &functions {
        if let Some(account) = f.id.split(':').nth(4) {
            let e = account_score.entry(account).or_insert(0);
            *e = (*e).max(f.score);
        }
    }
    let accounts: Vec<RollUp> = account_score
        .iter()
        .map(|(id, s)| RollUp {
            id: id.to_string(),
            score: *s,
            level: score::level(*s),
        })
        .collect();
    // An OU's score is the worst account anywhere below it.
    let mut ou_score: BTreeMap<&str, i32> = snapshot
        .org_units
        .iter()
        .map(|u| (u.id.as_str(), 0))
        .collect();
    for a in &snapshot.accounts {
        let s = account_score
            .get(a.account_id.as_str())
            .copied()
            .unwrap_or(0);
        for id in ev.tree.ancestors(a.account_id.as_str()) {
            let e = ou_score.entry(id).or_insert(0);
            *e = (*e).max(s);
        }
    }
    let org_units = ou_score
        .iter()
        .map(|(id, s)| RollUp {
            id: id.to_string(),
            score: *s,
            level: score::level(*s),
        })
        .collect();
    (functions, accounts, org_units)
}

/// The four risk verdicts Cloudsplaining also gives, for one policy on its own (no boundary, no
/// SCPs), taken from rolescope's own findings. Used by the comparison test and
/// `docs/cloudsplaining.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Verdicts {
    /// A live privilege-escalation path that needs no condition or particular resource.
    pub privilege_escalation: bool,
    /// RS-EXFIL-001, not narrowed.
    pub data_exfiltration: bool,
    /// RS-EXPOSE-001, not narrowed.
    pub resource_exposure: bool,
    /// RS-CREDS-001, not narrowed.
    pub credentials_exposure: bool,
}

/// [`Verdicts`] for one identity policy.
pub fn policy_verdicts(cat: &Catalog, policy: &Policy) -> Verdicts {
    let role = rolescope_model::Role {
        account_id: rolescope_model::AccountId::new("000000000000").expect("valid id"),
        name: "policy".into(),
        arn: "arn:aws:iam::000000000000:role/policy".into(),
        path: "/".into(),
        trust_policy: "{}".into(),
        inline_policies: vec![],
        attached_policy_arns: vec![],
        boundary_arn: None,
        tags: vec![],
        last_used_at: None,
        last_used_region: None,
        created_at: None,
    };
    let policies = inputs::RolePolicies {
        identity: vec![(inputs::Source::Inline("policy".into()), policy.clone())],
        boundary: None,
        trust: None,
        unusable: vec![],
    };
    let summary = effective_permissions(
        cat,
        &PrincipalPolicies {
            identity: std::slice::from_ref(policy),
            ..Default::default()
        },
    );
    let facts = checks::RoleFacts {
        role: &role,
        policies: &policies,
        summary: &summary,
        functions: &[],
        last_accessed: &[],
        is_lambda: false,
        unused_services: None,
        now: Timestamp::from_millis(0),
    };
    let findings = checks::role_findings(cat, &facts, &Settings::default());
    let live = |id: &str| {
        findings.iter().any(|f| {
            f.check_id == id && f.mitigated_by.is_none() && f.detail.value()["narrowed"] != true
        })
    };
    let privesc = findings.iter().any(|f| {
        f.check_id == "RS-PRIVESC-001"
            && f.mitigated_by.is_none()
            && f.detail.value()["paths"]
                .as_array()
                .is_some_and(|paths| paths.iter().any(|p| p["conditional"] == false))
    });
    Verdicts {
        privilege_escalation: privesc,
        data_exfiltration: live("RS-EXFIL-001"),
        resource_exposure: live("RS-EXPOSE-001"),
        credentials_exposure: live("RS-CREDS-001"),
    }
}

/// One effectively granted action of a role, labelled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrantRow {
    /// `service:Action`.
    pub action: String,
    /// Access level from the catalog.
    pub access_level: &'static str,
    /// allowed / allowed_under_conditions / blocked_by_boundary / blocked_by_scp / explicitly_denied.
    pub status: GrantStatus,
    /// Resource patterns of the granting statements (`NotResource` ones prefixed with `!`).
    pub resources: Vec<String>,
    /// Some granting statement carries conditions.
    pub conditional: bool,
    /// Policies that grant it (inline name or managed ARN).
    pub granted_by: Vec<String>,
    /// Last use: action-level where AWS tracks the action, service-level otherwise.
    pub last_used_at: Option<Timestamp>,
}

/// The effective permissions of one role of a snapshot, one row per granted action.
pub fn role_grants(cat: &Catalog, snapshot: &Snapshot, role_arn: &str) -> Option<Vec<GrantRow>> {
    snapshot.roles.iter().find(|r| r.arn == role_arn)?;
    let ev = Evaluated::new(cat, snapshot, Settings::default().unused_days);
    Some(grants_of(cat, ev.role(role_arn)?))
}

/// One row per action the identity policies of a role grant, with what becomes of it.
pub(crate) fn grants_of(cat: &Catalog, r: &EvaluatedRole<'_>) -> Vec<GrantRow> {
    let policies = &r.policies;
    let summary = &*r.summary;
    let la = &r.last_accessed;
    let mut rows = Vec::with_capacity(summary.grants.len());
    for g in &summary.grants {
        let action = &cat.actions[g.action as usize];
        let service = &cat.services[action.service as usize].prefix;
        let mut resources = BTreeSet::new();
        let mut granted_by = BTreeSet::new();
        let mut conditional = false;
        for (pi, si) in &g.granted_by {
            let Some((source, policy)) = policies.identity.get(*pi as usize) else {
                continue;
            };
            let Some(stmt) = policy.statements.get(*si as usize) else {
                continue;
            };
            granted_by.insert(source.label().to_string());
            conditional |= !stmt.is_unconditional();
            match &stmt.resources {
                Some(r) => resources.extend(r.patterns.iter().map(|p| {
                    if r.negated {
                        format!("!{p}")
                    } else {
                        p.clone()
                    }
                })),
                None => {
                    resources.insert("*".to_string());
                }
            }
        }
        let row = la.iter().find(|l| &l.service == service);
        let last_used_at = row.and_then(|l| {
            l.actions
                .iter()
                .find(|(a, _)| a.eq_ignore_ascii_case(&action.full_name))
                .map(|(_, t)| *t)
                .unwrap_or(l.last_accessed_at)
        });
        rows.push(GrantRow {
            action: action.full_name.clone(),
            access_level: action.level().as_str(),
            status: g.status,
            resources: resources.into_iter().collect(),
            conditional,
            granted_by: granted_by.into_iter().collect(),
            last_used_at,
        });
    }
    rows
}

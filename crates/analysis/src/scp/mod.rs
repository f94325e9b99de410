//! SCP recommendations for the management account: guardrails parameterised by what the scan saw,
//! each simulated with the policy engine against observed usage before it is recommended, then
//! packed under the SCP size and per-target count limits.
//!
//! Pure and deterministic like the rest of the analysis: the same snapshot and analysis give the
//! same recommendations, byte for byte.
//!
//! Targets: the direct parent (OU) of every scanned account that runs Lambda functions, or the
//! account itself when it sits directly under the root (a root SCP would reach every account).
//! Each recommendation is judged against every account under its target.

//!
//! The recommender is split by concern: [`usage`] (what each role was seen doing, and the impact
//! simulation over it), [`guardrails`] (the five guardrails, one function each), [`pack`]
//! (merging and splitting statements under the size and count limits) and [`lint`].

mod guardrails;
mod lint;
mod pack;
mod usage;

pub use lint::{DocumentKind, lint};
pub use usage::{Observed, simulate_policy};

use crate::{Analysis, Evaluated};
use guardrails::{At, GUARDRAILS};
use rolescope_model::{ControlPolicyType, Role};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Knobs of the recommender.
#[derive(Debug, Clone)]
pub struct ScpSettings {
    /// Characters per SCP (AWS Organizations' quota: 10,240 since May 2026).
    pub max_chars: usize,
    /// SCPs attached per target, FullAWSAccess included (AWS's quota: 10 since May 2026).
    pub max_per_target: usize,
    /// Principals every guardrail leaves alone (`ArnNotLike aws:PrincipalArn`): break-glass
    /// and automation roles.
    pub exempt_principals: Vec<String>,
    /// Days of last-accessed data that count as "used".
    pub window_days: i64,
    /// Name of the permission boundary that new Lambda execution roles must carry.
    pub boundary_name: String,
}

impl Default for ScpSettings {
    fn default() -> Self {
        ScpSettings {
            max_chars: DocumentKind::Scp.max_chars(),
            max_per_target: 10,
            exempt_principals: vec!["arn:aws:iam::*:role/OrganizationAccountAccessRole".into()],
            window_days: 90,
            boundary_name: "RolescopeLambdaBoundary".into(),
        }
    }
}

/// The guardrail types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Guardrail {
    /// New or changed Lambda execution roles must carry the approved boundary.
    RequireBoundary,
    /// No AdministratorAccess / PowerUserAccess / IAMFullAccess on Lambda roles, no passing of
    /// privileged roles to Lambda.
    DenyPrivilegedLambdaRoles,
    /// No public function URLs or resource policies.
    DenyPublicFunctions,
    /// Lambda roles act only in the regions where the OU runs functions.
    RestrictRegions,
    /// Lambda roles cannot call services none of them used in the window.
    DenyUnusedServices,
}

impl Guardrail {
    /// Stable name, used in policy names and files.
    pub fn as_str(self) -> &'static str {
        match self {
            Guardrail::RequireBoundary => "require-boundary",
            Guardrail::DenyPrivilegedLambdaRoles => "deny-privileged-lambda-roles",
            Guardrail::DenyPublicFunctions => "deny-public-functions",
            Guardrail::RestrictRegions => "restrict-regions",
            Guardrail::DenyUnusedServices => "deny-unused-services",
        }
    }

    /// Every guardrail, in recommendation order.
    pub const ALL: [Guardrail; 5] = [
        Guardrail::RequireBoundary,
        Guardrail::DenyPrivilegedLambdaRoles,
        Guardrail::DenyPublicFunctions,
        Guardrail::RestrictRegions,
        Guardrail::DenyUnusedServices,
    ];
}

/// Services AWS documents as global (or needing us-east-1) for region-restriction SCPs; they stay
/// callable from any region.
pub const GLOBAL_ACTIONS: &[&str] = &[
    "a4b:*",
    "acm:*",
    "aws-marketplace-management:*",
    "aws-marketplace:*",
    "aws-portal:*",
    "budgets:*",
    "ce:*",
    "chime:*",
    "cloudfront:*",
    "config:*",
    "cur:*",
    "directconnect:*",
    "ec2:DescribeRegions",
    "ec2:DescribeTransitGateways",
    "ec2:DescribeVpnGateways",
    "fms:*",
    "globalaccelerator:*",
    "health:*",
    "iam:*",
    "importexport:*",
    "kms:*",
    "networkmanager:*",
    "organizations:*",
    "pricing:*",
    "route53:*",
    "route53domains:*",
    "s3:GetAccountPublic*",
    "s3:ListAllMyBuckets",
    "s3:ListMultiRegionAccessPoints",
    "s3:PutAccountPublic*",
    "shield:*",
    "sts:*",
    "support:*",
    "trustedadvisor:*",
    "waf-regional:*",
    "waf:*",
    "wafv2:*",
    "wellarchitected:*",
];

/// Regions to probe "somewhere else" with, in order of preference.
const PROBE_REGIONS: &[&str] = &["sa-east-1", "ap-southeast-2", "ca-central-1", "eu-north-1"];

/// AWS managed policies that must not be attached to Lambda execution roles: the ones
/// RS-ADMIN-001 reports.
pub const PRIVILEGED_MANAGED: &[&str] = &crate::checks::ADMIN_POLICIES;

/// Who would lose something they used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Impact {
    /// Roles that used an action the policy denies (ARN → the denied actions, with region).
    pub denied: BTreeMap<String, BTreeSet<String>>,
    /// Functions that would break or lose what they rely on (run as an impacted role, or rely
    /// on public access the policy blocks re-creating).
    pub functions: BTreeSet<String>,
    /// Roles in scope without last-accessed data: their use is unknown.
    pub roles_without_usage: BTreeSet<String>,
}

impl Impact {
    /// Impacted roles.
    pub fn roles(&self) -> Vec<String> {
        self.denied.keys().cloned().collect()
    }

    /// Zero observed impact and no unknowns.
    pub fn is_safe(&self) -> bool {
        self.denied.is_empty() && self.functions.is_empty() && self.roles_without_usage.is_empty()
    }
}

/// One SCP to attach at one target.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    /// Stable id: hash of target and name.
    pub recommendation_id: String,
    /// Root, OU or account id.
    pub target_id: String,
    /// `root`, `ou` or `account`.
    pub target_type: &'static str,
    /// OU path or account name, for people.
    pub target_name: String,
    /// Policy name (unique per target).
    pub name: String,
    /// The guardrails it carries.
    pub guardrails: Vec<Guardrail>,
    /// Minified policy JSON.
    pub policy_json: String,
    /// Characters of `policy_json`.
    pub size_chars: usize,
    /// Statements in the policy.
    pub statements: usize,
    /// Why, in a sentence or two per guardrail.
    pub rationale: String,
    /// Impact on observed usage.
    pub impact: Impact,
    /// Safe to attach as far as the scan can tell: no impact, no unknowns, within the quota.
    pub safe: bool,
    /// Fits next to the SCPs already attached at the target.
    pub fits_quota: bool,
    /// Evidence per guardrail.
    pub evidence: Value,
    /// Problems the linter found (empty for every policy rolescope emits; kept for the record).
    pub lint: Vec<String>,
}

/// An IAM policy to create in each account of a target (the approved Lambda boundary).
#[derive(Debug, Clone, Serialize)]
pub struct BoundaryPolicy {
    /// Target whose accounts need it.
    pub target_id: String,
    /// IAM policy name.
    pub name: String,
    /// Minified JSON.
    pub document: String,
}

/// A guardrail not recommended at a target, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// Target.
    pub target_id: String,
    /// Guardrail.
    pub guardrail: Guardrail,
    /// Why not.
    pub reason: String,
}

/// Everything the recommender produced.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScpPlan {
    /// The SCPs, per target: safe ones first.
    pub recommendations: Vec<Recommendation>,
    /// Boundary policies the require-boundary guardrail refers to.
    pub boundaries: Vec<BoundaryPolicy>,
    /// Guardrails left out, with reasons.
    pub skipped: Vec<Skipped>,
    /// The organization's partition, which every ARN of the plan is in (`aws` when empty).
    pub partition: String,
}

/// A target and the accounts it reaches.
#[derive(Debug, Clone)]
struct Target<'a> {
    id: String,
    kind: &'static str,
    name: String,
    accounts: BTreeSet<&'a str>,
}

/// Targets: the parent OU of each account with functions, or the account itself under the root.
fn targets<'a>(ev: &Evaluated<'a>) -> Vec<Target<'a>> {
    let snapshot = ev.snapshot;
    let with_functions = distinct(snapshot.functions.iter().map(|f| f.account_id.as_str()));
    let mut out: BTreeMap<String, Target<'_>> = BTreeMap::new();
    for a in &snapshot.accounts {
        if !a.scanned || !with_functions.contains(a.account_id.as_str()) {
            continue;
        }
        let (id, kind, name) = if ev.tree.is_root(&a.parent_id) || a.parent_id.is_empty() {
            (a.account_id.to_string(), "account", a.name.clone())
        } else {
            let path = snapshot
                .org_units
                .iter()
                .find(|u| u.id == a.parent_id)
                .map(|u| u.path.clone())
                .unwrap_or_default();
            (a.parent_id.clone(), "ou", path)
        };
        out.entry(id.clone()).or_insert_with(|| Target {
            id,
            kind,
            name,
            accounts: BTreeSet::new(),
        });
    }
    // Every account under each target, nested OUs included.
    for t in out.values_mut() {
        t.accounts = ev.tree.accounts_under(&t.id);
    }
    out.into_values().collect()
}

/// ARN patterns for a set of roles: `arn:<partition>:iam::*:role/<path><name>`, deduplicated across
/// accounts (the same SCP applies to every account under the target).
fn role_patterns<'r>(roles: impl Iterator<Item = &'r Role>) -> Vec<String> {
    distinct(roles.map(|r| {
        format!(
            "arn:{}:iam::*:role{}{}",
            rolescope_model::arn_partition(&r.arn),
            r.path,
            r.name
        )
    }))
    .into_iter()
    .collect()
}

/// The distinct values of a long sequence with few of them (services, accounts, regions),
/// added to the set one at a time: `collect` would first sort every repeat.
pub(super) fn distinct<T: Ord>(items: impl IntoIterator<Item = T>) -> BTreeSet<T> {
    let mut set = BTreeSet::new();
    for item in items {
        set.insert(item);
    }
    set
}

/// Recommend SCPs for the organization of a snapshot: at every target, each guardrail of
/// [`GUARDRAILS`] is judged, then the candidates are simulated and packed.
pub fn recommend(ev: &Evaluated<'_>, analysis: &Analysis, settings: &ScpSettings) -> ScpPlan {
    let observed = Observed::new(ev, settings.window_days);
    // Live findings and role analyses by account, so each target reads only its own.
    let mut live: HashMap<&str, Vec<(usize, &crate::findings::Finding)>> = HashMap::new();
    for (i, f) in analysis.findings.iter().enumerate() {
        if f.mitigated_by.is_none() {
            live.entry(f.account_id.as_str()).or_default().push((i, f));
        }
    }
    let mut role_analyses: HashMap<&str, Vec<&crate::RoleAnalysis>> = HashMap::new();
    for r in &analysis.roles {
        role_analyses
            .entry(r.account_id.as_str())
            .or_default()
            .push(r);
    }
    let mut plan = ScpPlan {
        partition: ev.snapshot.partition().to_string(),
        ..ScpPlan::default()
    };
    for target in targets(ev) {
        let lambda_roles: Vec<&Role> = observed
            .roles_in(&target.accounts)
            .into_iter()
            .filter(|r| observed.lambda_roles.contains(r.arn.as_str()))
            .collect();
        if lambda_roles.is_empty() {
            continue;
        }
        let at = At {
            observed: &observed,
            settings,
            target: &target,
            patterns: role_patterns(lambda_roles.iter().copied()),
            regions: target
                .accounts
                .iter()
                .filter_map(|a| observed.regions_by_account.get(a))
                .flatten()
                .copied()
                .collect(),
            live: &live,
            role_analyses: &role_analyses,
            lambda_roles,
        };
        let mut candidates = Vec::new();
        for judge in GUARDRAILS {
            match judge(&at) {
                (_, Ok(mut candidate)) => {
                    plan.boundaries.extend(candidate.boundary.take());
                    candidates.push(candidate);
                }
                (guardrail, Err(reason)) => plan.skipped.push(Skipped {
                    target_id: target.id.clone(),
                    guardrail,
                    reason,
                }),
            }
        }
        let existing = ev
            .snapshot
            .control_policies
            .iter()
            .filter(|p| {
                p.policy_type == ControlPolicyType::ServiceControlPolicy
                    && p.targets.contains(&target.id)
            })
            .count();
        plan.recommendations.extend(pack::pack(
            ev.cat, &observed, &target, candidates, existing, settings,
        ));
    }
    plan
}

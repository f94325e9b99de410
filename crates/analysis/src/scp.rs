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

use crate::{Analysis, Evaluated};
use rayon::prelude::*;
use rolescope_model::{ControlPolicyType, Role, Timestamp};
use rolescope_policy::context::Context;
use rolescope_policy::{Catalog, Decision, Policy, PolicySet, Request};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Knobs of the recommender.
#[derive(Debug, Clone)]
pub struct ScpSettings {
    /// Characters per SCP (5,120 by default; some organizations have the larger quota).
    pub max_chars: usize,
    /// SCPs attached per target, FullAWSAccess included.
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
            max_chars: 5_120,
            max_per_target: 5,
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

/// AWS managed policies that must not be attached to Lambda execution roles.
pub const PRIVILEGED_MANAGED: &[&str] = &[
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/PowerUserAccess",
    "arn:aws:iam::aws:policy/IAMFullAccess",
];

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
}

/// What a role was seen doing.
#[derive(Debug, Clone, Default)]
struct Usage {
    /// Actions used in the window (catalog spelling).
    actions: BTreeSet<String>,
    /// Services used in the window.
    services: BTreeSet<String>,
    /// Regions it acted in: its functions' regions and its last-used region.
    regions: BTreeSet<String>,
    /// Last-accessed data exists for the role.
    known: bool,
}

/// The observed world the recommender and the simulator work on.
pub struct Observed<'a> {
    ev: &'a Evaluated<'a>,
    usage: HashMap<&'a str, Usage>,
    lambda_roles: BTreeSet<&'a str>,
}

impl std::fmt::Debug for Observed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observed")
            .field("roles", &self.usage.len())
            .field("lambda_roles", &self.lambda_roles.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Observed<'a> {
    /// What each role of an evaluated organization used; `window_days` bounds what counts as used.
    pub fn new(ev: &'a Evaluated<'a>, window_days: i64) -> Self {
        let cat = ev.cat;
        let horizon = ev.now.millis - window_days * 86_400_000;
        let recent = |t: &Option<Timestamp>| t.is_some_and(|t| t.millis >= horizon);
        let lambda_roles: BTreeSet<&str> = ev
            .roles
            .iter()
            .filter(|r| r.is_lambda)
            .map(|r| r.role.arn.as_str())
            .collect();
        let usage = ev
            .roles
            .par_iter()
            .map(|r| {
                let mut u = Usage::default();
                u.regions
                    .extend(r.functions.iter().map(|f| f.region.clone()));
                u.regions.extend(r.role.last_used_region.iter().cloned());
                for la in &r.last_accessed {
                    u.known = true;
                    if !recent(&la.last_accessed_at) {
                        continue;
                    }
                    u.services.insert(la.service.clone());
                    if la.actions.is_empty() {
                        // Service-level data only: every action of the service the role may
                        // call counts as used.
                        let prefix = format!("{}:", la.service);
                        u.actions.extend(
                            r.summary
                                .allowed()
                                .map(|g| &cat.actions[g.action as usize].full_name)
                                .filter(|a| a.to_ascii_lowercase().starts_with(&prefix))
                                .cloned(),
                        );
                    } else {
                        u.actions.extend(
                            la.actions
                                .iter()
                                .filter(|(_, t)| recent(t))
                                .map(|(a, _)| canonical(cat, a)),
                        );
                    }
                }
                (r.role.arn.as_str(), u)
            })
            .collect();
        Observed {
            ev,
            usage,
            lambda_roles,
        }
    }

    /// Roles of the accounts under a target.
    fn roles_in(&self, accounts: &BTreeSet<&str>) -> Vec<&'a Role> {
        self.ev
            .roles
            .iter()
            .map(|r| r.role)
            .filter(|r| accounts.contains(r.account_id.as_str()))
            .collect()
    }

    /// Simulate `policy` as an SCP over the accounts under a target: every action each role used
    /// in each region it acted in, as the worst-case request the policy's conditions allow.
    pub fn simulate(&self, accounts: &BTreeSet<&str>, policy: &Policy) -> Impact {
        let levels = [vec![allow_all(), policy.clone()]];
        let identity = [allow_all()];
        let worst_case = worst_case_context(policy);
        let resources = candidate_resources(policy);
        let mut impact = Impact::default();
        for role in self.roles_in(accounts) {
            let in_scope = self.lambda_roles.contains(role.arn.as_str())
                || scoped_to(policy, &role.arn, role.account_id.as_str());
            if !in_scope {
                continue;
            }
            let Some(u) = self.usage.get(role.arn.as_str()) else {
                continue;
            };
            if !u.known {
                // Unknown use only matters when the policy reaches the role at all.
                if reaches(policy, &role.arn, role.account_id.as_str()) {
                    impact.roles_without_usage.insert(role.arn.clone());
                }
                continue;
            }
            let regions: Vec<&str> = if u.regions.is_empty() {
                vec!["us-east-1"]
            } else {
                u.regions.iter().map(String::as_str).collect()
            };
            for action in &u.actions {
                for region in &regions {
                    let mut ctx = worst_case.clone();
                    ctx.insert("aws:PrincipalArn", vec![role.arn.clone()]);
                    ctx.insert("aws:PrincipalAccount", vec![role.account_id.to_string()]);
                    ctx.insert("aws:RequestedRegion", vec![region.to_string()]);
                    let denied = resources.iter().any(|resource| {
                        let resource = resource.replace("${account}", role.account_id.as_str());
                        let req = Request {
                            principal: &role.arn,
                            action,
                            resource: &resource,
                            resource_account: None,
                            context: &ctx,
                        };
                        rolescope_policy::eval::evaluate(
                            &req,
                            &PolicySet {
                                identity: &identity,
                                scps: &levels,
                                ..Default::default()
                            },
                        )
                        .decision
                            == Decision::ExplicitlyDenied
                    });
                    if denied {
                        impact
                            .denied
                            .entry(role.arn.clone())
                            .or_default()
                            .insert(format!("{action}@{region}"));
                    }
                }
            }
        }
        for arn in impact.denied.keys() {
            for f in self.ev.functions_of(arn) {
                impact.functions.insert(f.arn.clone());
            }
        }
        impact
    }

    /// True when every account already denies a probe request, in every one of `regions`, under
    /// its existing SCP chain.
    fn already_denied(
        &self,
        accounts: &BTreeSet<&str>,
        action: &str,
        ctx: &Context,
        regions: &BTreeSet<&str>,
    ) -> bool {
        // The caller may do anything: only the SCP chain can say no.
        let identity = [allow_all()];
        let regions: Vec<&str> = if regions.is_empty() {
            vec!["us-east-1"]
        } else {
            regions.iter().copied().collect()
        };
        !accounts.is_empty()
            && accounts.iter().all(|acct| {
                let (levels, _) = self.ev.index.scps(acct);
                if levels.is_empty() {
                    return false;
                }
                let principal = format!("arn:aws:iam::{acct}:role/rolescope-probe");
                regions.iter().all(|region| {
                    let mut ctx = ctx.clone();
                    ctx.insert("aws:PrincipalArn", vec![principal.clone()]);
                    ctx.insert("aws:PrincipalAccount", vec![acct.to_string()]);
                    ctx.insert("aws:RequestedRegion", vec![region.to_string()]);
                    let req = Request {
                        principal: &principal,
                        action,
                        resource: "*",
                        resource_account: None,
                        context: &ctx,
                    };
                    rolescope_policy::eval::evaluate(
                        &req,
                        &PolicySet {
                            identity: &identity,
                            scps: levels,
                            ..Default::default()
                        },
                    )
                    .decision
                        != Decision::Allowed
                })
            })
    }
}

/// Simulate a hand-written SCP attached at `target_id` (root, OU or account id) against what the
/// scan observed under it. Errors name what is wrong with the policy or the target.
pub fn simulate_policy(
    ev: &Evaluated<'_>,
    target_id: &str,
    policy_json: &str,
    settings: &ScpSettings,
) -> Result<Impact, String> {
    let policy = Policy::parse(policy_json).map_err(|e| format!("the policy: {e}"))?;
    let accounts = ev.tree.accounts_under(target_id);
    if accounts.is_empty() {
        return Err(format!(
            "{target_id} is no root, OU or account of the snapshot"
        ));
    }
    let observed = Observed::new(ev, settings.window_days);
    Ok(observed.simulate(&accounts, &policy))
}

/// `Allow * on *`, standing in for FullAWSAccess and for an all-powerful caller.
fn allow_all() -> Policy {
    Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    )
    .expect("valid")
}

/// The catalog spelling of an action name (`s3:getobject` → `s3:GetObject`).
fn canonical(cat: &Catalog, action: &str) -> String {
    cat.action(action)
        .map(|a| a.full_name.clone())
        .unwrap_or_else(|| action.to_string())
}

/// A context in which every positive condition of the policy's statements (other than the
/// principal and region keys the simulator sets) holds: the worst case for the caller.
fn worst_case_context(policy: &Policy) -> Context {
    let mut ctx = Context::new();
    for stmt in &policy.statements {
        for c in &stmt.conditions {
            let key = c.key.to_ascii_lowercase();
            if matches!(
                key.as_str(),
                "aws:principalarn" | "aws:principalaccount" | "aws:requestedregion"
            ) || c.operator.base.is_negated()
                || c.values.is_empty()
            {
                continue;
            }
            let value = c.values[0].replace('*', "x");
            ctx.insert(&c.key, vec![value]);
        }
    }
    ctx
}

/// Resources to try: `*` and each resource pattern of the policy, with the account filled in.
fn candidate_resources(policy: &Policy) -> Vec<String> {
    let mut out = BTreeSet::from(["*".to_string()]);
    for stmt in &policy.statements {
        if let Some(r) = &stmt.resources
            && !r.negated
        {
            for p in &r.patterns {
                // `arn:aws:iam::*:role/x` → the role's own account.
                let parts: Vec<&str> = p.splitn(6, ':').collect();
                if parts.len() == 6 && parts[4] == "*" {
                    out.insert(format!(
                        "{}:{}:{}:{}:${{account}}:{}",
                        parts[0], parts[1], parts[2], parts[3], parts[5]
                    ));
                } else {
                    out.insert(p.clone());
                }
            }
        }
    }
    out.into_iter()
        .map(|r| r.replace('*', "x"))
        .map(|r| if r == "x" { "*".to_string() } else { r })
        .collect()
}

/// True when some statement's `ArnLike aws:PrincipalArn` names this role.
fn scoped_to(policy: &Policy, arn: &str, _account: &str) -> bool {
    policy.statements.iter().any(|s| {
        s.conditions.iter().any(|c| {
            c.key.eq_ignore_ascii_case("aws:PrincipalArn")
                && !c.operator.base.is_negated()
                && c.values.iter().any(|v| {
                    rolescope_policy::wildcard::arn_matches(
                        &rolescope_policy::wildcard::compile(v),
                        arn,
                    )
                })
        })
    })
}

/// True when some statement could apply to this principal (not excluded by its principal keys).
fn reaches(policy: &Policy, arn: &str, _account: &str) -> bool {
    policy.statements.iter().any(|s| {
        s.conditions
            .iter()
            .filter(|c| c.key.eq_ignore_ascii_case("aws:PrincipalArn"))
            .all(|c| {
                let hit = c.values.iter().any(|v| {
                    rolescope_policy::wildcard::arn_matches(
                        &rolescope_policy::wildcard::compile(v),
                        arn,
                    )
                });
                hit != c.operator.base.is_negated()
            })
    })
}

/// Problems with an SCP: it must parse, use Version 2012-10-17, have no principal element,
/// name only known actions and condition keys, and fit `max_chars`.
pub fn lint(cat: &Catalog, text: &str, max_chars: usize) -> Vec<String> {
    let mut out = Vec::new();
    let chars = text.chars().count();
    if chars > max_chars {
        out.push(format!("{chars} characters, over the {max_chars} limit"));
    }
    let policy = match Policy::parse(text) {
        Ok(p) => p,
        Err(e) => {
            out.push(format!("does not parse: {e}"));
            return out;
        }
    };
    if !policy.version.supports_variables() {
        out.push("Version is not 2012-10-17".into());
    }
    let known_keys: BTreeSet<String> = cat
        .services
        .iter()
        .flat_map(|s| s.condition_keys.iter().map(|(k, _)| k.to_ascii_lowercase()))
        .collect();
    for (i, s) in policy.statements.iter().enumerate() {
        let at = s.sid.clone().unwrap_or_else(|| format!("Statement[{i}]"));
        if s.principal.is_some() {
            out.push(format!("{at}: SCPs take no Principal element"));
        }
        if !s.unknown_keys.is_empty() {
            out.push(format!("{at}: unknown keys {:?}", s.unknown_keys));
        }
        for p in &s.actions.patterns {
            if cat.expand(p).is_empty() {
                out.push(format!("{at}: {p} matches no known action"));
            }
        }
        for c in &s.conditions {
            let key = c.key.to_ascii_lowercase();
            if !key.starts_with("aws:") && !known_keys.contains(&key) {
                out.push(format!("{at}: unknown condition key {}", c.key));
            }
        }
    }
    out
}

/// Minified JSON of a policy document.
fn minify(doc: &Value) -> String {
    serde_json::to_string(doc).expect("a JSON value serialises")
}

fn document(statements: &[Value]) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
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
    let with_functions: BTreeSet<&str> = snapshot
        .functions
        .iter()
        .map(|f| f.account_id.as_str())
        .collect();
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

/// ARN patterns for a set of roles: `arn:aws:iam::*:role/<path><name>`, deduplicated across
/// accounts (the same SCP applies to every account under the target).
fn role_patterns<'r>(roles: impl Iterator<Item = &'r Role>) -> Vec<String> {
    roles
        .map(|r| format!("arn:aws:iam::*:role{}{}", r.path, r.name))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// A guardrail's statements with its evidence, before packing.
struct Candidate {
    guardrail: Guardrail,
    statements: Vec<Value>,
    rationale: String,
    evidence: Value,
    /// Functions that rely on what the guardrail blocks (reported, never silently blocked).
    relies: BTreeSet<String>,
}

/// Recommend SCPs for the organization of a snapshot.
pub fn recommend(ev: &Evaluated<'_>, analysis: &Analysis, settings: &ScpSettings) -> ScpPlan {
    let (cat, snapshot) = (ev.cat, ev.snapshot);
    let observed = Observed::new(ev, settings.window_days);
    let mut plan = ScpPlan::default();
    let exempt = || -> Value { json!(settings.exempt_principals) };
    let with_exempt = |mut condition: Value| -> Value {
        if !settings.exempt_principals.is_empty() {
            condition["ArnNotLike"] = json!({"aws:PrincipalArn": exempt()});
        }
        condition
    };
    let live = |check: &str, accounts: &BTreeSet<&str>| -> Vec<&crate::Finding> {
        analysis
            .findings
            .iter()
            .filter(|f| {
                f.check_id == check
                    && f.mitigated_by.is_none()
                    && accounts.contains(f.account_id.as_str())
            })
            .collect()
    };

    for target in targets(ev) {
        let roles = observed.roles_in(&target.accounts);
        let lambda_roles: Vec<&Role> = roles
            .iter()
            .copied()
            .filter(|r| observed.lambda_roles.contains(r.arn.as_str()))
            .collect();
        if lambda_roles.is_empty() {
            continue;
        }
        let patterns = role_patterns(lambda_roles.iter().copied());
        let regions: BTreeSet<&str> = snapshot
            .functions
            .iter()
            .filter(|f| target.accounts.contains(f.account_id.as_str()))
            .map(|f| f.region.as_str())
            .collect();
        let mut candidates: Vec<Candidate> = Vec::new();
        let mut skip = |g: Guardrail, reason: String| {
            plan.skipped.push(Skipped {
                target_id: target.id.clone(),
                guardrail: g,
                reason,
            })
        };

        // 1. Require the approved boundary on new or changed Lambda roles.
        let without: Vec<&str> = lambda_roles
            .iter()
            .filter(|r| r.boundary_arn.is_none())
            .map(|r| r.arn.as_str())
            .collect();
        let boundary_arn = format!("arn:aws:iam::*:policy/{}", settings.boundary_name);
        if without.is_empty() {
            skip(
                Guardrail::RequireBoundary,
                "every Lambda execution role already has a permission boundary".into(),
            );
        } else if observed.already_denied(
            &target.accounts,
            "iam:PutRolePermissionsBoundary",
            &Context::new(),
            &regions,
        ) {
            skip(
                Guardrail::RequireBoundary,
                "the existing SCPs already control permission boundaries".into(),
            );
        } else {
            candidates.push(Candidate {
                guardrail: Guardrail::RequireBoundary,
                statements: vec![
                    json!({
                        "Sid": "RolescopeRequireLambdaBoundary",
                        "Effect": "Deny",
                        "Action": ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
                        "Resource": patterns,
                        "Condition": with_exempt(json!({"StringNotLike": {"iam:PermissionsBoundary": boundary_arn}})),
                    }),
                    json!({
                        "Sid": "RolescopeKeepLambdaBoundary",
                        "Effect": "Deny",
                        "Action": "iam:DeleteRolePermissionsBoundary",
                        "Resource": patterns,
                        "Condition": with_exempt(json!({})),
                    }),
                ],
                rationale: format!(
                    "{} of {} Lambda execution roles have no permission boundary. New or changed roles with the observed names must carry {}, which caps what any function can be granted later.",
                    without.len(),
                    lambda_roles.len(),
                    settings.boundary_name
                ),
                evidence: json!({"roles_without_boundary": without, "role_patterns": patterns.len()}),
                relies: BTreeSet::new(),
            });
            plan.boundaries.push(BoundaryPolicy {
                target_id: target.id.clone(),
                name: settings.boundary_name.clone(),
                document: minify(&boundary_document(&observed, &lambda_roles)),
            });
        }

        // 2. No privileged managed policies on Lambda roles; no passing privileged roles to Lambda.
        let admin: Vec<&crate::Finding> = live("RS-ADMIN-001", &target.accounts)
            .into_iter()
            .chain(live("RS-ADMIN-002", &target.accounts))
            .filter(|f| observed.lambda_roles.contains(f.resource_arn.as_str()))
            .collect();
        let privileged: BTreeSet<&str> = admin.iter().map(|f| f.resource_arn.as_str()).collect();
        let attached: Vec<&str> = lambda_roles
            .iter()
            .filter(|r| {
                r.attached_policy_arns
                    .iter()
                    .any(|a| PRIVILEGED_MANAGED.contains(&a.as_str()))
            })
            .map(|r| r.arn.as_str())
            .collect();
        if privileged.is_empty() && attached.is_empty() {
            skip(
                Guardrail::DenyPrivilegedLambdaRoles,
                "no Lambda execution role has administrator access".into(),
            );
        } else {
            let mut statements = vec![json!({
                "Sid": "RolescopeDenyPrivilegedPoliciesOnLambdaRoles",
                "Effect": "Deny",
                "Action": "iam:AttachRolePolicy",
                "Resource": patterns,
                "Condition": with_exempt(json!({"ArnLike": {"iam:PolicyARN": PRIVILEGED_MANAGED}})),
            })];
            if !privileged.is_empty() {
                statements.push(json!({
                    "Sid": "RolescopeDenyPassingPrivilegedRolesToLambda",
                    "Effect": "Deny",
                    "Action": "iam:PassRole",
                    "Resource": privileged.iter().collect::<Vec<_>>(),
                    "Condition": with_exempt(json!({"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}})),
                }));
            }
            let relies: BTreeSet<String> = privileged
                .iter()
                .flat_map(|arn| observed.ev.functions_of(arn))
                .map(|f| f.arn.clone())
                .collect();
            candidates.push(Candidate {
                guardrail: Guardrail::DenyPrivilegedLambdaRoles,
                statements,
                rationale: format!(
                    "{} Lambda execution roles have administrator-level access ({} with a privileged AWS managed policy attached). Attaching AdministratorAccess, PowerUserAccess or IAMFullAccess to Lambda roles is denied, and so is passing the privileged roles to Lambda; the {} functions that run as them today need a narrower role before they can be updated.",
                    privileged.len().max(attached.len()),
                    attached.len(),
                    relies.len()
                ),
                evidence: json!({
                    "privileged_roles": privileged,
                    "roles_with_privileged_managed_policy": attached,
                    "finding_ids": admin.iter().map(|f| &f.finding_id).collect::<Vec<_>>(),
                }),
                relies,
            });
        }

        // 3. No public function URLs or resource policies.
        let public: Vec<&crate::Finding> = live("RS-PUBLIC-001", &target.accounts)
            .into_iter()
            .chain(live("RS-PUBLIC-003", &target.accounts))
            .collect();
        let probe = Context::new().with("lambda:FunctionUrlAuthType", "NONE");
        if observed.already_denied(
            &target.accounts,
            "lambda:CreateFunctionUrlConfig",
            &probe,
            &regions,
        ) && observed.already_denied(
            &target.accounts,
            "lambda:AddPermission",
            &Context::new().with("lambda:Principal", "*"),
            &regions,
        ) {
            skip(
                Guardrail::DenyPublicFunctions,
                "the existing SCPs already deny public function URLs and policies".into(),
            );
        } else {
            let relies: BTreeSet<String> = public.iter().map(|f| f.resource_arn.clone()).collect();
            candidates.push(Candidate {
                guardrail: Guardrail::DenyPublicFunctions,
                statements: vec![
                    json!({
                        "Sid": "RolescopeDenyPublicFunctionUrls",
                        "Effect": "Deny",
                        "Action": ["lambda:CreateFunctionUrlConfig", "lambda:UpdateFunctionUrlConfig"],
                        "Resource": "*",
                        "Condition": with_exempt(json!({"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}})),
                    }),
                    json!({
                        "Sid": "RolescopeDenyPublicFunctionPolicies",
                        "Effect": "Deny",
                        "Action": "lambda:AddPermission",
                        "Resource": "*",
                        "Condition": with_exempt(json!({"StringEquals": {"lambda:Principal": "*"}})),
                    }),
                ],
                rationale: if relies.is_empty() {
                    "No function under this target is public, and the existing SCPs do not prevent it: deny creating public function URLs (AuthType NONE) and resource policies for Principal \"*\".".to_string()
                } else {
                    format!(
                        "{} functions are public today and rely on it: the SCP does not remove their access, but it blocks changing or re-creating it. Review them before attaching.",
                        relies.len()
                    )
                },
                evidence: json!({
                    "public_functions": relies,
                    "finding_ids": public.iter().map(|f| &f.finding_id).collect::<Vec<_>>(),
                }),
                relies,
            });
        }

        // 4. Lambda roles act only where the target runs functions.
        let elsewhere: BTreeSet<&str> = PROBE_REGIONS
            .iter()
            .copied()
            .filter(|r| !regions.contains(r))
            .take(1)
            .collect();
        if observed.already_denied(
            &target.accounts,
            "lambda:CreateFunction",
            &Context::new(),
            &elsewhere,
        ) {
            skip(
                Guardrail::RestrictRegions,
                format!(
                    "the existing SCPs already deny regional services outside {}",
                    regions.iter().copied().collect::<Vec<_>>().join(", ")
                ),
            );
        } else {
            candidates.push(Candidate {
            guardrail: Guardrail::RestrictRegions,
            statements: vec![json!({
                "Sid": "RolescopeLambdaRolesInTheirRegions",
                "Effect": "Deny",
                "NotAction": GLOBAL_ACTIONS,
                "Resource": "*",
                "Condition": with_exempt(json!({
                    "StringNotEquals": {"aws:RequestedRegion": regions},
                    "ArnLike": {"aws:PrincipalArn": patterns},
                })),
            })],
            rationale: format!(
                "Functions under this target run only in {}. Their execution roles are denied regional services elsewhere (global services exempt), so leaked function credentials cannot build in an unwatched region.",
                regions.iter().copied().collect::<Vec<_>>().join(", ")
            ),
            evidence: json!({"function_regions": regions, "lambda_roles": lambda_roles.len()}),
            relies: BTreeSet::new(),
        });
        }

        // 5. Lambda roles cannot call services none of them used.
        let known: Vec<&&Role> = lambda_roles
            .iter()
            .filter(|r| observed.usage.get(r.arn.as_str()).is_some_and(|u| u.known))
            .collect();
        if known.is_empty() {
            skip(
                Guardrail::DenyUnusedServices,
                "no last-accessed data for the Lambda roles under this target".into(),
            );
        } else {
            let mut used: BTreeSet<String> = known
                .iter()
                .flat_map(|r| observed.usage[r.arn.as_str()].services.iter().cloned())
                .collect();
            // Every function writes its logs.
            used.insert("logs".into());
            let granted: BTreeSet<String> = analysis
                .roles
                .iter()
                .filter(|r| r.is_lambda_role && target.accounts.contains(r.account_id.as_str()))
                .flat_map(|r| r.granted_services.iter().cloned())
                .collect();
            let unused: Vec<&String> = granted.difference(&used).collect();
            if unused.is_empty() {
                skip(
                    Guardrail::DenyUnusedServices,
                    "the Lambda roles are granted only services they use".into(),
                );
            } else {
                let allowed: Vec<String> = used.iter().map(|s| format!("{s}:*")).collect();
                candidates.push(Candidate {
                    guardrail: Guardrail::DenyUnusedServices,
                    statements: vec![json!({
                        "Sid": "RolescopeLambdaRolesOnlyUsedServices",
                        "Effect": "Deny",
                        "NotAction": allowed,
                        "Resource": "*",
                        "Condition": with_exempt(json!({"ArnLike": {"aws:PrincipalArn": patterns}})),
                    })],
                    rationale: format!(
                        "In the last {} days the Lambda roles under this target used only {}; they are granted {} more services ({}). Everything else is denied to them.",
                        settings.window_days,
                        used.iter().cloned().collect::<Vec<_>>().join(", "),
                        unused.len(),
                        unused.iter().take(8).map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                    evidence: json!({
                        "services_used": used,
                        "services_granted_unused": unused,
                        "roles_with_usage_data": known.len(),
                        "roles_without_usage_data": lambda_roles.len() - known.len(),
                        "window_days": settings.window_days,
                    }),
                    relies: BTreeSet::new(),
                });
            }
        }

        let existing = snapshot
            .control_policies
            .iter()
            .filter(|p| {
                p.policy_type == ControlPolicyType::ServiceControlPolicy
                    && p.targets.contains(&target.id)
            })
            .count();
        plan.recommendations.extend(pack(
            cat, &observed, &target, candidates, existing, settings,
        ));
    }
    plan
}

/// The approved boundary: the services the target's Lambda roles use (or are granted, without
/// usage data), no IAM writes, and no way to drop the boundary.
fn boundary_document(observed: &Observed<'_>, roles: &[&Role]) -> Value {
    let mut services: BTreeSet<String> = BTreeSet::new();
    for r in roles {
        match observed.usage.get(r.arn.as_str()) {
            Some(u) if u.known => services.extend(u.services.iter().cloned()),
            _ => services.extend(
                observed
                    .ev
                    .role(&r.arn)
                    .into_iter()
                    .flat_map(|e| e.granted_services.iter().map(|s| s.to_string())),
            ),
        }
    }
    services.insert("logs".into());
    services.remove("iam");
    services.remove("organizations");
    let actions: Vec<String> = services.iter().map(|s| format!("{s}:*")).collect();
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ServicesTheFunctionsUse", "Effect": "Allow", "Action": actions, "Resource": "*"},
            {"Sid": "NoIdentityChanges", "Effect": "Deny", "Action": ["iam:*", "organizations:*", "sts:AssumeRole"], "Resource": "*"},
        ]
    })
}

/// Split a statement whose largest list does not fit into halves of that list.
fn split_statement(stmt: &Value) -> Option<(Value, Value)> {
    let mut best: Option<(Vec<String>, usize)> = None;
    let mut consider = |path: Vec<String>, v: &Value| {
        if let Some(a) = v.as_array()
            && a.len() > 1
            && best.as_ref().is_none_or(|(_, n)| a.len() > *n)
        {
            best = Some((path, a.len()));
        }
    };
    if let Some(r) = stmt.get("Resource") {
        consider(vec!["Resource".into()], r);
    }
    if let Some(cond) = stmt.get("Condition").and_then(Value::as_object) {
        for (op, keys) in cond {
            if op == "ArnNotLike" {
                continue; // the exemptions must stay whole in every part
            }
            for (k, v) in keys.as_object().into_iter().flatten() {
                if op.starts_with("StringNot") {
                    continue; // splitting a negated list would widen the deny
                }
                consider(vec!["Condition".into(), op.clone(), k.clone()], v);
            }
        }
    }
    let (path, n) = best?;
    let (mut a, mut b) = (stmt.clone(), stmt.clone());
    let list = {
        let mut cur = stmt;
        for p in &path {
            cur = &cur[p.as_str()];
        }
        cur.as_array().cloned().unwrap_or_default()
    };
    let (left, right) = list.split_at(n / 2);
    let set = |s: &mut Value, items: &[Value]| {
        let mut cur = s;
        for p in &path {
            cur = &mut cur[p.as_str()];
        }
        *cur = Value::Array(items.to_vec());
    };
    set(&mut a, left);
    set(&mut b, right);
    Some((a, b))
}

/// Merge statements that differ only in their Action list.
fn merge_statements(statements: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for s in statements {
        let key = |v: &Value| {
            (
                v.get("Effect").cloned(),
                v.get("Resource").cloned(),
                v.get("Condition").cloned(),
                v.get("NotAction").is_some(),
            )
        };
        if s.get("Action").is_some()
            && let Some(prev) = out
                .iter_mut()
                .find(|p| p.get("Action").is_some() && key(p) == key(&s))
        {
            let mut actions: BTreeSet<String> = BTreeSet::new();
            for v in [&prev["Action"], &s["Action"]] {
                match v {
                    Value::String(a) => {
                        actions.insert(a.clone());
                    }
                    Value::Array(items) => {
                        actions.extend(items.iter().filter_map(|i| i.as_str().map(str::to_string)))
                    }
                    _ => {}
                }
            }
            prev["Action"] = json!(actions);
            continue;
        }
        out.push(s);
    }
    out
}

/// One policy after packing: its guardrails, statements, rationale, evidence and impact.
type Packed = (Vec<Guardrail>, Vec<Value>, String, Value, Impact);

/// Pack a target's candidates into policies: zero-impact guardrails together, each guardrail
/// with impact on its own (so it can be left out), everything within the size limit and counted
/// against the SCPs already attached.
fn pack(
    cat: &Catalog,
    observed: &Observed<'_>,
    target: &Target<'_>,
    candidates: Vec<Candidate>,
    existing: usize,
    settings: &ScpSettings,
) -> Vec<Recommendation> {
    // Simulate each guardrail on its own.
    let mut safe: Vec<(Candidate, Impact)> = Vec::new();
    let mut unsafe_: Vec<(Candidate, Impact)> = Vec::new();
    for c in candidates {
        let policy = Policy::parse(&minify(&document(&c.statements)))
            .expect("rolescope emits valid policies");
        let mut impact = observed.simulate(&target.accounts, &policy);
        impact.functions.extend(c.relies.iter().cloned());
        if impact.is_safe() {
            safe.push((c, impact));
        } else {
            unsafe_.push((c, impact));
        }
    }
    // Groups of candidates that become one policy each (before size splitting).
    let mut groups: Vec<Vec<(Candidate, Impact)>> = Vec::new();
    if !safe.is_empty() {
        groups.push(safe);
    }
    groups.extend(unsafe_.into_iter().map(|c| vec![c]));

    let mut policies: Vec<Packed> = Vec::new();
    for group in groups {
        let guardrails: Vec<Guardrail> = group.iter().map(|(c, _)| c.guardrail).collect();
        let rationale = group
            .iter()
            .map(|(c, _)| format!("{}: {}", c.guardrail.as_str(), c.rationale))
            .collect::<Vec<_>>()
            .join("\n");
        let evidence: Value = group
            .iter()
            .map(|(c, _)| (c.guardrail.as_str().to_string(), c.evidence.clone()))
            .collect::<serde_json::Map<_, _>>()
            .into();
        let mut impact = Impact::default();
        for (_, i) in &group {
            for (k, v) in &i.denied {
                impact
                    .denied
                    .entry(k.clone())
                    .or_default()
                    .extend(v.iter().cloned());
            }
            impact.functions.extend(i.functions.iter().cloned());
            impact
                .roles_without_usage
                .extend(i.roles_without_usage.iter().cloned());
        }
        let statements: Vec<Value> =
            merge_statements(group.into_iter().flat_map(|(c, _)| c.statements).collect());
        // Fill policies statement by statement; split statements that fit nowhere.
        let mut queue: std::collections::VecDeque<Value> = statements.into();
        let mut current: Vec<Value> = Vec::new();
        let mut parts: Vec<Vec<Value>> = Vec::new();
        while let Some(s) = queue.pop_front() {
            let mut trial = current.clone();
            trial.push(s.clone());
            if minify(&document(&trial)).chars().count() <= settings.max_chars {
                current = trial;
            } else if current.is_empty() {
                match split_statement(&s) {
                    Some((a, b)) => {
                        queue.push_front(b);
                        queue.push_front(a);
                    }
                    // Cannot be made smaller: emit it and let the linter say so.
                    None => parts.push(vec![s]),
                }
            } else {
                parts.push(std::mem::take(&mut current));
                queue.push_front(s);
            }
        }
        if !current.is_empty() {
            parts.push(current);
        }
        for part in parts {
            policies.push((
                guardrails.clone(),
                part,
                rationale.clone(),
                evidence.clone(),
                impact.clone(),
            ));
        }
    }

    let free = settings.max_per_target.saturating_sub(existing);
    let mut out = Vec::new();
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for (n, (guardrails, statements, rationale, evidence, impact)) in
        policies.into_iter().enumerate()
    {
        let base = if guardrails.len() == 1 {
            format!("rolescope-{}", guardrails[0].as_str())
        } else {
            "rolescope-lambda-guardrails".to_string()
        };
        let count = names.entry(base.clone()).or_default();
        *count += 1;
        let name = if *count == 1 {
            base
        } else {
            format!("{base}-{count}")
        };
        let policy_json = minify(&document(&statements));
        let lint = lint(cat, &policy_json, settings.max_chars);
        let fits_quota = n < free;
        let mut rationale = rationale;
        if !fits_quota {
            rationale.push_str(&format!(
                "\nQuota: the target already has {existing} SCPs attached (limit {}); detach or merge one first.",
                settings.max_per_target
            ));
        }
        let safe = impact.is_safe() && fits_quota && lint.is_empty();
        out.push(Recommendation {
            recommendation_id: crate::findings::stable_id(&[&target.id, &name]),
            target_id: target.id.clone(),
            target_type: target.kind,
            target_name: target.name.clone(),
            size_chars: policy_json.chars().count(),
            statements: statements.len(),
            name,
            guardrails,
            policy_json,
            rationale,
            safe,
            fits_quota,
            evidence,
            impact,
            lint,
        });
    }
    out
}

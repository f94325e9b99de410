//! What each role was seen doing (services, actions, regions from last-accessed data and its
//! functions), and the impact simulation of an SCP over it.

use super::{Impact, ScpSettings};
use crate::Evaluated;
use rayon::prelude::*;
use rolescope_model::{Role, Timestamp};
use rolescope_policy::context::Context;
use rolescope_policy::{Catalog, Decision, Policy, PolicySet, Request};
use std::collections::{BTreeSet, HashMap};

/// What a role was seen doing.
#[derive(Debug, Clone, Default)]
pub(super) struct Usage {
    /// Actions used in the window (catalog spelling).
    actions: BTreeSet<String>,
    /// Services used in the window.
    pub(super) services: BTreeSet<String>,
    /// Regions it acted in: its functions' regions and its last-used region.
    regions: BTreeSet<String>,
    /// Last-accessed data exists for the role.
    pub(super) known: bool,
    /// Roles with equal `actions` and `regions` share this number: the simulation judges each
    /// shape once per kind of caller.
    shape: usize,
}

/// The observed world the recommender and the simulator work on.
pub struct Observed<'a> {
    pub(super) ev: &'a Evaluated<'a>,
    pub(super) usage: HashMap<&'a str, Usage>,
    pub(super) lambda_roles: BTreeSet<&'a str>,
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
        let mut usage: HashMap<&str, Usage> = ev
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
        let mut shapes: HashMap<(&BTreeSet<String>, &BTreeSet<String>), usize> = HashMap::new();
        let mut numbered: Vec<(&str, usize)> = Vec::with_capacity(usage.len());
        for (arn, u) in &usage {
            let next = shapes.len();
            numbered.push((arn, *shapes.entry((&u.actions, &u.regions)).or_insert(next)));
        }
        for (arn, shape) in numbered {
            if let Some(u) = usage.get_mut(arn) {
                u.shape = shape;
            }
        }
        Observed {
            ev,
            usage,
            lambda_roles,
        }
    }

    /// Roles of the accounts under a target.
    pub(super) fn roles_in(&self, accounts: &BTreeSet<&str>) -> Vec<&'a Role> {
        self.ev
            .roles
            .iter()
            .map(|r| r.role)
            .filter(|r| accounts.contains(r.account_id.as_str()))
            .collect()
    }

    /// Simulate `policy` as an SCP over the accounts under a target: every action each role used
    /// in each region it acted in, as the worst-case request the policy's conditions allow.
    ///
    /// Roles the policy cannot tell apart (the same [`Caller`] class) with the same usage shape
    /// get the same answer, so each such pair is judged once, by a representative role.
    pub fn simulate(&self, accounts: &BTreeSet<&str>, policy: &Policy) -> Impact {
        let levels = [vec![allow_all(), policy.clone()]];
        let worst_case = worst_case_context(policy);
        let resources = candidate_resources(policy);
        let callers = Callers::of(policy, &resources);
        // Each role in scope, with its class when its use is known (in parallel).
        let scoped: Vec<(&Role, Option<(Caller<'_>, usize)>)> = self
            .roles_in(accounts)
            .into_par_iter()
            .filter_map(|role| {
                let account = role.account_id.as_str();
                let in_scope = self.lambda_roles.contains(role.arn.as_str())
                    || scoped_to(policy, &role.arn, account);
                if !in_scope {
                    return None;
                }
                let u = self.usage.get(role.arn.as_str())?;
                if !u.known {
                    // Unknown use only matters when the policy reaches the role at all.
                    return reaches(policy, &role.arn, account).then_some((role, None));
                }
                Some((role, Some((callers.class(&role.arn, account), u.shape))))
            })
            .collect();
        // One representative role per (class, shape), judged in parallel.
        let mut slot: HashMap<(&Caller<'_>, usize), usize> = HashMap::new();
        let mut representatives: Vec<&Role> = Vec::new();
        let slots: Vec<Option<usize>> = scoped
            .iter()
            .map(|(role, class)| {
                let (caller, shape) = class.as_ref()?;
                let next = representatives.len();
                let at = *slot.entry((caller, *shape)).or_insert(next);
                if at == next {
                    representatives.push(role);
                }
                Some(at)
            })
            .collect();
        let judged: Vec<BTreeSet<String>> = representatives
            .par_iter()
            .map(|role| self.denied_for(role, &levels, &worst_case, &resources))
            .collect();
        let mut impact = Impact::default();
        for ((role, _), at) in scoped.iter().zip(slots) {
            match at {
                None => {
                    impact.roles_without_usage.insert(role.arn.clone());
                }
                Some(at) if !judged[at].is_empty() => {
                    impact.denied.insert(role.arn.clone(), judged[at].clone());
                }
                Some(_) => {}
            }
        }
        for arn in impact.denied.keys() {
            for f in self.ev.functions_of(arn) {
                impact.functions.insert(f.arn.clone());
            }
        }
        impact
    }

    /// The `action@region` pairs of a role's use the SCP `levels` deny, trying each candidate
    /// resource with the role's account filled in.
    fn denied_for(
        &self,
        role: &Role,
        levels: &[Vec<Policy>],
        worst_case: &Context,
        resources: &[String],
    ) -> BTreeSet<String> {
        let account = role.account_id.as_str();
        let mut denied = BTreeSet::new();
        let Some(u) = self.usage.get(role.arn.as_str()) else {
            return denied;
        };
        let regions = or_default_region(u.regions.iter().map(String::as_str));
        let resources: Vec<String> = resources
            .iter()
            .map(|r| r.replace("${account}", account))
            .collect();
        for region in &regions {
            let ctx = caller_context(worst_case, &role.arn, account, region);
            for action in &u.actions {
                let refused = resources.iter().any(|resource| {
                    scp_decision(levels, &ctx, &role.arn, action, resource)
                        == Decision::ExplicitlyDenied
                });
                if refused {
                    denied.insert(format!("{action}@{region}"));
                }
            }
        }
        denied
    }

    /// True when every account already denies a probe request, in every one of `regions`, under
    /// its existing SCP chain.
    pub(super) fn already_denied(
        &self,
        accounts: &BTreeSet<&str>,
        action: &str,
        ctx: &Context,
        regions: &BTreeSet<&str>,
    ) -> bool {
        let regions = or_default_region(regions.iter().copied());
        !accounts.is_empty()
            && accounts.iter().all(|acct| {
                let (levels, _) = self.ev.index.scps(acct);
                if levels.is_empty() {
                    return false;
                }
                let principal = format!("arn:aws:iam::{acct}:role/rolescope-probe");
                regions.iter().all(|region| {
                    let ctx = caller_context(ctx, &principal, acct, region);
                    scp_decision(levels, &ctx, &principal, action, "*") != Decision::Allowed
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

/// What of a caller an SCP's decision can depend on. The simulator sets three keys per caller
/// (`aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:RequestedRegion`); the region is judged
/// per request, so two roles are told apart only by the `aws:PrincipalArn` conditions they
/// satisfy, by their account when the policy reads it (a condition, or a resource with the
/// account filled in), and by everything when a policy variable could read either.
struct Callers<'p> {
    /// The conditions on `aws:PrincipalArn`, each decided on its own for a caller.
    arn_conditions: Vec<&'p rolescope_policy::document::Condition>,
    /// The account matters.
    account: bool,
    /// A policy variable appears: every caller is its own class.
    exact: bool,
}

/// The class of one caller under a policy: callers of one class get the same decisions.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Caller<'a> {
    arn: Option<&'a str>,
    account: Option<&'a str>,
    arn_conditions: Vec<bool>,
}

impl<'p> Callers<'p> {
    fn of(policy: &'p Policy, resources: &[String]) -> Self {
        use rolescope_policy::context::has_variable;
        let mut callers = Callers {
            arn_conditions: Vec::new(),
            account: resources.iter().any(|r| r.contains("${account}")),
            exact: false,
        };
        for stmt in &policy.statements {
            if stmt
                .resources
                .iter()
                .flat_map(|r| &r.patterns)
                .any(|p| has_variable(p))
            {
                callers.exact = true;
            }
            for c in &stmt.conditions {
                callers.exact |= c.values.iter().any(|v| has_variable(v));
                if c.key.eq_ignore_ascii_case("aws:PrincipalArn") {
                    callers.arn_conditions.push(c);
                } else if c.key.eq_ignore_ascii_case("aws:PrincipalAccount") {
                    callers.account = true;
                }
            }
        }
        callers
    }

    fn class<'a>(&self, arn: &'a str, account: &'a str) -> Caller<'a> {
        let ctx = Context::new().with("aws:PrincipalArn", arn);
        Caller {
            arn: self.exact.then_some(arn),
            account: (self.exact || self.account).then_some(account),
            arn_conditions: self
                .arn_conditions
                .iter()
                .map(|c| rolescope_policy::condition::evaluate(c, &ctx, false))
                .collect(),
        }
    }
}

/// The regions a caller acted in, or us-east-1 when none is known.
fn or_default_region<'r>(regions: impl Iterator<Item = &'r str>) -> Vec<&'r str> {
    let regions: Vec<&str> = regions.collect();
    if regions.is_empty() {
        vec!["us-east-1"]
    } else {
        regions
    }
}

/// `base` (the condition keys a policy asks for) with the keys of the caller added: who it is,
/// its account and the region it calls.
fn caller_context(base: &Context, principal: &str, account: &str, region: &str) -> Context {
    let mut ctx = base.clone();
    ctx.insert("aws:PrincipalArn", vec![principal.to_string()]);
    ctx.insert("aws:PrincipalAccount", vec![account.to_string()]);
    ctx.insert("aws:RequestedRegion", vec![region.to_string()]);
    ctx
}

/// The decision the SCP `levels` give a request of a caller that may do anything: only the
/// SCPs can say no.
fn scp_decision(
    levels: &[Vec<Policy>],
    ctx: &Context,
    principal: &str,
    action: &str,
    resource: &str,
) -> Decision {
    static ANYTHING: std::sync::LazyLock<[Policy; 1]> = std::sync::LazyLock::new(|| [allow_all()]);
    let req = Request {
        principal,
        action,
        resource,
        resource_account: None,
        context: ctx,
    };
    let set = PolicySet {
        identity: &*ANYTHING,
        scps: levels,
        ..Default::default()
    };
    rolescope_policy::eval::evaluate(&req, &set).decision
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

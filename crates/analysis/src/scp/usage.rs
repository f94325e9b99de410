//! What each role was seen doing (services, actions, regions from last-accessed data and its
//! functions), and the impact simulation of an SCP over it.

use super::{Impact, ScpSettings, distinct};
use crate::Evaluated;
use rayon::prelude::*;
use rolescope_model::{Role, Timestamp};
use rolescope_policy::context::Context;
use rolescope_policy::{Catalog, Decision, Policy, PolicySet, Request};
use std::collections::{BTreeSet, HashMap};

/// What a role was seen doing.
#[derive(Debug, Clone, Default)]
pub(super) struct Usage {
    /// Actions used in the window (catalog spelling); emptied once numbered.
    actions: BTreeSet<String>,
    /// Services used in the window.
    pub(super) services: BTreeSet<String>,
    /// Regions it acted in: its functions' regions and its last-used region; emptied once
    /// numbered.
    regions: BTreeSet<String>,
    /// Last-accessed data exists for the role.
    pub(super) known: bool,
    /// `actions` as numbers into [`Observed::action_names`], in order.
    action_ids: Vec<usize>,
    /// `regions` (or us-east-1 when none is known) as numbers into [`Observed::region_names`].
    region_ids: Vec<usize>,
}

/// The observed world the recommender and the simulator work on.
pub struct Observed<'a> {
    pub(super) ev: &'a Evaluated<'a>,
    pub(super) usage: HashMap<&'a str, Usage>,
    pub(super) lambda_roles: BTreeSet<&'a str>,
    /// Every action some role used, sorted: what [`Usage::action_ids`] number.
    action_names: Vec<String>,
    /// Every region some role acted in, and us-east-1, sorted.
    region_names: Vec<String>,
    /// Each account's roles, as (position in the evaluation, role).
    roles_by_account: HashMap<&'a str, Vec<(usize, &'a Role)>>,
    /// Each account's function regions.
    pub(super) regions_by_account: HashMap<&'a str, BTreeSet<&'a str>>,
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
                    .extend(r.functions.iter().map(|f| f.region.to_string()));
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
        let action_names: Vec<String> = distinct(usage.values().flat_map(|u| &u.actions))
            .into_iter()
            .cloned()
            .collect();
        let region_names: Vec<String> = distinct(
            usage
                .values()
                .flat_map(|u| &u.regions)
                .map(String::as_str)
                .chain([DEFAULT_REGION]),
        )
        .into_iter()
        .map(str::to_string)
        .collect();
        let number = |names: &[String]| -> HashMap<String, usize> {
            names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), i))
                .collect()
        };
        let (action_no, region_no) = (number(&action_names), number(&region_names));
        // The names give way to their numbers: only the numbers are read from here on.
        for u in usage.values_mut() {
            let (actions, regions) = (
                std::mem::take(&mut u.actions),
                std::mem::take(&mut u.regions),
            );
            u.action_ids = actions.iter().map(|a| action_no[a]).collect();
            u.region_ids = or_default_region(regions.iter().map(String::as_str))
                .into_iter()
                .map(|r| region_no[r])
                .collect();
        }
        let mut roles_by_account: HashMap<&str, Vec<(usize, &Role)>> = HashMap::new();
        for (i, r) in ev.roles.iter().enumerate() {
            roles_by_account
                .entry(r.role.account_id.as_str())
                .or_default()
                .push((i, r.role));
        }
        let mut regions_by_account: HashMap<&str, BTreeSet<&str>> = HashMap::new();
        for f in &ev.snapshot.functions {
            regions_by_account
                .entry(f.account_id.as_str())
                .or_default()
                .insert(f.region.as_str());
        }
        Observed {
            ev,
            usage,
            lambda_roles,
            action_names,
            region_names,
            roles_by_account,
            regions_by_account,
        }
    }

    /// Roles of the accounts under a target.
    pub(super) fn roles_in(&self, accounts: &BTreeSet<&str>) -> Vec<&'a Role> {
        let mut roles: Vec<(usize, &Role)> = accounts
            .iter()
            .filter_map(|a| self.roles_by_account.get(a))
            .flatten()
            .copied()
            .collect();
        // In the evaluation's order, as if filtered from it.
        roles.sort_unstable_by_key(|(i, _)| *i);
        roles.into_iter().map(|(_, r)| r).collect()
    }

    /// Simulate `policy` as an SCP over the accounts under a target: every action each role used
    /// in each region it acted in, as the worst-case request the policy's conditions allow.
    ///
    /// Roles the policy cannot tell apart (one [`Caller`] class) get the same decision for the
    /// same action, region and resource, so each (class, action, region) is judged once, for a
    /// representative role of the class. Resources with the caller's account filled in are
    /// judged apart from the others: for them, accounts are told apart by the policy patterns
    /// those resources match.
    pub fn simulate(&self, accounts: &BTreeSet<&str>, policy: &Policy) -> Impact {
        let levels = [vec![allow_all(), policy.clone()]];
        let worst_case = worst_case_context(policy);
        let (per_account, fixed): (Vec<String>, Vec<String>) = candidate_resources(policy)
            .into_iter()
            .partition(|r| r.contains(ACCOUNT_PLACEHOLDER));
        let callers = Callers::of(policy);
        // Each role in scope, with its use when that is known (in parallel).
        let scoped: Vec<(&Role, Option<&Usage>)> = self
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
                Some((role, Some(u)))
            })
            .collect();
        // With an account filled in, a resource is told apart only by the patterns of the
        // policy it matches: one signature per account of the simulation.
        let patterns = resource_patterns(policy);
        let mut signatures: HashMap<&str, Vec<bool>> = HashMap::new();
        if !per_account.is_empty() {
            for (role, _) in &scoped {
                let account = role.account_id.as_str();
                signatures.entry(account).or_insert_with(|| {
                    per_account
                        .iter()
                        .flat_map(|r| {
                            let r = r.replace(ACCOUNT_PLACEHOLDER, account);
                            patterns
                                .iter()
                                .map(move |p| rolescope_policy::wildcard::arn_matches(p, &r))
                        })
                        .collect()
                });
            }
        }
        let judge = |resources: &[String], by_account: bool| {
            Judged {
                tables: self,
                levels: &levels,
                worst_case: &worst_case,
                resources,
            }
            .run(&scoped, |arn, account| {
                let signature = if by_account {
                    signatures.get(account).map_or(&[][..], Vec::as_slice)
                } else {
                    &[]
                };
                callers.class(arn, account, signature)
            })
        };
        let fixed = judge(&fixed, false);
        let per_account = (!per_account.is_empty()).then(|| judge(&per_account, true));
        let mut impact = Impact::default();
        for (i, (role, known)) in scoped.iter().enumerate() {
            let Some(u) = known else {
                impact.roles_without_usage.insert(role.arn.clone());
                continue;
            };
            let mut denied = BTreeSet::new();
            for &a in &u.action_ids {
                for &r in &u.region_ids {
                    let refused = fixed.refused(i, a, r)
                        || per_account.as_ref().is_some_and(|p| p.refused(i, a, r));
                    if refused {
                        denied.insert(format!("{}@{}", self.action_names[a], self.region_names[r]));
                    }
                }
            }
            if !denied.is_empty() {
                impact.denied.insert(role.arn.clone(), denied);
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
                let principal = format!(
                    "arn:{}:iam::{acct}:role/rolescope-probe",
                    self.ev.snapshot.partition()
                );
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
/// satisfy, by their account when a condition reads it, by which of the policy's resource
/// patterns a resource with their account filled in matches (nothing else of the evaluation
/// reads that resource's account), and by everything when a policy variable could read any.
struct Callers<'p> {
    /// The conditions on `aws:PrincipalArn`, each decided on its own for a caller.
    arn_conditions: Vec<&'p rolescope_policy::document::Condition>,
    /// A condition reads `aws:PrincipalAccount`.
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
    /// For each resource with the account filled in, each pattern of the policy it matches.
    resources: &'a [bool],
}

impl<'p> Callers<'p> {
    fn of(policy: &'p Policy) -> Self {
        use rolescope_policy::context::has_variable;
        let mut callers = Callers {
            arn_conditions: Vec::new(),
            account: false,
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

    /// The class of a caller; `resources` is its account's resource signature, when the
    /// requests carry its account.
    fn class<'a>(&self, arn: &'a str, account: &'a str, resources: &'a [bool]) -> Caller<'a> {
        let ctx = Context::new().with("aws:PrincipalArn", arn);
        Caller {
            arn: self.exact.then_some(arn),
            account: (self.exact || self.account).then_some(account),
            arn_conditions: self
                .arn_conditions
                .iter()
                .map(|c| rolescope_policy::condition::evaluate(c, &ctx, false))
                .collect(),
            resources,
        }
    }
}

/// One simulation's requests over a set of candidate resources.
struct Judged<'s, 'a> {
    tables: &'s Observed<'a>,
    levels: &'s [Vec<Policy>],
    worst_case: &'s Context,
    resources: &'s [String],
}

/// The decisions of [`Judged::run`]: per role its class, per (class, action, region) cell
/// whether some resource is refused.
struct Decisions {
    class_of: Vec<Option<usize>>,
    refused: Vec<bool>,
    actions: usize,
    regions: usize,
}

impl Decisions {
    fn cell(&self, class: usize, action: usize, region: usize) -> usize {
        (class * self.actions + action) * self.regions + region
    }

    /// Role `i` of the simulation (in its order) is refused `action` in `region`.
    fn refused(&self, i: usize, action: usize, region: usize) -> bool {
        self.class_of[i].is_some_and(|c| self.refused[self.cell(c, action, region)])
    }
}

impl Judged<'_, '_> {
    /// Number the classes (the first role of each is its representative), mark the requests
    /// some role of a class makes, and judge each marked cell once (in parallel).
    fn run<'r>(
        &self,
        scoped: &[(&'r Role, Option<&Usage>)],
        class: impl Fn(&'r str, &'r str) -> Caller<'r> + Sync,
    ) -> Decisions {
        let t = self.tables;
        let mut d = Decisions {
            class_of: Vec::with_capacity(scoped.len()),
            refused: Vec::new(),
            actions: t.action_names.len(),
            regions: t.region_names.len(),
        };
        if self.resources.is_empty() {
            d.class_of = vec![None; scoped.len()];
            return d;
        }
        let keys: Vec<Option<Caller<'r>>> = scoped
            .par_iter()
            .map(|(role, u)| u.map(|_| class(&role.arn, role.account_id.as_str())))
            .collect();
        let mut classes: HashMap<&Caller<'_>, usize> = HashMap::new();
        let mut representatives: Vec<&Role> = Vec::new();
        let mut needed: Vec<bool> = Vec::new();
        for ((role, u), key) in scoped.iter().zip(&keys) {
            let (Some(u), Some(key)) = (u, key) else {
                d.class_of.push(None);
                continue;
            };
            let next = representatives.len();
            let c = *classes.entry(key).or_insert(next);
            if c == next {
                representatives.push(role);
                needed.resize(d.cell(next + 1, 0, 0), false);
            }
            for &a in &u.action_ids {
                for &r in &u.region_ids {
                    needed[d.cell(c, a, r)] = true;
                }
            }
            d.class_of.push(Some(c));
        }
        // Judged per (class, region): the caller's context and its account's resources are
        // made once for all the actions of that pair (in parallel over the pairs).
        let pairs: Vec<(usize, usize)> = (0..representatives.len())
            .flat_map(|c| (0..d.regions).map(move |r| (c, r)))
            .filter(|&(c, r)| (0..d.actions).any(|a| needed[d.cell(c, a, r)]))
            .collect();
        let judged: Vec<Vec<(usize, bool)>> = pairs
            .par_iter()
            .map(|&(c, region)| {
                let role = representatives[c];
                let account = role.account_id.as_str();
                let ctx = caller_context(
                    self.worst_case,
                    &role.arn,
                    account,
                    t.region_names[region].as_str(),
                );
                let resources: Vec<String> = self
                    .resources
                    .iter()
                    .map(|r| r.replace(ACCOUNT_PLACEHOLDER, account))
                    .collect();
                (0..d.actions)
                    .map(|action| (d.cell(c, action, region), &t.action_names[action]))
                    .filter(|&(at, _)| needed[at])
                    .map(|(at, action)| {
                        let refused = resources.iter().any(|resource| {
                            scp_decision(self.levels, &ctx, &role.arn, action, resource)
                                == Decision::ExplicitlyDenied
                        });
                        (at, refused)
                    })
                    .collect()
            })
            .collect();
        d.refused = vec![false; needed.len()];
        for (at, refused) in judged.into_iter().flatten() {
            d.refused[at] = refused;
        }
        d
    }
}

/// Every Resource and NotResource pattern of a policy, compiled as the engine matches them
/// (without variables: a policy with any makes every caller its own class).
fn resource_patterns(policy: &Policy) -> Vec<Vec<rolescope_policy::wildcard::Atom>> {
    policy
        .statements
        .iter()
        .flat_map(|s| s.resources.iter().flat_map(|r| &r.patterns))
        .map(|p| rolescope_policy::wildcard::compile(p))
        .collect()
}

/// Where a candidate resource takes the caller's account.
const ACCOUNT_PLACEHOLDER: &str = "${account}";

/// The region of a caller whose regions are unknown.
const DEFAULT_REGION: &str = "us-east-1";

/// The regions a caller acted in, or us-east-1 when none is known.
fn or_default_region<'r>(regions: impl Iterator<Item = &'r str>) -> Vec<&'r str> {
    let regions: Vec<&str> = regions.collect();
    if regions.is_empty() {
        vec![DEFAULT_REGION]
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
                && c.values
                    .iter()
                    .any(|v| rolescope_policy::wildcard::arn_glob(v, arn))
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
                let hit = c
                    .values
                    .iter()
                    .any(|v| rolescope_policy::wildcard::arn_glob(v, arn));
                hit != c.operator.base.is_negated()
            })
    })
}

//! Effective permissions in a compact, queryable shape for the datasets.
//!
//! Exploding every role into one row per granted action would write ~22,000 rows per scan for
//! each administrator role. Instead, grants are grouped per role by (service, status, resource
//! scope, conditional). A group that holds every catalog action of its service is written as the
//! pattern `service:*` with an empty action list; any other group lists its actions. So "who can
//! effectively do `iam:PassRole`" is one predicate: `all_actions OR contains(actions, …)`.
//!
//! [`ServiceAccess`] adds, per role, service and access level, how many actions are granted and
//! how many of them were used, from last-accessed data.

use crate::{Evaluated, EvaluatedRole};
use rayon::prelude::*;
use rolescope_model::snapshot::Snapshot;
use rolescope_model::{Shared, Timestamp};
use rolescope_policy::Catalog;
use rolescope_policy::summary::GrantStatus;
use std::collections::BTreeSet;

/// Actions of one role sharing service, status, resource scope and conditionality.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionGroup {
    /// The role.
    pub role_arn: Shared,
    /// Its account.
    pub account_id: Shared,
    /// Service prefix, e.g. `iam`.
    pub service: Shared,
    /// What becomes of the grants.
    pub status: GrantStatus,
    /// `service:*` when the group holds every catalog action of the service, else `None`.
    pub action_pattern: Option<Shared>,
    /// The actions (catalog spelling); empty when `action_pattern` covers them.
    pub actions: Vec<Shared>,
    /// Number of actions in the group.
    pub action_count: usize,
    /// Resource patterns of the granting statements (`!` marks `NotResource`).
    pub resources: Vec<Shared>,
    /// Some granting statement has conditions.
    pub conditional: bool,
    /// Granting policies (inline name or managed ARN).
    pub granted_by: Vec<Shared>,
    /// `key_policy` or `trust_policy` when each key or role must also allow the actions.
    pub depends_on: Option<&'static str>,
}

/// Granted and used actions of one role per service and access level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccess {
    /// The role.
    pub role_arn: Shared,
    /// Its account.
    pub account_id: Shared,
    /// Service prefix.
    pub service: Shared,
    /// Access level (`List`, `Read`, `Write`, `Permissions management`, `Tagging`).
    pub access_level: &'static str,
    /// Actions effectively allowed (with or without conditions).
    pub actions_granted: usize,
    /// Actions granted by identity policies but blocked (boundary, SCP, deny).
    pub actions_blocked: usize,
    /// Allowed actions with an action-level last use; `None` when AWS tracks this service at
    /// service level only or no last-accessed data was collected.
    pub actions_used: Option<usize>,
    /// Last use of the service (service-level data).
    pub last_accessed_at: Option<Timestamp>,
}

/// Both tables for one role.
#[derive(Debug, Clone, Default)]
pub struct RolePermissions {
    /// Grouped grants.
    pub groups: Vec<PermissionGroup>,
    /// Per service and access level.
    pub service_access: Vec<ServiceAccess>,
}

/// Grouped permissions and service access for every role of the snapshot, in snapshot order.
pub fn role_permissions(cat: &Catalog, snapshot: &Snapshot) -> Vec<RolePermissions> {
    let ev = Evaluated::new(cat, snapshot, crate::Settings::default().unused_days);
    of(&ev, &ev.roles)
}

/// Grouped permissions and service access of these evaluated roles, in their order.
pub fn of(ev: &Evaluated<'_>, roles: &[EvaluatedRole<'_>]) -> Vec<RolePermissions> {
    Grouping::new(ev, roles).of(roles)
}

/// What makes two roles' groups equal: the same shared summary (so the same identity documents
/// in order, boundary and SCP chain) and the same policy labels (inline names may differ).
type ShapeKey<'r> = (usize, Vec<&'r str>);

/// The groups of every distinct (summary, policy labels) among some roles, computed once and in
/// parallel; [`Grouping::of`] then fills in each role's own parts (its ARN, its account and
/// what it used).
pub struct Grouping<'e> {
    cat: &'e Catalog,
    /// Each catalog service's prefix, shared by every row that names it.
    prefixes: Vec<Shared>,
    shapes: Vec<Shape>,
    shape_of: std::collections::HashMap<ShapeKey<'e>, usize>,
}

impl std::fmt::Debug for Grouping<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grouping")
            .field("shapes", &self.shapes.len())
            .finish_non_exhaustive()
    }
}

fn shape_key<'r>(r: &'r EvaluatedRole<'_>) -> ShapeKey<'r> {
    (
        std::sync::Arc::as_ptr(&r.summary) as usize,
        r.policies.identity.iter().map(|(s, _)| s.label()).collect(),
    )
}

impl<'e> Grouping<'e> {
    /// The shapes of `roles`.
    pub fn new(ev: &'e Evaluated<'_>, roles: &'e [EvaluatedRole<'_>]) -> Self {
        let mut shape_of = std::collections::HashMap::new();
        let mut representatives = Vec::new();
        for r in roles {
            shape_of.entry(shape_key(r)).or_insert_with(|| {
                representatives.push(r);
                representatives.len() - 1
            });
        }
        let prefixes: Vec<Shared> = ev
            .cat
            .services
            .iter()
            .map(|s| Shared::from(s.prefix.as_str()))
            .collect();
        let shapes = representatives
            .par_iter()
            .map(|r| shape(ev.cat, &prefixes, r))
            .collect();
        Grouping {
            cat: ev.cat,
            prefixes,
            shapes,
            shape_of,
        }
    }

    /// Grouped permissions and service access of these roles (each among those the grouping
    /// was made for), in their order. The exporter calls it a slice at a time, so 100,000 roles'
    /// rows are never held at once.
    pub fn of(&self, roles: &[EvaluatedRole<'_>]) -> Vec<RolePermissions> {
        roles
            .par_iter()
            .map(|r| match self.shape_of.get(&shape_key(r)) {
                Some(&i) => instantiate(self.cat, &self.prefixes, &self.shapes[i], r),
                None => {
                    let shape = shape(self.cat, &self.prefixes, r);
                    instantiate(self.cat, &self.prefixes, &shape, r)
                }
            })
            .collect()
    }
}

/// The groups of one summary and its policies, with the role's own parts left empty, and the
/// granted and blocked counts per (service, access level).
struct Shape {
    groups: Vec<PermissionGroup>,
    /// Sorted by service prefix and level.
    access: Vec<AccessRow>,
    /// Where each (service id, access level) is in `access`.
    access_at: std::collections::HashMap<AccessKey, usize>,
}

/// A role's rows from its shape: its ARN and account, and what it used.
fn instantiate(
    cat: &Catalog,
    prefixes: &[Shared],
    shape: &Shape,
    r: &EvaluatedRole<'_>,
) -> RolePermissions {
    // Shared by every row of the role: a row costs no copies of its texts.
    let role_arn = Shared::from(r.role.arn.as_str());
    let account_id = Shared::from(r.role.account_id.as_str());
    // Actions used, by catalog id: action-level last-accessed rows of the action's service,
    // counted where the role is allowed them.
    let used: std::collections::HashSet<u32> = r
        .last_accessed
        .iter()
        .flat_map(|l| {
            l.actions
                .iter()
                .filter(|(_, t)| t.is_some())
                .filter_map(|(name, _)| cat.action_id(name))
                .filter(|id| cat.service_of(&cat.actions[*id as usize]).prefix == l.service)
        })
        .collect();
    let mut used_at = vec![0usize; shape.access.len()];
    for id in used {
        if r.summary.get(id).is_some_and(|g| g.status.is_allowed()) {
            let action = &cat.actions[id as usize];
            if let Some(&i) = shape
                .access_at
                .get(&(action.service, action.level().as_str()))
            {
                used_at[i] += 1;
            }
        }
    }
    let groups = shape
        .groups
        .iter()
        .map(|g| PermissionGroup {
            role_arn: role_arn.clone(),
            account_id: account_id.clone(),
            ..g.clone()
        })
        .collect();
    let service_access = shape
        .access
        .iter()
        .zip(used_at)
        .map(|(&(service, level, granted, blocked), used)| {
            let service = &prefixes[service as usize];
            // By search in the rows sorted by service: an administrator role has ~400.
            let data = crate::evaluate::first_for_service(&r.last_accessed, service);
            ServiceAccess {
                role_arn: role_arn.clone(),
                account_id: account_id.clone(),
                service: service.clone(),
                access_level: level,
                actions_granted: granted,
                actions_blocked: blocked,
                actions_used: data.filter(|l| !l.actions.is_empty()).map(|_| used),
                last_accessed_at: data.and_then(|l| l.last_accessed_at),
            }
        })
        .collect();
    RolePermissions {
        groups,
        service_access,
    }
}

/// A group of one role's grants: (service, status, resource set, conditional, the resource
/// policy the actions also need).
type GroupKey = (u32, GrantStatus, usize, bool, Option<&'static str>);
/// (service, access level) of the service-access table.
type AccessKey = (u32, &'static str);
/// Actions granted and blocked.
type Counts = (usize, usize);
/// (service id, access level, granted, blocked).
type AccessRow = (u32, &'static str, usize, usize);

/// What the statements granting an action say, for one distinct list of granting statements.
struct Scope<'r> {
    /// Index of its resource patterns in [`Scopes::resource_sets`].
    resources: usize,
    conditional: bool,
    labels: BTreeSet<&'r str>,
}

/// The distinct granting-statement lists of one role, each resolved once.
struct Scopes<'r> {
    policies: &'r [(crate::inputs::Source, rolescope_policy::Policy)],
    /// Resource patterns (`!` marks `NotResource`), sorted and deduplicated, each set once.
    resource_sets: Vec<Vec<String>>,
    resource_ids: std::collections::HashMap<Vec<String>, usize>,
    scopes: Vec<Scope<'r>>,
    scope_of: std::collections::HashMap<&'r [(u16, u16)], usize>,
}

impl<'r> Scopes<'r> {
    fn of(&mut self, granted_by: &'r [(u16, u16)]) -> usize {
        if let Some(i) = self.scope_of.get(granted_by) {
            return *i;
        }
        let mut resources = BTreeSet::new();
        let mut labels = BTreeSet::new();
        let mut conditional = false;
        for (pi, si) in granted_by {
            let Some((source, policy)) = self.policies.get(*pi as usize) else {
                continue;
            };
            let Some(stmt) = policy.statements.get(*si as usize) else {
                continue;
            };
            labels.insert(source.label());
            conditional |= !stmt.is_unconditional();
            match &stmt.resources {
                Some(res) => resources.extend(res.patterns.iter().map(|p| {
                    if res.negated {
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
        let resources: Vec<String> = resources.into_iter().collect();
        let sets = &mut self.resource_sets;
        let id = *self.resource_ids.entry(resources).or_insert_with_key(|k| {
            sets.push(k.clone());
            sets.len() - 1
        });
        self.scopes.push(Scope {
            resources: id,
            conditional,
            labels,
        });
        self.scope_of.insert(granted_by, self.scopes.len() - 1);
        self.scopes.len() - 1
    }
}

/// Group one evaluated role's grants straight from its (shared) summary. The rows are those of
/// [`crate::role_grants`] grouped, but each grant costs a look-up of its granting statements
/// instead of a row of strings: an administrator role has ~22,000 grants from one or two
/// statements.
fn shape(cat: &Catalog, prefixes: &[Shared], r: &EvaluatedRole<'_>) -> Shape {
    use std::collections::HashMap;
    let mut scopes = Scopes {
        policies: &r.policies.identity,
        resource_sets: Vec::new(),
        resource_ids: HashMap::new(),
        scopes: Vec::new(),
        scope_of: HashMap::new(),
    };
    // (service, status, resource set, conditional) -> (actions, scopes)
    let mut groups: HashMap<GroupKey, (Vec<u32>, Vec<usize>)> = HashMap::new();
    let mut access: HashMap<(u32, &'static str), (usize, usize)> = HashMap::new();
    // Grants come sorted by action, so a service's grants are consecutive and mostly share their
    // granting statements: a run of equal keys costs one look-up, not one per grant.
    let mut last_scope: Option<(&[(u16, u16)], usize)> = None;
    let mut run: Option<(GroupKey, Vec<u32>, Vec<usize>)> = None;
    let mut counted: Option<(AccessKey, Counts)> = None;
    for g in &r.summary.grants {
        let action = &cat.actions[g.action as usize];
        let sc = match last_scope {
            Some((by, sc)) if by == g.granted_by.as_slice() => sc,
            _ => {
                let sc = scopes.of(&g.granted_by);
                last_scope = Some((&g.granted_by, sc));
                sc
            }
        };
        let key = (
            action.service,
            g.status,
            scopes.scopes[sc].resources,
            scopes.scopes[sc].conditional,
            g.depends_on,
        );
        match &mut run {
            Some((k, actions, in_scopes)) if *k == key => {
                actions.push(g.action);
                if in_scopes.last() != Some(&sc) {
                    in_scopes.push(sc);
                }
            }
            _ => {
                if let Some((k, actions, in_scopes)) = run.replace((key, vec![g.action], vec![sc]))
                {
                    let entry = groups.entry(k).or_default();
                    entry.0.extend(actions);
                    entry.1.extend(in_scopes);
                }
            }
        }
        let level_key = (action.service, action.level().as_str());
        if counted.as_ref().is_none_or(|(k, _)| *k != level_key)
            && let Some((k, (granted, blocked))) = counted.replace((level_key, (0, 0)))
        {
            let a = access.entry(k).or_default();
            *a = (a.0 + granted, a.1 + blocked);
        }
        if let Some((_, a)) = counted.as_mut() {
            if g.status.is_allowed() {
                a.0 += 1;
            } else {
                a.1 += 1;
            }
        }
    }
    if let Some((k, actions, in_scopes)) = run {
        let entry = groups.entry(k).or_default();
        entry.0.extend(actions);
        entry.1.extend(in_scopes);
    }
    if let Some((k, (granted, blocked))) = counted {
        let a = access.entry(k).or_default();
        *a = (a.0 + granted, a.1 + blocked);
    }
    let groups = permission_groups(cat, prefixes, &scopes, groups);
    let (access, access_at) = service_access(cat, access);
    Shape {
        groups,
        access,
        access_at,
    }
}

/// The role's permission groups, sorted by service prefix, status, resources, condition and
/// dependency; a group holding all of a service's actions is written `service:*`.
fn permission_groups(
    cat: &Catalog,
    prefixes: &[Shared],
    scopes: &Scopes<'_>,
    groups: std::collections::HashMap<GroupKey, (Vec<u32>, Vec<usize>)>,
) -> Vec<PermissionGroup> {
    let prefix = |service: u32| cat.services[service as usize].prefix.as_str();
    let mut ordered: Vec<_> = groups.into_iter().collect();
    ordered.sort_by(|((sa, ta, ra, ca, da), _), ((sb, tb, rb, cb, db), _)| {
        let set = |i: &usize| &scopes.resource_sets[*i];
        (prefix(*sa), ta, set(ra), ca, da).cmp(&(prefix(*sb), tb, set(rb), cb, db))
    });
    ordered
        .into_iter()
        .map(
            |((service, status, resources, conditional, depends_on), (actions, in_scopes))| {
                let svc = &cat.services[service as usize];
                let all = actions.len() == (svc.actions.end - svc.actions.start) as usize;
                let by: BTreeSet<&str> = in_scopes
                    .iter()
                    .flat_map(|sc| scopes.scopes[*sc].labels.iter().copied())
                    .collect();
                PermissionGroup {
                    role_arn: Shared::from(""),
                    account_id: Shared::from(""),
                    service: prefixes[service as usize].clone(),
                    status,
                    action_pattern: all.then(|| Shared::from(format!("{}:*", svc.prefix))),
                    action_count: actions.len(),
                    actions: if all {
                        Vec::new()
                    } else {
                        actions
                            .iter()
                            .map(|a| Shared::from(cat.actions[*a as usize].full_name.as_str()))
                            .collect()
                    },
                    resources: scopes.resource_sets[resources]
                        .iter()
                        .map(Shared::from)
                        .collect(),
                    conditional,
                    granted_by: by.into_iter().map(Shared::from).collect(),
                    depends_on,
                }
            },
        )
        .collect()
}

/// Actions granted and blocked per service and access level, sorted by service prefix and level,
/// with where each is.
fn service_access(
    cat: &Catalog,
    access: std::collections::HashMap<AccessKey, Counts>,
) -> (Vec<AccessRow>, std::collections::HashMap<AccessKey, usize>) {
    let prefix = |service: u32| cat.services[service as usize].prefix.as_str();
    let mut access: Vec<_> = access.into_iter().collect();
    access.sort_by(|((sa, la), _), ((sb, lb), _)| (prefix(*sa), la).cmp(&(prefix(*sb), lb)));
    let access: Vec<AccessRow> = access
        .into_iter()
        .map(|((service, level), (granted, blocked))| (service, level, granted, blocked))
        .collect();
    let access_at: std::collections::HashMap<AccessKey, usize> = access
        .iter()
        .enumerate()
        .map(|(i, &(service, level, _, _))| ((service, level), i))
        .collect();
    (access, access_at)
}

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

use crate::{Evaluated, EvaluatedRole, GrantRow, grants_of};
use rayon::prelude::*;
use rolescope_model::snapshot::Snapshot;
use rolescope_model::{LastAccessed, Timestamp};
use rolescope_policy::Catalog;
use rolescope_policy::summary::GrantStatus;
use std::collections::{BTreeMap, BTreeSet};

/// Actions of one role sharing service, status, resource scope and conditionality.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionGroup {
    /// The role.
    pub role_arn: String,
    /// Its account.
    pub account_id: String,
    /// Service prefix, e.g. `iam`.
    pub service: String,
    /// What becomes of the grants.
    pub status: GrantStatus,
    /// `service:*` when the group holds every catalog action of the service, else `None`.
    pub action_pattern: Option<String>,
    /// The actions (catalog spelling); empty when `action_pattern` covers them.
    pub actions: Vec<String>,
    /// Number of actions in the group.
    pub action_count: usize,
    /// Resource patterns of the granting statements (`!` marks `NotResource`).
    pub resources: Vec<String>,
    /// Some granting statement has conditions.
    pub conditional: bool,
    /// Granting policies (inline name or managed ARN).
    pub granted_by: Vec<String>,
}

/// Granted and used actions of one role per service and access level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccess {
    /// The role.
    pub role_arn: String,
    /// Its account.
    pub account_id: String,
    /// Service prefix.
    pub service: String,
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

/// Grouped permissions and service access of these evaluated roles, in their order. The
/// exporter calls it a slice at a time, so 100,000 roles' groups are never held at once.
pub fn of(ev: &Evaluated<'_>, roles: &[EvaluatedRole<'_>]) -> Vec<RolePermissions> {
    roles
        .par_iter()
        .map(|r| {
            let grants = grants_of(ev.cat, r);
            group(
                ev.cat,
                &r.role.arn,
                r.role.account_id.as_str(),
                &grants,
                &r.last_accessed,
            )
        })
        .collect()
}

/// Group one role's grants.
pub fn group(
    cat: &Catalog,
    role_arn: &str,
    account_id: &str,
    grants: &[GrantRow],
    la: &[&LastAccessed],
) -> RolePermissions {
    type Key<'a> = (&'a str, GrantStatus, &'a [String], bool);
    let mut groups: BTreeMap<Key<'_>, (Vec<&str>, BTreeSet<&str>)> = BTreeMap::new();
    // (service, level) -> (granted, blocked, used)
    let mut access: BTreeMap<(&str, &'static str), (usize, usize, usize)> = BTreeMap::new();
    for g in grants {
        let service = g.action.split_once(':').map_or("", |(s, _)| s);
        let entry = groups
            .entry((service, g.status, g.resources.as_slice(), g.conditional))
            .or_default();
        entry.0.push(&g.action);
        entry.1.extend(g.granted_by.iter().map(String::as_str));
        let a = access.entry((service, g.access_level)).or_default();
        if g.status.is_allowed() {
            a.0 += 1;
            let used = la.iter().any(|l| {
                l.service == service
                    && l.actions
                        .iter()
                        .any(|(n, t)| t.is_some() && n.eq_ignore_ascii_case(&g.action))
            });
            a.2 += usize::from(used);
        } else {
            a.1 += 1;
        }
    }
    let service_size = |prefix: &str| {
        cat.service(prefix)
            .map(|s| (s.actions.end - s.actions.start) as usize)
            .unwrap_or(usize::MAX)
    };
    let groups = groups
        .into_iter()
        .map(
            |((service, status, resources, conditional), (actions, by))| {
                let all = actions.len() == service_size(service);
                PermissionGroup {
                    role_arn: role_arn.to_string(),
                    account_id: account_id.to_string(),
                    service: service.to_string(),
                    status,
                    action_pattern: all.then(|| format!("{service}:*")),
                    action_count: actions.len(),
                    actions: if all {
                        Vec::new()
                    } else {
                        actions.into_iter().map(str::to_string).collect()
                    },
                    resources: resources.to_vec(),
                    conditional,
                    granted_by: by.into_iter().map(str::to_string).collect(),
                }
            },
        )
        .collect();
    let service_access = access
        .into_iter()
        .map(|((service, level), (granted, blocked, used))| {
            let data = la.iter().find(|l| l.service == service);
            ServiceAccess {
                role_arn: role_arn.to_string(),
                account_id: account_id.to_string(),
                service: service.to_string(),
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

//! Least-privilege suggestions: a replacement identity policy that keeps only what the role used.
//!
//! For each Allow statement of the current policies, the suggestion keeps the statement's
//! Resource, NotResource and Condition exactly, and narrows its actions to
//! `granted ∩ used`. "Used" means:
//! * actions with action-level last-accessed data (AWS tracks them for some services) used
//!   within the window;
//! * every action AWS does not track, of a service used within the window;
//! * every action of a service the last-accessed data does not mention (no evidence either way).
//!
//! Deny statements are kept as they are. By construction the suggestion allows nothing the
//! current policies do not; [`is_subset`] checks it with the engine.

use crate::evaluate::first_for_service;
use rolescope_model::{LastAccessed, Timestamp};
use rolescope_policy::summary::{ActionSet, PrincipalPolicies, effective_permissions, expand_spec};
use rolescope_policy::{ActionId, Catalog, Effect, Policy};
use serde_json::{Value, json};
use std::collections::HashMap;

/// The actions the role is considered to have used; `rows` are its last-accessed rows sorted by
/// service, as [`crate::EvaluatedRole::last_accessed`] holds them.
pub fn used_actions(
    cat: &Catalog,
    rows: &[&LastAccessed],
    now: Timestamp,
    horizon_ms: i64,
) -> ActionSet {
    let recent = |t: Option<Timestamp>| t.is_some_and(|t| now.millis - t.millis <= horizon_ms);
    let mut used = ActionSet::empty(cat.len());
    for service in &cat.services {
        let Some(row) = first_for_service(rows, &service.prefix) else {
            // No data about this service: keep it (absence of evidence is not evidence).
            used.insert_range(service.actions.clone());
            continue;
        };
        if !recent(row.last_accessed_at) {
            continue;
        }
        // Tracked actions by catalog id (names compare case-insensitively; the last row of a
        // name counts); an action AWS does not track counts as used.
        let tracked: HashMap<ActionId, bool> = row
            .actions
            .iter()
            .filter_map(|(name, at)| Some((cat.action_id(name)?, recent(*at))))
            .collect();
        for id in service.actions.clone() {
            if tracked.get(&id).copied().unwrap_or(true) {
                used.insert(id);
            }
        }
    }
    used
}

/// Compact action patterns for a set: `service:*` where the set holds the whole service, the
/// action names otherwise (by service in catalog order, as the set numbers them).
fn patterns(cat: &Catalog, set: &ActionSet) -> Vec<String> {
    let mut out = Vec::new();
    let ids: Vec<ActionId> = set.iter().collect();
    for run in
        ids.chunk_by(|a, b| cat.actions[*a as usize].service == cat.actions[*b as usize].service)
    {
        let service = cat.service_of(&cat.actions[run[0] as usize]);
        if run.len() == service.actions.len() {
            out.push(format!("{}:*", service.prefix));
        } else {
            out.extend(
                run.iter()
                    .map(|id| cat.actions[*id as usize].full_name.clone()),
            );
        }
    }
    out
}

/// The suggested policy document, or `None` when nothing would change.
///
/// `documents` are the role's identity policy documents as JSON text, parsed versions alongside.
pub fn suggest(cat: &Catalog, documents: &[(&str, &Policy)], used: &ActionSet) -> Option<Value> {
    let mut statements = Vec::new();
    let mut changed = false;
    for (text, policy) in documents {
        let raw: Value = serde_json::from_str(text).ok()?;
        let raw_statements: Vec<Value> = match &raw["Statement"] {
            Value::Array(list) => list.clone(),
            Value::Object(_) => vec![raw["Statement"].clone()],
            _ => return None,
        };
        for (stmt, raw_stmt) in policy.statements.iter().zip(raw_statements) {
            let Value::Object(mut obj) = raw_stmt else {
                return None;
            };
            if stmt.effect == Effect::Deny {
                statements.push(Value::Object(obj));
                continue;
            }
            let granted = expand_spec(cat, &stmt.actions);
            let mut kept = granted.clone();
            kept.intersect_with(used);
            if kept.len() != granted.len() {
                changed = true;
            }
            if kept.is_empty() {
                continue;
            }
            obj.remove("NotAction");
            obj.remove("Sid");
            obj.insert("Action".into(), json!(patterns(cat, &kept)));
            statements.push(Value::Object(obj));
        }
    }
    changed.then(|| json!({"Version": "2012-10-17", "Statement": statements}))
}

/// True when everything `suggestion` allows (static mode, whole catalog) is allowed by `current`
/// on the same terms or wider.
pub fn is_subset(cat: &Catalog, current: &[Policy], suggestion: &Policy) -> bool {
    let now = effective_permissions(
        cat,
        &PrincipalPolicies {
            identity: current,
            ..Default::default()
        },
    );
    let new = effective_permissions(
        cat,
        &PrincipalPolicies {
            identity: std::slice::from_ref(suggestion),
            ..Default::default()
        },
    );
    new.allowed()
        .all(|g| now.get(g.action).is_some_and(|c| c.status.is_allowed()))
}

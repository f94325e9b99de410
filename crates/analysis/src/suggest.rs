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
    // The services the rows tell about, and what was used of them; every other service is kept
    // whole (absence of evidence is not evidence). A service's row is the first of its prefix in
    // the sorted rows (what `first_for_service` finds), matched exactly as that search matches.
    let mut told = ActionSet::empty(cat.len());
    let mut used = ActionSet::empty(cat.len());
    let mut previous: Option<&str> = None;
    for row in rows {
        let prefix = row.service.as_str();
        if previous == Some(prefix) {
            continue;
        }
        previous = Some(prefix);
        let Some(service) = cat
            .service_index(prefix)
            .map(|i| &cat.services[i])
            .filter(|s| s.prefix == prefix)
        else {
            continue;
        };
        told.insert_range(service.actions.clone());
        used_of_service(cat, service, row, &recent, &mut used);
    }
    used.union_with(&told.complement(cat.len()));
    used
}

/// Add to `used` what `row` (the service's last-accessed row) shows used of `service`: nothing if
/// the service was not accessed recently, else every action but the tracked ones not used
/// recently (tracked names compare case-insensitively, the last of a name counts; an action AWS
/// does not track counts as used).
fn used_of_service(
    cat: &Catalog,
    service: &rolescope_policy::catalog::Service,
    row: &LastAccessed,
    recent: &impl Fn(Option<Timestamp>) -> bool,
    used: &mut ActionSet,
) {
    if !recent(row.last_accessed_at) {
        return;
    }
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

/// Compact action patterns for a set: `service:*` where the set holds the whole service, the
/// action names otherwise (by service in catalog order, as the set numbers them).
pub fn patterns(cat: &Catalog, set: &ActionSet) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::first_for_service;

    /// The definition `used_actions` follows: each catalog service's row found by a search of
    /// the sorted rows (what a row shows used is `used_of_service` in both).
    fn by_search(cat: &Catalog, rows: &[&LastAccessed], now: Timestamp, horizon: i64) -> ActionSet {
        let recent = |t: Option<Timestamp>| t.is_some_and(|t| now.millis - t.millis <= horizon);
        let mut used = ActionSet::empty(cat.len());
        for service in &cat.services {
            let Some(row) = first_for_service(rows, &service.prefix) else {
                used.insert_range(service.actions.clone());
                continue;
            };
            used_of_service(cat, service, row, &recent, &mut used);
        }
        used
    }

    #[test]
    fn used_actions_reads_each_service_from_its_first_sorted_row() {
        let cat = rolescope_policy::catalog();
        let now = Timestamp::from_millis(10_000_000_000);
        let (recent, old) = (
            Some(Timestamp::from_millis(9_999_000_000)),
            Some(Timestamp::from_millis(1)),
        );
        let row = |service: &str, at: Option<Timestamp>, actions: &[(&str, Option<Timestamp>)]| {
            LastAccessed {
                role_arn: "arn:aws:iam::111122223333:role/r".into(),
                service: service.into(),
                last_accessed_at: at,
                actions: actions.iter().map(|(n, t)| (n.to_string(), *t)).collect(),
            }
        };
        // Sorted by service, as the evaluated role holds them: an upper-case spelling (no
        // catalog prefix matches it exactly), a service twice (the first row counts), one used
        // long ago, one never, action-level data, and a service the catalog does not know.
        let mut owned = [
            row("S3", recent, &[]),
            row("dynamodb", old, &[]),
            row("ec2", None, &[]),
            row("lambda", recent, &[]),
            row("lambda", None, &[]),
            row("nosuchservice", recent, &[]),
            row(
                "s3",
                recent,
                &[
                    ("s3:GetObject", recent),
                    ("s3:PutObject", old),
                    ("s3:NoSuchAction", recent),
                ],
            ),
            row("sqs", old, &[("sqs:SendMessage", recent)]),
        ];
        owned.sort_by(|a, b| a.service.cmp(&b.service));
        let rows: Vec<&LastAccessed> = owned.iter().collect();
        let horizon = 90 * 86_400_000;
        let used = used_actions(cat, &rows, now, horizon);
        assert!(used == by_search(cat, &rows, now, horizon));
        // And what that means, action by action.
        let has = |name: &str| used.contains(cat.action_id(name).unwrap());
        assert!(has("s3:GetObject") && !has("s3:PutObject"));
        assert!(
            has("lambda:InvokeFunction"),
            "the first lambda row is recent"
        );
        assert!(!has("dynamodb:GetItem") && !has("ec2:RunInstances") && !has("sqs:SendMessage"));
        assert!(has("iam:PassRole"), "no data about iam: kept");
        // Every prefix of the rows taken alone agrees too.
        for n in 0..=rows.len() {
            assert!(
                used_actions(cat, &rows[..n], now, horizon)
                    == by_search(cat, &rows[..n], now, horizon)
            );
        }
    }
}

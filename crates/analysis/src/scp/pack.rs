//! Packing a target's candidates into SCPs: zero-impact guardrails together, each one with
//! impact on its own, statements merged and split to fit the size limit, counted against the
//! SCPs already attached.

use super::guardrails::Candidate;
use super::lint::{DocumentKind, lint, minify};
use super::usage::Observed;
use super::{Guardrail, Impact, Recommendation, ScpSettings, Target};
use rolescope_policy::{Catalog, Policy};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn document(statements: &[Value]) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
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
pub(super) fn pack(
    cat: &Catalog,
    observed: &Observed<'_>,
    target: &Target<'_>,
    candidates: Vec<Candidate>,
    existing: usize,
    settings: &ScpSettings,
) -> Vec<Recommendation> {
    let policies: Vec<Packed> = groups(observed, target, candidates)
        .into_iter()
        .flat_map(|group| packed(group, settings.max_chars))
        .collect();
    recommendations(cat, target, policies, existing, settings)
}

/// Each guardrail simulated on its own, then grouped: the safe ones in one group, each unsafe
/// one in a group of its own. A group becomes one policy (before size splitting).
fn groups(
    observed: &Observed<'_>,
    target: &Target<'_>,
    candidates: Vec<Candidate>,
) -> Vec<Vec<(Candidate, Impact)>> {
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
    let mut groups: Vec<Vec<(Candidate, Impact)>> = Vec::new();
    if !safe.is_empty() {
        groups.push(safe);
    }
    groups.extend(unsafe_.into_iter().map(|c| vec![c]));
    groups
}

/// One group's policies: its statements merged, then filled into as many policies as the size
/// limit needs, each carrying the group's guardrails, rationale, evidence and impact.
fn packed(group: Vec<(Candidate, Impact)>, max_chars: usize) -> Vec<Packed> {
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
    fill(statements, max_chars)
        .into_iter()
        .map(|part| {
            (
                guardrails.clone(),
                part,
                rationale.clone(),
                evidence.clone(),
                impact.clone(),
            )
        })
        .collect()
}

/// Fill policies statement by statement within `max_chars`; split statements that fit nowhere.
fn fill(statements: Vec<Value>, max_chars: usize) -> Vec<Vec<Value>> {
    let mut queue: std::collections::VecDeque<Value> = statements.into();
    let mut current: Vec<Value> = Vec::new();
    let mut parts: Vec<Vec<Value>> = Vec::new();
    while let Some(s) = queue.pop_front() {
        let mut trial = current.clone();
        trial.push(s.clone());
        if minify(&document(&trial)).chars().count() <= max_chars {
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
    parts
}

/// Name, lint and judge each packed policy; the ones past the target's free SCP slots do not fit
/// the quota.
fn recommendations(
    cat: &Catalog,
    target: &Target<'_>,
    policies: Vec<Packed>,
    existing: usize,
    settings: &ScpSettings,
) -> Vec<Recommendation> {
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
        let lint = lint(cat, &policy_json, DocumentKind::Scp, settings.max_chars);
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

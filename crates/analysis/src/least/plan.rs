//! Building the suggestion: the role's uses become statements, the grants no trail could show
//! are kept as today, Deny statements are kept, and the result is proved and sized.

use super::generalise::{Rule, generalise};
use super::observe::Observability;
use super::proof::{Call, allows_used, never_wider};
use super::size::{ATTACHED, MANAGED_CHARS, split};
use super::{Basis, Evidence, ObservedUse, Status, Suggestion};
use crate::evaluate::{Evaluated, EvaluatedRole};
use crate::suggest;
use crate::usage::configuration_needs;
use rolescope_model::ActivitySource;
use rolescope_policy::eval::resource_matches;
use rolescope_policy::summary::{ActionSet, expand_spec};
use rolescope_policy::{ActionId, Catalog, Context, Effect, Policy, Statement};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// One statement of the current identity policies.
struct Current<'p> {
    stmt: &'p Statement,
    raw: serde_json::Map<String, Value>,
    actions: ActionSet,
    /// Its Condition element as text ("" without one): statements group by it.
    condition: String,
    variables: bool,
}

/// The current statements with their raw JSON, or `None` when a document cannot be re-read.
fn current<'p>(cat: &Catalog, documents: &[(&str, &'p Policy)]) -> Option<Vec<Current<'p>>> {
    let mut out = Vec::new();
    for (text, policy) in documents {
        let raw: Value = serde_json::from_str(text).ok()?;
        let list = match &raw["Statement"] {
            Value::Array(l) => l.clone(),
            v @ Value::Object(_) => vec![v.clone()],
            _ => return None,
        };
        if list.len() != policy.statements.len() {
            return None;
        }
        for (stmt, raw) in policy.statements.iter().zip(list) {
            let Value::Object(raw) = raw else { return None };
            let condition = raw
                .get("Condition")
                .map(Value::to_string)
                .unwrap_or_default();
            out.push(Current {
                stmt,
                actions: expand_spec(cat, &stmt.actions),
                raw,
                condition,
                variables: policy.version.supports_variables(),
            });
        }
    }
    Some(out)
}

/// Why a use is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Observed,
    Configuration,
}

/// One use to grant: an action on a resource (`*` for actions without resource types).
struct Use {
    action: ActionId,
    resource: Option<String>,
    region: String,
    kind: Kind,
    because: &'static str,
    calls: u64,
}

/// The role's uses: its observed calls and its functions' configuration needs; with `only`,
/// those of the function of that name (its session name) alone.
fn uses(cat: &Catalog, r: &EvaluatedRole<'_>, only: Option<&str>) -> Vec<Use> {
    let mut out = Vec::new();
    let wanted = |name: &str| only.is_none_or(|o| o == name);
    for a in r
        .activity
        .iter()
        .filter(|a| a.source != ActivitySource::Configuration && wanted(&a.session_name))
    {
        if let Some(action) = cat.action_id(&a.action) {
            out.push(Use {
                action,
                resource: a.resource_arn.clone(),
                region: a.region.clone(),
                kind: Kind::Observed,
                because: "observed",
                calls: a.calls,
            });
        }
    }
    for f in r.functions.iter().filter(|f| wanted(&f.name)) {
        for need in configuration_needs(f) {
            if let Some(action) = cat.action_id(need.action) {
                out.push(Use {
                    action,
                    resource: need.resource,
                    region: f.region.to_string(),
                    kind: Kind::Configuration,
                    because: need.because,
                    calls: 0,
                });
            }
        }
    }
    out
}

/// Statements under construction: by (kind, condition), each action's resources.
type Groups = BTreeMap<(Kind, String), BTreeMap<ActionId, BTreeSet<String>>>;

/// The context policy variables of the role's own policies are read in.
fn context_of(r: &EvaluatedRole<'_>) -> Context {
    Context::new()
        .with("aws:PrincipalArn", &r.role.arn)
        .with("aws:PrincipalAccount", r.role.account_id.as_str())
}

/// The patterns of one action's resources, each kept only when a current statement of the same
/// condition grants it; otherwise the observed resources themselves.
fn patterns_for(
    current: &[Current<'_>],
    action: ActionId,
    condition: &str,
    resources: &BTreeSet<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    for g in generalise(resources) {
        let granted = g.rule == Rule::Exact
            || current.iter().any(|c| {
                c.stmt.effect == Effect::Allow
                    && c.actions.contains(action)
                    && (c.condition.is_empty() || c.condition == condition)
                    && match &c.stmt.resources {
                        Some(spec) if !spec.negated => spec
                            .patterns
                            .iter()
                            .any(|p| super::proof::arn_contains(p, &g.pattern)),
                        _ => false,
                    }
            });
        if granted {
            out.push(g.pattern);
        } else {
            out.extend(g.from);
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Compact action names for a set (`service:*` for a whole service).
fn action_names(cat: &Catalog, ids: &[ActionId]) -> Vec<String> {
    let mut set = ActionSet::empty(cat.len());
    for id in ids {
        set.insert(*id);
    }
    suggest::patterns(cat, &set)
}

/// What the uses make of the role's grants.
struct Sorted {
    groups: Groups,
    supported: ActionSet,
    unrecorded: ActionSet,
    observed_trail: ActionSet,
    calls: Vec<Call>,
    evidence: Evidence,
}

/// The observed calls that hand a role to a service (docs/usage.md's table, from which
/// `iam:PassRole` is inferred), and the service principal each passes it to.
const PASSING_CALLS: &[(&str, &str)] = &[
    ("lambda:CreateFunction", "lambda.amazonaws.com"),
    ("lambda:UpdateFunctionConfiguration", "lambda.amazonaws.com"),
    ("states:CreateStateMachine", "states.amazonaws.com"),
    ("states:UpdateStateMachine", "states.amazonaws.com"),
    ("cloudformation:CreateStack", "cloudformation.amazonaws.com"),
    ("cloudformation:UpdateStack", "cloudformation.amazonaws.com"),
    ("ecs:RegisterTaskDefinition", "ecs-tasks.amazonaws.com"),
    ("ecs:RunTask", "ecs-tasks.amazonaws.com"),
    ("events:PutTargets", "events.amazonaws.com"),
    ("glue:CreateJob", "glue.amazonaws.com"),
    ("codebuild:CreateProject", "codebuild.amazonaws.com"),
];

/// The services the observed uses pass roles to (`iam:PassedToService` values), when the uses
/// include an inferred `iam:PassRole` and at least one passing call.
fn passed_to(cat: &Catalog, uses: &[Use]) -> Option<Vec<&'static str>> {
    let observed = || uses.iter().filter(|u| u.kind == Kind::Observed);
    let name = |u: &Use| cat.actions[u.action as usize].full_name.as_str();
    if !observed().any(|u| name(u).eq_ignore_ascii_case("iam:PassRole")) {
        return None;
    }
    let services: BTreeSet<&'static str> = observed()
        .filter_map(|u| {
            PASSING_CALLS
                .iter()
                .find(|(call, _)| call.eq_ignore_ascii_case(name(u)))
                .map(|(_, service)| *service)
        })
        .collect();
    (!services.is_empty()).then(|| services.into_iter().collect())
}

/// Sort each use: granted on a known resource (a statement), granted with no resource named
/// (kept as today), not granted (configuration) or granted elsewhere (observed).
fn sort_uses(
    cat: &Catalog,
    r: &EvaluatedRole<'_>,
    current: &[Current<'_>],
    uses: Vec<Use>,
) -> Sorted {
    let ctx = context_of(r);
    let n = cat.len();
    let mut s = Sorted {
        groups: Groups::new(),
        supported: ActionSet::empty(n),
        unrecorded: ActionSet::empty(n),
        observed_trail: ActionSet::empty(n),
        calls: Vec::new(),
        evidence: Evidence::default(),
    };
    let mut observed: BTreeMap<(String, Option<String>), u64> = BTreeMap::new();
    let passed_to = passed_to(cat, &uses);
    for u in uses {
        let action = &cat.actions[u.action as usize];
        let name = action.full_name.clone();
        if u.kind == Kind::Observed {
            *observed
                .entry((name.clone(), u.resource.clone()))
                .or_default() += u.calls;
        }
        // Granted by the identity policies (a grant an SCP or the boundary blocks today is
        // still what let the call succeed when it was made; keeping it costs nothing now).
        let allowed = r.summary.get(u.action).is_some();
        let resource = match (&u.resource, action.resource_types.is_empty()) {
            (_, true) => "*".to_string(),
            (Some(res), false) => res.clone(),
            (None, false) if allowed => {
                // No resource named: the grant is kept as today.
                s.unrecorded.insert(u.action);
                if u.kind == Kind::Observed {
                    s.observed_trail.insert(u.action);
                }
                s.supported.insert(u.action);
                continue;
            }
            (None, false) => "(unknown)".to_string(),
        };
        let label = format!("{name} on {resource}");
        let granting = allowed
            .then(|| {
                let all: Vec<&Current<'_>> = current
                    .iter()
                    .filter(|c| {
                        c.stmt.effect == Effect::Allow
                            && c.actions.contains(u.action)
                            && resource_matches(c.stmt, &resource, &ctx, c.variables)
                    })
                    .collect();
                // An unconditional grant first: the use then needs no condition.
                all.iter()
                    .find(|c| c.condition.is_empty())
                    .or(all.first())
                    .copied()
            })
            .flatten();
        let Some(granting) = granting else {
            match u.kind {
                Kind::Observed => s.evidence.elsewhere.push(label),
                Kind::Configuration => s
                    .evidence
                    .not_granted
                    .push(format!("{label} ({})", u.because)),
            }
            continue;
        };
        s.supported.insert(u.action);
        if u.kind == Kind::Observed {
            s.observed_trail.insert(u.action);
        }
        s.calls.push(Call {
            action: name.clone(),
            resource: resource.clone(),
            region: u.region,
        });
        // An inferred iam:PassRole, granted without conditions today: only to the services the
        // role's observed passing calls hand roles to.
        let condition = match &passed_to {
            Some(services)
                if name.eq_ignore_ascii_case("iam:PassRole") && granting.condition.is_empty() =>
            {
                json!({"StringEquals": {"iam:PassedToService": services}}).to_string()
            }
            _ => granting.condition.clone(),
        };
        s.groups
            .entry((u.kind, condition))
            .or_default()
            .entry(u.action)
            .or_default()
            .insert(resource);
    }
    s.evidence.observed = observed
        .into_iter()
        .map(|((action, resource), calls)| ObservedUse {
            action,
            resource,
            calls,
        })
        .collect();
    for list in [&mut s.evidence.elsewhere, &mut s.evidence.not_granted] {
        list.sort();
        list.dedup();
    }
    s
}

/// The statements of the uses: per (kind, condition), actions with the same patterns together.
fn use_statements(
    cat: &Catalog,
    current: &[Current<'_>],
    groups: &Groups,
    skip: &ActionSet,
) -> Vec<Value> {
    let mut out = Vec::new();
    let mut n = 0;
    for ((kind, condition), actions) in groups {
        let mut by_patterns: BTreeMap<Vec<String>, Vec<ActionId>> = BTreeMap::new();
        for (action, resources) in actions {
            if skip.contains(*action) {
                continue;
            }
            by_patterns
                .entry(patterns_for(current, *action, condition, resources))
                .or_default()
                .push(*action);
        }
        for (patterns, ids) in by_patterns {
            n += 1;
            let sid = match kind {
                Kind::Observed => format!("RsObserved{n}"),
                Kind::Configuration => format!("RsConfiguration{n}"),
            };
            let mut stmt = json!({"Sid": sid, "Effect": "Allow", "Action": action_names(cat, &ids), "Resource": patterns});
            if !condition.is_empty() {
                stmt["Condition"] = serde_json::from_str(condition).unwrap_or(Value::Null);
            }
            out.push(stmt);
        }
    }
    out
}

/// Copies of the current Allow statements for the actions kept as today.
fn kept_statements(
    cat: &Catalog,
    current: &[Current<'_>],
    keep: &ActionSet,
    sid: &str,
    allowed: &ActionSet,
) -> Vec<Value> {
    let mut out = Vec::new();
    for c in current.iter().filter(|c| c.stmt.effect == Effect::Allow) {
        let mut ids = c.actions.clone();
        ids.intersect_with(keep);
        ids.intersect_with(allowed);
        if ids.is_empty() {
            continue;
        }
        let mut obj = c.raw.clone();
        obj.remove("NotAction");
        obj.remove("Sid");
        obj.insert("Action".into(), json!(suggest::patterns(cat, &ids)));
        let mut stmt = json!({"Sid": format!("{sid}{}", out.len() + 1)});
        for (k, v) in obj {
            stmt[k] = v;
        }
        out.push(stmt);
    }
    out
}

/// The actions the role can effectively use today.
fn allowed_actions(cat: &Catalog, r: &EvaluatedRole<'_>) -> ActionSet {
    let mut allowed = ActionSet::empty(cat.len());
    for g in r.summary.allowed() {
        allowed.insert(g.action);
    }
    allowed
}

/// Removed actions by service.
fn removed_by_service(cat: &Catalog, removed: &ActionSet) -> Vec<(String, usize, bool)> {
    // A bit test per action of each service: an administrator's 22,000 removed actions are
    // counted without a map.
    cat.services
        .iter()
        .filter_map(|service| {
            let n = service
                .actions
                .clone()
                .filter(|id| removed.contains(*id))
                .count();
            (n > 0).then(|| (service.prefix.clone(), n, n == service.actions.len()))
        })
        .collect()
}

/// The resource-scoped suggestion of a role whose account the trail covered; with `only`, for
/// the function of that name alone (a role several functions share).
pub fn cloudtrail_suggestion(
    ev: &Evaluated<'_>,
    r: &EvaluatedRole<'_>,
    data_events: &[String],
    only: Option<&str>,
) -> Suggestion {
    let cat = ev.cat;
    let documents = ev.documents(r);
    let Some(current) = current(cat, &documents) else {
        return Suggestion::none(
            Status::UnreadablePolicy,
            "a policy document could not be re-read",
        );
    };
    let allowed = allowed_actions(cat, r);
    let sorted = sort_uses(cat, r, &current, uses(cat, r, only));
    // What last-accessed data shows used (or cannot tell): the only evidence about calls no
    // trail shows.
    let horizon = ev.unused_days * 86_400_000;
    let la_used = suggest::used_actions(cat, &r.last_accessed, ev.now, horizon);
    let observable = super::observe::table(cat);
    let mut unobservable = ActionSet::empty(cat.len());
    let mut removed = ActionSet::empty(cat.len());
    for id in allowed.iter() {
        if sorted.observed_trail.contains(id) || sorted.unrecorded.contains(id) {
            continue;
        }
        let hidden = match observable[id as usize] {
            Observability::Management => false,
            Observability::Data(service) => !data_events.iter().any(|d| d == service),
            // Calls no trail shows that the configuration explains are scoped to it.
            Observability::Never => !sorted.supported.contains(id),
        };
        if hidden && la_used.contains(id) {
            unobservable.insert(id);
        } else if !sorted.supported.contains(id) {
            removed.insert(id);
        }
    }
    let mut evidence = sorted.evidence;
    evidence.allowed_actions = allowed.len();
    let mut supported = sorted.supported.clone();
    supported.intersect_with(&allowed);
    evidence.supported_actions = supported.len();
    evidence.unobservable = unobservable
        .iter()
        .map(|id| cat.actions[id as usize].full_name.clone())
        .collect();
    evidence.unrecorded = sorted
        .unrecorded
        .iter()
        .map(|id| cat.actions[id as usize].full_name.clone())
        .collect();
    evidence.removed = removed_by_service(cat, &removed);

    let mut statements = use_statements(cat, &current, &sorted.groups, &unobservable);
    statements.extend(kept_statements(
        cat,
        &current,
        &unobservable,
        "RsUnobservable",
        &allowed,
    ));
    statements.extend(kept_statements(
        cat,
        &current,
        &sorted.unrecorded,
        "RsResourceUnknown",
        &allowed,
    ));
    statements.extend(
        current
            .iter()
            .filter(|c| c.stmt.effect == Effect::Deny)
            .map(|c| Value::Object(c.raw.clone())),
    );
    finish(ev, r, statements, &sorted.calls, evidence)
}

/// Prove, size and package the statements.
fn finish(
    ev: &Evaluated<'_>,
    r: &EvaluatedRole<'_>,
    statements: Vec<Value>,
    calls: &[Call],
    mut evidence: Evidence,
) -> Suggestion {
    let doc = json!({"Version": "2012-10-17", "Statement": statements});
    let failed = |status, reason: String, evidence: Evidence| {
        let mut s = Suggestion::none(status, reason);
        s.basis = Some(Basis::Cloudtrail);
        s.evidence = evidence;
        s
    };
    let parsed = match Policy::from_value(&doc) {
        Ok(p) => p,
        Err(e) => {
            return failed(
                Status::ProofFailed,
                format!("the suggestion does not parse: {e}"),
                evidence,
            );
        }
    };
    let identity = r.identity();
    if let Some(grant) = never_wider(ev.cat, &identity, &parsed) {
        return failed(
            Status::ProofFailed,
            format!("wider than today: {grant}"),
            evidence,
        );
    }
    let partition = r.role.arn.split(':').nth(1).unwrap_or("aws");
    let mut elsewhere = Vec::new();
    let lost = allows_used(
        &r.role.arn,
        r.role.account_id.as_str(),
        partition,
        &identity,
        &parsed,
        calls,
        &mut elsewhere,
    );
    if let Some(c) = lost.first() {
        return failed(
            Status::ProofFailed,
            format!("would deny a used call: {} on {}", c.action, c.resource),
            evidence,
        );
    }
    // Today's grant within the suggestion as well: the same grant, nothing to apply.
    if r.policies
        .identity
        .iter()
        .all(|(_, p)| never_wider(ev.cat, std::slice::from_ref(&parsed), p).is_none())
    {
        return failed(
            Status::NoChange,
            "the evidence supports every grant the role has".into(),
            evidence,
        );
    }
    evidence.elsewhere.extend(
        elsewhere
            .into_iter()
            .map(|c| format!("{} on {}", c.action, c.resource)),
    );
    evidence.elsewhere.sort();
    evidence.elsewhere.dedup();
    let Some(documents) = split(
        doc["Statement"].as_array().map_or(&[][..], Vec::as_slice),
        MANAGED_CHARS,
    ) else {
        return failed(
            Status::OverSizeLimits,
            format!("a statement does not fit a managed policy of {MANAGED_CHARS} characters"),
            evidence,
        );
    };
    if documents.len() > ATTACHED {
        return failed(
            Status::OverSizeLimits,
            format!(
                "{} managed policies of {MANAGED_CHARS} characters would be needed; a role has {ATTACHED} by default",
                documents.len()
            ),
            evidence,
        );
    }
    Suggestion {
        status: Status::Suggested,
        basis: Some(Basis::Cloudtrail),
        reason: None,
        policy: Some(doc.to_string()),
        documents: documents.iter().map(Value::to_string).collect(),
        evidence,
        functions: Vec::new(),
    }
}

/// Today's behaviour, for a role the trail did not cover: actions narrowed by last-accessed
/// data, every statement's resources and conditions kept.
pub fn last_accessed_suggestion(
    ev: &Evaluated<'_>,
    r: &EvaluatedRole<'_>,
    why: String,
) -> Suggestion {
    let cat = ev.cat;
    let horizon = ev.unused_days * 86_400_000;
    let used = suggest::used_actions(cat, &r.last_accessed, ev.now, horizon);
    let documents = ev.documents(r);
    let reason =
        format!("{why}: actions narrowed by IAM last-accessed data only, resources as today");
    let Some(value) = suggest::suggest(cat, &documents, &used) else {
        let mut s = Suggestion::none(Status::NoChange, reason);
        s.basis = Some(Basis::LastAccessed);
        return s;
    };
    let subset = Policy::from_value(&value)
        .ok()
        .is_some_and(|p| suggest::is_subset(cat, &r.identity(), &p));
    if !subset {
        return Suggestion::none(
            Status::ProofFailed,
            "the last-accessed suggestion is wider than today",
        );
    }
    let allowed = allowed_actions(cat, r);
    let mut removed = allowed.clone();
    removed.intersect_with(&used.complement(cat.len()));
    let mut kept = allowed.clone();
    kept.intersect_with(&used);
    let evidence = Evidence {
        allowed_actions: allowed.len(),
        supported_actions: kept.len(),
        removed: removed_by_service(cat, &removed),
        ..Evidence::default()
    };
    let statements = value["Statement"].as_array().cloned().unwrap_or_default();
    match split(&statements, MANAGED_CHARS).filter(|d| d.len() <= ATTACHED) {
        Some(docs) => Suggestion {
            status: Status::Suggested,
            basis: Some(Basis::LastAccessed),
            reason: Some(reason),
            policy: Some(value.to_string()),
            documents: docs.iter().map(Value::to_string).collect(),
            evidence,
            functions: Vec::new(),
        },
        None => Suggestion::none(
            Status::OverSizeLimits,
            "the suggestion does not fit IAM's size limits",
        ),
    }
}

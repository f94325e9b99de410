//! The evaluated organization: everything later stages read about the roles of a snapshot,
//! computed once.
//!
//! Checks, scores, the permission tables and the SCP recommender all read an [`Evaluated`];
//! none of them resolves a policy or computes effective permissions again. Each concept has
//! one definition here: which roles are Lambda roles ([`is_lambda_role`]), which functions use a
//! role, what a role used and which granted services it left unused ([`EvaluatedRole`]).
//!
//! Effective permissions depend only on the identity policies, the boundary and the SCP chain,
//! so roles with the same ones (the same managed policies in accounts under the same SCPs, the
//! usual case in an organization built from templates) share one [`Summary`].

use crate::inputs::{self, Index, RolePolicies, Source};
use rayon::prelude::*;
use rolescope_model::snapshot::Snapshot;
use rolescope_model::tree::OrgTree;
use rolescope_model::{
    Activity, CollectionError, Function, LastAccessed, Role, Timestamp, UsageCoverage,
};
use rolescope_policy::document::{PrincipalKind, PrincipalSpec};
use rolescope_policy::summary::{PrincipalPolicies, Summary, effective_permissions};
use rolescope_policy::{Catalog, Effect, Policy};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// The service principal Lambda assumes execution roles as.
pub const LAMBDA_SERVICE: &str = "lambda.amazonaws.com";

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// One role with everything derived from the snapshot about it.
#[derive(Debug)]
pub struct EvaluatedRole<'a> {
    /// The role.
    pub role: &'a Role,
    /// Its parsed policies.
    pub policies: RolePolicies,
    /// Its effective permissions (shared with every role of the same policies and SCP chain).
    pub summary: Arc<Summary>,
    /// Functions that run as it.
    pub functions: Vec<&'a Function>,
    /// Its last-accessed rows (empty when none were collected), sorted by service (rows of one
    /// service in the order collected): [`first_for_service`] finds a service's row.
    pub last_accessed: Vec<&'a LastAccessed>,
    /// Its CloudTrail activity rows (empty when no trail was read), sorted by action, then
    /// resource.
    pub activity: Vec<&'a Activity>,
    /// Trusted by Lambda or used by a function.
    pub is_lambda: bool,
    /// Services it can effectively use (allowed, with or without conditions); shared like the
    /// summary.
    pub granted_services: Arc<BTreeSet<&'a str>>,
    /// Services used within the unused window (from last-accessed data).
    pub used_services: Option<BTreeSet<&'a str>>,
    /// Granted services not used within the window; `None` without last-accessed data. AWS's
    /// service last-accessed report lists every service the role's policies allow, so a granted
    /// service the collected report does not show as recently accessed was not used.
    pub unused_services: Option<Vec<&'a str>>,
    /// Parts of the role that could not be read: `policies` (a document it references was not
    /// collected), `last_accessed` (its report failed or timed out), or the operation of another
    /// collection error about it. Empty when the role is complete. Unknown is not absent: the
    /// findings and score cover what was read.
    pub unread: Vec<&'static str>,
}

/// What of a role could not be read (see [`EvaluatedRole::unread`]).
fn unread_parts(
    policies: &RolePolicies,
    errors: Option<&Vec<&CollectionError>>,
) -> Vec<&'static str> {
    let mut parts = BTreeSet::new();
    if policies.unusable.iter().any(|u| u.missing) {
        parts.insert("policies");
    }
    for e in errors.into_iter().flatten() {
        parts.insert(if e.operation.contains("LastAccessed") {
            "last_accessed"
        } else {
            "policies"
        });
    }
    parts.into_iter().collect()
}

impl EvaluatedRole<'_> {
    /// The identity policies as the engine takes them.
    pub fn identity(&self) -> Vec<Policy> {
        self.policies
            .identity
            .iter()
            .map(|(_, p)| p.clone())
            .collect()
    }
}

/// The organization of a snapshot, evaluated.
#[derive(Debug)]
pub struct Evaluated<'a> {
    /// The action catalog used.
    pub cat: &'a Catalog,
    /// The snapshot.
    pub snapshot: &'a Snapshot,
    /// Policy lookups and SCP chains.
    pub index: Index<'a>,
    /// Roots, OUs and accounts.
    pub tree: OrgTree<'a>,
    /// The scan's end: the reference time for "recently".
    pub now: Timestamp,
    /// Days without use after which a service counts as unused.
    pub unused_days: i64,
    /// Every role, by ARN (whatever the order of the snapshot's records).
    pub roles: Vec<EvaluatedRole<'a>>,
    by_arn: HashMap<&'a str, usize>,
    coverage: HashMap<&'a str, Vec<&'a UsageCoverage>>,
    functions_by_role: HashMap<&'a str, Vec<&'a Function>>,
}

/// Whether a role is a Lambda execution role: a function runs as it, or its trust policy
/// allows Lambda to assume it.
pub fn is_lambda_role(trust: Option<&Policy>, used_by_functions: bool) -> bool {
    used_by_functions || trusts_service(trust, LAMBDA_SERVICE)
}

/// Whether a trust policy has an Allow statement naming this service principal.
pub fn trusts_service(trust: Option<&Policy>, service: &str) -> bool {
    trust.is_some_and(|t| {
        t.statements.iter().any(|s| {
            s.effect == Effect::Allow
                && matches!(&s.principal, Some(PrincipalSpec::Map(m))
                    if m.iter().any(|(k, ids)| *k == PrincipalKind::Service && ids.iter().any(|i| i == service)))
        })
    })
}

/// What makes two roles' effective permissions equal: their identity documents in order, their
/// boundary and their SCP chain.
#[derive(Debug, PartialEq, Eq, Hash)]
struct SummaryKey<'a> {
    identity: Vec<&'a str>,
    boundary: Option<&'a str>,
    chain: Option<usize>,
}

fn summary_key<'a>(index: &Index<'a>, role: &'a Role) -> SummaryKey<'a> {
    // Inline documents by their text, managed ones by ARN (one document per ARN in a snapshot);
    // a prefix keeps an inline text from ever equalling an ARN.
    let mut identity =
        Vec::with_capacity(role.inline_policies.len() + role.attached_policy_arns.len());
    identity.extend(role.inline_policies.iter().map(|p| p.document.as_str()));
    identity.push("\u{0}managed");
    identity.extend(role.attached_policy_arns.iter().map(String::as_str));
    SummaryKey {
        identity,
        boundary: role.boundary_arn.as_deref(),
        chain: index.chain_number(role.account_id.as_str()),
    }
}

/// Effective permissions of one distinct policy set, and the services they reach.
type Shared<'a> = (Arc<Summary>, Arc<BTreeSet<&'a str>>);

/// The rows of a snapshot grouped by the role they belong to, each group sorted, so that
/// nothing downstream depends on the order of the snapshot's records.
/// In last-accessed rows sorted by service (as [`EvaluatedRole::last_accessed`] holds them), the
/// first row of `service`: the one a search of the rows in that order finds.
pub fn first_for_service<'a>(rows: &[&'a LastAccessed], service: &str) -> Option<&'a LastAccessed> {
    let at = rows.partition_point(|r| r.service.as_str() < service);
    rows.get(at).copied().filter(|r| r.service == service)
}

fn by_role<T>(
    rows: &[T],
    role: impl Fn(&T) -> &str,
    order: impl Fn(&T, &T) -> std::cmp::Ordering,
) -> HashMap<&str, Vec<&T>> {
    let mut map: HashMap<&str, Vec<&T>> = HashMap::new();
    for row in rows {
        map.entry(role(row)).or_default().push(row);
    }
    for group in map.values_mut() {
        group.sort_by(|a, b| order(a, b));
    }
    map
}

/// Each role's slot among the distinct policy sets, and each set's effective permissions,
/// computed once and in parallel.
fn distinct_summaries<'a>(
    cat: &'a Catalog,
    index: &Index<'a>,
    roles: &'a [Role],
    policies: &[RolePolicies],
) -> (Vec<usize>, Vec<Shared<'a>>) {
    let mut distinct: HashMap<SummaryKey<'_>, usize> = HashMap::new();
    let mut representative = Vec::new();
    let slot: Vec<usize> = roles
        .iter()
        .enumerate()
        .map(|(i, role)| {
            *distinct.entry(summary_key(index, role)).or_insert_with(|| {
                representative.push(i);
                representative.len() - 1
            })
        })
        .collect();
    let shared = representative
        .par_iter()
        .map(|&i| {
            let p = &policies[i];
            let identity: Vec<Policy> = p.identity.iter().map(|(_, p)| p.clone()).collect();
            let (scps, _) = index.scps(roles[i].account_id.as_str());
            let summary = effective_permissions(
                cat,
                &PrincipalPolicies {
                    identity: &identity,
                    boundary: p.boundary.as_ref(),
                    scps,
                },
            );
            let granted: BTreeSet<&str> = summary
                .allowed()
                .map(|g| {
                    cat.service_of(&cat.actions[g.action as usize])
                        .prefix
                        .as_str()
                })
                .collect();
            (Arc::new(summary), Arc::new(granted))
        })
        .collect();
    (slot, shared)
}

/// The collection errors of a snapshot by the resource they are about.
fn errors_by_resource(snapshot: &Snapshot) -> BTreeMap<&str, Vec<&CollectionError>> {
    snapshot
        .collection_errors
        .iter()
        .fold(BTreeMap::new(), |mut m, e| {
            if let Some(arn) = e.resource_arn.as_deref() {
                m.entry(arn).or_default().push(e);
            }
            m
        })
}

impl<'a> Evaluated<'a> {
    /// Evaluate every role of a snapshot, in parallel, each distinct policy set once.
    pub fn new(cat: &'a Catalog, snapshot: &'a Snapshot, unused_days: i64) -> Self {
        let index = Index::new(snapshot);
        let now = snapshot
            .scan
            .as_ref()
            .map(|s| s.finished_at)
            .unwrap_or(Timestamp::from_millis(0));
        // A function is used by every role it runs as: `$LATEST`'s and each published
        // version's (aliases run as their versions).
        let mut functions_by_role: HashMap<&str, Vec<&Function>> = HashMap::new();
        for f in &snapshot.functions {
            for role in f.all_roles() {
                functions_by_role.entry(role).or_default().push(f);
            }
        }
        for group in functions_by_role.values_mut() {
            group.sort_by(|a, b| a.arn.cmp(&b.arn));
        }
        let la_by_role = by_role(
            &snapshot.last_accessed,
            |l| &l.role_arn,
            |a, b| a.service.cmp(&b.service),
        );
        let activity_by_role = by_role(
            &snapshot.activity,
            |a| &a.role_arn,
            |a, b| {
                (&a.action, &a.resource_arn, &a.session_name, &a.region).cmp(&(
                    &b.action,
                    &b.resource_arn,
                    &b.session_name,
                    &b.region,
                ))
            },
        );
        let coverage = by_role(
            &snapshot.usage_coverage,
            |c| c.account_id.as_str(),
            |a, b| a.source.cmp(&b.source),
        );
        let errors_about = errors_by_resource(snapshot);
        let policies: Vec<RolePolicies> = snapshot
            .roles
            .par_iter()
            .map(|role| inputs::resolve(&index, role))
            .collect();
        let (slot, shared) = distinct_summaries(cat, &index, &snapshot.roles, &policies);
        let horizon = unused_days * DAY_MS;
        let mut roles: Vec<EvaluatedRole<'_>> = snapshot
            .roles
            .par_iter()
            .zip(policies)
            .zip(slot)
            .map(|((role, policies), slot)| {
                let (summary, granted_services) = &shared[slot];
                let functions = functions_by_role
                    .get(role.arn.as_str())
                    .cloned()
                    .unwrap_or_default();
                let last_accessed = la_by_role
                    .get(role.arn.as_str())
                    .cloned()
                    .unwrap_or_default();
                let recent =
                    |t: Option<Timestamp>| t.is_some_and(|t| now.millis - t.millis <= horizon);
                let used_services = (!last_accessed.is_empty()).then(|| {
                    last_accessed
                        .iter()
                        .filter(|la| recent(la.last_accessed_at))
                        .map(|la| la.service.as_str())
                        .collect::<BTreeSet<_>>()
                });
                let unused_services = used_services.as_ref().map(|used| {
                    granted_services
                        .iter()
                        .copied()
                        .filter(|s| !used.contains(s))
                        .collect::<Vec<_>>()
                });
                let unread = unread_parts(&policies, errors_about.get(role.arn.as_str()));
                let activity = activity_by_role
                    .get(role.arn.as_str())
                    .cloned()
                    .unwrap_or_default();
                EvaluatedRole {
                    role,
                    unread,
                    is_lambda: is_lambda_role(policies.trust.as_ref(), !functions.is_empty()),
                    policies,
                    summary: Arc::clone(summary),
                    functions,
                    last_accessed,
                    activity,
                    granted_services: Arc::clone(granted_services),
                    used_services,
                    unused_services,
                }
            })
            .collect();
        roles.sort_by(|a, b| a.role.arn.cmp(&b.role.arn));
        let by_arn = roles
            .iter()
            .enumerate()
            .map(|(i, r)| (r.role.arn.as_str(), i))
            .collect();
        Evaluated {
            cat,
            snapshot,
            index,
            tree: OrgTree::new(snapshot),
            now,
            unused_days,
            roles,
            by_arn,
            coverage,
            functions_by_role,
        }
    }

    /// A role by ARN.
    pub fn role(&self, arn: &str) -> Option<&EvaluatedRole<'a>> {
        self.by_arn.get(arn).map(|i| &self.roles[*i])
    }

    /// The usage coverage rows of an account (empty when no trail was read for it).
    pub fn coverage_of(&self, account: &str) -> &[&'a UsageCoverage] {
        self.coverage.get(account).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Functions running as a role (by ARN, whether or not the role was collected).
    pub fn functions_of(&self, role_arn: &str) -> &[&'a Function] {
        self.functions_by_role
            .get(role_arn)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The documents behind a role's identity policies, as the least-privilege suggestion
    /// rewrites them: (text, parsed).
    pub fn documents<'r>(&self, r: &'r EvaluatedRole<'a>) -> Vec<(&'a str, &'r Policy)> {
        r.policies
            .identity
            .iter()
            .filter_map(|(source, parsed)| {
                let text = match source {
                    Source::Inline(name) => r
                        .role
                        .inline_policies
                        .iter()
                        .find(|p| &p.name == name)
                        .map(|p| p.document.as_str()),
                    Source::Managed(arn) => self.index.managed_document(arn),
                }?;
                Some((text, parsed))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_row_is_the_first_of_that_service_in_sorted_rows() {
        let row = |service: &str, at: i64| LastAccessed {
            role_arn: "arn:aws:iam::111122223333:role/r".into(),
            service: service.into(),
            last_accessed_at: Some(Timestamp::from_millis(at)),
            actions: Vec::new(),
        };
        let owned = [row("ec2", 1), row("s3", 2), row("s3", 3), row("sqs", 4)];
        let rows: Vec<&LastAccessed> = owned.iter().collect();
        let at = |s: &str| first_for_service(&rows, s).and_then(|r| r.last_accessed_at);
        assert_eq!(at("s3"), Some(Timestamp::from_millis(2)));
        assert_eq!(at("ec2"), Some(Timestamp::from_millis(1)));
        assert_eq!(at("sqs"), Some(Timestamp::from_millis(4)));
        assert_eq!(at("iam"), None);
        assert_eq!(at("zzz"), None);
        assert_eq!(first_for_service(&[], "s3"), None);
    }
}

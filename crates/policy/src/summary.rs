//! The static mode: what a principal can do, over the whole action catalog, without a request.
//!
//! With the request context unknown, each action the identity policies grant is labelled
//! [`GrantStatus::Allowed`], [`GrantStatus::AllowedUnderConditions`] (some gate only opens for
//! certain request contexts or resources), or blocked — by an explicit deny, the permission
//! boundary, or an SCP level without an allow. Statements are expanded once into bitsets over the
//! catalog, so a whole-catalog summary costs a few bit operations per action.

use crate::catalog::{ActionId, Catalog};
use crate::document::{ActionSpec, Effect, Policy, Statement};
use crate::eval::PolicyKind;

/// A set of actions as a bitset over the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionSet {
    words: Vec<u64>,
}

impl ActionSet {
    /// The empty set for a catalog of `n` actions.
    pub fn empty(n: usize) -> Self {
        ActionSet {
            words: vec![0; n.div_ceil(64)],
        }
    }

    /// Add one action.
    pub fn insert(&mut self, id: ActionId) {
        self.words[id as usize / 64] |= 1 << (id % 64);
    }

    /// Membership.
    pub fn contains(&self, id: ActionId) -> bool {
        self.words[id as usize / 64] & (1 << (id % 64)) != 0
    }

    /// In-place union.
    pub fn union_with(&mut self, other: &ActionSet) {
        self.words
            .iter_mut()
            .zip(&other.words)
            .for_each(|(a, b)| *a |= b);
    }

    /// Add every action of a contiguous id range (a whole service), a word at a time.
    pub fn insert_range(&mut self, range: std::ops::Range<ActionId>) {
        let (mut i, end) = (range.start as usize, range.end as usize);
        while i < end && i % 64 != 0 {
            self.insert(i as ActionId);
            i += 1;
        }
        while i + 64 <= end {
            self.words[i / 64] = u64::MAX;
            i += 64;
        }
        while i < end {
            self.insert(i as ActionId);
            i += 1;
        }
    }

    /// In-place intersection.
    pub fn intersect_with(&mut self, other: &ActionSet) {
        self.words
            .iter_mut()
            .zip(&other.words)
            .for_each(|(a, b)| *a &= b);
    }

    /// Complement within a catalog of `n` actions.
    pub fn complement(&self, n: usize) -> ActionSet {
        let mut words: Vec<u64> = self.words.iter().map(|w| !w).collect();
        if !n.is_multiple_of(64)
            && let Some(last) = words.last_mut()
        {
            *last &= (1u64 << (n % 64)) - 1;
        }
        ActionSet { words }
    }

    /// Number of actions in the set.
    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }

    /// The actions in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = ActionId> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                (w != 0).then(|| {
                    let bit = w.trailing_zeros();
                    w &= w - 1;
                    (i * 64) as ActionId + bit
                })
            })
        })
    }
}

/// The actions an Action/NotAction element covers (unknown actions cover nothing).
pub fn expand_spec(cat: &Catalog, spec: &ActionSpec) -> ActionSet {
    let mut set = ActionSet::empty(cat.len());
    for p in &spec.patterns {
        // `*` and `service:*` are the common patterns of SCPs and boundaries: fill words instead
        // of visiting 22,000 actions one by one.
        if p == "*" {
            set.insert_range(0..cat.len() as ActionId);
            continue;
        }
        if let Some(prefix) = p.strip_suffix(":*")
            && !prefix.contains(['*', '?'])
            && let Some(service) = cat.service(prefix)
        {
            set.insert_range(service.actions.clone());
            continue;
        }
        cat.for_each_match(p, |id| set.insert(id));
    }
    if spec.negated {
        set.complement(cat.len())
    } else {
        set
    }
}

/// How a granted action ends up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantStatus {
    /// Allowed for any request context on the granted resources.
    Allowed,
    /// Allowed only for some request contexts or resources (conditions, narrower gates or denies).
    AllowedUnderConditions,
    /// Granted by identity policies, but the permission boundary never allows it.
    BlockedByBoundary,
    /// Granted, but some SCP level never allows it.
    BlockedByScp,
    /// Granted, but an unconditional deny on all resources removes it.
    ExplicitlyDenied,
}

impl GrantStatus {
    /// The snake_case name used in outputs (`allowed`, `blocked_by_scp`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            GrantStatus::Allowed => "allowed",
            GrantStatus::AllowedUnderConditions => "allowed_under_conditions",
            GrantStatus::BlockedByBoundary => "blocked_by_boundary",
            GrantStatus::BlockedByScp => "blocked_by_scp",
            GrantStatus::ExplicitlyDenied => "explicitly_denied",
        }
    }

    /// True for the two allowed states.
    pub fn is_allowed(self) -> bool {
        matches!(
            self,
            GrantStatus::Allowed | GrantStatus::AllowedUnderConditions
        )
    }
}

/// One action the identity policies grant, and what becomes of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The action.
    pub action: ActionId,
    /// Its effective status.
    pub status: GrantStatus,
    /// The granting identity statements, as (policy index, statement index).
    pub granted_by: Vec<(u16, u16)>,
    /// For explicit denies: which kind of policy denied.
    pub denied_by: Option<PolicyKind>,
    /// For SCP blocks: the first level without an allow (0 = root).
    pub scp_level: Option<usize>,
    /// The resource policy the action also needs (`key_policy`, `trust_policy`): the status says
    /// what identity policies, boundary and SCPs leave; each key or role must allow it as well.
    pub depends_on: Option<&'static str>,
}

/// The policies that shape a principal's permissions.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrincipalPolicies<'a> {
    /// Identity-based policies.
    pub identity: &'a [Policy],
    /// Permission boundary.
    pub boundary: Option<&'a Policy>,
    /// SCP levels, root first.
    pub scps: &'a [Vec<Policy>],
}

/// The effective permissions of a principal.
#[derive(Debug, Clone)]
pub struct Summary {
    /// One entry per granted action, in catalog order.
    pub grants: Vec<Grant>,
}

impl Summary {
    /// Actions that end up allowed (with or without conditions).
    pub fn allowed(&self) -> impl Iterator<Item = &Grant> {
        self.grants.iter().filter(|g| g.status.is_allowed())
    }

    /// The grant for one action, if the identity policies grant it.
    pub fn get(&self, action: ActionId) -> Option<&Grant> {
        self.grants
            .binary_search_by_key(&action, |g| g.action)
            .ok()
            .map(|i| &self.grants[i])
    }
}

/// A statement expanded for the static mode.
struct Expanded<'a> {
    stmt: &'a Statement,
    actions: ActionSet,
    /// No conditions and all resources.
    full: bool,
}

fn covers_all_resources(stmt: &Statement) -> bool {
    match &stmt.resources {
        None => true,
        Some(r) => !r.negated && r.patterns.iter().any(|p| p == "*"),
    }
}

fn expand_policy<'a>(cat: &Catalog, policy: &'a Policy) -> Vec<Expanded<'a>> {
    policy
        .statements
        .iter()
        .map(|stmt| Expanded {
            stmt,
            actions: expand_spec(cat, &stmt.actions),
            full: stmt.is_unconditional() && covers_all_resources(stmt),
        })
        .collect()
}

/// What a gate (boundary, or one SCP level) does to an action.
enum Gate {
    Open,
    Partial,
    Closed,
}

fn gate(statements: &[Expanded<'_>], id: ActionId) -> Gate {
    let mut any = false;
    for s in statements
        .iter()
        .filter(|s| s.stmt.effect == Effect::Allow && s.actions.contains(id))
    {
        if s.full {
            return Gate::Open;
        }
        any = true;
    }
    if any { Gate::Partial } else { Gate::Closed }
}

/// Compute the effective permission summary over the whole catalog.
pub fn effective_permissions(cat: &Catalog, policies: &PrincipalPolicies<'_>) -> Summary {
    let identity: Vec<(usize, Vec<Expanded<'_>>)> = policies
        .identity
        .iter()
        .enumerate()
        .map(|(i, p)| (i, expand_policy(cat, p)))
        .collect();
    let boundary: Option<Vec<Expanded<'_>>> = policies.boundary.map(|b| expand_policy(cat, b));
    let scps: Vec<Vec<Expanded<'_>>> = policies
        .scps
        .iter()
        .map(|level| level.iter().flat_map(|p| expand_policy(cat, p)).collect())
        .collect();

    let mut granted = ActionSet::empty(cat.len());
    for (_, stmts) in &identity {
        for s in stmts.iter().filter(|s| s.stmt.effect == Effect::Allow) {
            granted.union_with(&s.actions);
        }
    }
    let denies: Vec<(PolicyKind, &Expanded<'_>)> = identity
        .iter()
        .flat_map(|(_, s)| s.iter().map(|e| (PolicyKind::Identity, e)))
        .chain(boundary.iter().flatten().map(|e| (PolicyKind::Boundary, e)))
        .chain(scps.iter().flatten().map(|e| (PolicyKind::Scp, e)))
        .filter(|(_, e)| e.stmt.effect == Effect::Deny)
        .collect();

    let mut grants = Vec::with_capacity(granted.len());
    for id in granted.iter() {
        let mut granted_by = Vec::new();
        let mut full_allow = false;
        for (pi, stmts) in &identity {
            for (si, s) in stmts.iter().enumerate() {
                if s.stmt.effect == Effect::Allow && s.actions.contains(id) {
                    granted_by.push((*pi as u16, si as u16));
                    full_allow |= s.full;
                }
            }
        }
        let mut partial = !full_allow;
        let mut status = None;
        let mut denied_by = None;
        for (kind, d) in denies.iter().filter(|(_, d)| d.actions.contains(id)) {
            if d.full {
                status = Some(GrantStatus::ExplicitlyDenied);
                denied_by = Some(*kind);
                break;
            }
            partial = true;
        }
        let mut scp_level = None;
        if status.is_none()
            && let Some(b) = &boundary
        {
            match gate(b, id) {
                Gate::Open => {}
                Gate::Partial => partial = true,
                Gate::Closed => status = Some(GrantStatus::BlockedByBoundary),
            }
        }
        if status.is_none() {
            for (level, stmts) in scps.iter().enumerate() {
                match gate(stmts, id) {
                    Gate::Open => {}
                    Gate::Partial => partial = true,
                    Gate::Closed => {
                        status = Some(GrantStatus::BlockedByScp);
                        scp_level = Some(level);
                        break;
                    }
                }
            }
        }
        let depends_on = cat.resource_policy_gate(id);
        let status = status.unwrap_or(if partial {
            GrantStatus::AllowedUnderConditions
        } else {
            GrantStatus::Allowed
        });
        grants.push(Grant {
            action: id,
            status,
            granted_by,
            denied_by,
            scp_level,
            depends_on,
        });
    }
    Summary { grants }
}

#[cfg(test)]
mod gate_tests {
    use super::*;

    #[test]
    fn key_and_role_grants_depend_on_the_resources_own_policy() {
        let cat = crate::catalog();
        let id = [Policy::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Decrypt","kms:ListKeys","sts:AssumeRole","s3:GetObject"],"Resource":"*"}]}"#,
        )
        .unwrap()];
        let s = effective_permissions(
            cat,
            &PrincipalPolicies {
                identity: &id,
                ..Default::default()
            },
        );
        let of = |name: &str| {
            let g = s.get(cat.action_id(name).unwrap()).unwrap();
            (g.status, g.depends_on)
        };
        use GrantStatus::Allowed;
        assert_eq!(of("kms:Decrypt"), (Allowed, Some("key_policy")));
        assert_eq!(of("sts:AssumeRole"), (Allowed, Some("trust_policy")));
        assert_eq!(of("kms:ListKeys"), (Allowed, None));
        assert_eq!(of("s3:GetObject"), (Allowed, None));
    }
}

#[cfg(test)]
mod range_tests {
    use super::*;

    #[test]
    fn insert_range_equals_inserting_one_by_one() {
        for (start, end) in [
            (0u32, 0u32),
            (0, 1),
            (3, 70),
            (64, 128),
            (63, 65),
            (5, 300),
            (100, 1000),
        ] {
            let mut a = ActionSet::empty(1000);
            a.insert_range(start..end);
            let mut b = ActionSet::empty(1000);
            (start..end).for_each(|i| b.insert(i));
            assert_eq!(a, b, "{start}..{end}");
        }
    }

    #[test]
    fn fast_paths_expand_like_the_catalog() {
        let cat = crate::catalog();
        for pattern in ["*", "s3:*", "S3:*", "iam:*", "nosuchservice:*", "s3:Get*"] {
            let spec = ActionSpec {
                negated: false,
                patterns: vec![pattern.to_string()],
            };
            let fast = expand_spec(cat, &spec);
            let mut slow = ActionSet::empty(cat.len());
            cat.for_each_match(pattern, |id| slow.insert(id));
            assert_eq!(fast, slow, "{pattern}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::catalog;

    fn p(json: &str) -> Policy {
        Policy::parse(json).unwrap()
    }

    fn status(summary: &Summary, action: &str) -> Option<GrantStatus> {
        summary
            .get(catalog().action_id(action).unwrap())
            .map(|g| g.status)
    }

    #[test]
    fn action_sets() {
        let mut s = ActionSet::empty(130);
        s.insert(0);
        s.insert(64);
        s.insert(129);
        assert_eq!(s.iter().collect::<Vec<_>>(), [0, 64, 129]);
        let c = s.complement(130);
        assert_eq!(c.len(), 127);
        assert!(!c.contains(64) && c.contains(128));
    }

    #[test]
    fn statuses() {
        let cat = catalog();
        let identity = [p(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","iam:PassRole","lambda:*","ec2:*"],"Resource":"*"},{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}},{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"},{"Effect":"Deny","Action":"s3:PutObject","Resource":"arn:aws:s3:::logs/*"}]}"#,
        )];
        let boundary = p(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#,
        );
        let scps = vec![
            vec![p(
                r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            )],
            vec![p(
                r#"{"Statement":[{"Effect":"Allow","NotAction":"ec2:*","Resource":"*"},{"Effect":"Deny","Action":"lambda:AddPermission","Resource":"*","Condition":{"StringNotEquals":{"aws:PrincipalOrgID":"o-1"}}}]}"#,
            )],
        ];
        let s = effective_permissions(
            cat,
            &PrincipalPolicies {
                identity: &identity,
                boundary: Some(&boundary),
                scps: &scps,
            },
        );
        assert_eq!(status(&s, "s3:GetObject"), Some(GrantStatus::Allowed));
        assert_eq!(
            status(&s, "dynamodb:GetItem"),
            Some(GrantStatus::AllowedUnderConditions)
        );
        assert_eq!(
            status(&s, "s3:DeleteBucket"),
            Some(GrantStatus::ExplicitlyDenied)
        );
        assert_eq!(
            status(&s, "s3:PutObject"),
            Some(GrantStatus::AllowedUnderConditions)
        );
        assert_eq!(
            status(&s, "iam:PassRole"),
            Some(GrantStatus::BlockedByBoundary)
        );
        let ec2 = s.get(cat.action_id("ec2:RunInstances").unwrap()).unwrap();
        assert_eq!(
            (ec2.status, ec2.scp_level),
            (GrantStatus::BlockedByScp, Some(1))
        );
        assert_eq!(
            status(&s, "lambda:AddPermission"),
            Some(GrantStatus::AllowedUnderConditions)
        );
        assert_eq!(
            status(&s, "lambda:InvokeFunction"),
            Some(GrantStatus::Allowed)
        );
        assert_eq!(status(&s, "sqs:SendMessage"), None, "not granted at all");
        assert_eq!(
            s.get(cat.action_id("s3:GetObject").unwrap())
                .unwrap()
                .granted_by,
            [(0, 0)]
        );
    }

    #[test]
    fn admin_reaches_the_whole_catalog() {
        let cat = catalog();
        let admin = [p(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        )];
        let s = effective_permissions(
            cat,
            &PrincipalPolicies {
                identity: &admin,
                ..Default::default()
            },
        );
        assert_eq!(s.allowed().count(), cat.len());
        let power = [crate::managed::managed_policies()
            .get("PowerUserAccess")
            .unwrap()
            .policy()
            .unwrap()];
        let s = effective_permissions(
            cat,
            &PrincipalPolicies {
                identity: &power,
                ..Default::default()
            },
        );
        assert_eq!(status(&s, "iam:CreateUser"), None);
        assert_eq!(status(&s, "s3:GetObject"), Some(GrantStatus::Allowed));
    }
}

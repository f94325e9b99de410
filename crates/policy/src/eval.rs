//! Request evaluation with AWS's policy evaluation logic.
//!
//! For an authenticated principal, in AWS's order:
//! 1. An explicit deny in any applicable policy (identity, permission boundary, any SCP level,
//!    the resource policy) denies.
//! 2. Every SCP level (root, each OU on the path, the account) must have an allow.
//! 3. Same account: a resource-policy allow that names the principal itself (a user or a role
//!    session ARN, or `*`) allows even without an identity allow and despite the boundary; one that
//!    names the role ARN allows only if the boundary (if any) allows; otherwise an identity allow
//!    within the boundary is required. A resource policy that names only the account delegates to
//!    identity policies.
//! 4. Cross account: the identity side (identity ∩ boundary) and the resource policy must both
//!    allow; without a resource policy the request is implicitly denied.

use crate::condition;
use crate::context::{Context, has_variable, substitute};
use crate::document::{Effect, Policy, PrincipalKind, PrincipalSpec, Statement};
use crate::wildcard::{arn_glob, arn_matches, glob, glob_ci};

/// One request to evaluate.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The calling principal: a role, user or assumed-role session ARN (or a service principal).
    pub principal: &'a str,
    /// `service:Action`.
    pub action: &'a str,
    /// The resource ARN, or `*` for actions without resource types.
    pub resource: &'a str,
    /// The account owning the resource; `None` means the principal's own account.
    pub resource_account: Option<&'a str>,
    /// Condition keys of the request.
    pub context: &'a Context,
}

/// The policies that apply to a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicySet<'a> {
    /// Identity-based policies of the principal (inline and attached managed).
    pub identity: &'a [Policy],
    /// The permission boundary, if the principal has one.
    pub boundary: Option<&'a Policy>,
    /// SCPs by level, root first, the account's own last. Empty: no organization policies apply.
    pub scps: &'a [Vec<Policy>],
    /// The resource-based policy of the target resource, if any.
    pub resource_policy: Option<&'a Policy>,
}

/// The final decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Decision {
    /// Allowed.
    Allowed,
    /// Denied by an explicit Deny statement.
    ExplicitlyDenied,
    /// No applicable allow (or a gate without one).
    ImplicitlyDenied,
}

/// Which kind of policy a statement came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    /// Identity-based policy.
    Identity,
    /// Permission boundary.
    Boundary,
    /// Service control policy.
    Scp,
    /// Resource-based policy.
    Resource,
}

/// A statement that decided the outcome.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatementRef {
    /// Policy kind.
    pub kind: PolicyKind,
    /// SCP level (0 = root) for SCPs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<usize>,
    /// Index of the policy within its kind (and level).
    pub policy: usize,
    /// Index of the statement in the policy.
    pub statement: usize,
    /// The statement's Sid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// Why a request was implicitly denied or allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// An explicit deny matched.
    ExplicitDeny,
    /// An SCP level had no matching allow.
    ScpNoAllow,
    /// The identity side allowed but the permission boundary did not.
    BoundaryNoAllow,
    /// Nothing allowed the request.
    NoAllow,
    /// Cross-account request without a resource-policy allow.
    CrossAccountNoResourceAllow,
    /// Allowed by identity policies.
    IdentityAllow,
    /// Allowed by the resource policy.
    ResourcePolicyAllow,
    /// Allowed by identity and resource policy together (cross account).
    IdentityAndResourceAllow,
    /// A KMS key or a role to assume: identity policies count only when the key policy or the
    /// trust policy allows the caller's account, and neither it nor the caller was allowed.
    ResourcePolicyRequired,
}

/// Requests whose resource's own policy must allow the caller even in the same account: KMS
/// keys (the key policy; an identity policy grants nothing unless the key policy delegates to
/// the account with `arn:aws:iam::ACCOUNT:root`) and roles being assumed (the trust policy).
/// Same-account identity policies count for these only through such an account-level allow.
pub fn requires_resource_policy(action: &str, resource: &str) -> bool {
    let Some((service, name)) = action.split_once(':') else {
        return false;
    };
    let mut parts = resource.splitn(6, ':');
    let (arn, resource_service, rest) = (parts.next(), parts.nth(1), parts.nth(2));
    if arn != Some("arn") {
        return false;
    }
    let rest = rest.unwrap_or("");
    if service.eq_ignore_ascii_case("kms") {
        return resource_service == Some("kms") && rest.starts_with("key/");
    }
    service.eq_ignore_ascii_case("sts")
        && name.len() >= "AssumeRole".len()
        && name[.."AssumeRole".len()].eq_ignore_ascii_case("AssumeRole")
        && resource_service == Some("iam")
        && rest.starts_with("role/")
}

/// The result of an evaluation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Evaluation {
    /// The decision.
    pub decision: Decision,
    /// Why.
    pub reason: Reason,
    /// The deciding statements (the denies for a deny, the allows for an allow).
    pub deciding: Vec<StatementRef>,
}

/// How a resource-policy principal element matched the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PrincipalMatch {
    None,
    /// The caller's account (account id or `:root`): delegates to identity policies.
    Account,
    /// The role ARN of the caller (or of the caller's session): the boundary still applies.
    Role,
    /// The caller itself (user, session ARN, service) or `*`.
    Direct,
}

/// The account id in a principal ARN (`arn:aws:iam::123456789012:role/x` → `123456789012`).
pub fn principal_account(principal: &str) -> Option<&str> {
    let mut parts = principal.splitn(6, ':');
    (parts.next() == Some("arn")).then_some(())?;
    parts.nth(3).filter(|a| !a.is_empty())
}

/// For `arn:aws:sts::A:assumed-role/R/S` returns `(A, R)`.
fn session_role(principal: &str) -> Option<(&str, &str)> {
    let account = principal_account(principal)?;
    let rest = principal.splitn(6, ':').nth(5)?;
    let mut it = rest.strip_prefix("assumed-role/")?.split('/');
    Some((account, it.next()?))
}

/// For `arn:aws:iam::A:role/path/R` returns `(A, R)`.
fn role_name(arn: &str) -> Option<(&str, &str)> {
    let account = principal_account(arn)?;
    let rest = arn.splitn(6, ':').nth(5)?;
    let path = rest.strip_prefix("role/")?;
    Some((account, path.rsplit('/').next()?))
}

fn match_aws_principal(value: &str, caller: &str) -> PrincipalMatch {
    if value == "*" {
        return PrincipalMatch::Direct;
    }
    let caller_account = principal_account(caller);
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        return if caller_account == Some(value) {
            PrincipalMatch::Account
        } else {
            PrincipalMatch::None
        };
    }
    if let Some(acct) = value.strip_prefix("arn:").and_then(|v| v.split(':').nth(3))
        && value.ends_with(":root")
        && value.splitn(6, ':').nth(5) == Some("root")
    {
        return if caller_account == Some(acct) {
            PrincipalMatch::Account
        } else {
            PrincipalMatch::None
        };
    }
    if value == caller {
        return if role_name(value).is_some() {
            PrincipalMatch::Role
        } else {
            PrincipalMatch::Direct
        };
    }
    if let (Some(role), Some(session)) = (role_name(value), session_role(caller))
        && role == session
    {
        return PrincipalMatch::Role;
    }
    PrincipalMatch::None
}

/// How the statement's Principal/NotPrincipal matches the caller. `caller_has_boundary`: AWS
/// documents that a Deny with NotPrincipal in a resource policy always applies to a principal
/// with a permission boundary, even when the NotPrincipal element names it.
fn match_principal(stmt: &Statement, caller: &str, caller_has_boundary: bool) -> PrincipalMatch {
    if stmt.not_principal && stmt.effect == Effect::Deny && caller_has_boundary {
        return PrincipalMatch::Direct;
    }
    let Some(spec) = &stmt.principal else {
        return PrincipalMatch::None;
    };
    let best = match spec {
        PrincipalSpec::Any => PrincipalMatch::Direct,
        PrincipalSpec::Map(entries) => entries
            .iter()
            .flat_map(|(kind, values)| values.iter().map(move |v| (kind, v)))
            .map(|(kind, v)| match kind {
                PrincipalKind::Aws => match_aws_principal(v, caller),
                _ if v == caller || v == "*" => PrincipalMatch::Direct,
                _ => PrincipalMatch::None,
            })
            .max()
            .unwrap_or(PrincipalMatch::None),
    };
    if stmt.not_principal {
        if best == PrincipalMatch::None {
            PrincipalMatch::Direct
        } else {
            PrincipalMatch::None
        }
    } else {
        best
    }
}

/// Does the statement's Action/NotAction cover the action?
pub fn action_matches(stmt: &Statement, action: &str) -> bool {
    let hit = stmt.actions.patterns.iter().any(|p| glob_ci(p, action));
    hit != stmt.actions.negated
}

/// Does the statement's Resource/NotResource cover the resource? (No element: yes.)
pub fn resource_matches(stmt: &Statement, resource: &str, ctx: &Context, variables: bool) -> bool {
    let Some(spec) = &stmt.resources else {
        return true;
    };
    let mut hit = false;
    for p in &spec.patterns {
        if resource == "*" {
            // Actions without resource types: only a statement for all resources covers them.
            hit |= p == "*";
            continue;
        }
        if !variables || !has_variable(p) {
            // Nothing to substitute: the pattern's own text is matched in place.
            hit |= arn_glob(p, resource);
            continue;
        }
        match substitute(p, ctx, variables, true) {
            Some(atoms) => hit |= arn_matches(&atoms, resource),
            // A variable the request does not carry: the pattern matches nothing. If the
            // pattern names another partition, service, region, account or resource type, that
            // is a definite miss; otherwise whether it matches is unknown, and a NotResource list
            // holding an unknown does not apply at all (an unknown is never inverted).
            None if spec.negated && !definitely_outside(p, resource) => return false,
            None => {}
        }
    }
    hit != spec.negated
}

/// Whether a resource pattern (holding an unresolved variable) cannot match the resource
/// whatever the variable's value, judged on what precedes the resource id: the partition,
/// service, region and account segments and the resource-type prefix (the resource part up to
/// its first `/` or `:`; S3 buckets have none).
fn definitely_outside(pattern: &str, resource: &str) -> bool {
    let pat: Vec<&str> = pattern.splitn(6, ':').collect();
    let res: Vec<&str> = resource.splitn(6, ':').collect();
    if pat.len() < 6 || res.len() < 6 {
        return false;
    }
    for i in 0..5 {
        if has_variable(pat[i]) {
            return false;
        }
        if !glob(pat[i], res[i]) {
            return true;
        }
    }
    let product = if pat[2] == "s3" && pat[3].is_empty() && pat[4].is_empty() {
        ""
    } else {
        pat[5].find(['/', ':']).map_or("", |i| &pat[5][..=i])
    };
    !has_variable(product) && !glob(&format!("{product}*"), res[5])
}

/// Do all of the statement's conditions hold?
pub fn conditions_match(stmt: &Statement, ctx: &Context, variables: bool) -> bool {
    stmt.conditions
        .iter()
        .all(|c| condition::evaluate(c, ctx, variables))
}

/// Action, resource and conditions all match (the principal is checked separately).
pub fn statement_applies(stmt: &Statement, policy: &Policy, req: &Request<'_>) -> bool {
    let vars = policy.version.supports_variables();
    action_matches(stmt, req.action)
        && resource_matches(stmt, req.resource, req.context, vars)
        && conditions_match(stmt, req.context, vars)
}

#[derive(Default)]
struct Matches {
    allows: Vec<StatementRef>,
    denies: Vec<StatementRef>,
}

fn scan(
    policies: &[Policy],
    kind: PolicyKind,
    level: Option<usize>,
    req: &Request<'_>,
    out: &mut Matches,
) {
    for (pi, policy) in policies.iter().enumerate() {
        for (si, stmt) in policy.statements.iter().enumerate() {
            if statement_applies(stmt, policy, req) {
                let r = StatementRef {
                    kind,
                    level,
                    policy: pi,
                    statement: si,
                    sid: stmt.sid.clone(),
                };
                match stmt.effect {
                    Effect::Allow => out.allows.push(r),
                    Effect::Deny => out.denies.push(r),
                }
            }
        }
    }
}

/// Evaluate one request against its policies.
pub fn evaluate(req: &Request<'_>, policies: &PolicySet<'_>) -> Evaluation {
    let mut identity = Matches::default();
    scan(
        policies.identity,
        PolicyKind::Identity,
        None,
        req,
        &mut identity,
    );
    let mut boundary = Matches::default();
    if let Some(b) = policies.boundary {
        scan(
            std::slice::from_ref(b),
            PolicyKind::Boundary,
            None,
            req,
            &mut boundary,
        );
    }
    let mut scp_levels: Vec<Matches> = Vec::with_capacity(policies.scps.len());
    for (level, docs) in policies.scps.iter().enumerate() {
        let mut m = Matches::default();
        scan(docs, PolicyKind::Scp, Some(level), req, &mut m);
        scp_levels.push(m);
    }
    // Resource policy: statements whose principal matches the caller, with the best match kind.
    let mut resource = Matches::default();
    let mut resource_allow = PrincipalMatch::None;
    // An allow naming the caller's account: what delegates a key or a role to identity policies.
    let mut account_allow = false;
    if let Some(rp) = policies.resource_policy {
        for (si, stmt) in rp.statements.iter().enumerate() {
            let pm = match_principal(stmt, req.principal, policies.boundary.is_some());
            if pm == PrincipalMatch::None || !statement_applies(stmt, rp, req) {
                continue;
            }
            let r = StatementRef {
                kind: PolicyKind::Resource,
                level: None,
                policy: 0,
                statement: si,
                sid: stmt.sid.clone(),
            };
            match stmt.effect {
                Effect::Allow => {
                    resource_allow = resource_allow.max(pm);
                    account_allow |= pm == PrincipalMatch::Account;
                    resource.allows.push(r);
                }
                Effect::Deny => resource.denies.push(r),
            }
        }
    }

    let denies: Vec<StatementRef> = identity
        .denies
        .iter()
        .chain(&boundary.denies)
        .chain(scp_levels.iter().flat_map(|l| &l.denies))
        .chain(&resource.denies)
        .cloned()
        .collect();
    if !denies.is_empty() {
        return Evaluation {
            decision: Decision::ExplicitlyDenied,
            reason: Reason::ExplicitDeny,
            deciding: denies,
        };
    }
    let implicit = |reason| Evaluation {
        decision: Decision::ImplicitlyDenied,
        reason,
        deciding: Vec::new(),
    };
    if scp_levels.iter().any(|l| l.allows.is_empty()) {
        return implicit(Reason::ScpNoAllow);
    }
    let identity_allows = !identity.allows.is_empty();
    let boundary_allows = policies.boundary.is_none() || !boundary.allows.is_empty();
    let caller_account = principal_account(req.principal);
    let same_account = match req.resource_account {
        None => true,
        Some(acct) => caller_account == Some(acct),
    };
    let allowed = |reason, deciding| Evaluation {
        decision: Decision::Allowed,
        reason,
        deciding,
    };
    if same_account {
        if resource_allow == PrincipalMatch::Direct
            || (resource_allow == PrincipalMatch::Role && boundary_allows)
        {
            return allowed(Reason::ResourcePolicyAllow, resource.allows);
        }
        if !account_allow && requires_resource_policy(req.action, req.resource) {
            return implicit(Reason::ResourcePolicyRequired);
        }
        if identity_allows && boundary_allows {
            return allowed(Reason::IdentityAllow, identity.allows);
        }
        if identity_allows {
            return implicit(Reason::BoundaryNoAllow);
        }
        return implicit(Reason::NoAllow);
    }
    if !(identity_allows && boundary_allows) {
        return implicit(if identity_allows {
            Reason::BoundaryNoAllow
        } else {
            Reason::NoAllow
        });
    }
    if resource_allow == PrincipalMatch::None {
        return implicit(Reason::CrossAccountNoResourceAllow);
    }
    let mut deciding = identity.allows;
    deciding.extend(resource.allows);
    allowed(Reason::IdentityAndResourceAllow, deciding)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(json: &str) -> Policy {
        Policy::parse(json).unwrap()
    }

    fn allow(action: &str, resource: &str) -> Policy {
        p(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"{resource}"}}]}}"#
        ))
    }

    fn deny(action: &str, resource: &str) -> Policy {
        p(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"{action}","Resource":"{resource}"}}]}}"#
        ))
    }

    const ROLE: &str = "arn:aws:iam::111111111111:role/app/fn-role";
    const SESSION: &str = "arn:aws:sts::111111111111:assumed-role/fn-role/fn";
    const OBJ: &str = "arn:aws:s3:::bucket/key";

    fn decide(principal: &str, resource_account: Option<&str>, set: PolicySet<'_>) -> Decision {
        let ctx = Context::new();
        let req = Request {
            principal,
            action: "s3:GetObject",
            resource: OBJ,
            resource_account,
            context: &ctx,
        };
        evaluate(&req, &set).decision
    }

    #[test]
    fn identity_allow_and_deny() {
        let id = [allow("s3:Get*", "arn:aws:s3:::bucket/*")];
        assert_eq!(
            decide(
                SESSION,
                None,
                PolicySet {
                    identity: &id,
                    ..Default::default()
                }
            ),
            Decision::Allowed
        );
        let id = [allow("s3:*", "*"), deny("s3:GetObject", "*")];
        assert_eq!(
            decide(
                SESSION,
                None,
                PolicySet {
                    identity: &id,
                    ..Default::default()
                }
            ),
            Decision::ExplicitlyDenied
        );
        let id = [allow("s3:PutObject", "*")];
        assert_eq!(
            decide(
                SESSION,
                None,
                PolicySet {
                    identity: &id,
                    ..Default::default()
                }
            ),
            Decision::ImplicitlyDenied
        );
    }

    #[test]
    fn boundary_intersects() {
        let id = [allow("s3:*", "*")];
        let b = allow("s3:List*", "*");
        let set = PolicySet {
            identity: &id,
            boundary: Some(&b),
            ..Default::default()
        };
        assert_eq!(decide(SESSION, None, set), Decision::ImplicitlyDenied);
        let b = allow("s3:GetObject", "*");
        let set = PolicySet {
            identity: &id,
            boundary: Some(&b),
            ..Default::default()
        };
        assert_eq!(decide(SESSION, None, set), Decision::Allowed);
    }

    #[test]
    fn every_scp_level_must_allow() {
        let id = [allow("*", "*")];
        let full = || vec![allow("*", "*")];
        let scps = vec![full(), vec![allow("ec2:*", "*")], full()];
        assert_eq!(
            decide(
                SESSION,
                None,
                PolicySet {
                    identity: &id,
                    scps: &scps,
                    ..Default::default()
                }
            ),
            Decision::ImplicitlyDenied
        );
        let scps = vec![full(), full(), vec![allow("*", "*"), deny("s3:*", "*")]];
        assert_eq!(
            decide(
                SESSION,
                None,
                PolicySet {
                    identity: &id,
                    scps: &scps,
                    ..Default::default()
                }
            ),
            Decision::ExplicitlyDenied
        );
        let scps = vec![full(), vec![allow("s3:*", "*")]];
        assert_eq!(
            decide(
                SESSION,
                None,
                PolicySet {
                    identity: &id,
                    scps: &scps,
                    ..Default::default()
                }
            ),
            Decision::Allowed
        );
    }

    fn bucket_policy(principal: &str) -> Policy {
        p(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}}]}}"#
        ))
    }

    /// One row of the resource-policy table.
    struct Row<'a> {
        what: &'a str,
        identity: &'a [Policy],
        boundary: Option<&'a Policy>,
        /// The principal the bucket policy names (`None`: no bucket policy).
        named: Option<&'a str>,
        resource_account: &'a str,
        expect: Decision,
    }

    #[test]
    fn resource_policies_same_and_cross_account() {
        let get = [allow("s3:GetObject", "*")];
        let none: [Policy; 0] = [];
        let ec2_only = allow("ec2:*", "*");
        let row = |what, identity, boundary, named, resource_account, expect| Row {
            what,
            identity,
            boundary,
            named,
            resource_account,
            expect,
        };
        let (same, cross) = ("111111111111", "222222222222");
        let root = "arn:aws:iam::111111111111:root";
        let table = [
            row(
                "session ARN named: allowed despite boundary",
                &none[..],
                Some(&ec2_only),
                Some(SESSION),
                same,
                Decision::Allowed,
            ),
            row(
                "role ARN named: boundary applies",
                &none,
                Some(&ec2_only),
                Some(ROLE),
                same,
                Decision::ImplicitlyDenied,
            ),
            row(
                "role ARN named, no boundary",
                &none,
                None,
                Some(ROLE),
                same,
                Decision::Allowed,
            ),
            row(
                "account named: delegates to identity",
                &none,
                None,
                Some(same),
                same,
                Decision::ImplicitlyDenied,
            ),
            row(
                "account named, identity allows",
                &get,
                None,
                Some(same),
                same,
                Decision::Allowed,
            ),
            row(
                "cross account without resource policy",
                &get,
                None,
                None,
                cross,
                Decision::ImplicitlyDenied,
            ),
            row(
                "cross account, both sides allow",
                &get,
                None,
                Some(root),
                cross,
                Decision::Allowed,
            ),
            row(
                "cross account, identity side missing",
                &none,
                None,
                Some(root),
                cross,
                Decision::ImplicitlyDenied,
            ),
            row(
                "cross account, other account named",
                &get,
                None,
                Some("arn:aws:iam::333333333333:root"),
                cross,
                Decision::ImplicitlyDenied,
            ),
        ];
        for r in table {
            let rp = r.named.map(bucket_policy);
            let set = PolicySet {
                identity: r.identity,
                boundary: r.boundary,
                resource_policy: rp.as_ref(),
                ..Default::default()
            };
            assert_eq!(
                decide(SESSION, Some(r.resource_account), set),
                r.expect,
                "{}",
                r.what
            );
        }
    }

    #[test]
    fn deny_with_not_principal_always_applies_to_a_principal_with_a_boundary() {
        let id = [allow("s3:*", "*")];
        let rp = p(&format!(
            r#"{{"Statement":[{{"Effect":"Deny","NotPrincipal":{{"AWS":"{SESSION}"}},"Action":"s3:*","Resource":"*"}}]}}"#
        ));
        let set = PolicySet {
            identity: &id,
            resource_policy: Some(&rp),
            ..Default::default()
        };
        assert_eq!(decide(SESSION, None, set), Decision::Allowed);
        let b = allow("s3:*", "*");
        let set = PolicySet {
            identity: &id,
            boundary: Some(&b),
            resource_policy: Some(&rp),
            ..Default::default()
        };
        assert_eq!(decide(SESSION, None, set), Decision::ExplicitlyDenied);
    }

    #[test]
    fn missing_variables_never_invert_into_a_match() {
        let ctx = Context::new();
        let stmt = |json: &str| p(json).statements.remove(0);
        let s = stmt(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","NotResource":"arn:aws:s3:::bucket/${aws:username}/*"}}"#,
        );
        // Same resource type, unknown user: unknown, so the NotResource does not apply.
        assert!(!resource_matches(&s, OBJ, &ctx, true));
        // With the user known it is an ordinary NotResource.
        assert!(resource_matches(
            &s,
            OBJ,
            &Context::new().with("aws:username", "alice"),
            true
        ));
        assert!(!resource_matches(
            &s,
            "arn:aws:s3:::bucket/alice/x",
            &Context::new().with("aws:username", "alice"),
            true
        ));
        // Another service: a definite miss, so the NotResource applies.
        let s = stmt(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","NotResource":"arn:aws:sqs:*:*:q/${aws:username}"}}"#,
        );
        assert!(resource_matches(&s, OBJ, &ctx, true));
        // Old policy language: the variable is literal text.
        let s = stmt(
            r#"{"Version":"2008-10-17","Statement":{"Effect":"Deny","Action":"*","NotResource":"arn:aws:s3:::bucket/${aws:username}/*"}}"#,
        );
        assert!(resource_matches(&s, OBJ, &ctx, false));
    }

    #[test]
    fn principal_helpers() {
        assert_eq!(principal_account(SESSION), Some("111111111111"));
        assert_eq!(principal_account("lambda.amazonaws.com"), None);
        assert_eq!(session_role(SESSION), Some(("111111111111", "fn-role")));
        assert_eq!(role_name(ROLE), Some(("111111111111", "fn-role")));
    }

    /// A request for `action` on `resource` by the session, with identity, boundary and the
    /// resource's own policy.
    fn decide_on(
        action: &str,
        resource: &str,
        identity: &[Policy],
        boundary: Option<&Policy>,
        resource_policy: Option<&Policy>,
    ) -> Evaluation {
        let ctx = Context::new();
        let req = Request {
            principal: SESSION,
            action,
            resource,
            resource_account: principal_account(resource).or(Some("111111111111")),
            context: &ctx,
        };
        evaluate(
            &req,
            &PolicySet {
                identity,
                boundary,
                resource_policy,
                ..Default::default()
            },
        )
    }

    fn resource_policy(principal: &str, action: &str) -> Policy {
        p(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"{action}","Resource":"*"}}]}}"#
        ))
    }

    #[test]
    fn a_kms_key_needs_its_key_policy_even_in_the_same_account() {
        const KEY: &str =
            "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let id = [allow("kms:Decrypt", "*")];
        // No key policy, or one naming someone else: the identity grant alone grants nothing.
        let none = decide_on("kms:Decrypt", KEY, &id, None, None);
        assert_eq!(
            (none.decision, none.reason),
            (Decision::ImplicitlyDenied, Reason::ResourcePolicyRequired)
        );
        let other = resource_policy("arn:aws:iam::111111111111:role/other", "kms:*");
        let r = decide_on("kms:Decrypt", KEY, &id, None, Some(&other));
        assert_eq!(r.reason, Reason::ResourcePolicyRequired);
        // The default key policy delegates to the account: then the identity policy decides.
        let delegate = resource_policy("arn:aws:iam::111111111111:root", "kms:*");
        let r = decide_on("kms:Decrypt", KEY, &id, None, Some(&delegate));
        assert_eq!(
            (r.decision, r.reason),
            (Decision::Allowed, Reason::IdentityAllow)
        );
        let r = decide_on("kms:Decrypt", KEY, &[], None, Some(&delegate));
        assert_eq!(
            r.decision,
            Decision::ImplicitlyDenied,
            "delegation is not a grant"
        );
        let b = allow("s3:*", "*");
        let r = decide_on("kms:Decrypt", KEY, &id, Some(&b), Some(&delegate));
        assert_eq!(r.reason, Reason::BoundaryNoAllow);
        // A key policy naming the role grants without any identity policy.
        let direct = resource_policy(ROLE, "kms:Decrypt");
        let r = decide_on("kms:Decrypt", KEY, &[], None, Some(&direct));
        assert_eq!(r.decision, Decision::Allowed);
        // Actions that are not on a key keep the usual rule.
        let id = [allow("kms:ListKeys", "*")];
        assert_eq!(
            decide_on("kms:ListKeys", "*", &id, None, None).decision,
            Decision::Allowed
        );
    }

    #[test]
    fn assuming_a_role_needs_its_trust_policy() {
        const TARGET: &str = "arn:aws:iam::111111111111:role/deploy";
        let id = [allow("sts:AssumeRole", "*")];
        let r = decide_on("sts:AssumeRole", TARGET, &id, None, None);
        assert_eq!(r.reason, Reason::ResourcePolicyRequired);
        let trust_account = p(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"sts:AssumeRole"}]}"#,
        );
        let r = decide_on("sts:AssumeRole", TARGET, &id, None, Some(&trust_account));
        assert_eq!(r.decision, Decision::Allowed);
        assert_eq!(
            decide_on("sts:AssumeRole", TARGET, &[], None, Some(&trust_account)).decision,
            Decision::ImplicitlyDenied
        );
        let trust_role = p(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{ROLE}"}},"Action":"sts:AssumeRole"}}]}}"#
        ));
        assert_eq!(
            decide_on("sts:AssumeRole", TARGET, &[], None, Some(&trust_role)).decision,
            Decision::Allowed
        );
        // Another account: both sides, as for every resource policy.
        const FOREIGN: &str = "arn:aws:iam::222222222222:role/deploy";
        let trust_111 = resource_policy("arn:aws:iam::111111111111:root", "sts:AssumeRole");
        assert_eq!(
            decide_on("sts:AssumeRole", FOREIGN, &id, None, Some(&trust_111)).decision,
            Decision::Allowed
        );
        assert!(requires_resource_policy(
            "sts:AssumeRoleWithWebIdentity",
            TARGET
        ));
        assert!(!requires_resource_policy("sts:GetCallerIdentity", "*"));
        assert!(!requires_resource_policy(
            "kms:Decrypt",
            "arn:aws:kms:eu-west-1:111111111111:alias/app"
        ));
    }
}

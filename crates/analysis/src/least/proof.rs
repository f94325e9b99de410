//! The two proofs every suggestion passes before it is emitted (docs/least-privilege.md):
//!
//! 1. **Never wider**: every (action, resource pattern) an Allow statement of the suggestion
//!    grants is granted today by one statement of the role's identity policies, on a pattern
//!    that contains it, under the same conditions or none. The role's Deny statements are all
//!    kept, and its boundary and SCPs do not change, so the role can do nothing new.
//! 2. **Allows what was used**: every observed call and configuration need that today's identity
//!    policies allow, the suggestion allows too, judged by the engine on the call's own action,
//!    resource, region and principal. Conditions of Allow statements are set aside on both sides
//!    (the trail does not record the keys they test, and the suggestion carries each grant's
//!    conditions unchanged); Deny statements are judged as written.

use rolescope_policy::document::{ResourceSpec, Statement};
use rolescope_policy::eval::{Decision, PolicySet, Request, evaluate, requires_resource_policy};
use rolescope_policy::summary::{ActionSet, expand_spec};
use rolescope_policy::wildcard::arn_glob;
use rolescope_policy::{Catalog, Context, Effect, Policy};

/// Whether every string `inner` matches, `outer` matches too (`*` any run, `?` one character).
/// Sound, not complete: a `*` of `inner` is contained only by a `*` of `outer`.
pub fn glob_contains(outer: &str, inner: &str) -> bool {
    let (o, i) = (outer.as_bytes(), inner.as_bytes());
    // reach[j]: outer[..oi] can produce exactly what inner[..j] produces.
    let mut reach = vec![false; i.len() + 1];
    reach[0] = true;
    for &oc in o {
        let mut next = vec![false; i.len() + 1];
        for j in 0..=i.len() {
            if !reach[j] {
                continue;
            }
            if oc == b'*' {
                // A star of outer takes any run of inner, stars included.
                for slot in next.iter_mut().skip(j) {
                    *slot = true;
                }
                break;
            }
            if let Some(&ic) = i.get(j) {
                let ok = match (oc, ic) {
                    (_, b'*') => false,
                    (b'?', _) => true,
                    (_, b'?') => false,
                    (a, b) => a == b,
                };
                if ok {
                    next[j + 1] = true;
                }
            }
        }
        reach = next;
    }
    reach[i.len()]
}

/// The five fixed segments and the resource part of an ARN pattern (`*` alone: all stars).
fn segments(pattern: &str) -> [&str; 6] {
    if pattern == "*" {
        return ["*"; 6];
    }
    let mut out = ["*"; 6];
    let mut rest = pattern;
    for slot in out.iter_mut().take(5) {
        match rest.split_once(':') {
            Some((head, tail)) => {
                *slot = head;
                rest = tail;
            }
            None => {
                *slot = rest;
                rest = "*";
            }
        }
    }
    out[5] = rest;
    out
}

/// Whether the ARN pattern `outer` matches every ARN `inner` matches, as IAM's Resource element
/// matches (a wildcard never spans a colon in the first five segments).
pub fn arn_contains(outer: &str, inner: &str) -> bool {
    if outer == "*" || outer.bytes().all(|b| b == b'*') && !outer.is_empty() {
        return true;
    }
    if inner == "*" {
        return false;
    }
    let (o, i) = (segments(outer), segments(inner));
    o.iter().zip(&i).all(|(a, b)| glob_contains(a, b))
}

/// Whether a current statement's Resource element grants everything `pattern` names.
fn resources_contain(spec: Option<&ResourceSpec>, pattern: &str) -> bool {
    match spec {
        None => true,
        Some(s) if !s.negated => s.patterns.iter().any(|p| arn_contains(p, pattern)),
        // NotResource: a plain ARN none of the excluded patterns matches.
        Some(s) => {
            !pattern.contains(['*', '?']) && !s.patterns.iter().any(|p| arn_glob(p, pattern))
        }
    }
}

/// The first (action, resource) of `suggestion` no current statement grants, or `None` when it
/// is never wider than `current`.
pub fn never_wider(cat: &Catalog, current: &[Policy], suggestion: &Policy) -> Option<String> {
    let allows: Vec<(&Statement, ActionSet)> = current
        .iter()
        .flat_map(|p| &p.statements)
        .filter(|s| s.effect == Effect::Allow)
        .map(|s| (s, expand_spec(cat, &s.actions)))
        .collect();
    let denies: Vec<&Statement> = current
        .iter()
        .flat_map(|p| &p.statements)
        .filter(|s| s.effect == Effect::Deny)
        .collect();
    let kept: Vec<&Statement> = suggestion
        .statements
        .iter()
        .filter(|s| s.effect == Effect::Deny)
        .collect();
    if let Some(d) = denies.iter().find(|d| !kept.contains(d)) {
        return Some(format!("a Deny statement ({:?}) is not kept", d.sid));
    }
    for s in suggestion
        .statements
        .iter()
        .filter(|s| s.effect == Effect::Allow)
    {
        let conditions_ok = |c: &Statement| c.conditions.is_empty() || c.conditions == s.conditions;
        let ids = expand_spec(cat, &s.actions);
        // A copy of a current statement for some of its actions (the kept grants).
        let copied = allows.iter().any(|(c, granted)| {
            conditions_ok(c)
                && c.resources == s.resources
                && ids.iter().all(|id| granted.contains(id))
        });
        if copied {
            continue;
        }
        let patterns: &[String] = match &s.resources {
            Some(r) if !r.negated => &r.patterns,
            _ => return Some("a NotResource statement that is not a copy".into()),
        };
        for id in ids.iter() {
            for p in patterns {
                let granted = allows.iter().any(|(c, granted)| {
                    granted.contains(id)
                        && conditions_ok(c)
                        && resources_contain(c.resources.as_ref(), p)
                });
                if !granted {
                    return Some(format!("{} on {p}", cat.actions[id as usize].full_name));
                }
            }
        }
    }
    None
}

/// A copy of `policy` whose Allow statements have no conditions.
pub fn condition_blind(policy: &Policy) -> Policy {
    let mut p = policy.clone();
    for s in &mut p.statements {
        if s.effect == Effect::Allow {
            s.conditions.clear();
        }
    }
    p
}

/// One call to prove: the action, the resource (`*` for actions without resource types) and
/// the region it was made in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Call {
    /// `service:Action`.
    pub action: String,
    /// The resource ARN or `*`.
    pub resource: String,
    /// The region.
    pub region: String,
}

/// The engine's decision on `call` by `role` under `identity` (the identity side only: a KMS key
/// or a role to assume is taken to delegate to the account, as it did when the call succeeded).
pub fn decide(
    role: &str,
    account: &str,
    partition: &str,
    identity: &[Policy],
    call: &Call,
) -> Decision {
    let context = Context::new()
        .with("aws:PrincipalArn", role)
        .with("aws:PrincipalAccount", account)
        .with("aws:RequestedRegion", &call.region);
    let delegate = requires_resource_policy(&call.action, &call.resource).then(|| {
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": format!("arn:{partition}:iam::{account}:root")},
            "Action": "*", "Resource": "*"}]});
        Policy::from_value(&doc).expect("a fixed document parses")
    });
    evaluate(
        &Request {
            principal: role,
            action: &call.action,
            resource: &call.resource,
            resource_account: None,
            context: &context,
        },
        &PolicySet {
            identity,
            resource_policy: delegate.as_ref(),
            ..Default::default()
        },
    )
    .decision
}

/// The calls today's identity policies allow and the suggestion does not (proof 2 fails on
/// them); the calls today's policies do not allow go to `elsewhere` (a resource policy granted
/// them, or a condition key the trail does not record).
pub fn allows_used(
    role: &str,
    account: &str,
    partition: &str,
    current: &[Policy],
    suggestion: &Policy,
    calls: &[Call],
    elsewhere: &mut Vec<Call>,
) -> Vec<Call> {
    let current: Vec<Policy> = current.iter().map(condition_blind).collect();
    let suggestion = [condition_blind(suggestion)];
    let mut failed = Vec::new();
    for call in calls {
        if decide(role, account, partition, &current, call) != Decision::Allowed {
            elsewhere.push(call.clone());
        } else if decide(role, account, partition, &suggestion, call) != Decision::Allowed {
            failed.push(call.clone());
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containment_of_patterns() {
        let cases = [
            ("*", "arn:aws:s3:::b/k", true),
            ("arn:aws:s3:::b/*", "arn:aws:s3:::b/in/*", true),
            ("arn:aws:s3:::b/in/*", "arn:aws:s3:::b/*", false),
            ("arn:aws:s3:::b/in/*", "arn:aws:s3:::b/in/x.json", true),
            ("arn:aws:s3:::b/in/x?", "arn:aws:s3:::b/in/x*", false),
            ("arn:aws:s3:::b/in/x?", "arn:aws:s3:::b/in/x?", true),
            ("arn:aws:s3:::b/in/x*", "arn:aws:s3:::b/in/x?", true),
            ("arn:aws:s3:::*", "arn:aws:s3:::b/k", true),
            ("arn:aws:s3:::*", "*", false),
            (
                "arn:aws:dynamodb:*:*:table/*",
                "arn:aws:dynamodb:eu-west-1:1:table/t",
                true,
            ),
            (
                "arn:aws:dynamodb:*:*:table/*",
                "arn:aws:sqs:eu-west-1:1:q",
                false,
            ),
            ("arn:aws:*", "arn:aws:logs:r:1:log-group:g:*", true),
            ("arn:aws:logs:*:*:*", "arn:aws:logs:r:1:log-group:g:*", true),
            (
                "arn:aws:logs:r:1:log-group:g",
                "arn:aws:logs:r:1:log-group:g:*",
                false,
            ),
        ];
        for (outer, inner, want) in cases {
            assert_eq!(arn_contains(outer, inner), want, "{outer} ⊇ {inner}");
        }
        // Containment never claims more than matching shows, on concrete names.
        for name in [
            "arn:aws:s3:::b/in/x1",
            "arn:aws:s3:::b/in/x12",
            "arn:aws:s3:::c/in/x1",
        ] {
            for (outer, inner, _) in cases {
                if arn_contains(outer, inner) && arn_glob(inner, name) {
                    assert!(arn_glob(outer, name), "{outer} ⊇ {inner} but not on {name}");
                }
            }
        }
    }

    fn policy(text: &str) -> Policy {
        Policy::parse(text).unwrap()
    }

    #[test]
    fn never_wider_names_what_is_not_granted_today() {
        let cat = rolescope_policy::catalog();
        let current = [policy(
            r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},
            {"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}},
            {"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}]}"#,
        )];
        let ok = policy(
            r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/in/*"},
            {"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:eu-west-1:1:q","Condition":{"Bool":{"aws:SecureTransport":"true"}}},
            {"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}]}"#,
        );
        assert_eq!(never_wider(cat, &current, &ok), None);
        let wider_resource = policy(
            r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::*"},
            {"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}]}"#,
        );
        assert_eq!(
            never_wider(cat, &current, &wider_resource).as_deref(),
            Some("s3:GetObject on arn:aws:s3:::*")
        );
        let dropped_condition = policy(
            r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:eu-west-1:1:q"},
            {"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}]}"#,
        );
        assert!(never_wider(cat, &current, &dropped_condition).is_some());
        let dropped_deny = policy(
            r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/in/*"}]}"#,
        );
        assert!(
            never_wider(cat, &current, &dropped_deny)
                .unwrap()
                .contains("Deny")
        );
    }

    #[test]
    fn used_calls_are_proved_against_the_engine() {
        let role = "arn:aws:iam::111122223333:role/r";
        let current = [policy(
            r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["s3:GetObject","kms:Decrypt"],"Resource":"*"}]}"#,
        )];
        let suggestion = policy(
            r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/in/*"},
            {"Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:eu-west-1:111122223333:key/k"}]}"#,
        );
        let call = |a: &str, r: &str| Call {
            action: a.into(),
            resource: r.into(),
            region: "eu-west-1".into(),
        };
        let calls = [
            call("s3:GetObject", "arn:aws:s3:::b/in/1.json"),
            call("kms:Decrypt", "arn:aws:kms:eu-west-1:111122223333:key/k"),
            call("s3:GetObject", "arn:aws:s3:::b/out/1.json"),
            call(
                "dynamodb:GetItem",
                "arn:aws:dynamodb:eu-west-1:111122223333:table/t",
            ),
        ];
        let mut elsewhere = Vec::new();
        let failed = allows_used(
            role,
            "111122223333",
            "aws",
            &current,
            &suggestion,
            &calls,
            &mut elsewhere,
        );
        assert_eq!(failed, [calls[2].clone()]);
        assert_eq!(elsewhere, [calls[3].clone()]);
    }
}

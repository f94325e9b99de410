//! Findings about roles, one function per concern, run in order by [`role_findings`].

use super::{
    ADMIN_POLICIES, BULK_READ_ACTIONS, CREDENTIAL_ACTIONS, CheckId, DATA_EXFILTRATION_ACTIONS,
    RoleFacts, Settings, check, has_condition, mitigation_name, mitigation_str, principal_account,
    principals, unrestricted, unrestricted_grants,
};
use crate::findings::{Finding, Severity as S};
use crate::inputs::Source;
use crate::privesc::escalation_paths;
use rolescope_model::Role;
use rolescope_policy::document::{PolicyVersion, PrincipalKind, Statement};
use rolescope_policy::summary::GrantStatus;
use rolescope_policy::{AccessLevel, Catalog, Effect, Policy};
use serde_json::json;
use std::collections::BTreeSet;

/// Every role-level finding.
pub fn role_findings(cat: &Catalog, facts: &RoleFacts<'_>, settings: &Settings) -> Vec<Finding> {
    let mut out = Vec::new();
    admin(cat, facts, &mut out);
    wildcards(facts, &mut out);
    let paths = escalation(cat, facts, &mut out);
    categories(cat, facts, &mut out);
    trust(facts, settings, &mut out);
    boundary(facts, &paths, &mut out);
    unused(facts, settings, &mut out);
    validation(cat, facts, &mut out);
    out
}

/// Administrator access: privileged managed policies attached, `*:*` effective.
fn admin(cat: &Catalog, facts: &RoleFacts<'_>, out: &mut Vec<Finding>) {
    let role = facts.role;
    let acct = &facts.role.account_id;
    let arn = facts.role.arn.as_str();
    // Admin policies attached.
    for admin in ADMIN_POLICIES {
        // AWS managed policies carry the caller's partition (`arn:aws-cn:iam::aws:policy/…`).
        if let Some(attached) = role
            .attached_policy_arns
            .iter()
            .find(|a| rolescope_model::in_partition(a, "aws") == admin)
        {
            let admin = attached.as_str();
            let name = admin.rsplit('/').next().unwrap_or(admin);
            out.push(Finding::new(
                check(CheckId::Admin001),
                acct,
                None,
                arn,
                admin,
                format!("{} has {name} attached", role.name),
                json!({"policy_arn": admin}),
                None,
            ));
        }
    }

    // Effective *:*.
    let star = facts.policies.identity.iter().find_map(|(src, p)| {
        p.statements
            .iter()
            .position(|s| {
                s.effect == Effect::Allow
                    && !s.actions.negated
                    && s.actions.patterns.iter().any(|a| a == "*")
                    && unrestricted(s)
            })
            .map(|i| (src, i))
    });
    if let Some((src, stmt)) = star {
        let allowed = facts.summary.allowed().count();
        let share = allowed as f64 / cat.len().max(1) as f64;
        let mitigated = (share < 0.9).then(|| {
            if facts.policies.boundary.is_some() {
                "permission_boundary".to_string()
            } else {
                "scp".to_string()
            }
        });
        out.push(Finding::new(check(CheckId::Admin002), acct, None, arn, "*",
            format!("{} allows *:* ({} of {} actions effectively allowed)", role.name, allowed, cat.len()),
            json!({"policy": src.label(), "statement": stmt, "allowed_actions": allowed, "catalog_actions": cat.len()}),
            mitigated));
    }
}

/// `service:*` grants.
fn wildcards(facts: &RoleFacts<'_>, out: &mut Vec<Finding>) {
    let role = facts.role;
    let acct = &facts.role.account_id;
    let arn = facts.role.arn.as_str();
    // service:* wildcards.
    let mut wildcard_services = BTreeSet::new();
    for (src, p) in &facts.policies.identity {
        for s in p
            .statements
            .iter()
            .filter(|s| s.effect == Effect::Allow && !s.actions.negated && s.is_unconditional())
        {
            for pat in &s.actions.patterns {
                if let Some(service) = pat.strip_suffix(":*") {
                    wildcard_services
                        .insert((service.to_ascii_lowercase(), src.label().to_string()));
                }
            }
        }
    }
    for (service, src) in wildcard_services {
        out.push(Finding::new(
            check(CheckId::Wildcard001),
            acct,
            None,
            arn,
            &service,
            format!("{} allows {service}:*", role.name),
            json!({"service": service, "policy": src}),
            None,
        ));
    }
}

/// Privilege escalation paths (live, and blocked by a gate); returns the paths for the boundary check.
fn escalation(
    cat: &Catalog,
    facts: &RoleFacts<'_>,
    out: &mut Vec<Finding>,
) -> Vec<crate::privesc::Path> {
    let role = facts.role;
    let acct = &facts.role.account_id;
    let arn = facts.role.arn.as_str();
    // Privilege escalation, judged on effective permissions: one finding for the live paths,
    // one (info) for the paths a gate blocks, each listing the methods and their actions.
    let paths = escalation_paths(cat, facts.summary);
    let (live, blocked): (Vec<_>, Vec<_>) = paths.iter().partition(|p| p.live);
    let describe = |p: &crate::privesc::Path| {
        json!({
            "method": p.method,
            "actions": p.actions,
            "conditional": p.conditional,
            "mitigated_by": p.mitigated_by.map(mitigation_str),
        })
    };
    if !live.is_empty() {
        let names: Vec<&str> = live.iter().map(|p| p.method.as_str()).collect();
        let mut f = Finding::new(
            check(CheckId::Privesc001),
            acct,
            None,
            arn,
            "live",
            format!(
                "{}: {} privilege escalation path(s), e.g. {}",
                role.name,
                live.len(),
                names.iter().take(3).copied().collect::<Vec<_>>().join(", ")
            ),
            json!({"paths": live.iter().map(|p| describe(p)).collect::<Vec<_>>()}),
            None,
        );
        // Paths that need no condition and no particular resource are the ones an attacker walks
        // today; paths that only work on some resources or under conditions rank lower.
        let unconditional = live.iter().filter(|p| !p.conditional).count();
        if unconditional >= 5 {
            f.severity = S::Critical;
        } else if unconditional == 0 {
            f.severity = S::Medium;
        }
        out.push(f);
    }
    if !blocked.is_empty() {
        let gate = blocked[0]
            .mitigated_by
            .map(mitigation_str)
            .unwrap_or("explicit_deny");
        out.push(Finding::new(
            check(CheckId::Privesc001),
            acct,
            None,
            arn,
            "mitigated",
            format!(
                "{}: {} privilege escalation path(s) blocked by {gate}",
                role.name,
                blocked.len()
            ),
            json!({"paths": blocked.iter().map(|p| describe(p)).collect::<Vec<_>>()}),
            Some(gate.to_string()),
        ));
    }
    paths
}

/// The category lists (exfiltration, bulk reads, credentials, exposure, …) over unrestricted grants.
fn categories(cat: &Catalog, facts: &RoleFacts<'_>, out: &mut Vec<Finding>) {
    let role = facts.role;
    let acct = &facts.role.account_id;
    let arn = facts.role.arn.as_str();
    // Category lists over unrestricted grants: the lists of each catalog action as bits, read
    // by index (an administrator role has ~22,000 unrestricted grants to put in categories).
    const EXFIL: u8 = 1;
    const BULK: u8 = 2;
    const CREDS: u8 = 4;
    let mut lists = vec![0u8; cat.actions.len()];
    for (list, bit) in [
        (DATA_EXFILTRATION_ACTIONS, EXFIL),
        (BULK_READ_ACTIONS, BULK),
        (CREDENTIAL_ACTIONS, CREDS),
    ] {
        for id in list.iter().filter_map(|a| cat.action_id(a)) {
            lists[id as usize] |= bit;
        }
    }
    let lists_of = |id: u32| lists.get(id as usize).copied().unwrap_or(0);
    let mut buckets: [(CheckId, Vec<(&str, GrantStatus)>); 5] = [
        (CheckId::Exfil001, vec![]),
        (CheckId::Exfil002, vec![]),
        (CheckId::Expose001, vec![]),
        (CheckId::Creds001, vec![]),
        (CheckId::Infra001, vec![]),
    ];
    for g in unrestricted_grants(facts) {
        let action = &cat.actions[g.action as usize];
        let name = action.full_name.as_str();
        // Actions that support no resource type can only ever be granted on `*`: that is not a
        // missing constraint, so the access-level categories skip them.
        let restrictable = !action.resource_types.is_empty();
        let on = lists_of(g.action);
        if on & EXFIL != 0 {
            buckets[0].1.push((name, g.status));
        }
        if on & BULK != 0 {
            buckets[1].1.push((name, g.status));
        }
        // Credential-returning actions are reported as credentials exposure, not twice.
        if restrictable && action.level() == AccessLevel::PermissionsManagement && on & CREDS == 0 {
            buckets[2].1.push((name, g.status));
        }
        if on & CREDS != 0 {
            buckets[3].1.push((name, g.status));
        }
        if restrictable && action.level() == AccessLevel::Write {
            buckets[4].1.push((name, g.status));
        }
    }
    for (id, actions) in buckets {
        if actions.is_empty() {
            continue;
        }
        // Live: allowed on every resource with no condition left. Narrowed: still allowed, but a
        // deny on some resources, a condition or a partial gate limits it.
        let live: Vec<&str> = actions
            .iter()
            .filter(|(_, s)| *s == GrantStatus::Allowed)
            .map(|(a, _)| *a)
            .collect();
        let narrowed: Vec<&str> = actions
            .iter()
            .filter(|(_, s)| *s == GrantStatus::AllowedUnderConditions)
            .map(|(a, _)| *a)
            .collect();
        let mitigated = (live.is_empty() && narrowed.is_empty())
            .then(|| mitigation_name(actions[0].1))
            .flatten();
        let shown: Vec<&str> = if !live.is_empty() {
            live.clone()
        } else if !narrowed.is_empty() {
            narrowed.clone()
        } else {
            actions.iter().map(|(a, _)| *a).collect()
        };
        let c = check(id);
        let lower = live.is_empty() && !narrowed.is_empty() && c.severity < S::Low;
        out.push(Finding::new(
            c,
            acct,
            None,
            arn,
            "",
            format!(
                "{}: {} ({} actions)",
                role.name,
                c.title.to_lowercase(),
                shown.len()
            ),
            json!({
                "actions": shown.iter().take(50).collect::<Vec<_>>(),
                "count": shown.len(),
                "narrowed": live.is_empty() && !narrowed.is_empty(),
            }),
            mitigated,
        ));
        if lower && let Some(last) = out.last_mut() {
            last.severity = S::Low;
        }
    }
}

/// Trust: the trust policy itself, Lambda roles no function uses, roles shared by many functions.
fn trust(facts: &RoleFacts<'_>, settings: &Settings, out: &mut Vec<Finding>) {
    let role = facts.role;
    let acct = &facts.role.account_id;
    let arn = facts.role.arn.as_str();
    let is_lambda_role = facts.is_lambda;
    // Trust policy.
    if let Some(trust) = &facts.policies.trust {
        trust_findings(facts, trust, is_lambda_role, out);
    }
    if is_lambda_role && facts.functions.is_empty() {
        out.push(Finding::new(
            check(CheckId::Trust005),
            acct,
            None,
            arn,
            "",
            format!(
                "{} trusts Lambda but no scanned function uses it",
                role.name
            ),
            json!({}),
            None,
        ));
    }
    if facts.functions.len() > settings.shared_role_threshold {
        let names: Vec<&str> = facts.functions.iter().map(|f| f.arn.as_str()).collect();
        out.push(Finding::new(
            check(CheckId::Trust006),
            acct,
            None,
            arn,
            "",
            format!("{} is shared by {} functions", role.name, names.len()),
            json!({"functions": names}),
            None,
        ));
    }
}

/// Permission boundaries of Lambda roles: missing, or not constraining.
fn boundary(facts: &RoleFacts<'_>, paths: &[crate::privesc::Path], out: &mut Vec<Finding>) {
    let role = facts.role;
    let acct = &facts.role.account_id;
    let arn = facts.role.arn.as_str();
    let is_lambda_role = facts.is_lambda;
    // Boundary.
    if is_lambda_role {
        match &facts.policies.boundary {
            None => out.push(Finding::new(
                check(CheckId::Boundary001),
                acct,
                None,
                arn,
                "",
                format!("{} has no permission boundary", role.name),
                json!({}),
                None,
            )),
            Some(b) => {
                let allows_all = b.statements.iter().any(|s| {
                    s.effect == Effect::Allow
                        && !s.actions.negated
                        && s.actions.patterns.iter().any(|a| a == "*")
                        && unrestricted(s)
                });
                let live_paths: Vec<&str> = paths
                    .iter()
                    .filter(|p| p.live)
                    .map(|p| p.method.as_str())
                    .collect();
                if allows_all || !live_paths.is_empty() {
                    out.push(Finding::new(check(CheckId::Boundary002), acct, None, arn, "",
                        format!("{}'s boundary {} does not constrain it", role.name, role.boundary_arn.as_deref().unwrap_or("")),
                        json!({"boundary_arn": role.boundary_arn, "allows_all": allows_all, "live_escalation_paths": live_paths}), None));
                }
            }
        }
    }
}

/// Unused roles and unused granted services.
fn unused(facts: &RoleFacts<'_>, settings: &Settings, out: &mut Vec<Finding>) {
    let role = facts.role;
    let acct = &facts.role.account_id;
    let arn = facts.role.arn.as_str();
    // Unused.
    let horizon = settings.unused_days * 86_400_000;
    let idle_since = role.last_used_at.or(role.created_at);
    if let Some(since) = idle_since
        && facts.now.millis - since.millis > horizon
    {
        out.push(Finding::new(check(CheckId::Unused001), acct, None, arn, "",
            format!("{} not used for {} days", role.name, (facts.now.millis - since.millis) / 86_400_000),
            json!({"last_used_at": role.last_used_at.map(|t| t.to_rfc3339()), "created_at": role.created_at.map(|t| t.to_rfc3339())}), None));
    }
    if let Some(unused) = facts.unused_services
        && !unused.is_empty()
    {
        {
            out.push(Finding::new(
                check(CheckId::Unused002),
                acct,
                None,
                arn,
                "",
                format!(
                    "{}: {} granted services unused for {} days",
                    role.name,
                    unused.len(),
                    settings.unused_days
                ),
                json!({"services": unused}),
                None,
            ));
        }
    }
}

/// Policies that cannot be evaluated or are malformed.
fn validation(cat: &Catalog, facts: &RoleFacts<'_>, out: &mut Vec<Finding>) {
    let role = facts.role;
    let acct = &facts.role.account_id;
    let arn = facts.role.arn.as_str();
    // Validation.
    for u in &facts.policies.unusable {
        out.push(Finding::new(
            check(CheckId::Valid001),
            acct,
            None,
            arn,
            &u.what,
            format!("{}: {} cannot be evaluated", role.name, u.what),
            json!({"policy": u.what, "reason": u.reason}),
            None,
        ));
    }
    for (src, p) in &facts.policies.identity {
        validation_findings(cat, role, src, p, out);
        // AWS managed policies are AWS's to fix.
        if !matches!(src, Source::Managed(a) if a.contains(":iam::aws:policy/")) {
            out.extend(unreadable_condition_values(acct, None, arn, src.label(), p));
        }
    }
    let others = [
        ("permission boundary", facts.policies.boundary.as_ref()),
        ("trust policy", facts.policies.trust.as_ref()),
    ];
    for (label, p) in others {
        if let Some(p) = p {
            out.extend(unreadable_condition_values(acct, None, arn, label, p));
        }
    }
}

/// RS-VALID-005: one finding per condition value its operator cannot read. The condition then
/// matches nothing (docs/policy-engine.md), so in a Deny the finding is high: a guardrail that
/// silently never applies.
pub(crate) fn unreadable_condition_values(
    acct: &rolescope_model::AccountId,
    region: Option<&str>,
    resource: &str,
    label: &str,
    p: &Policy,
) -> Vec<Finding> {
    rolescope_policy::condition::unreadable_values(p)
        .into_iter()
        .map(|(i, e)| {
            let effect = p.statements[i].effect;
            let consequence = match effect {
                Effect::Deny => "this Deny never applies",
                Effect::Allow => "this Allow grants nothing",
            };
            let mut f = Finding::new(
                check(CheckId::Valid005),
                acct,
                region,
                resource,
                &format!("{label}#{}", e.path),
                format!("{label}: {}: {}; {consequence}", e.path, e.message),
                json!({"policy": label, "statement": i, "sid": p.statements[i].sid,
                       "effect": effect, "path": e.path, "problem": e.message}),
                None,
            );
            if effect == Effect::Deny {
                f.severity = S::High;
            }
            f
        })
        .collect()
}

fn validation_findings(
    cat: &Catalog,
    role: &Role,
    src: &Source,
    p: &Policy,
    out: &mut Vec<Finding>,
) {
    // AWS managed policies are AWS's to fix: validation covers the policies users write.
    if let Source::Managed(arn) = src
        && arn.contains(":iam::aws:policy/")
    {
        return;
    }
    let acct = &role.account_id;
    for (i, s) in p.statements.iter().enumerate() {
        for pat in &s.actions.patterns {
            if pat != "*" && cat.expand(pat).is_empty() {
                out.push(Finding::new(
                    check(CheckId::Valid002),
                    acct,
                    None,
                    &role.arn,
                    &format!("{}#{i}#{pat}", src.label()),
                    format!(
                        "{}: {pat} in {} matches no known action",
                        role.name,
                        src.label()
                    ),
                    json!({"policy": src.label(), "statement": i, "action": pat}),
                    None,
                ));
            }
        }
    }
    for (i, stmt) in p.statements.iter().enumerate() {
        for pattern in resource_type_mismatches(cat, stmt) {
            out.push(Finding::new(
                check(CheckId::Valid004),
                acct,
                None,
                &role.arn,
                &format!("{}#{i}#{pattern}", src.label()),
                format!(
                    "{}: {pattern} in {} fits none of the statement's actions",
                    role.name,
                    src.label()
                ),
                json!({"policy": src.label(), "statement": i, "resource": pattern}),
                None,
            ));
        }
    }
    if p.version != PolicyVersion::V2012_10_17 {
        out.push(Finding::new(
            check(CheckId::Valid003),
            acct,
            None,
            &role.arn,
            src.label(),
            format!("{}: {} has no Version 2012-10-17", role.name, src.label()),
            json!({"policy": src.label()}),
            None,
        ));
    }
}

/// Resource ARNs of an Allow statement whose service segment matches no resource type of any
/// of the statement's actions (for example an S3 ARN with `sts:AssumeRole`). Such a resource can
/// never match a request for those actions.
fn resource_type_mismatches<'s>(cat: &Catalog, stmt: &'s Statement) -> Vec<&'s str> {
    let Some(resources) = stmt.resources.as_ref().filter(|r| !r.negated) else {
        return vec![];
    };
    if stmt.effect != Effect::Allow || stmt.actions.negated {
        return vec![];
    }
    let actions = rolescope_policy::summary::expand_spec(cat, &stmt.actions);
    // Statements over whole swaths of the catalog fit nearly any ARN; not worth checking.
    if actions.is_empty() || actions.len() > 2_000 {
        return vec![];
    }
    let mut services: BTreeSet<&str> = BTreeSet::new();
    for id in actions.iter() {
        let action = &cat.actions[id as usize];
        let service = &cat.services[action.service as usize];
        // The reference lists no resource type for some actions that AWS's own policies scope to
        // ARNs anyway (ram:CreateResourceShare): no opinion on those.
        if action.resource_types.is_empty() {
            return vec![];
        }
        services.insert(service.prefix.as_str());
        for (rt, _) in &action.resource_types {
            if let Some(segment) = service
                .resource_types
                .get(*rt as usize)
                .and_then(|t| t.arn.split(':').nth(2))
            {
                services.insert(segment);
            }
        }
    }
    resources
        .patterns
        .iter()
        .filter(|p| p.starts_with("arn:"))
        .filter(|p| {
            let segment = p.split(':').nth(2).unwrap_or("");
            !segment.is_empty()
                && !segment.contains(['*', '?', '$'])
                && !services
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(segment) || s.contains('$'))
        })
        .map(String::as_str)
        .collect()
}

fn trust_findings(
    facts: &RoleFacts<'_>,
    trust: &Policy,
    is_lambda_role: bool,
    out: &mut Vec<Finding>,
) {
    let role = facts.role;
    let acct = &role.account_id;
    let arn = role.arn.as_str();
    let mut other_services = BTreeSet::new();
    for (i, s) in trust
        .statements
        .iter()
        .enumerate()
        .filter(|(_, s)| s.effect == Effect::Allow && !s.not_principal)
    {
        for (kind, id) in principals(s) {
            match kind {
                PrincipalKind::Aws if id == "*" => {
                    let guarded = has_condition(
                        s,
                        &[
                            "aws:PrincipalOrgID",
                            "aws:PrincipalAccount",
                            "aws:PrincipalArn",
                            "sts:ExternalId",
                            "aws:SourceAccount",
                        ],
                    );
                    let mut f = Finding::new(
                        check(CheckId::Trust001),
                        acct,
                        None,
                        arn,
                        &format!("{i}"),
                        format!(
                            "{} can be assumed by any principal{}",
                            role.name,
                            if guarded { " (with conditions)" } else { "" }
                        ),
                        json!({"statement": i, "conditions": s.conditions.len()}),
                        None,
                    );
                    if guarded {
                        f.severity = S::Medium;
                    }
                    out.push(f);
                }
                PrincipalKind::Aws
                    if principal_account(id).is_some_and(|a| a != acct.as_str())
                        && !has_condition(
                            s,
                            &["sts:ExternalId", "aws:PrincipalOrgID", "aws:PrincipalArn"],
                        ) =>
                {
                    out.push(Finding::new(check(CheckId::Trust002), acct, None, arn, id,
                        format!("{} can be assumed from {id} without ExternalId or organization condition", role.name),
                        json!({"principal": id, "statement": i}), None));
                }
                PrincipalKind::Service => {
                    if id != "lambda.amazonaws.com" && is_lambda_role {
                        other_services.insert(id.to_string());
                    }
                    if !has_condition(
                        s,
                        &["aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID"],
                    ) && id != "lambda.amazonaws.com"
                    {
                        out.push(Finding::new(
                            check(CheckId::Trust004),
                            acct,
                            None,
                            arn,
                            id,
                            format!(
                                "{} trusts {id} without aws:SourceAccount/aws:SourceArn",
                                role.name
                            ),
                            json!({"service": id, "statement": i}),
                            None,
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    if !other_services.is_empty() {
        out.push(Finding::new(
            check(CheckId::Trust003),
            acct,
            None,
            arn,
            "",
            format!(
                "{} is also trusted by {}",
                role.name,
                other_services
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            json!({"services": other_services}),
            None,
        ));
    }
}

//! IAM of the simulator: GetAccountAuthorizationDetails (roles and local policies, paged),
//! the last-accessed jobs, and the managed-policy reads it answers as absent.

use super::{iso, query_error, url_encode, xml_escape, xml_ok};
use crate::world::resolve_policy_arn;
use crate::{HttpRequest, HttpResponse, State};
use rolescope_model::Timestamp;
use serde_json::Value;
use std::fmt::Write as _;

/// Service prefixes a document names in its actions.
fn services_in(doc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let v: Value = serde_json::from_str(doc).unwrap_or(Value::Null);
    for s in v["Statement"].as_array().into_iter().flatten() {
        let actions = match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect(),
            _ => vec![],
        };
        for a in actions {
            if let Some((svc, _)) = a.split_once(':')
                && !out.iter().any(|o| o == svc)
            {
                out.push(svc.to_ascii_lowercase());
            }
        }
    }
    out
}

pub(super) fn iam(state: &State, req: &HttpRequest, account: &str, op: &str) -> HttpResponse {
    let Some(ai) = state.world.account_index(account) else {
        return query_error(403, "iam", "AccessDenied", "unknown account");
    };
    let acct = &state.world.accounts[ai];
    let form = req.form();
    let now = state.world.spec.now;
    match op {
        "GetAccountAuthorizationDetails" => authorization_details(state, acct, &form, now, op),
        "GetPolicy" | "GetPolicyVersion" => query_error(
            404,
            "iam",
            "NoSuchEntity",
            &format!(
                "Policy {} was not found.",
                form.get("PolicyArn").cloned().unwrap_or_default()
            ),
        ),
        "GenerateServiceLastAccessedDetails" if state.faults.last_accessed => {
            let arn = form.get("Arn").cloned().unwrap_or_default();
            let job = format!("sim-job-{}", state.next());
            state
                .jobs
                .lock()
                .expect("jobs lock")
                .insert(job.clone(), arn);
            xml_ok("iam", op, &format!("<JobId>{job}</JobId>"))
        }
        "GetServiceLastAccessedDetails" if state.faults.last_accessed => {
            last_accessed(state, acct, &form, now, op)
        }
        // Like moto: an endpoint that does not know the operation.
        _ => HttpResponse {
            status: 501,
            content_type: "text/html",
            headers: vec![],
            body: format!("<html>{op} is not implemented</html>"),
        },
    }
}

/// One page of GetAccountAuthorizationDetails: the account's roles, then its local policies.
fn authorization_details(
    state: &State,
    acct: &crate::world::SimAccount,
    form: &std::collections::BTreeMap<String, String>,
    now: Timestamp,
    op: &str,
) -> HttpResponse {
    let filters: Vec<&String> = form
        .iter()
        .filter(|(k, _)| k.starts_with("Filter.member."))
        .map(|(_, v)| v)
        .collect();
    let wants = |t: &str| filters.is_empty() || filters.iter().any(|f| f.as_str() == t);
    let max: usize = form
        .get("MaxItems")
        .and_then(|m| m.parse().ok())
        .unwrap_or(100)
        .clamp(1, 1000);
    let start: usize = form.get("Marker").and_then(|m| m.parse().ok()).unwrap_or(0);
    let roles = if wants("Role") { acct.roles.len() } else { 0 };
    let locals = if wants("LocalManagedPolicy") {
        crate::world::LOCAL_POLICIES.len()
    } else {
        0
    };
    let total = roles + locals;
    let end = (start + max).min(total);
    let mut role_xml = String::new();
    let mut policy_xml = String::new();
    for i in start..end {
        if i < roles {
            role_detail(&mut role_xml, state, acct, i, now);
        } else {
            let (name, path, doc) = crate::world::LOCAL_POLICIES[i - roles];
            let _ = write!(
                policy_xml,
                "<member><PolicyName>{name}</PolicyName><PolicyId>ANPASIM{i:08}</PolicyId><Arn>arn:aws:iam::{}:policy{path}{name}</Arn><Path>{path}</Path><DefaultVersionId>v1</DefaultVersionId><AttachmentCount>1</AttachmentCount><PermissionsBoundaryUsageCount>0</PermissionsBoundaryUsageCount><IsAttachable>true</IsAttachable><CreateDate>{}</CreateDate><UpdateDate>{}</UpdateDate><PolicyVersionList><member><Document>{}</Document><VersionId>v1</VersionId><IsDefaultVersion>true</IsDefaultVersion><CreateDate>{}</CreateDate></member></PolicyVersionList></member>",
                acct.id,
                iso(now),
                iso(now),
                url_encode(doc),
                iso(now)
            );
        }
    }
    let more = end < total;
    let marker = if more {
        format!("<Marker>{end}</Marker>")
    } else {
        String::new()
    };
    xml_ok(
        "iam",
        op,
        &format!(
            "<RoleDetailList>{role_xml}</RoleDetailList><UserDetailList/><GroupDetailList/><Policies>{policy_xml}</Policies><IsTruncated>{more}</IsTruncated>{marker}"
        ),
    )
}

/// Role `i` of the account as a RoleDetailList member.
fn role_detail(
    role_xml: &mut String,
    state: &State,
    acct: &crate::world::SimAccount,
    i: usize,
    now: Timestamp,
) {
    let r = &acct.roles[i];
    let arn = format!("arn:aws:iam::{}:role{}{}", acct.id, r.path, r.name);
    let _ = write!(
        role_xml,
        "<member><Path>{}</Path><RoleName>{}</RoleName><RoleId>AROASIM{i:08}</RoleId><Arn>{arn}</Arn><CreateDate>{}</CreateDate><AssumeRolePolicyDocument>{}</AssumeRolePolicyDocument><InstanceProfileList/><RolePolicyList>",
        r.path,
        r.name,
        iso(Timestamp::from_millis(now.millis - 500 * 86_400_000)),
        url_encode(&r.trust)
    );
    for p in &r.inline {
        let _ = write!(
            role_xml,
            "<member><PolicyName>{}</PolicyName><PolicyDocument>{}</PolicyDocument></member>",
            p.name,
            url_encode(&p.document)
        );
    }
    role_xml.push_str("</RolePolicyList><AttachedManagedPolicies>");
    for a in &r.attached {
        let arn = resolve_policy_arn(&acct.id, a);
        let name = arn.rsplit('/').next().unwrap_or_default().to_string();
        let _ = write!(
            role_xml,
            "<member><PolicyName>{name}</PolicyName><PolicyArn>{arn}</PolicyArn></member>"
        );
    }
    role_xml.push_str("</AttachedManagedPolicies>");
    if let Some(b) = &r.boundary {
        let _ = write!(
            role_xml,
            "<PermissionsBoundary><PermissionsBoundaryType>Policy</PermissionsBoundaryType><PermissionsBoundaryArn>{}</PermissionsBoundaryArn></PermissionsBoundary>",
            resolve_policy_arn(&acct.id, b)
        );
    }
    let _ = write!(
        role_xml,
        "<Tags><member><Key>team</Key><Value>{}</Value></member></Tags>",
        xml_escape(&r.name)
    );
    match r.last_used {
        Some(t) => {
            let _ = write!(
                role_xml,
                "<RoleLastUsed><LastUsedDate>{}</LastUsedDate><Region>{}</Region></RoleLastUsed>",
                iso(t),
                state
                    .world
                    .spec
                    .regions
                    .first()
                    .map(String::as_str)
                    .unwrap_or("us-east-1")
            );
        }
        None => role_xml.push_str("<RoleLastUsed/>"),
    }
    role_xml.push_str("</member>");
}

/// A completed action-level last-accessed job of one role.
fn last_accessed(
    state: &State,
    acct: &crate::world::SimAccount,
    form: &std::collections::BTreeMap<String, String>,
    now: Timestamp,
    op: &str,
) -> HttpResponse {
    let job = form.get("JobId").cloned().unwrap_or_default();
    let Some(arn) = state.jobs.lock().expect("jobs lock").get(&job).cloned() else {
        return query_error(404, "iam", "NoSuchEntity", &format!("job {job} not found"));
    };
    let name = arn.rsplit('/').next().unwrap_or_default();
    let Some(role) = acct.roles.iter().find(|r| r.name == name) else {
        return query_error(404, "iam", "NoSuchEntity", &format!("role {arn} not found"));
    };
    // Every service the role's own documents name, used or not (as AWS reports).
    let mut services: Vec<String> = role
        .inline
        .iter()
        .flat_map(|p| services_in(&p.document))
        .collect();
    for a in &role.attached {
        if let Some((_, _, doc)) = crate::world::LOCAL_POLICIES
            .iter()
            .find(|(n, _, _)| a.ends_with(&format!("/{n}")))
        {
            services.extend(services_in(doc));
        }
    }
    for (s, _, _) in &role.usage {
        services.push(s.clone());
    }
    services.sort();
    services.dedup();
    let region = state
        .world
        .spec
        .regions
        .first()
        .cloned()
        .unwrap_or_default();
    let mut body = String::new();
    for s in &services {
        let used = role.usage.iter().find(|(u, _, _)| u == s);
        let _ = write!(
            body,
            "<member><ServiceName>{s}</ServiceName><ServiceNamespace>{s}</ServiceNamespace><TotalAuthenticatedEntities>{}</TotalAuthenticatedEntities>",
            usize::from(used.is_some())
        );
        if let Some((_, t, actions)) = used {
            let _ = write!(
                body,
                "<LastAuthenticated>{}</LastAuthenticated><LastAuthenticatedEntity>{arn}</LastAuthenticatedEntity><LastAuthenticatedRegion>{region}</LastAuthenticatedRegion><TrackedActionsLastAccessed>",
                iso(*t)
            );
            for a in actions {
                let short = a.split_once(':').map_or(a.as_str(), |(_, n)| n);
                let _ = write!(
                    body,
                    "<member><ActionName>{short}</ActionName><LastAccessedTime>{}</LastAccessedTime><LastAccessedRegion>{region}</LastAccessedRegion></member>",
                    iso(*t)
                );
            }
            body.push_str("</TrackedActionsLastAccessed>");
        }
        body.push_str("</member>");
    }
    xml_ok(
        "iam",
        op,
        &format!(
            "<JobStatus>COMPLETED</JobStatus><JobType>ACTION_LEVEL</JobType><JobCreationDate>{}</JobCreationDate><JobCompletionDate>{}</JobCompletionDate><ServicesLastAccessed>{body}</ServicesLastAccessed><IsTruncated>false</IsTruncated>",
            iso(now),
            iso(now)
        ),
    )
}

//! IAM, once per account: roles and their policies from GetAccountAuthorizationDetails, AWS managed
//! policies missing from the embedded copy, and service/action last-accessed data.

use crate::ctx::{Ctx, Lane, UNSUPPORTED};
use crate::limiter::RateClass;
use crate::org::next;
use aws_sdk_iam as iam;
use iam::types::{AccessAdvisorUsageGranularityType, EntityType, JobStatusType};
use rolescope_model::{
    AccountId, CollectionError, InlinePolicy, LastAccessed, ManagedPolicy, Role, Timestamp,
};
use std::collections::BTreeSet;
use std::time::Duration;

const SERVICE: &str = "iam";

/// Roles and customer-managed policies of one account.
#[derive(Debug, Default)]
pub(crate) struct IamView {
    pub roles: Vec<Role>,
    pub managed: Vec<ManagedPolicy>,
}

fn millis(dt: &aws_smithy_types::DateTime) -> Option<Timestamp> {
    dt.to_millis().ok().map(Timestamp::from_millis)
}

/// Decode a policy document (URL-encoded as AWS sends it, or raw JSON); a document that cannot be
/// decoded is kept as sent and reported, so nothing is lost.
fn document(
    account: &AccountId,
    operation: &str,
    what: &str,
    raw: &str,
    errors: &mut Vec<CollectionError>,
) -> String {
    match rolescope_policy::decode::decode_policy_text(raw) {
        Ok(doc) => doc,
        Err(e) => {
            errors.push(CollectionError {
                resource_arn: None,
                account_id: Some(account.clone()),
                region: None,
                service: SERVICE.into(),
                operation: operation.into(),
                error_code: "MalformedPolicyDocument".into(),
                message: format!("{what}: {e}"),
            });
            raw.to_string()
        }
    }
}

/// Convert one GAAD role to the model.
pub(crate) fn role_to_model(
    account: &AccountId,
    r: &iam::types::RoleDetail,
    errors: &mut Vec<CollectionError>,
) -> Role {
    let name = r.role_name().unwrap_or_default().to_string();
    const OP: &str = "GetAccountAuthorizationDetails";
    let trust_policy = document(
        account,
        OP,
        &format!("role {name} trust policy"),
        r.assume_role_policy_document().unwrap_or("{}"),
        errors,
    );
    let inline_policies = r
        .role_policy_list()
        .iter()
        .map(|p| {
            let pname = p.policy_name().unwrap_or_default().to_string();
            InlinePolicy {
                document: document(
                    account,
                    OP,
                    &format!("role {name} inline policy {pname}"),
                    p.policy_document().unwrap_or("{}"),
                    errors,
                ),
                name: pname,
            }
        })
        .collect();
    let mut attached_policy_arns: Vec<String> = r
        .attached_managed_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect();
    attached_policy_arns.sort();
    Role {
        account_id: account.clone(),
        arn: r.arn().unwrap_or_default().to_string(),
        path: r.path().unwrap_or("/").to_string(),
        trust_policy,
        inline_policies,
        attached_policy_arns,
        boundary_arn: r
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .map(str::to_string),
        tags: r
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
        last_used_at: r
            .role_last_used()
            .and_then(|u| u.last_used_date())
            .and_then(millis),
        last_used_region: r
            .role_last_used()
            .and_then(|u| u.region())
            .map(str::to_string),
        created_at: r.create_date().and_then(millis),
        name,
    }
}

/// GetAccountAuthorizationDetails (roles and customer-managed policies, 1,000 per page), then
/// GetPolicy/GetPolicyVersion for attached AWS managed policies the embedded copy lacks.
pub(crate) async fn collect(
    ctx: &Ctx,
    client: &iam::Client,
    account: &AccountId,
    errors: &mut Vec<CollectionError>,
) -> IamView {
    let lane = Lane::global(account);
    let mut view = IamView::default();
    let mut marker: Option<String> = None;
    loop {
        let page = match ctx
            .call(
                &lane,
                RateClass::Iam,
                SERVICE,
                "GetAccountAuthorizationDetails",
                || {
                    client
                        .get_account_authorization_details()
                        .filter(EntityType::Role)
                        .filter(EntityType::LocalManagedPolicy)
                        .max_items(1000)
                        .set_marker(marker.clone())
                        .send()
                },
            )
            .await
        {
            Ok(page) => page,
            Err(e) => {
                errors.push(e);
                break;
            }
        };
        for r in page.role_detail_list() {
            view.roles.push(role_to_model(account, r, errors));
        }
        for p in page.policies() {
            let arn = p.arn().unwrap_or_default().to_string();
            let default = p.default_version_id().unwrap_or_default().to_string();
            let Some(version) = p
                .policy_version_list()
                .iter()
                .find(|v| v.is_default_version() || v.version_id() == Some(default.as_str()))
            else {
                continue;
            };
            // GAAD from some endpoints omits PolicyName: the ARN's last segment is the name.
            let name = p
                .policy_name()
                .map(str::to_string)
                .unwrap_or_else(|| arn.rsplit('/').next().unwrap_or_default().to_string());
            view.managed.push(ManagedPolicy {
                account_id: Some(account.clone()),
                document: document(
                    account,
                    "GetAccountAuthorizationDetails",
                    &format!("managed policy {arn}"),
                    version.document().unwrap_or("{}"),
                    errors,
                ),
                arn,
                name,
                default_version: default,
            });
        }
        marker = if page.is_truncated() {
            next(page.marker(), &marker)
        } else {
            None
        };
        if marker.is_none() {
            break;
        }
    }

    // AWS managed policies attached in this account that the embedded copy does not know
    // (newer than the pinned package): fetch them once.
    let embedded = rolescope_policy::managed::managed_policies();
    let local: BTreeSet<&str> = view.managed.iter().map(|m| m.arn.as_str()).collect();
    let missing: BTreeSet<String> = view
        .roles
        .iter()
        .flat_map(|r| r.attached_policy_arns.iter().chain(r.boundary_arn.iter()))
        .filter(|arn| arn.starts_with("arn:aws") && arn.contains(":iam::aws:policy/"))
        .filter(|arn| embedded.get(arn).is_none() && !local.contains(arn.as_str()))
        .cloned()
        .collect();
    for arn in missing {
        if let Some(policy) = fetch_managed(ctx, client, account, &arn, errors).await {
            view.managed.push(policy);
        }
    }
    view.roles.sort_by(|a, b| a.arn.cmp(&b.arn));
    view.managed.sort_by(|a, b| a.arn.cmp(&b.arn));
    view
}

async fn fetch_managed(
    ctx: &Ctx,
    client: &iam::Client,
    account: &AccountId,
    arn: &str,
    errors: &mut Vec<CollectionError>,
) -> Option<ManagedPolicy> {
    let lane = Lane::global(account);
    let policy = match ctx
        .call(&lane, RateClass::Iam, SERVICE, "GetPolicy", || {
            client.get_policy().policy_arn(arn).send()
        })
        .await
    {
        Ok(out) => out.policy?.clone(),
        Err(mut e) => {
            e.resource_arn = Some(arn.to_string());
            errors.push(e);
            return None;
        }
    };
    let version = policy.default_version_id()?.to_string();
    let doc = match ctx
        .call(&lane, RateClass::Iam, SERVICE, "GetPolicyVersion", || {
            client
                .get_policy_version()
                .policy_arn(arn)
                .version_id(&version)
                .send()
        })
        .await
    {
        Ok(out) => out.policy_version?.document?,
        Err(mut e) => {
            e.resource_arn = Some(arn.to_string());
            errors.push(e);
            return None;
        }
    };
    Some(ManagedPolicy {
        account_id: None,
        arn: arn.to_string(),
        name: policy.policy_name().unwrap_or_default().to_string(),
        default_version: version,
        document: document(account, "GetPolicyVersion", arn, &doc, errors),
    })
}

/// Service- and action-level last-accessed data for the given roles: start one job per role,
/// then poll them with exponential backoff, bounded by `timeout` for the whole account. An
/// endpoint without the API is recorded once and the account goes on without the data.
pub(crate) async fn last_accessed(
    ctx: &Ctx,
    client: &iam::Client,
    account: &AccountId,
    role_arns: &[String],
    timeout: Duration,
    errors: &mut Vec<CollectionError>,
) -> Vec<LastAccessed> {
    let lane = Lane::global(account);
    let mut jobs = Vec::new();
    for arn in role_arns {
        match ctx
            .call(
                &lane,
                RateClass::Iam,
                SERVICE,
                "GenerateServiceLastAccessedDetails",
                || {
                    client
                        .generate_service_last_accessed_details()
                        .arn(arn)
                        .granularity(AccessAdvisorUsageGranularityType::ActionLevel)
                        .send()
                },
            )
            .await
        {
            Ok(out) => {
                if let Some(job) = out.job_id() {
                    jobs.push((arn.clone(), job.to_string()));
                }
            }
            Err(mut e) => {
                let unsupported = e.error_code == UNSUPPORTED;
                if !unsupported {
                    e.resource_arn = Some(arn.clone());
                }
                errors.push(e);
                if unsupported {
                    return Vec::new();
                }
            }
        }
    }

    let deadline = tokio::time::Instant::now() + timeout;
    let mut delay = Duration::from_millis(250);
    let mut out = Vec::new();
    let mut pending = jobs;
    while !pending.is_empty() {
        let mut still = Vec::new();
        for (arn, job) in pending {
            match job_result(ctx, client, &lane, &arn, &job).await {
                Ok(Some(mut rows)) => out.append(&mut rows),
                Ok(None) => still.push((arn, job)),
                Err(mut e) => {
                    e.resource_arn = Some(arn.clone());
                    errors.push(e)
                }
            }
        }
        pending = still;
        if pending.is_empty() {
            break;
        }
        if tokio::time::Instant::now() + delay > deadline {
            for (arn, _) in &pending {
                errors.push(CollectionError {
                    resource_arn: Some(arn.clone()),
                    account_id: Some(account.clone()),
                    region: None,
                    service: SERVICE.into(),
                    operation: "GetServiceLastAccessedDetails".into(),
                    error_code: "Timeout".into(),
                    message: format!("job for {arn} not finished within {}s", timeout.as_secs()),
                });
            }
            break;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(8));
    }
    out.sort_by(|a, b| (&a.role_arn, &a.service).cmp(&(&b.role_arn, &b.service)));
    out
}

/// `Ok(None)` while the job runs.
async fn job_result(
    ctx: &Ctx,
    client: &iam::Client,
    lane: &Lane,
    role_arn: &str,
    job: &str,
) -> Result<Option<Vec<LastAccessed>>, CollectionError> {
    let mut rows = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = ctx
            .call(
                lane,
                RateClass::Iam,
                SERVICE,
                "GetServiceLastAccessedDetails",
                || {
                    client
                        .get_service_last_accessed_details()
                        .job_id(job)
                        .set_marker(marker.clone())
                        .send()
                },
            )
            .await?;
        match page.job_status() {
            JobStatusType::Completed => {}
            JobStatusType::Failed => {
                return Err(CollectionError {
                    resource_arn: None,
                    account_id: Some(lane.account.clone()),
                    region: None,
                    service: SERVICE.into(),
                    operation: "GetServiceLastAccessedDetails".into(),
                    error_code: "JobFailed".into(),
                    message: format!(
                        "last-accessed job for {role_arn} failed: {}",
                        page.error().map(|e| e.message()).unwrap_or("no detail")
                    ),
                });
            }
            _ => return Ok(None),
        }
        for s in page.services_last_accessed() {
            let mut actions: Vec<(String, Option<Timestamp>)> = s
                .tracked_actions_last_accessed()
                .iter()
                .filter_map(|a| {
                    a.action_name().map(|name| {
                        (
                            format!("{}:{name}", s.service_namespace()),
                            a.last_accessed_time().and_then(millis),
                        )
                    })
                })
                .collect();
            actions.sort();
            rows.push(LastAccessed {
                role_arn: role_arn.to_string(),
                service: s.service_namespace().to_string(),
                last_accessed_at: s.last_authenticated().and_then(millis),
                actions,
            });
        }
        marker = if page.is_truncated() {
            next(page.marker(), &marker)
        } else {
            None
        };
        if marker.is_none() {
            return Ok(Some(rows));
        }
    }
}

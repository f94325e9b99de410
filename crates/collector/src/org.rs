//! The organization walk: the OU tree top-down, accounts per parent, SCPs/RCPs with their targets.

use crate::ctx::{Ctx, Lane};
use crate::limiter::RateClass;
use aws_sdk_organizations as orgs;
use orgs::types::{PolicyType, PolicyTypeStatus};
use rolescope_model::{
    Account, AccountId, AccountStatus, CollectionError, ControlPolicy, ControlPolicyType, OrgUnit,
};
use std::collections::VecDeque;
use tokio::sync::mpsc;

/// A unit or account as the walk finds it, sent while the walk goes on so that scanning starts
/// with the first page of accounts (the walk of 2,000 accounts takes seconds of Organizations'
/// rate, and the AssumeRole calls are paced anyway).
#[derive(Debug, Clone)]
pub(crate) enum Found {
    Unit(OrgUnit),
    Account(Account),
}

/// What the organization walk found.
#[derive(Debug, Default)]
pub(crate) struct OrgView {
    pub org_id: Option<String>,
    pub units: Vec<OrgUnit>,
    pub accounts: Vec<Account>,
    pub policies: Vec<ControlPolicy>,
}

const SERVICE: &str = "organizations";

/// Walk the organization from the caller's account, sending each unit (parents before children)
/// and account to `found` as it is listed. `Err` means the organization cannot be read at all
/// (not a member, not the management or delegated-admin account): the caller falls back to
/// scanning its own account.
pub(crate) async fn walk(
    ctx: &Ctx,
    client: &orgs::Client,
    caller: &AccountId,
    errors: &mut Vec<CollectionError>,
    found: mpsc::UnboundedSender<Found>,
) -> Result<OrgView, CollectionError> {
    let lane = Lane::discovery(caller);
    let lane = &lane;
    let org = ctx
        .call(
            lane,
            RateClass::Organizations,
            SERVICE,
            "DescribeOrganization",
            || client.describe_organization().send(),
        )
        .await?;
    let mut view = OrgView {
        org_id: org.organization().and_then(|o| o.id()).map(str::to_string),
        ..OrgView::default()
    };

    let (roots, failed) = all_pages(|token| async move {
        let page = ctx
            .call(lane, RateClass::Organizations, SERVICE, "ListRoots", || {
                client.list_roots().set_next_token(token).send()
            })
            .await?;
        Ok((page.roots().to_vec(), page.next_token().map(str::to_string)))
    })
    .await;
    if let Some(e) = failed {
        return Err(e);
    }

    // Policy types enabled at any root: only those are fetched.
    let enabled = |t: PolicyType| {
        roots.iter().any(|r| {
            r.policy_types()
                .iter()
                .any(|p| p.r#type() == Some(&t) && p.status() == Some(&PolicyTypeStatus::Enabled))
        })
    };
    let scp_enabled = enabled(PolicyType::ServiceControlPolicy);
    let rcp_enabled = enabled(PolicyType::ResourceControlPolicy);

    units_and_accounts(ctx, client, lane, &roots, &mut view, errors, &found).await;
    // Every account is out: the policies below are read while the accounts are scanned.
    drop(found);

    for (kind, wanted) in [
        (ControlPolicyType::ServiceControlPolicy, scp_enabled),
        (ControlPolicyType::ResourceControlPolicy, rcp_enabled),
    ] {
        if !wanted {
            continue;
        }
        match policies(ctx, client, caller, kind, errors).await {
            Ok(mut found) => view.policies.append(&mut found),
            Err(e) => errors.push(e),
        }
    }
    Ok(view)
}

/// Breadth-first: one ListOrganizationalUnitsForParent and one ListAccountsForParent per parent,
/// never a ListParents per account. Each unit and account goes to `found` as it is listed.
async fn units_and_accounts(
    ctx: &Ctx,
    client: &orgs::Client,
    lane: &Lane,
    roots: &[orgs::types::Root],
    view: &mut OrgView,
    errors: &mut Vec<CollectionError>,
    found: &mpsc::UnboundedSender<Found>,
) {
    let mut queue: VecDeque<(String, String)> = VecDeque::new();
    for root in roots {
        let id = root.id().unwrap_or_default().to_string();
        let name = root.name().unwrap_or("Root").to_string();
        let unit = OrgUnit {
            id: id.clone(),
            name: name.clone(),
            parent_id: None,
            path: name.clone(),
        };
        send(found, Found::Unit(unit.clone()));
        view.units.push(unit);
        queue.push_back((id, name));
    }
    while let Some((parent, path)) = queue.pop_front() {
        let parent_ref = parent.as_str();
        let (units, failed) = child_units(ctx, client, lane, parent_ref).await;
        errors.extend(failed);
        for ou in units {
            let id = ou.id().unwrap_or_default().to_string();
            let name = ou.name().unwrap_or_default().to_string();
            // A tree never repeats a unit; a malformed answer that does must not loop the walk.
            if view.units.iter().any(|u| u.id == id) {
                errors.push(invalid(
                    "ListOrganizationalUnitsForParent",
                    format!("{id} listed again under {parent}; ignored"),
                ));
                continue;
            }
            let child_path = format!("{path}/{name}");
            let unit = OrgUnit {
                id: id.clone(),
                name,
                parent_id: Some(parent.clone()),
                path: child_path.clone(),
            };
            send(found, Found::Unit(unit.clone()));
            view.units.push(unit);
            queue.push_back((id, child_path));
        }
        let (accounts, failed) = child_accounts(ctx, client, lane, parent_ref).await;
        errors.extend(failed);
        for account in &accounts {
            match account_record(account, &parent, &path) {
                Some(Ok(account)) => {
                    send(found, Found::Account(account.clone()));
                    view.accounts.push(account);
                }
                Some(Err(e)) => errors.push(e),
                None => {}
            }
        }
    }
}

/// The receiver going away (a scan that stops early) must not stop the walk.
fn send(found: &mpsc::UnboundedSender<Found>, item: Found) {
    let _ = found.send(item);
}

/// An answer of the walk that cannot be right (a repeated unit).
fn invalid(operation: &str, message: String) -> CollectionError {
    CollectionError {
        resource_arn: None,
        account_id: None,
        region: None,
        service: SERVICE.into(),
        operation: operation.into(),
        error_code: "InvalidResponse".into(),
        message,
    }
}

/// Every page of ListOrganizationalUnitsForParent, and the error that stopped it, if one did.
async fn child_units(
    ctx: &Ctx,
    client: &orgs::Client,
    lane: &Lane,
    parent: &str,
) -> (
    Vec<orgs::types::OrganizationalUnit>,
    Option<CollectionError>,
) {
    all_pages(|token| async move {
        let page = ctx
            .call(
                lane,
                RateClass::Organizations,
                SERVICE,
                "ListOrganizationalUnitsForParent",
                || {
                    client
                        .list_organizational_units_for_parent()
                        .parent_id(parent)
                        .set_next_token(token)
                        .send()
                },
            )
            .await?;
        Ok((
            page.organizational_units().to_vec(),
            page.next_token().map(str::to_string),
        ))
    })
    .await
}

/// Every page of ListAccountsForParent, and the error that stopped it, if one did.
async fn child_accounts(
    ctx: &Ctx,
    client: &orgs::Client,
    lane: &Lane,
    parent: &str,
) -> (Vec<orgs::types::Account>, Option<CollectionError>) {
    all_pages(|token| async move {
        let page = ctx
            .call(
                lane,
                RateClass::Organizations,
                SERVICE,
                "ListAccountsForParent",
                || {
                    client
                        .list_accounts_for_parent()
                        .parent_id(parent)
                        .set_next_token(token)
                        .send()
                },
            )
            .await?;
        Ok((
            page.accounts().to_vec(),
            page.next_token().map(str::to_string),
        ))
    })
    .await
}

/// An account as the model has it (not scanned yet), an error for an id that is not one, or
/// nothing for an entry without an id.
fn account_record(
    account: &orgs::types::Account,
    parent: &str,
    path: &str,
) -> Option<Result<Account, CollectionError>> {
    let id = account.id()?;
    Some(match AccountId::new(id) {
        Ok(account_id) => Ok(Account {
            account_id,
            name: account.name().unwrap_or_default().to_string(),
            status: account_status(account),
            parent_id: parent.to_string(),
            ou_path: path.to_string(),
            scanned: false,
        }),
        Err(e) => Err(CollectionError {
            resource_arn: None,
            account_id: None,
            region: None,
            service: SERVICE.into(),
            operation: "ListAccountsForParent".into(),
            error_code: "InvalidAccountId".into(),
            message: e.to_string(),
        }),
    })
}

fn account_status(account: &orgs::types::Account) -> AccountStatus {
    use orgs::types::{AccountState, AccountStatus as S};
    if let Some(state) = account.state() {
        return match state {
            AccountState::Suspended | AccountState::Closed => AccountStatus::Suspended,
            AccountState::PendingClosure => AccountStatus::PendingClosure,
            _ => AccountStatus::Active,
        };
    }
    match account.status() {
        Some(S::Suspended) => AccountStatus::Suspended,
        Some(S::PendingClosure) => AccountStatus::PendingClosure,
        _ => AccountStatus::Active,
    }
}

async fn policies(
    ctx: &Ctx,
    client: &orgs::Client,
    caller: &AccountId,
    kind: ControlPolicyType,
    errors: &mut Vec<CollectionError>,
) -> Result<Vec<ControlPolicy>, CollectionError> {
    let lane = Lane::discovery(caller);
    let filter = match kind {
        ControlPolicyType::ServiceControlPolicy => PolicyType::ServiceControlPolicy,
        ControlPolicyType::ResourceControlPolicy => PolicyType::ResourceControlPolicy,
    };
    let lane = &lane;
    let filter = &filter;
    let (summaries, failed) = all_pages(|token| async move {
        let page = ctx
            .call(
                lane,
                RateClass::Organizations,
                SERVICE,
                "ListPolicies",
                || {
                    client
                        .list_policies()
                        .filter(filter.clone())
                        .set_next_token(token)
                        .send()
                },
            )
            .await?;
        Ok((
            page.policies().to_vec(),
            page.next_token().map(str::to_string),
        ))
    })
    .await;
    if let Some(e) = failed {
        return Err(e);
    }
    let mut out = Vec::new();
    for summary in summaries {
        let Some(id) = summary.id() else { continue };
        let described = match ctx
            .call(
                lane,
                RateClass::Organizations,
                SERVICE,
                "DescribePolicy",
                || client.describe_policy().policy_id(id).send(),
            )
            .await
        {
            Ok(d) => d,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let content = described
            .policy()
            .and_then(|p| p.content())
            .unwrap_or_default();
        let document = match rolescope_policy::decode::decode_policy_text(content) {
            Ok(doc) => doc,
            Err(e) => {
                errors.push(CollectionError {
                    resource_arn: None,
                    account_id: Some(caller.clone()),
                    region: None,
                    service: SERVICE.into(),
                    operation: "DescribePolicy".into(),
                    error_code: "MalformedPolicyDocument".into(),
                    message: format!("policy {id}: {e}"),
                });
                content.to_string()
            }
        };
        let (found, failed) = all_pages(|token| async move {
            let page = ctx
                .call(
                    lane,
                    RateClass::Organizations,
                    SERVICE,
                    "ListTargetsForPolicy",
                    || {
                        client
                            .list_targets_for_policy()
                            .policy_id(id)
                            .set_next_token(token)
                            .send()
                    },
                )
                .await?;
            Ok((
                page.targets()
                    .iter()
                    .filter_map(|t| t.target_id().map(str::to_string))
                    .collect(),
                page.next_token().map(str::to_string),
            ))
        })
        .await;
        errors.extend(failed);
        let mut targets: Vec<String> = found;
        targets.sort();
        out.push(ControlPolicy {
            id: id.to_string(),
            name: summary.name().unwrap_or_default().to_string(),
            policy_type: kind,
            document,
            targets,
        });
    }
    Ok(out)
}

/// Follow a token-paginated listing to its end. `fetch` sends one page for a token and returns
/// its items and the next token. On a failure, what was listed so far comes back with the error.
pub(crate) async fn all_pages<T, F, Fut>(mut fetch: F) -> (Vec<T>, Option<CollectionError>)
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), CollectionError>>,
{
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    loop {
        match fetch(token.clone()).await {
            Ok((mut page, next_token)) => {
                items.append(&mut page);
                token = next(next_token.as_deref(), &token);
                if token.is_none() {
                    return (items, None);
                }
            }
            Err(e) => return (items, Some(e)),
        }
    }
}

/// The next pagination token, or `None` when the listing is done. A token equal to the one just
/// sent would loop forever (a misbehaving endpoint): treat it as the end.
pub(crate) fn next(token: Option<&str>, previous: &Option<String>) -> Option<String> {
    match token {
        Some(t) if !t.is_empty() && previous.as_deref() != Some(t) => Some(t.to_string()),
        _ => None,
    }
}

//! The baseline's roles, accounts, OUs and control policies, read back from a committed
//! scan's tables, one table per function.

use super::{Columns, CommittedScan, Items, each_batch};
use crate::ExportError;
use crate::destination::Destination;
use arrow_array::Int64Array;
use std::collections::{BTreeMap, HashMap};

pub(super) type OrgRead = (Items, Items, Items, rolescope_analysis::history::Scores);

/// Roles (with their policies), accounts, OUs and control policies, and their scores; `None`
/// when one of their tables is missing (the tables are read in that order, and reading stops
/// at the first one missing).
pub(super) fn read_roles_and_org(
    dest: &Destination,
    scan: &CommittedScan,
) -> Result<Option<OrgRead>, ExportError> {
    let mut scores = rolescope_analysis::history::Scores::default();
    let Some(policies) = read_role_policies(dest, scan)? else {
        return Ok(None);
    };
    let Some(roles) = read_roles(dest, scan, &policies, &mut scores.roles)? else {
        return Ok(None);
    };
    drop(policies);
    let Some(accounts) = read_accounts(dest, scan, &mut scores.accounts)? else {
        return Ok(None);
    };
    if !read_org_unit_scores(dest, scan, &mut scores.org_units)? {
        return Ok(None);
    }
    let Some(control_policies) = read_control_policies(dest, scan)? else {
        return Ok(None);
    };
    Ok(Some((roles, accounts, control_policies, scores)))
}

/// Each role's inline documents and attached policy ARNs, in the order of the table.
type RolePolicies = HashMap<String, (Vec<String>, Vec<String>)>;

/// The `role_policies` table, by role.
fn read_role_policies(
    dest: &Destination,
    scan: &CommittedScan,
) -> Result<Option<RolePolicies>, ExportError> {
    let mut policies = RolePolicies::new();
    let found = each_batch(
        dest,
        scan,
        "role_policies",
        &["role_arn", "kind", "policy_arn", "document"],
        |c| {
            let (role, kind, arn, doc) = (
                c.strings("role_arn")?,
                c.strings("kind")?,
                c.strings("policy_arn")?,
                c.strings("document")?,
            );
            for i in c.rows() {
                let entry = policies
                    .entry(c.text(role, "role_arn", i)?.to_string())
                    .or_default();
                match c.text(kind, "kind", i)? {
                    "inline" => entry.0.push(c.text(doc, "document", i)?.to_string()),
                    "managed" => entry.1.push(c.text(arn, "policy_arn", i)?.to_string()),
                    _ => {}
                }
            }
            Ok(())
        },
    )?;
    Ok(found.then_some(policies))
}

/// The `roles` table, each role summarised with its policies; their scores go to `scores`.
fn read_roles(
    dest: &Destination,
    scan: &CommittedScan,
    policies: &RolePolicies,
    scores: &mut HashMap<String, i32>,
) -> Result<Option<Items>, ExportError> {
    use rolescope_analysis::history::{Item, role_summary};
    let mut roles = Items::new();
    let found = each_batch(
        dest,
        scan,
        "roles",
        &[
            "account_id",
            "role_arn",
            "trust_policy",
            "boundary_arn",
            "risk_score",
        ],
        |c| {
            let (account, arn, trust, boundary) = (
                c.strings("account_id")?,
                c.strings("role_arn")?,
                c.strings("trust_policy")?,
                c.strings("boundary_arn")?,
            );
            let score: &Int64Array = c.of("risk_score")?;
            for i in c.rows() {
                let arn = c.text(arn, "role_arn", i)?;
                let (inline, attached) = policies.get(arn).map_or((vec![], vec![]), |(a, b)| {
                    (
                        a.iter().map(String::as_str).collect(),
                        b.iter().map(String::as_str).collect(),
                    )
                });
                let summary = role_summary(
                    c.text(trust, "trust_policy", i)?,
                    &inline,
                    &attached,
                    Columns::opt(boundary, i),
                );
                let account = c.account(account, i)?;
                roles.insert(
                    arn,
                    Item {
                        summary: &summary,
                        account: Some(account.as_str()),
                        region: None,
                    },
                );
                scores.insert(arn.to_string(), c.score(score, i)?);
            }
            Ok(())
        },
    )?;
    Ok(found.then_some(roles))
}

/// The `accounts` table; their scores go to `scores`.
fn read_accounts(
    dest: &Destination,
    scan: &CommittedScan,
    scores: &mut HashMap<String, i32>,
) -> Result<Option<Items>, ExportError> {
    use rolescope_analysis::history::{Item, account_summary};
    let mut accounts = Items::new();
    let found = each_batch(
        dest,
        scan,
        "accounts",
        &[
            "account_id",
            "account_name",
            "ou_path",
            "status",
            "risk_score",
        ],
        |c| {
            let (id, name, path, status) = (
                c.strings("account_id")?,
                c.strings("account_name")?,
                c.strings("ou_path")?,
                c.strings("status")?,
            );
            let score: &Int64Array = c.of("risk_score")?;
            for i in c.rows() {
                let id = c.account(id, i)?.to_string();
                let summary = account_summary(
                    c.text(name, "account_name", i)?,
                    c.text(status, "status", i)?,
                    c.text(path, "ou_path", i)?,
                );
                scores.insert(id.clone(), c.score(score, i)?);
                accounts.insert(
                    &id,
                    Item {
                        summary: &summary,
                        account: None,
                        region: None,
                    },
                );
            }
            Ok(())
        },
    )?;
    Ok(found.then_some(accounts))
}

/// The scores of the `org_units` table; whether it was there.
fn read_org_unit_scores(
    dest: &Destination,
    scan: &CommittedScan,
    scores: &mut HashMap<String, i32>,
) -> Result<bool, ExportError> {
    each_batch(dest, scan, "org_units", &["ou_id", "risk_score"], |c| {
        let id = c.strings("ou_id")?;
        let score: &Int64Array = c.of("risk_score")?;
        for i in c.rows() {
            let id = c.text(id, "ou_id", i)?.to_string();
            scores.insert(id, c.score(score, i)?);
        }
        Ok(())
    })
}

/// The `scps` table (one row per policy and target), grouped back into policies.
fn read_control_policies(
    dest: &Destination,
    scan: &CommittedScan,
) -> Result<Option<Items>, ExportError> {
    use rolescope_analysis::history::{Item, policy_summary};
    let mut scps = BTreeMap::<String, (String, String, String, Vec<String>)>::new();
    let found = each_batch(
        dest,
        scan,
        "scps",
        &["policy_id", "name", "policy_type", "target_id", "content"],
        |c| {
            let (id, name, kind, target, content) = (
                c.strings("policy_id")?,
                c.strings("name")?,
                c.strings("policy_type")?,
                c.strings("target_id")?,
                c.strings("content")?,
            );
            for i in c.rows() {
                let entry = scps
                    .entry(c.text(id, "policy_id", i)?.to_string())
                    .or_insert_with(|| {
                        (
                            name.value(i).to_string(),
                            kind.value(i).to_string(),
                            content.value(i).to_string(),
                            Vec::new(),
                        )
                    });
                entry.3.push(c.text(target, "target_id", i)?.to_string());
            }
            Ok(())
        },
    )?;
    if !found {
        return Ok(None);
    }
    let mut control_policies = Items::new();
    for (id, (name, kind, content, targets)) in scps {
        let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
        let summary = policy_summary(&name, &kind, &targets, &content);
        control_policies.insert(
            &id,
            Item {
                summary: &summary,
                account: None,
                region: None,
            },
        );
    }
    Ok(Some(control_policies))
}

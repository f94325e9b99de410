//! What changed between two scans: findings that are new, resolved, of another severity or
//! mitigation, and inventory (accounts, functions and their qualifiers, roles, SCPs and RCPs,
//! role scores) added, removed or changed.
//!
//! Unknown is not resolved: a finding, or a resource, absent from the later scan counts as gone
//! only when the later scan read where it lived. A resource in an account that was not scanned,
//! or under a collection error of its account, its account and region, or itself, is reported in
//! [`Changes::unknown`] instead, and its findings stay open.

use crate::Analysis;
use crate::findings::stable_id;
use crate::findings::{Finding, Input, Severity};
use rayon::prelude::*;
use rolescope_model::snapshot::Snapshot;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

mod items;
pub use items::{Item, Items};

/// One finding that changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingChange {
    /// `new`, `resolved`, `severity_changed` or `mitigation_changed`.
    pub change: &'static str,
    /// The stable finding id.
    pub finding_id: String,
    /// The check.
    pub check_id: &'static str,
    /// The resource.
    pub resource_arn: String,
    /// Its account.
    pub account_id: String,
    /// Its region, for regional resources.
    pub region: Option<String>,
    /// The check's category (`admin_access`, …).
    pub category: &'static str,
    /// Severity now (for `resolved`: when last seen).
    pub severity: Severity,
    /// Severity before (`None` for `new`).
    pub previous_severity: Option<Severity>,
    /// The gate that mitigates it now.
    pub mitigated_by: Option<String>,
    /// The gate that mitigated it before.
    pub previous_mitigated_by: Option<String>,
    /// The finding's title (now, or when last seen).
    pub title: String,
}

/// One inventory item that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InventoryChange {
    /// `account`, `function`, `qualifier`, `role`, `control_policy`, or a score delta:
    /// `role_score`, `account_score`, `ou_score`.
    pub kind: &'static str,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    /// The account id, ARN, qualified ARN or policy id.
    pub arn: String,
    /// A short summary before (`None` when added).
    pub before: Option<String>,
    /// A short summary after (`None` when removed).
    pub after: Option<String>,
}

/// Everything that changed from one scan to the next.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Changes {
    /// Findings, sorted by change, severity and id.
    pub findings: Vec<FindingChange>,
    /// Inventory, sorted by kind, change and ARN.
    pub inventory: Vec<InventoryChange>,
    /// Resources whose absence the later scan cannot vouch for (not read there): their
    /// findings are neither resolved nor seen again.
    pub unknown: Vec<String>,
    /// The earlier scan's findings on those resources, as it saw them: still open as far as
    /// anyone knows, so the history carries them (and their `first_seen`) forward.
    pub carried: Vec<Finding>,
}

/// Where the later scan could not read: accounts not scanned or with an account-wide error,
/// (account, region) lanes with an error, and resources an error names, each with the inputs
/// ([`Input`]) the failed operations leave unread. A failure of a detail (an operation
/// [`Input::of_operation`] knows) only makes the lane or account *partial* for that input: a
/// resource that is gone from it is known gone, one that is still there keeps open the findings
/// of the checks that read that input, and only those. Any other failure (assuming the audit
/// role, listing regions, roles or functions, an operation not known) leaves everything where
/// it happened unknown.
struct Coverage<'a> {
    accounts: BTreeSet<&'a str>,
    partial_accounts: HashMap<&'a str, u8>,
    lanes: BTreeSet<(&'a str, &'a str)>,
    partial_lanes: HashMap<(&'a str, &'a str), u8>,
    resources: HashMap<&'a str, u8>,
    /// Roles and (unqualified) functions the later scan listed.
    present: BTreeSet<&'a str>,
}

impl<'a> Coverage<'a> {
    fn of(s: &'a Snapshot) -> Self {
        let mut c = Coverage {
            accounts: s
                .accounts
                .iter()
                .filter(|a| !a.scanned)
                .map(|a| a.account_id.as_str())
                .collect(),
            partial_accounts: HashMap::new(),
            lanes: BTreeSet::new(),
            partial_lanes: HashMap::new(),
            resources: HashMap::new(),
            present: s
                .roles
                .iter()
                .map(|r| r.arn.as_str())
                .chain(s.functions.iter().map(|f| f.arn.as_str()))
                .chain(s.managed_policies.iter().map(|p| p.arn.as_str()))
                .collect(),
        };
        for e in &s.collection_errors {
            let input = Input::of_operation(&e.operation);
            let mask = input.map_or(Input::ALL, |i| i as u8);
            if let Some(arn) = e.resource_arn.as_deref() {
                *c.resources.entry(arn).or_default() |= mask;
                continue;
            }
            match (e.account_id.as_ref(), e.region.as_deref()) {
                (Some(a), Some(r)) if input.is_some() => {
                    *c.partial_lanes.entry((a.as_str(), r)).or_default() |= mask;
                }
                (Some(a), Some(r)) => {
                    c.lanes.insert((a.as_str(), r));
                }
                (Some(a), None) if input.is_some() => {
                    *c.partial_accounts.entry(a.as_str()).or_default() |= mask;
                }
                (Some(a), None) => {
                    c.accounts.insert(a.as_str());
                }
                // An organization-wide error: nothing can be vouched for.
                (None, _) => {
                    c.accounts
                        .extend(s.accounts.iter().map(|a| a.account_id.as_str()));
                }
            }
        }
        c
    }

    /// Whether the later scan read where this resource lives, and the inputs `reads` (a mask
    /// of [`Input`] bits) about it.
    fn read(&self, account: &str, region: Option<&str>, arn: &str, reads: u8) -> bool {
        let function = rolescope_model::unqualified_function_arn(arn);
        if self.accounts.contains(account)
            || region.is_some_and(|r| self.lanes.contains(&(account, r)))
        {
            return false;
        }
        let named = |a: &str| self.resources.get(a).copied().unwrap_or(0);
        if (named(function) | named(arn)) & reads != 0 {
            return false;
        }
        let partial = self.partial_accounts.get(account).copied().unwrap_or(0)
            | region
                .and_then(|r| self.partial_lanes.get(&(account, r)).copied())
                .unwrap_or(0);
        // Where only a detail failed, a resource that is gone is known gone.
        partial & reads == 0 || !self.present.contains(function)
    }
}

/// A scan's inventory, kind by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Accounts by id: name, status and place in the organization.
    pub accounts: Items,
    /// Functions by ARN: role, resource policy, URLs.
    pub functions: Items,
    /// Versions and aliases by qualified ARN: the roles each runs as.
    pub qualifiers: Items,
    /// Roles by ARN: their policies.
    pub roles: Items,
    /// SCPs and RCPs attached somewhere, by id.
    pub control_policies: Items,
}

impl Inventory {
    /// The inventory of a snapshot. Every summary is made from what the scan's tables also
    /// hold, so the inventory read back from them is the same.
    pub fn of(s: &Snapshot) -> Self {
        let mut inv = Inventory::default();
        for a in &s.accounts {
            let summary =
                account_summary(&a.name, &rolescope_model::wire_name(a.status), &a.ou_path);
            inv.accounts.insert(
                a.account_id.as_str(),
                Item {
                    summary: &summary,
                    account: None,
                    region: None,
                },
            );
        }
        // Functions are most of an organization: their items are filed in parallel, in
        // pieces joined in order.
        let (functions, qualifiers) = s
            .functions
            .par_iter()
            .fold(
                || (Items::new(), Items::new()),
                |(mut functions, mut qualifiers), f| {
                    let urls: Vec<&str> = std::iter::once("$LATEST")
                        .chain(f.qualifiers.iter().map(|q| q.name.as_str()))
                        .filter_map(|q| f.url_of(q).map(|u| u.auth_type.as_str()))
                        .collect();
                    let (account, region) = (Some(f.account_id.as_str()), Some(&*f.region));
                    let mut id = String::new();
                    for q in &f.qualifiers {
                        let summary = qualifier_summary(&f.roles_of(Some(&q.name)));
                        qualifiers.insert(
                            qualifier_id(&mut id, &f.arn, &q.name),
                            Item {
                                summary: &summary,
                                account,
                                region,
                            },
                        );
                    }
                    let summary =
                        function_summary(&f.role_arn, f.resource_policy.as_deref(), &urls);
                    functions.insert(
                        &f.arn,
                        Item {
                            summary: &summary,
                            account,
                            region,
                        },
                    );
                    (functions, qualifiers)
                },
            )
            .collect::<Vec<_>>()
            .into_iter()
            .unzip::<_, _, Vec<_>, Vec<_>>();
        (inv.functions, inv.qualifiers) =
            rayon::join(|| Items::join(functions), || Items::join(qualifiers));
        for r in &s.roles {
            let inline: Vec<&str> = r
                .inline_policies
                .iter()
                .map(|p| p.document.as_str())
                .collect();
            let attached: Vec<&str> = r.attached_policy_arns.iter().map(String::as_str).collect();
            let summary = role_summary(
                &r.trust_policy,
                &inline,
                &attached,
                r.boundary_arn.as_deref(),
            );
            inv.roles.insert(
                &r.arn,
                Item {
                    summary: &summary,
                    account: Some(r.account_id.as_str()),
                    region: None,
                },
            );
        }
        for p in s.control_policies.iter().filter(|p| !p.targets.is_empty()) {
            let targets: Vec<&str> = p.targets.iter().map(String::as_str).collect();
            let summary = policy_summary(
                &p.name,
                &rolescope_model::wire_name(p.policy_type),
                &targets,
                &p.document,
            );
            inv.control_policies.insert(
                &p.id,
                Item {
                    summary: &summary,
                    account: None,
                    region: None,
                },
            );
        }
        inv
    }

    fn kinds(&self) -> [(&'static str, &Items); 5] {
        [
            ("account", &self.accounts),
            ("function", &self.functions),
            ("qualifier", &self.qualifiers),
            ("role", &self.roles),
            ("control_policy", &self.control_policies),
        ]
    }
}

/// An account: `name STATUS in Root/OU`.
pub fn account_summary(name: &str, status: &str, ou_path: &str) -> String {
    format!("{name} {status} in {ou_path}")
}

/// A function: its role, a digest of its resource policy, the auth types of the URLs of its
/// qualifiers (`$LATEST` first, then versions and aliases in order).
pub fn function_summary(role_arn: &str, policy: Option<&str>, urls: &[&str]) -> String {
    let policy = policy.map_or_else(|| "none".to_string(), |p| stable_id(&[p])[..12].to_string());
    format!(
        "role {role_arn}, policy {policy}, urls [{}]",
        urls.join(",")
    )
}

/// A version's or alias's id in the inventory, `<function ARN>:<qualifier>`, written into `id`
/// (cleared first, so one buffer serves every qualifier).
pub fn qualifier_id<'b>(id: &'b mut String, function_arn: &str, qualifier: &str) -> &'b str {
    id.clear();
    id.push_str(function_arn);
    id.push(':');
    id.push_str(qualifier);
    id
}

/// A version or alias: the roles it runs as.
pub fn qualifier_summary(roles: &[&str]) -> String {
    format!("runs as {}", roles.join(", "))
}

/// A role: its policy counts, boundary and a digest of its trust policy, inline documents and
/// attached policy ARNs (in order) and boundary.
pub fn role_summary(
    trust: &str,
    inline: &[&str],
    attached: &[&str],
    boundary: Option<&str>,
) -> String {
    let content = stable_id(&[
        trust,
        &inline.join("\u{1}"),
        &attached.join("\u{1}"),
        boundary.unwrap_or(""),
    ]);
    format!(
        "{} inline, {} attached, boundary {}, content {}",
        inline.len(),
        attached.len(),
        boundary.unwrap_or("none"),
        &content[..12]
    )
}

/// A control policy: name, type, targets (sorted here) and a digest of its document.
pub fn policy_summary(name: &str, policy_type: &str, targets: &[&str], document: &str) -> String {
    let mut targets = targets.to_vec();
    targets.sort_unstable();
    format!(
        "{name} ({policy_type}) on {}, document {}",
        targets.join(","),
        &stable_id(&[document])[..12]
    )
}

/// Risk scores by id, as the scan's tables give them (0 where nothing scored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scores {
    /// Role ARN → score.
    pub roles: HashMap<String, i32>,
    /// Account id → score.
    pub accounts: HashMap<String, i32>,
    /// OU or root id → score.
    pub org_units: HashMap<String, i32>,
}

impl Scores {
    /// The scores of every role, account and OU of a snapshot.
    pub fn of(s: &Snapshot, analysis: &Analysis) -> Self {
        let role: HashMap<&str, i32> = analysis
            .roles
            .iter()
            .map(|r| (r.role_arn.as_str(), r.score.score))
            .collect();
        fn rollup(list: &[crate::RollUp]) -> HashMap<&str, i32> {
            list.iter().map(|r| (r.id.as_str(), r.score)).collect()
        }
        let (account, ou) = (rollup(&analysis.accounts), rollup(&analysis.org_units));
        Scores {
            roles: s
                .roles
                .iter()
                .map(|r| {
                    (
                        r.arn.clone(),
                        role.get(r.arn.as_str()).copied().unwrap_or(0),
                    )
                })
                .collect(),
            accounts: s
                .accounts
                .iter()
                .map(|a| {
                    (
                        a.account_id.to_string(),
                        account.get(a.account_id.as_str()).copied().unwrap_or(0),
                    )
                })
                .collect(),
            org_units: s
                .org_units
                .iter()
                .map(|u| (u.id.clone(), ou.get(u.id.as_str()).copied().unwrap_or(0)))
                .collect(),
        }
    }
}

/// What an earlier scan held, as a later one is compared with it: read back from its tables,
/// or made from its snapshot and analysis.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Baseline {
    /// The findings it held open: those it saw and those it carried from its own baseline.
    pub findings: Vec<Finding>,
    /// Its inventory.
    pub inventory: Inventory,
    /// Its scores.
    pub scores: Scores,
}

impl Baseline {
    /// The baseline a snapshot and its analysis make (its findings are taken).
    pub fn of(s: &Snapshot, analysis: Analysis) -> Self {
        Baseline {
            inventory: Inventory::of(s),
            scores: Scores::of(s, &analysis),
            findings: analysis.findings,
        }
    }
}

/// The changes from an earlier scan to `(after, its analysis)`.
pub fn changes(before: &Baseline, after: (&Snapshot, &Analysis)) -> Changes {
    let coverage = Coverage::of(after.0);
    // The findings and the inventory are compared at once.
    let ((findings, carried, mut unknown), (now, scores)) = rayon::join(
        || finding_changes(&before.findings, &after.1.findings, &coverage),
        || (Inventory::of(after.0), Scores::of(after.0, after.1)),
    );
    let mut out = Changes {
        findings,
        carried,
        ..Changes::default()
    };
    for ((kind, was), (_, is)) in before.inventory.kinds().into_iter().zip(now.kinds()) {
        compare(kind, was, is, &coverage, &mut out.inventory, &mut unknown);
    }
    score_deltas(&before.scores, &scores, &coverage, &mut out.inventory);
    out.inventory
        .sort_by(|a, b| (a.kind, a.change, &a.arn).cmp(&(b.kind, b.change, &b.arn)));
    out.unknown = unknown.into_iter().collect();
    out
}

/// The findings that are new, resolved or changed, the earlier ones carried (their resource
/// was not read) and those resources.
fn finding_changes(
    before: &[Finding],
    after: &[Finding],
    coverage: &Coverage<'_>,
) -> (Vec<FindingChange>, Vec<Finding>, BTreeSet<String>) {
    fn index(list: &[Finding]) -> HashMap<&str, &Finding> {
        list.iter().map(|f| (f.finding_id.as_str(), f)).collect()
    }
    let (old, new) = (index(before), index(after));
    let row = |change, f: &Finding, prev: Option<&Finding>| FindingChange {
        change,
        finding_id: f.finding_id.clone(),
        check_id: f.check_id,
        resource_arn: f.resource_arn.clone(),
        account_id: f.account_id.to_string(),
        region: f.region.as_deref().map(str::to_string),
        category: f.category.as_str(),
        severity: f.severity,
        previous_severity: prev.map(|p| p.severity),
        mitigated_by: f.mitigated_by.clone(),
        previous_mitigated_by: prev.and_then(|p| p.mitigated_by.clone()),
        title: f.title.to_string(),
    };
    let (mut changes, mut carried, mut unknown) = (Vec::new(), Vec::new(), BTreeSet::new());
    for (id, f) in &new {
        match old.get(id) {
            None => changes.push(row("new", f, None)),
            Some(p) if p.severity != f.severity => {
                changes.push(row("severity_changed", f, Some(p)))
            }
            Some(p) if p.mitigated_by != f.mitigated_by => {
                changes.push(row("mitigation_changed", f, Some(p)))
            }
            Some(_) => {}
        }
    }
    for (id, p) in &old {
        if new.contains_key(id) {
            continue;
        }
        let reads = crate::checks::check_by_id(p.check_id).map_or(Input::ALL, |c| c.reads_mask());
        if coverage.read(
            p.account_id.as_str(),
            p.region.as_deref(),
            &p.resource_arn,
            reads,
        ) {
            let mut r = row("resolved", p, None);
            r.previous_severity = Some(p.severity);
            r.previous_mitigated_by = p.mitigated_by.clone();
            r.mitigated_by = None;
            changes.push(r);
        } else {
            unknown.insert(p.resource_arn.clone());
            let mut kept = (*p).clone();
            kept.detail = kept.detail.checked();
            carried.push(kept);
        }
    }
    carried.sort_by(|a, b| a.finding_id.cmp(&b.finding_id));
    changes.sort_by(|a, b| {
        (a.change, a.severity, &a.finding_id).cmp(&(b.change, b.severity, &b.finding_id))
    });
    (changes, carried, unknown)
}

/// One kind of inventory item in both scans, compared by id.
fn compare(
    kind: &'static str,
    before: &Items,
    after: &Items,
    coverage: &Coverage<'_>,
    out: &mut Vec<InventoryChange>,
    unknown: &mut BTreeSet<String>,
) {
    for (arn, item) in after.iter() {
        let change = |change, before: Option<Item<'_>>| InventoryChange {
            kind,
            change,
            arn: arn.to_string(),
            before: before.map(|b| b.summary.to_string()),
            after: Some(item.summary.to_string()),
        };
        match before.get(arn) {
            None => out.push(change("added", None)),
            Some(was) if was.summary != item.summary => out.push(change("changed", Some(was))),
            Some(_) => {}
        }
    }
    for (arn, was) in before.iter() {
        if after.contains_key(arn) {
            continue;
        }
        let read = was
            .account
            .is_none_or(|a| coverage.read(a, was.region, arn, Input::ALL));
        if read {
            out.push(InventoryChange {
                kind,
                change: "removed",
                arn: arn.to_string(),
                before: Some(was.summary.to_string()),
                after: None,
            });
        } else {
            unknown.insert(arn.to_string());
        }
    }
}

/// Score deltas of the roles, accounts and OUs present in both scans.
fn score_deltas(
    before: &Scores,
    after: &Scores,
    coverage: &Coverage<'_>,
    out: &mut Vec<InventoryChange>,
) {
    let deltas = [
        ("role_score", &before.roles, &after.roles),
        ("account_score", &before.accounts, &after.accounts),
        ("ou_score", &before.org_units, &after.org_units),
    ];
    for (kind, was, now) in deltas {
        for (id, score) in now {
            // An account the later scan could not read has no score to compare.
            if kind == "account_score" && coverage.accounts.contains(id.as_str()) {
                continue;
            }
            if let Some(prev) = was.get(id).filter(|p| *p != score) {
                out.push(InventoryChange {
                    kind,
                    change: "changed",
                    arn: id.clone(),
                    before: Some(prev.to_string()),
                    after: Some(score.to_string()),
                });
            }
        }
    }
}

/// A one-line human summary: "3 new critical findings, 5 resolved, 2 roles changed".
pub fn summary(c: &Changes) -> String {
    let mut new_by = BTreeMap::<Severity, usize>::new();
    let mut counts = BTreeMap::<&str, usize>::new();
    for f in &c.findings {
        if f.change == "new" && f.mitigated_by.is_none() {
            *new_by.entry(f.severity).or_default() += 1;
        }
        *counts.entry(f.change).or_default() += 1;
    }
    let mut parts: Vec<String> = new_by
        .iter()
        .map(|(s, n)| format!("{n} new {} findings", s.as_str()))
        .collect();
    for (change, label) in [
        ("resolved", "resolved"),
        ("severity_changed", "of another severity"),
        ("mitigation_changed", "with another mitigation"),
    ] {
        if let Some(n) = counts.get(change) {
            parts.push(format!("{n} {label}"));
        }
    }
    let mut inv = BTreeMap::<(&str, &str), usize>::new();
    for i in &c.inventory {
        *inv.entry((i.kind, i.change)).or_default() += 1;
    }
    for ((kind, change), n) in inv {
        parts.push(format!("{n} {} {change}", plural(kind, n)));
    }
    if !c.unknown.is_empty() {
        parts.push(format!(
            "{} resources not read this time (their findings stay open)",
            c.unknown.len()
        ));
    }
    if parts.is_empty() {
        "no changes".into()
    } else {
        parts.join(", ")
    }
}

fn plural(kind: &str, n: usize) -> String {
    let word = match kind {
        "control_policy" => "SCP/RCP",
        "role_score" => "role score",
        "account_score" => "account score",
        "ou_score" => "OU score",
        other => other,
    };
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Settings, analyze};
    use rolescope_model::{
        Account, AccountId, AccountStatus, CollectionError, InlinePolicy, OrgUnit, Role, ScanInfo,
        Timestamp,
    };
    use rolescope_policy::catalog;

    const A: &str = "111122223333";
    const B: &str = "444455556666";
    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

    fn role(account: &str, name: &str, doc: &str) -> Role {
        Role {
            account_id: AccountId::new(account).unwrap(),
            name: name.into(),
            arn: format!("arn:aws:iam::{account}:role/{name}"),
            path: "/".into(),
            trust_policy: TRUST.into(),
            inline_policies: vec![InlinePolicy {
                name: "p".into(),
                document: doc.into(),
            }],
            attached_policy_arns: vec![],
            boundary_arn: None,
            tags: vec![],
            last_used_at: Some(Timestamp::from_millis(1_800_000_000_000)),
            last_used_region: None,
            created_at: None,
        }
    }

    fn org(roles: Vec<Role>) -> Snapshot {
        let mut s = Snapshot::default();
        s.org_units.push(OrgUnit {
            id: "r-root".into(),
            name: "Root".into(),
            parent_id: None,
            path: "Root".into(),
        });
        for id in [A, B] {
            s.accounts.push(Account {
                account_id: AccountId::new(id).unwrap(),
                name: id.into(),
                status: AccountStatus::Active,
                parent_id: "r-root".into(),
                ou_path: "Root".into(),
                scanned: true,
            });
        }
        s.roles = roles;
        s.scan = Some(ScanInfo {
            scan_id: "t".into(),
            started_at: Timestamp::from_millis(1_800_000_000_000),
            finished_at: Timestamp::from_millis(1_800_000_000_000),
            org_id: None,
            regions: vec![],
            tool_version: "test".into(),
        });
        s
    }

    fn diff(before: &Snapshot, after: &Snapshot) -> Changes {
        let settings = Settings::default();
        let (a, b) = (
            analyze(catalog(), before, &settings),
            analyze(catalog(), after, &settings),
        );
        changes(&Baseline::of(before, a), (after, &b))
    }

    const ADMIN: &str =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    const NARROW: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"arn:aws:dynamodb:eu-west-1:111122223333:table/t"}]}"#;

    #[test]
    fn a_failed_detail_leaves_what_is_still_there_open_and_what_is_gone_resolved() {
        let before = org(vec![
            role(A, "kept", ADMIN),
            role(A, "deleted", ADMIN),
            role(B, "b", ADMIN),
        ]);
        // Account A's last-accessed report failed, account B's role listing did: A's roles were
        // listed, B's were not.
        let mut after = org(vec![role(A, "kept", NARROW)]);
        for (account, operation) in [
            (A, "GenerateServiceLastAccessedDetails"),
            (B, "GetAccountAuthorizationDetails"),
        ] {
            after.collection_errors.push(CollectionError {
                account_id: Some(AccountId::new(account).unwrap()),
                region: None,
                service: "iam".into(),
                operation: operation.into(),
                error_code: "Throttling".into(),
                message: "".into(),
                resource_arn: None,
            });
        }
        let c = diff(&before, &after);
        let resolved = |end: &str| {
            c.findings
                .iter()
                .any(|f| f.change == "resolved" && f.resource_arn.ends_with(end))
        };
        assert!(resolved("/deleted"), "gone from a listed account: {c:#?}");
        // Still there with only last-accessed data unknown: its identity-policy findings read
        // what was read, so narrowing the policy resolves them.
        assert!(
            resolved("/kept"),
            "identity findings do not read last-accessed data"
        );
        assert!(!resolved("/b"), "not listed: carried");
        let carried: BTreeSet<&str> = c.carried.iter().map(|f| f.resource_arn.as_str()).collect();
        assert!(!carried.iter().any(|a| a.ends_with("/kept")));
        assert!(carried.iter().any(|a| a.ends_with("/b")));
        assert!(!carried.iter().any(|a| a.ends_with("/deleted")));
    }

    fn function(account: &str, name: &str, role: &str) -> rolescope_model::Function {
        rolescope_model::Function {
            config: Default::default(),
            account_id: AccountId::new(account).unwrap(),
            region: "eu-west-1".into(),
            name: name.into(),
            arn: format!("arn:aws:lambda:eu-west-1:{account}:function:{name}"),
            role_arn: format!("arn:aws:iam::{account}:role/{role}").into(),
            runtime: None,
            architectures: vec![],
            package_type: None,
            last_modified: None,
            layers: vec![],
            env_var_names: vec![],
            secret_like_env: vec![],
            resource_policy: None,
            urls: vec![],
            unread: vec![],
            qualifiers: vec![],
        }
    }

    #[test]
    fn a_failed_detail_freezes_only_the_findings_that_read_it() {
        // Scan 1: a function with a secret-like variable, another account's layer and a public
        // policy, run as an admin role.
        let mut f = function(A, "api", "app");
        f.secret_like_env = vec![rolescope_model::SecretLike {
            variable: "DB_PASSWORD".into(),
            kind: rolescope_model::SecretKind::PrivateKey,
        }];
        f.layers = vec!["arn:aws:lambda:eu-west-1:999999999999:layer:x:1".into()];
        f.resource_policy = Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"*"}]}"#.into());
        let mut before = org(vec![role(A, "app", ADMIN)]);
        before.functions = vec![f.clone()];
        // Scan 2: the variable, the layer and the admin grant are gone; GetPolicy was denied for
        // the function and last-accessed data failed for the role.
        f.secret_like_env.clear();
        f.layers.clear();
        f.resource_policy = None;
        f.unread = vec!["resource_policy".into()];
        let mut after = org(vec![role(A, "app", NARROW)]);
        after.functions = vec![f.clone()];
        for (service, operation, arn) in [
            ("lambda", "GetPolicy", f.arn.clone()),
            (
                "iam",
                "GenerateServiceLastAccessedDetails",
                format!("arn:aws:iam::{A}:role/app"),
            ),
        ] {
            after.collection_errors.push(CollectionError {
                account_id: Some(AccountId::new(A).unwrap()),
                region: Some("eu-west-1".into()),
                service: service.into(),
                operation: operation.into(),
                error_code: "AccessDenied".into(),
                message: "".into(),
                resource_arn: Some(arn),
            });
        }
        let c = diff(&before, &after);
        let change = |check: &str| {
            let resolved = c
                .findings
                .iter()
                .any(|x| x.change == "resolved" && x.check_id == check);
            let carried = c.carried.iter().any(|x| x.check_id == check);
            match (resolved, carried) {
                (true, false) => "resolved",
                (false, true) => "carried",
                other => panic!("{check}: {other:?} {c:#?}"),
            }
        };
        // Read from ListFunctions and the role's policies, which succeeded.
        assert_eq!(change("RS-SECRET-001"), "resolved");
        assert_eq!(change("RS-LAYER-001"), "resolved");
        assert_eq!(change("RS-ADMIN-002"), "resolved");
        // Reads the resource policy, which could not be read: neither resolved nor seen.
        assert_eq!(change("RS-PUBLIC-001"), "carried");
    }

    #[test]
    fn identical_scans_have_no_changes() {
        let s = org(vec![role(A, "app", ADMIN), role(B, "other", ADMIN)]);
        let c = diff(&s, &s.clone());
        assert_eq!(c, Changes::default());
        assert_eq!(summary(&c), "no changes");
    }

    #[test]
    fn a_narrowed_role_resolves_its_findings_and_a_new_one_is_new() {
        let before = org(vec![role(A, "app", ADMIN)]);
        let after = org(vec![role(A, "app", NARROW), role(B, "fresh", ADMIN)]);
        let c = diff(&before, &after);
        let of = |change: &str, arn_end: &str| {
            c.findings
                .iter()
                .filter(|f| f.change == change && f.resource_arn.ends_with(arn_end))
                .count()
        };
        assert!(of("resolved", "/app") > 0, "{c:#?}");
        assert!(of("new", "/fresh") > 0);
        assert!(
            c.findings
                .iter()
                .any(|f| f.check_id == "RS-ADMIN-002" && f.change == "resolved")
        );
        let inv: Vec<(&str, &str)> = c
            .inventory
            .iter()
            .filter(|i| i.kind == "role")
            .map(|i| (i.change, i.arn.rsplit('/').next().unwrap()))
            .collect();
        assert_eq!(inv, [("added", "fresh"), ("changed", "app")]);
        assert!(
            c.inventory
                .iter()
                .any(|i| i.kind == "role_score" && i.arn.ends_with("/app"))
        );
        assert!(
            summary(&c).contains("new critical findings"),
            "{}",
            summary(&c)
        );
    }

    #[test]
    fn what_the_later_scan_could_not_read_is_not_resolved() {
        let before = org(vec![role(A, "app", ADMIN), role(B, "other", ADMIN)]);
        // Account B could not be assumed: its roles are missing, not deleted.
        let mut after = org(vec![role(A, "app", ADMIN)]);
        after.accounts[1].scanned = false;
        after.collection_errors.push(CollectionError {
            account_id: Some(AccountId::new(B).unwrap()),
            region: None,
            service: "sts".into(),
            operation: "AssumeRole".into(),
            error_code: "AccessDenied".into(),
            message: "denied".into(),
            resource_arn: None,
        });
        let c = diff(&before, &after);
        assert!(c.findings.is_empty(), "{:#?}", c.findings);
        assert!(
            c.inventory.iter().all(|i| i.change != "removed"),
            "{:#?}",
            c.inventory
        );
        assert_eq!(c.unknown, [format!("arn:aws:iam::{B}:role/other")]);
        assert!(!c.carried.is_empty());
        assert!(c.carried.iter().all(|f| f.account_id.as_str() == B));
    }
}

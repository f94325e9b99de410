//! What the page shows, computed from the evaluated scan before any HTML is written: the
//! figures of the overview, the riskiest roles with what made their scores, the OU tree with
//! its scores, public functions, SCP recommendations and collection gaps.
//!
//! Every figure here is derived by the same definitions the datasets use (live vs mitigated,
//! [`Finding::makes_public`], the roll-ups of the analysis), so the page and the Parquet files
//! of one scan agree; the browser test checks that they do.

use crate::diff::DiffLine;
use rolescope_analysis::history::Changes;
use rolescope_analysis::{Analysis, Evaluated, Finding, RoleAnalysis, Severity};
use rolescope_model::Timestamp;
use rolescope_model::shown;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The most characters of one name, ARN or title the page shows (the rest is cut with `…`):
/// a 200,000-character name would otherwise widen a table to a million pixels.
pub(crate) const SHOWN_CHARS: usize = 300;

/// How much of a large scan the page holds in full; the rest is counted and named by the query
/// that lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Roles shown with their explanation, findings, paths and suggestion.
    pub roles_in_full: usize,
    /// Rows of the roles table.
    pub roles_listed: usize,
    /// Rows of the live findings table.
    pub findings_listed: usize,
    /// Findings listed on one role card (live and mitigated each).
    pub findings_per_role: usize,
    /// Rows of the public functions table.
    pub public_listed: usize,
    /// Rows of the collection errors table (one per account, service, operation and code).
    pub error_groups: usize,
    /// Accounts drawn in the risk map and listed in the tree.
    pub accounts_drawn: usize,
    /// Rows of each change list (new, resolved).
    pub changes_listed: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            roles_in_full: 25,
            roles_listed: 500,
            findings_listed: 2_000,
            findings_per_role: 40,
            public_listed: 1_000,
            error_groups: 500,
            accounts_drawn: 3_000,
            changes_listed: 100,
        }
    }
}

/// The overview's figures.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Figures {
    /// The root's score (the worst account), or the worst account's without a listed root.
    pub org_score: i32,
    /// Its level.
    pub org_level: &'static str,
    /// Live findings by severity, critical first.
    pub live: [usize; 5],
    /// Findings a boundary, SCP or explicit deny blocks.
    pub mitigated: usize,
    /// Findings of the baseline kept because this scan could not read their resource.
    pub carried: usize,
    /// Accounts the organization lists.
    pub accounts_listed: usize,
    /// Accounts whose audit role was assumed and read.
    pub accounts_scanned: usize,
    /// Roles analysed, of which Lambda execution roles.
    pub roles: usize,
    /// Lambda execution roles.
    pub lambda_roles: usize,
    /// Functions.
    pub functions: usize,
    /// Collection errors.
    pub collection_errors: usize,
    /// Functions with a part that could not be read.
    pub incomplete_functions: usize,
    /// Roles with a part that could not be read.
    pub incomplete_roles: usize,
    /// Functions invocable by anyone through at least one qualifier.
    pub public_functions: usize,
}

/// A privilege-escalation path as the RS-PRIVESC-001 evidence records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathView {
    /// The method's name.
    pub method: String,
    /// The actions it needs.
    pub actions: Vec<String>,
    /// Whether it works only under conditions or on some resources.
    pub conditional: bool,
    /// The gate that blocks it, when one does.
    pub mitigated_by: Option<String>,
}

/// A role shown in full.
#[derive(Debug)]
pub struct RoleCard<'a> {
    /// The role's analysis (score, explanation, services, suggestion).
    pub role: &'a RoleAnalysis,
    /// Its name.
    pub name: String,
    /// Its account's name.
    pub account_name: String,
    /// Functions that run as it: (function ARN, the qualifiers through which it does).
    pub functions: Vec<(String, Vec<String>)>,
    /// Live findings on it, worst first.
    pub live: Vec<&'a Finding>,
    /// Mitigated findings on it.
    pub mitigated: Vec<&'a Finding>,
    /// Live findings beyond the card's limit.
    pub live_more: usize,
    /// Its escalation paths, live ones first.
    pub paths: Vec<PathView>,
    /// The least-privilege suggestion against the policies it has today.
    pub diff: Option<Vec<DiffLine>>,
}

/// A node of the OU tree: a root, an OU or an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Unit or account id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its roll-up score.
    pub score: i32,
    /// Roles in the account, or below the unit.
    pub roles: usize,
    /// Whether this is an account.
    pub account: bool,
    /// For an account: whether it was read.
    pub scanned: bool,
    /// Children (units first, then accounts), by name.
    pub children: Vec<Node>,
}

/// A function qualifier anyone can invoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicTarget {
    /// The unqualified function ARN.
    pub function_arn: String,
    /// `$LATEST`, a version or an alias.
    pub qualifier: String,
    /// The account.
    pub account_id: String,
    /// How: the checks that say so (resource policy, URL).
    pub how: Vec<String>,
    /// The function's score.
    pub score: i32,
}

/// Collection errors of one kind in one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorGroup {
    /// The account, or empty for organization-level calls.
    pub account_id: String,
    /// `service:Operation`.
    pub operation: String,
    /// The error code.
    pub error_code: String,
    /// How many.
    pub count: usize,
    /// The first message, as an example.
    pub example: String,
}

/// What changed since the baseline scan.
#[derive(Debug)]
pub struct ChangesView<'a> {
    /// The baseline scan's id.
    pub previous_scan_id: &'a str,
    /// The one-line summary the terminal prints.
    pub summary: String,
    /// Finding changes by kind (`new`, `resolved`, …).
    pub by_change: BTreeMap<&'static str, usize>,
    /// New live findings by severity.
    pub new_by_severity: [usize; 5],
    /// Inventory changes by (kind, change).
    pub inventory: BTreeMap<(&'static str, &'static str), usize>,
    /// The changes themselves, new and resolved first, worst first.
    pub findings: Vec<&'a rolescope_analysis::history::FindingChange>,
}

/// The whole page's content.
#[derive(Debug)]
pub struct View<'a> {
    /// The scan's id.
    pub scan_id: &'a str,
    /// When it started and ended.
    pub started_at: Timestamp,
    /// When it ended.
    pub finished_at: Timestamp,
    /// The organization, when the scan walked one.
    pub org_id: Option<&'a str>,
    /// The overview's figures.
    pub figures: Figures,
    /// The roles table: the riskiest `roles_listed` roles.
    pub roles: Vec<(&'a RoleAnalysis, String, usize)>,
    /// Roles with a score above zero that the table leaves out.
    pub roles_more: usize,
    /// The riskiest roles in full.
    pub cards: Vec<RoleCard<'a>>,
    /// Role scores in buckets of ten (the last holds 90–100).
    pub distribution: [usize; 10],
    /// Roots (or one node holding the accounts when the scan has no tree).
    pub tree: Vec<Node>,
    /// Live findings, worst first, up to the limit.
    pub findings: Vec<&'a Finding>,
    /// Live findings the table leaves out.
    pub findings_more: usize,
    /// Public invocation targets.
    pub public: Vec<PublicTarget>,
    /// Collection errors grouped.
    pub errors: Vec<ErrorGroup>,
    /// Groups the table leaves out.
    pub errors_more: usize,
    /// The comparison with the baseline.
    pub changes: Option<ChangesView<'a>>,
    /// Account id → name.
    pub account_names: HashMap<&'a str, &'a str>,
}

/// The gate of a mitigated finding, or `None` for a live one.
fn is_live(f: &Finding) -> bool {
    f.mitigated_by.is_none()
}

/// Worst first: severity, then check, then resource.
fn by_severity(a: &&Finding, b: &&Finding) -> std::cmp::Ordering {
    (a.severity as usize)
        .cmp(&(b.severity as usize))
        .then(a.check_id.cmp(b.check_id))
        .then(a.resource_arn.cmp(&b.resource_arn))
        .then(a.finding_id.cmp(&b.finding_id))
}

impl<'a> View<'a> {
    /// Everything the page shows about a scan.
    pub fn new(
        ev: &'a Evaluated<'a>,
        analysis: &'a Analysis,
        changes: Option<(&'a str, &'a Changes)>,
        limits: Limits,
    ) -> View<'a> {
        let snapshot = ev.snapshot;
        let scan = snapshot.scan.as_ref();
        let account_names: HashMap<&str, &str> = snapshot
            .accounts
            .iter()
            .map(|a| (a.account_id.as_str(), a.name.as_str()))
            .collect();
        let ranked = analysis.roles_by_risk();
        // Live findings are counted for the listed roles only (a few dozen of up to 100,000).
        let mut live_on: HashMap<&str, usize> = ranked
            .iter()
            .take(limits.roles_listed)
            .map(|r| (r.role_arn.as_str(), 0))
            .collect();
        for f in analysis.findings.iter().filter(|f| is_live(f)) {
            if let Some(n) = live_on.get_mut(f.resource_arn.as_str()) {
                *n += 1;
            }
        }
        let name_of = |r: &RoleAnalysis| {
            ev.role(&r.role_arn)
                .map(|e| e.role.name.clone())
                .unwrap_or_else(|| r.role_arn.rsplit('/').next().unwrap_or("").to_string())
        };
        let roles: Vec<(&RoleAnalysis, String, usize)> = ranked
            .iter()
            .take(limits.roles_listed)
            .map(|r| {
                let live = live_on.get(r.role_arn.as_str()).copied().unwrap_or(0);
                (*r, name_of(r), live)
            })
            .collect();
        let roles_more = ranked
            .iter()
            .skip(limits.roles_listed)
            .filter(|r| r.score.score > 0)
            .count();
        let mut distribution = [0usize; 10];
        for r in &analysis.roles {
            distribution[(r.score.score.clamp(0, 100) as usize / 10).min(9)] += 1;
        }
        let cards = cards(ev, analysis, &ranked, limits, &account_names);
        let mut live: Vec<&Finding> = analysis.findings.iter().filter(|f| is_live(f)).collect();
        let findings_more = live.len().saturating_sub(limits.findings_listed);
        // The worst listed, in order: the rest (most of them) only counted, not sorted.
        if findings_more > 0 {
            live.select_nth_unstable_by(limits.findings_listed, by_severity);
            live.truncate(limits.findings_listed);
        }
        live.sort_by(by_severity);
        let public = public_targets(ev, analysis);
        let (errors, errors_more) = error_groups(snapshot, limits.error_groups);
        View {
            scan_id: scan.map(|s| s.scan_id.as_str()).unwrap_or(""),
            started_at: scan.map_or(Timestamp::from_millis(0), |s| s.started_at),
            finished_at: scan.map_or(Timestamp::from_millis(0), |s| s.finished_at),
            org_id: scan.and_then(|s| s.org_id.as_deref()),
            figures: figures(ev, analysis, changes.map(|c| c.1), &public),
            roles,
            roles_more,
            cards,
            distribution,
            tree: tree(ev, analysis, limits.accounts_drawn),
            findings: live,
            findings_more,
            public: public.into_iter().take(limits.public_listed).collect(),
            errors,
            errors_more,
            changes: changes.map(|(id, c)| changes_view(id, c, limits.changes_listed)),
            account_names,
        }
    }
}

/// The overview's figures.
fn figures(
    ev: &Evaluated<'_>,
    analysis: &Analysis,
    changes: Option<&Changes>,
    public: &[PublicTarget],
) -> Figures {
    let snapshot = ev.snapshot;
    let mut f = Figures::default();
    for x in &analysis.findings {
        match &x.mitigated_by {
            Some(_) => f.mitigated += 1,
            None => f.live[x.severity as usize] += 1,
        }
    }
    f.carried = changes.map_or(0, |c| c.carried.len());
    let roots: Vec<i32> = snapshot
        .org_units
        .iter()
        .filter(|u| u.parent_id.is_none())
        .filter_map(|u| analysis.org_units.iter().find(|r| r.id == u.id))
        .map(|r| r.score)
        .collect();
    f.org_score = roots
        .into_iter()
        .chain(analysis.accounts.iter().map(|a| a.score))
        .max()
        .unwrap_or(0);
    f.org_level = rolescope_analysis::score::level(f.org_score);
    f.accounts_listed = snapshot.accounts.len();
    f.accounts_scanned = snapshot.accounts.iter().filter(|a| a.scanned).count();
    f.roles = analysis.roles.len();
    f.lambda_roles = analysis.roles.iter().filter(|r| r.is_lambda_role).count();
    f.functions = snapshot.functions.len();
    f.collection_errors = snapshot.collection_errors.len();
    f.incomplete_functions = snapshot
        .functions
        .iter()
        .filter(|x| !x.unread.is_empty())
        .count();
    f.incomplete_roles = analysis
        .roles
        .iter()
        .filter(|r| !r.unread.is_empty())
        .count();
    f.public_functions = public
        .iter()
        .map(|p| p.function_arn.as_str())
        .collect::<BTreeSet<_>>()
        .len();
    f
}

/// The riskiest roles with everything their card shows.
fn cards<'a>(
    ev: &'a Evaluated<'a>,
    analysis: &'a Analysis,
    ranked: &[&'a RoleAnalysis],
    limits: Limits,
    account_names: &HashMap<&str, &str>,
) -> Vec<RoleCard<'a>> {
    let chosen: Vec<&RoleAnalysis> = ranked
        .iter()
        .copied()
        .take(limits.roles_in_full)
        .filter(|r| r.score.score > 0)
        .collect();
    let wanted: BTreeSet<&str> = chosen.iter().map(|r| r.role_arn.as_str()).collect();
    let mut on: HashMap<&str, Vec<&Finding>> = HashMap::new();
    for f in &analysis.findings {
        if wanted.contains(f.resource_arn.as_str()) {
            on.entry(f.resource_arn.as_str()).or_default().push(f);
        }
    }
    chosen
        .into_iter()
        .map(|r| {
            let mut all = on.remove(r.role_arn.as_str()).unwrap_or_default();
            all.sort_by(by_severity);
            let (mut live, mut mitigated): (Vec<&Finding>, Vec<&Finding>) =
                all.into_iter().partition(|f| is_live(f));
            let paths = paths_of(live.iter().chain(mitigated.iter()).copied());
            let live_more = live.len().saturating_sub(limits.findings_per_role);
            live.truncate(limits.findings_per_role);
            mitigated.truncate(limits.findings_per_role);
            let evaluated = ev.role(&r.role_arn);
            let functions = ev
                .functions_of(&r.role_arn)
                .iter()
                .map(|f| {
                    let mut via: Vec<String> = Vec::new();
                    if f.role_arn == r.role_arn {
                        via.push("$LATEST".into());
                    }
                    for q in &f.qualifiers {
                        if f.roles_of(Some(q.name.as_str()))
                            .contains(&r.role_arn.as_str())
                        {
                            via.push(q.name.clone());
                        }
                    }
                    (f.arn.clone(), via)
                })
                .collect();
            let diff = match (evaluated, &r.suggested_policy) {
                (Some(e), Some(suggested)) => crate::diff::suggestion(&ev.documents(e), suggested),
                _ => None,
            };
            RoleCard {
                role: r,
                name: evaluated
                    .map(|e| shown(&e.role.name, SHOWN_CHARS).into_owned())
                    .unwrap_or_else(|| r.role_arn.clone()),
                account_name: account_names
                    .get(r.account_id.as_str())
                    .map(|n| shown(n, SHOWN_CHARS).into_owned())
                    .unwrap_or_default(),
                functions,
                live,
                mitigated,
                live_more,
                paths,
                diff,
            }
        })
        .collect()
}

/// The escalation paths the RS-PRIVESC-001 findings of a role record, live ones first.
fn paths_of<'f>(findings: impl Iterator<Item = &'f Finding>) -> Vec<PathView> {
    let mut out = Vec::new();
    for f in findings.filter(|f| f.check_id == "RS-PRIVESC-001") {
        let detail = f.detail.value();
        for p in detail["paths"].as_array().into_iter().flatten() {
            out.push(PathView {
                method: p["method"].as_str().unwrap_or_default().to_string(),
                actions: p["actions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| match a {
                        serde_json::Value::Array(pair) => pair
                            .first()
                            .and_then(|x| x.as_str())
                            .unwrap_or("")
                            .to_string(),
                        other => other.as_str().unwrap_or("").to_string(),
                    })
                    .collect(),
                conditional: p["conditional"].as_bool().unwrap_or(false),
                mitigated_by: p["mitigated_by"].as_str().map(str::to_string),
            });
        }
    }
    out.sort_by(|a, b| {
        a.mitigated_by
            .is_some()
            .cmp(&b.mitigated_by.is_some())
            .then(a.conditional.cmp(&b.conditional))
            .then(a.method.cmp(&b.method))
    });
    out
}

/// Every function qualifier a live public finding is on, riskiest function first.
fn public_targets(ev: &Evaluated<'_>, analysis: &Analysis) -> Vec<PublicTarget> {
    let score: HashMap<&str, i32> = analysis
        .functions
        .iter()
        .map(|f| (f.id.as_str(), f.score))
        .collect();
    let by_arn: HashMap<&str, &rolescope_model::Function> = ev
        .snapshot
        .functions
        .iter()
        .map(|f| (f.arn.as_str(), f))
        .collect();
    let mut targets: BTreeMap<(String, String), PublicTarget> = BTreeMap::new();
    for f in analysis.findings.iter().filter(|f| f.makes_public()) {
        let function_arn = rolescope_model::unqualified_function_arn(&f.resource_arn);
        let Some(function) = by_arn.get(function_arn) else {
            continue;
        };
        let qualifier = function
            .qualifier_of(&f.resource_arn)
            .unwrap_or("$LATEST")
            .to_string();
        let entry = targets
            .entry((function_arn.to_string(), qualifier.clone()))
            .or_insert_with(|| PublicTarget {
                function_arn: function_arn.to_string(),
                qualifier,
                account_id: function.account_id.to_string(),
                how: Vec::new(),
                score: score.get(function_arn).copied().unwrap_or(0),
            });
        let how = match f.check_id {
            "RS-PUBLIC-003" => "function URL without auth",
            _ => "resource policy allows everyone",
        };
        if !entry.how.iter().any(|h| h == how) {
            entry.how.push(how.to_string());
        }
    }
    let mut out: Vec<PublicTarget> = targets.into_values().collect();
    out.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.function_arn.cmp(&b.function_arn))
            .then(a.qualifier.cmp(&b.qualifier))
    });
    out
}

/// Collection errors by account, operation and code, the most frequent first.
fn error_groups(
    snapshot: &rolescope_model::snapshot::Snapshot,
    limit: usize,
) -> (Vec<ErrorGroup>, usize) {
    let mut groups: BTreeMap<(String, String, String), (usize, String)> = BTreeMap::new();
    for e in &snapshot.collection_errors {
        let key = (
            e.account_id
                .as_ref()
                .map(|a| a.to_string())
                .unwrap_or_default(),
            format!("{}:{}", e.service, e.operation),
            e.error_code.clone(),
        );
        let entry = groups.entry(key).or_insert_with(|| (0, e.message.clone()));
        entry.0 += 1;
    }
    let mut out: Vec<ErrorGroup> = groups
        .into_iter()
        .map(
            |((account_id, operation, error_code), (count, example))| ErrorGroup {
                account_id,
                operation,
                error_code,
                count,
                example,
            },
        )
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.account_id.cmp(&b.account_id)));
    let more = out.len().saturating_sub(limit);
    out.truncate(limit);
    (out, more)
}

/// The OU tree with scores; accounts beyond `limit` (the least risky) are left out of it.
fn tree(ev: &Evaluated<'_>, analysis: &Analysis, limit: usize) -> Vec<Node> {
    let snapshot = ev.snapshot;
    let mut roles_in: HashMap<&str, usize> = HashMap::new();
    for r in &analysis.roles {
        *roles_in.entry(r.account_id.as_str()).or_default() += 1;
    }
    let account_score: HashMap<&str, i32> = analysis
        .accounts
        .iter()
        .map(|a| (a.id.as_str(), a.score))
        .collect();
    let mut accounts: Vec<&rolescope_model::Account> = snapshot.accounts.iter().collect();
    accounts.sort_by(|a, b| {
        let s = |x: &rolescope_model::Account| account_score.get(x.account_id.as_str()).copied();
        s(b).cmp(&s(a)).then(a.account_id.cmp(&b.account_id))
    });
    accounts.truncate(limit);
    let units: HashMap<&str, &rolescope_model::OrgUnit> = snapshot
        .org_units
        .iter()
        .map(|u| (u.id.as_str(), u))
        .collect();
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    for u in &snapshot.org_units {
        if let Some(p) = u.parent_id.as_deref().filter(|p| units.contains_key(p)) {
            children.entry(p).or_default().push(u.id.as_str());
        }
    }
    let mut accounts_of: HashMap<&str, Vec<&rolescope_model::Account>> = HashMap::new();
    let mut loose = Vec::new();
    for a in accounts {
        if units.contains_key(a.parent_id.as_str()) {
            accounts_of.entry(a.parent_id.as_str()).or_default().push(a);
        } else {
            loose.push(a);
        }
    }
    let ctx = TreeCtx {
        units: &units,
        children: &children,
        accounts_of: &accounts_of,
        unit_score: &analysis
            .org_units
            .iter()
            .map(|u| (u.id.as_str(), u.score))
            .collect(),
        account_score: &account_score,
        roles_in: &roles_in,
    };
    let mut seen = BTreeSet::new();
    let mut roots: Vec<Node> = snapshot
        .org_units
        .iter()
        .filter(|u| u.parent_id.is_none())
        .map(|u| ctx.unit(&u.id, &mut seen))
        .collect();
    if !loose.is_empty() {
        let kids: Vec<Node> = loose.into_iter().map(|a| ctx.account(a)).collect();
        roots.push(Node {
            id: String::new(),
            name: "Accounts outside the listed tree".into(),
            score: kids.iter().map(|k| k.score).max().unwrap_or(0),
            roles: kids.iter().map(|k| k.roles).sum(),
            account: false,
            scanned: true,
            children: kids,
        });
    }
    roots
}

/// The lookups of [`tree`].
struct TreeCtx<'s, 'a> {
    units: &'s HashMap<&'a str, &'a rolescope_model::OrgUnit>,
    children: &'s HashMap<&'a str, Vec<&'a str>>,
    accounts_of: &'s HashMap<&'a str, Vec<&'a rolescope_model::Account>>,
    unit_score: &'s HashMap<&'a str, i32>,
    account_score: &'s HashMap<&'a str, i32>,
    roles_in: &'s HashMap<&'a str, usize>,
}

impl TreeCtx<'_, '_> {
    /// An account's node.
    fn account(&self, a: &rolescope_model::Account) -> Node {
        Node {
            id: a.account_id.to_string(),
            name: shown(&a.name, SHOWN_CHARS).into_owned(),
            score: self
                .account_score
                .get(a.account_id.as_str())
                .copied()
                .unwrap_or(0),
            roles: self
                .roles_in
                .get(a.account_id.as_str())
                .copied()
                .unwrap_or(0),
            account: true,
            scanned: a.scanned,
            children: Vec::new(),
        }
    }

    /// A unit's node, depth first; `seen` stops hostile parent links from looping. Units
    /// with no role below them are left out.
    fn unit(&self, id: &str, seen: &mut BTreeSet<String>) -> Node {
        seen.insert(id.to_string());
        let mut kids = Vec::new();
        for c in self.children.get(id).into_iter().flatten() {
            if seen.contains(*c) {
                continue;
            }
            let n = self.unit(c, seen);
            if n.roles > 0 || !n.children.is_empty() {
                kids.push(n);
            }
        }
        kids.sort_by(|a, b| a.name.cmp(&b.name));
        let mut accts: Vec<Node> = self
            .accounts_of
            .get(id)
            .into_iter()
            .flatten()
            .map(|a| self.account(a))
            .collect();
        accts.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        kids.extend(accts);
        Node {
            id: id.to_string(),
            name: self
                .units
                .get(id)
                .map(|u| shown(&u.name, SHOWN_CHARS).into_owned())
                .unwrap_or_default(),
            score: self.unit_score.get(id).copied().unwrap_or(0),
            roles: kids.iter().map(|k| k.roles).sum(),
            account: false,
            scanned: true,
            children: kids,
        }
    }
}

/// The comparison with the baseline, summarised.
fn changes_view<'a>(previous: &'a str, c: &'a Changes, limit: usize) -> ChangesView<'a> {
    let mut by_change = BTreeMap::new();
    let mut new_by_severity = [0usize; 5];
    for f in &c.findings {
        *by_change.entry(f.change).or_default() += 1;
        if f.change == "new" && f.mitigated_by.is_none() {
            new_by_severity[f.severity as usize] += 1;
        }
    }
    let mut inventory = BTreeMap::new();
    for i in &c.inventory {
        *inventory.entry((i.kind, i.change)).or_default() += 1;
    }
    let rank = |change: &str| match change {
        "new" => 0,
        "resolved" => 1,
        "severity_changed" => 2,
        _ => 3,
    };
    let mut findings: Vec<_> = c.findings.iter().collect();
    findings.sort_by(|a, b| {
        rank(a.change)
            .cmp(&rank(b.change))
            .then((a.severity as usize).cmp(&(b.severity as usize)))
            .then(a.finding_id.cmp(&b.finding_id))
    });
    findings.truncate(limit);
    ChangesView {
        previous_scan_id: previous,
        summary: rolescope_analysis::history::summary(c),
        by_change,
        new_by_severity,
        inventory,
        findings,
    }
}

/// The severities, critical first, as the figures index them.
pub const SEVERITIES: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Info,
];

//! The page's sections as maud templates (checked when the crate compiles; every value is
//! HTML-escaped by maud, so names and policies from the scanned accounts cannot add markup).
//!
//! Figures the browser test reads back carry a `data-figure` attribute; tables that sort and
//! filter are `table.data` with an `input[data-filter]` naming them.

use crate::diff::DiffLine;
use crate::svg;
use crate::view::{Node, RoleCard, SEVERITIES, SHOWN_CHARS, View};
use maud::{Markup, html};
use rolescope_analysis::Finding;
use rolescope_analysis::scp::ScpPlan;

/// A score as a coloured badge.
fn badge(score: i32) -> Markup {
    let level = rolescope_analysis::score::level(score);
    html! { span class={"badge lv-" (level)} title=(level) { (score) } }
}

/// A severity (or `mitigated`) as a badge.
fn severity(f: &Finding) -> Markup {
    match &f.mitigated_by {
        Some(gate) => {
            html! { span class="badge lv-mitigated" title={"blocked by " (gate)} { "mitigated" } }
        }
        None => html! { span class={"badge lv-" (f.severity.as_str())} { (f.severity.as_str()) } },
    }
}

/// An ARN with its copy button.
fn arn(text: &str) -> Markup {
    html! { span class="arn" { (rolescope_model::shown(text, SHOWN_CHARS)) } button class="copy" type="button" data-copy=(text) { "copy" } }
}

/// A table's filter box and its shown-rows counter.
fn filter(table: &str, placeholder: &str, total: usize) -> Markup {
    html! {
        p {
            input class="filter" type="search" data-filter=(table) placeholder=(placeholder)
                aria-label=(placeholder);
            " " span class="muted" { span data-count-for=(table) { (total) } " of " (total) " shown" }
        }
    }
}

/// The query that lists what a table leaves out, against the datasets.
fn query(location: &str, sql: &str) -> Markup {
    // The location is a string literal of the query: a `'` in it is doubled, as SQL escapes it.
    let text = sql.replace("{loc}", &location.trim_end_matches('/').replace('\'', "''"));
    html! { p class="muted" { "The rest, in DuckDB (or Athena, on the tables of athena/tables.sql): " } pre { code { (text) } } }
}

/// What a factor of a score means.
fn factor(name: &str) -> String {
    match name.strip_prefix("finding:") {
        Some(check) => {
            let title = rolescope_analysis::CHECKS
                .iter()
                .find(|c| c.id == check)
                .map(|c| c.title)
                .unwrap_or("");
            format!("{check} {title}")
        }
        None => match name {
            "public_function" => "a function that runs as it is public".into(),
            "reach" => "reach: share of all actions it can effectively use".into(),
            "sharing" => "functions sharing the role".into(),
            "least_privilege_gap" => "granted services left unused".into(),
            other => match other
                .strip_prefix("evidence:")
                .and_then(|n| n.split_once('/'))
            {
                Some((supported, allowed)) => format!(
                    "evidence supports {supported} of {allowed} allowed actions (named, not weighted)"
                ),
                None => other.into(),
            },
        },
    }
}

/// The remediation of a finding's check.
fn remediation(f: &Finding) -> &'static str {
    rolescope_analysis::CHECKS
        .iter()
        .find(|c| c.id == f.check_id)
        .map(|c| c.remediation)
        .unwrap_or("")
}

/// The evidence of a finding, shortened for a table cell.
fn evidence(f: &Finding) -> String {
    let text = f.detail.as_str();
    if text.chars().count() > 400 {
        let mut s: String = text.chars().take(399).collect();
        s.push('…');
        s
    } else {
        text.to_string()
    }
}

/// Header and overview.
pub fn overview(v: &View<'_>) -> Markup {
    let f = &v.figures;
    html! {
        section id="overview" {
            h2 { "Overview" }
            div class="cards" {
                div class="card" { span class="muted" { "Organization score" }
                    span class="n" data-figure="org-score" { (f.org_score) }
                    span class={"badge lv-" (f.org_level)} data-figure="org-level" { (f.org_level) } }
                @for (s, n) in SEVERITIES.iter().zip(f.live) {
                    div class="card" { span class="muted" { "Live " (s.as_str()) }
                        span class="n" data-figure={"live-" (s.as_str())} { (n) } }
                }
                div class="card" { span class="muted" { "Mitigated" } span class="n" data-figure="mitigated" { (f.mitigated) }
                    span class="small" { "blocked by a boundary, an SCP or a deny" } }
                div class="card" { span class="muted" { "Accounts scanned" }
                    span class="n" { span data-figure="accounts-scanned" { (f.accounts_scanned) } " / " span data-figure="accounts-listed" { (f.accounts_listed) } } }
                div class="card" { span class="muted" { "Roles (Lambda)" }
                    span class="n" { span data-figure="roles" { (f.roles) } " (" span data-figure="lambda-roles" { (f.lambda_roles) } ")" } }
                div class="card" { span class="muted" { "Functions" } span class="n" data-figure="functions" { (f.functions) } }
                div class="card" { span class="muted" { "Public functions" } span class="n" data-figure="public-functions" { (f.public_functions) } }
                div class="card" { span class="muted" { "Collection errors" } span class="n" data-figure="collection-errors" { (f.collection_errors) }
                    span class="small" { (f.incomplete_functions) " functions, " (f.incomplete_roles) " roles incomplete" } }
            }
            @if f.collection_errors > 0 || f.accounts_scanned < f.accounts_listed {
                p class="note" { "Gaps: " (f.accounts_listed - f.accounts_scanned.min(f.accounts_listed))
                    " accounts not scanned and " (f.collection_errors) " calls failed. What could not be read is unknown, not absent: scores cover what was read. "
                    a href="#errors" { "Collection errors" } }
            }
            @if f.carried > 0 {
                p class="note" { (f.carried) " findings of the previous scan are kept as they were: this scan could not read their resources." }
            }
            div class="charts" {
                div { h3 { "Findings by severity" } (svg::severity_bars(&f.live, f.mitigated)) }
                div { h3 { "Roles by score" } (svg::score_histogram(&v.distribution)) }
            }
            (changes(v))
        }
    }
}

/// What changed since the baseline scan.
fn changes(v: &View<'_>) -> Markup {
    let Some(c) = &v.changes else {
        return html! { p class="muted" { "No earlier scan of this organization to compare with." } };
    };
    html! {
        div id="changes" {
            h3 { "Since scan " code { (c.previous_scan_id) } }
            p data-figure="changes-summary" { (c.summary) }
            div class="cards" {
                @for (change, n) in &c.by_change {
                    div class="card" { span class="muted" { (change) } span class="n" data-figure={"change-" (change)} { (n) } }
                }
                @for (s, n) in SEVERITIES.iter().zip(c.new_by_severity).filter(|(_, n)| *n > 0) {
                    div class="card" { span class="muted" { "new " (s.as_str()) } span class="n" { (n) } }
                }
            }
            @if !c.inventory.is_empty() {
                p class="small" {
                    @for ((kind, change), n) in &c.inventory { (n) " " (kind) " " (change) " · " }
                }
            }
            @if !c.findings.is_empty() {
                table class="data" id="t-changes" {
                    thead { tr { th data-sort="text" { "change" } th data-sort="text" { "severity" } th data-sort="text" { "check" }
                        th { "title" } th { "resource" } } }
                    tbody {
                        @for x in &c.findings {
                            tr { td { (x.change) } td { (x.severity.as_str())
                                    @if let Some(p) = x.previous_severity { " (was " (p.as_str()) ")" } }
                                td { (x.check_id) } td { (rolescope_model::shown(&x.title, SHOWN_CHARS)) } td { (arn(&x.resource_arn)) } }
                        }
                    }
                }
            }
        }
    }
}

/// The risk map and the OU tree.
pub fn risk(v: &View<'_>) -> Markup {
    html! {
        section id="risk" {
            h2 { "Where the risk is" }
            p class="muted" { "Each account's area is its number of roles, its colour its score (the worst role or function in it); an OU scores as the worst account below it." }
            (svg::treemap(&v.tree))
            details { summary { "The tree, with scores" }
                ul class="tree" { @for n in &v.tree { (tree_node(n)) } } }
        }
    }
}

/// One node of the tree list.
fn tree_node(n: &Node) -> Markup {
    html! {
        li {
            (badge(n.score)) " "
            @if n.account { (n.name) " " code { (n.id) } @if !n.scanned { " " span class="muted" { "not scanned" } } }
            @else { strong { (n.name) } " " span class="muted" { (n.id) } }
            " " span class="small" { (n.roles) " roles" }
            @if !n.children.is_empty() { ul { @for c in &n.children { (tree_node(c)) } } }
        }
    }
}

/// The roles table and the riskiest roles in full.
pub fn roles(v: &View<'_>, location: &str) -> Markup {
    html! {
        section id="roles" {
            h2 { "Riskiest roles" }
            @for card in &v.cards { (role_card(card, v, location)) }
            h3 { "All roles by score" }
            (filter("t-roles", "Filter roles: name, account, reason…", v.roles.len()))
            table class="data" id="t-roles" {
                thead { tr {
                    th data-sort="text" { "role" } th data-sort="text" { "account" } th data-sort="num" class="num" { "score" }
                    th data-sort="num" class="num" { "functions" } th data-sort="num" class="num" { "live findings" } th { "mostly" } } }
                tbody {
                    @for (r, name, live) in &v.roles {
                        tr data-role=(r.role_arn) {
                            td { (name) br; span class="small" { (arn(&r.role_arn)) } }
                            td { (r.account_id) br; span class="small" { (rolescope_model::shown(v.account_names.get(r.account_id.as_str()).copied().unwrap_or(""), SHOWN_CHARS)) } }
                            td class="num" data-v=(r.score.score) { (badge(r.score.score)) }
                            td class="num" { (r.function_count) } td class="num" { (live) }
                            td class="small" { (r.score.main_factor().map(factor).unwrap_or_default()) }
                        }
                    }
                }
            }
            @if v.roles_more > 0 {
                p class="muted" { (v.roles_more) " more roles with a score above zero are not listed." }
                (query(location, &format!("SELECT role_arn, account_id, risk_score, risk_level FROM read_parquet('{{loc}}/roles/dt=*/*.parquet', hive_partitioning = true) WHERE scan_id = '{}' ORDER BY risk_score DESC, role_arn;", v.scan_id)))
            }
        }
    }
}

/// One role in full.
fn role_card(c: &RoleCard<'_>, v: &View<'_>, location: &str) -> Markup {
    let r = c.role;
    html! {
        details class="role" open[v.cards.first().is_some_and(|f| std::ptr::eq(f, c))] data-card=(r.role_arn) {
            summary { (badge(r.score.score)) " " h3 { (c.name) } " "
                span class="muted" { (r.account_id) " " (c.account_name) " · " (c.live.len() + c.live_more) " live findings · "
                    (r.score.main_factor().map(factor).unwrap_or_default()) } }
            p { (arn(&r.role_arn)) }
            h4 { "Why it scores " (r.score.score) }
            table class="factors" {
                @for x in &r.score.contributions {
                    tr { td { meter min="0" max="1" value=(format!("{:.3}", x.weight)) {} } td { (format!("{:.2}", x.weight)) }
                        td { (factor(&x.factor)) } }
                }
            }
            p class="small" { "score = 100 × (1 − Π(1 − weight)), docs/scoring.md" }
            @if !r.unread.is_empty() { p class="note" { "Could not be read: " (r.unread.join(", ")) ". The score covers what was read." } }
            h4 { "Runs as it" }
            @if c.functions.is_empty() { p class="muted" { "No function runs as this role." } }
            ul { @for (f, via) in &c.functions { li { (arn(f)) " " span class="small" { "via " (via.join(", ")) } } } }
            @if !c.live.is_empty() {
                h4 { "Live findings" }
                table class="data" { thead { tr { th { "severity" } th { "check" } th { "finding" } th { "remediation" } } }
                    tbody { @for f in &c.live { tr {
                        td { (severity(f)) } td { (f.check_id) }
                        td { (rolescope_model::shown(&f.title, SHOWN_CHARS)) br; code class="evidence" { (evidence(f)) } }
                        td class="small" { (remediation(f)) } } } } }
                @if c.live_more > 0 { p class="muted" { (c.live_more) " more live findings on this role." } }
            }
            @if !c.mitigated.is_empty() {
                h4 { "Mitigated" }
                table class="data" { thead { tr { th { "blocked by" } th { "check" } th { "finding" } } }
                    tbody { @for f in &c.mitigated { tr {
                        td { (f.mitigated_by.as_deref().unwrap_or("")) } td { (f.check_id) } td { (rolescope_model::shown(&f.title, SHOWN_CHARS)) } } } } }
            }
            @if !c.paths.is_empty() {
                h4 { "Privilege-escalation paths" }
                ul { @for p in &c.paths { li {
                    strong { (p.method) } " " code { (p.actions.join(", ")) }
                    @if p.conditional { " " span class="small" { "only under conditions or on some resources" } }
                    @if let Some(gate) = &p.mitigated_by { " " span class="badge lv-mitigated" { "blocked by " (gate) } }
                } } }
            }
            @if let Some(unused) = &r.unused_services { @if !unused.is_empty() {
                p class="small" { "Granted, unused in the window: " (unused.join(", ")) }
            } }
            (suggestion(c, location))
        }
    }
}

/// Most removed services a card names (the largest first).
const REMOVED_SHOWN: usize = 12;

/// The card's least-privilege part: what it rests on, what it removes by service, the files,
/// the diff against today's policies with a copy button; or why there is none.
fn suggestion(c: &RoleCard<'_>, location: &str) -> Markup {
    use rolescope_analysis::least::Status;
    let s = &c.role.suggestion;
    let e = &s.evidence;
    let mut removed: Vec<&(String, usize, bool)> = e.removed.iter().collect();
    removed.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let folder = format!(
        "{}/remediation/{}/{}/",
        location.trim_end_matches('/'),
        c.role.account_id,
        c.name
    );
    html! {
        h4 { "Least-privilege suggestion" }
        @if s.status != Status::Suggested {
            p class="note" data-suggestion=(s.status.as_str()) { "No suggestion (" (s.status.as_str()) "): "
                (rolescope_model::shown(s.reason.as_deref().unwrap_or(""), SHOWN_CHARS)) "." }
        } @else {
            p data-suggestion="suggested" {
                @if s.basis == Some(rolescope_analysis::least::Basis::Cloudtrail) { "From the role's CloudTrail calls and its functions' configuration: " }
                @else { "From IAM last-accessed data only (resources as today): " }
                "the evidence supports " (e.supported_actions) " of " (e.allowed_actions) " allowed actions; "
                strong { (e.removed_actions()) " removed" } "."
                @if !e.unobservable.is_empty() { " " (e.unobservable.len()) " actions no trail could show are kept as today." }
            }
            @if !removed.is_empty() {
                p class="small" { "Removed: "
                    @for (i, (service, n, _)) in removed.iter().take(REMOVED_SHOWN).enumerate() {
                        @if i > 0 { ", " } code { (service) } " " (n) }
                    @if removed.len() > REMOVED_SHOWN { ", and " (removed.len() - REMOVED_SHOWN) " more services" }
                }
            }
            p class="small" { "Files: " span class="arn" { (rolescope_model::shown(&folder, SHOWN_CHARS)) }
                " (policies, README.md, apply.sh, cloudformation.json) "
                @if let Some(policy) = &s.policy { button class="copy" type="button" data-copy=(pretty(policy)) { "copy the policy" } } }
            @if let Some(diff) = &c.diff {
                pre class="diff" { @for line in diff { (diff_line(line)) } }
            }
        }
    }
}

/// A policy document indented for reading and pasting.
fn pretty(policy: &str) -> String {
    serde_json::from_str::<serde_json::Value>(policy)
        .map(|v| format!("{v:#}"))
        .unwrap_or_else(|_| policy.to_string())
}

/// One line of the suggestion's diff.
fn diff_line(line: &DiffLine) -> Markup {
    match line {
        DiffLine::Same(s) => html! { span class="same" { "  " (s) } },
        DiffLine::Removed(s) => html! { span class="del" { "- " (s) } },
        DiffLine::Added(s) => html! { span class="add" { "+ " (s) } },
    }
}

/// The live findings table.
pub fn findings(v: &View<'_>, location: &str) -> Markup {
    html! {
        section id="findings" {
            h2 { "Live findings" }
            (filter("t-findings", "Filter findings: check, severity, ARN, text…", v.findings.len()))
            table class="data" id="t-findings" {
                thead { tr { th data-sort="num" { "severity" } th data-sort="text" { "check" } th data-sort="text" { "account" }
                    th { "title" } th { "resource" } } }
                tbody { @for f in &v.findings { tr {
                    td data-v=(4 - f.severity as usize) { (severity(f)) } td { (f.check_id) } td { (f.account_id.as_str()) }
                    td { (rolescope_model::shown(&f.title, SHOWN_CHARS)) } td { (arn(&f.resource_arn)) } } } }
            }
            @if v.findings_more > 0 {
                p class="muted" { (v.findings_more) " more live findings are not listed." }
                (query(location, &format!("SELECT severity, check_id, resource_arn, title FROM read_parquet('{{loc}}/findings/dt=*/*.parquet', hive_partitioning = true) WHERE scan_id = '{}' AND mitigated_by IS NULL ORDER BY severity, check_id;", v.scan_id)))
            }
        }
    }
}

/// Functions anyone can invoke.
pub fn public(v: &View<'_>) -> Markup {
    html! {
        section id="public" {
            h2 { "Public functions" }
            @if v.public.is_empty() {
                p { "No function can be invoked by anyone, by what was read."
                    @if v.figures.collection_errors > 0 { " " (v.figures.collection_errors) " collection errors leave parts of the organization unknown (" a href="#errors" { "below" } "): unknown is not absent." } }
            }
            @else {
                (filter("t-public", "Filter public functions…", v.public.len()))
                table class="data" id="t-public" {
                    thead { tr { th data-sort="text" { "function" } th data-sort="text" { "qualifier" } th data-sort="text" { "account" }
                        th { "how" } th data-sort="num" class="num" { "score" } } }
                    tbody { @for p in &v.public { tr data-public={(p.function_arn) ":" (p.qualifier)} {
                        td { (arn(&p.function_arn)) } td { (p.qualifier) } td { (p.account_id) } td { (p.how.join("; ")) }
                        td class="num" data-v=(p.score) { (badge(p.score)) } } } }
                }
            }
        }
    }
}

/// The SCP recommendations.
pub fn scps(plan: &ScpPlan) -> Markup {
    html! {
        section id="scp" {
            h2 { "SCP recommendations" }
            p class="muted" { "Simulated against every account's use in the window; rolescope never changes the organization. Review scp/README.md, then scp/apply.sh." }
            @if plan.recommendations.is_empty() { p { "No recommendation." } }
            @else {
                table class="data" id="t-scp" {
                    thead { tr { th data-sort="text" { "target" } th data-sort="text" { "policy" } th data-sort="text" { "verdict" }
                        th data-sort="num" class="num" { "size" } th data-sort="num" class="num" { "functions affected" } th { "file" } } }
                    tbody { @for r in &plan.recommendations { tr {
                        td { (r.target_name) br; code class="small" { (r.target_id) } }
                        td { (r.name) br; span class="small" { (r.rationale) } }
                        td { @if r.safe { span class="badge lv-none" { "safe" } } @else { span class="badge lv-high" { "review" } }
                             @if !r.fits_quota { " " span class="badge lv-critical" { "over quota" } }
                             @for l in &r.lint { br; span class="small" { (l) } } }
                        td class="num" data-v=(r.size_chars) { (r.size_chars) " chars" }
                        td class="num" data-v=(r.impact.functions.len()) { (r.impact.functions.len())
                            @if !r.impact.roles_without_usage.is_empty() { br; span class="small" { (r.impact.roles_without_usage.len()) " roles without usage data" } } }
                        td { code { "scp/" (r.target_id) "/" (r.name) ".json" } } } } }
                }
            }
            @if !plan.skipped.is_empty() {
                details { summary { (plan.skipped.len()) " guardrails not recommended, and why" }
                    ul { @for s in &plan.skipped { li { code { (s.target_id) } " " (s.reason) } } } }
            }
        }
    }
}

/// Collection errors by account and operation.
pub fn errors(v: &View<'_>, location: &str) -> Markup {
    html! {
        section id="errors" {
            h2 { "Collection errors" }
            @if v.errors.is_empty() { p { "Every call succeeded." } }
            @else {
                (filter("t-errors", "Filter errors: account, operation, code…", v.errors.len()))
                table class="data" id="t-errors" {
                    thead { tr { th data-sort="text" { "account" } th data-sort="text" { "operation" } th data-sort="text" { "code" }
                        th data-sort="num" class="num" { "count" } th { "example" } } }
                    tbody { @for e in &v.errors { tr {
                        td { (e.account_id) } td { (e.operation) } td { (e.error_code) } td class="num" { (e.count) }
                        td class="small" { (e.example) } } } }
                }
                @if v.errors_more > 0 {
                    (query(location, &format!("SELECT account_id, service, operation, error_code, count(*) FROM read_parquet('{{loc}}/collection_errors/dt=*/*.parquet', hive_partitioning = true) WHERE scan_id = '{}' GROUP BY ALL ORDER BY 5 DESC;", v.scan_id)))
                }
            }
        }
    }
}

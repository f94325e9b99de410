//! The usage section: how much of the usage window CloudTrail covered, which data events the
//! trail logs, and what was counted (docs/usage.md). Unobservable is not unused: the section
//! says where the evidence is missing.

use maud::{Markup, html};
use rolescope_model::snapshot::Snapshot;
use std::collections::{BTreeMap, BTreeSet};

/// The accounts the table lists in full; a query lists the rest.
const LISTED: usize = 20;

/// The section.
pub fn section(s: &Snapshot, location: &str) -> Markup {
    let coverage = &s.usage_coverage;
    let covered = coverage.iter().filter(|c| c.covers_window()).count();
    let mut data_events: BTreeMap<&str, usize> = BTreeMap::new();
    for c in coverage {
        for d in &c.data_events {
            *data_events.entry(d.as_str()).or_default() += 1;
        }
    }
    let calls: u64 = s.activity.iter().map(|a| a.calls).sum();
    let roles: BTreeSet<&str> = s.activity.iter().map(|a| a.role_arn.as_str()).collect();
    let days = coverage
        .first()
        .map(|c| (c.window_end.millis - c.window_start.millis) / 86_400_000)
        .unwrap_or(0);
    let names: BTreeMap<&str, &str> = s
        .accounts
        .iter()
        .map(|a| (a.account_id.as_str(), a.name.as_str()))
        .collect();
    let gaps: Vec<_> = coverage.iter().filter(|c| !c.covers_window()).collect();
    let day = |t: Option<rolescope_model::Timestamp>| {
        t.map_or_else(|| "no logs".to_string(), |t| t.date())
    };
    html! {
        section id="usage" {
            h2 { "Usage evidence" }
            @if coverage.is_empty() {
                p { "No CloudTrail was read: what each role used rests on IAM last-accessed data alone (services, not resources). Pass "
                    code { "--cloudtrail-logs" } " to record each role's calls (docs/usage.md)." }
            } @else {
                p {
                    span data-figure="usage-accounts-covered" { (covered) } " of " span data-figure="usage-accounts" { (coverage.len()) }
                    " accounts have CloudTrail for the whole " (days) "-day window. "
                    span data-figure="usage-calls" { (calls) } " successful calls of " (roles.len()) " roles were counted."
                }
                p {
                    "Data events logged: "
                    @if data_events.is_empty() { "none (S3 object, DynamoDB item, Lambda Invoke, SQS and SNS calls are not observable)." }
                    @else {
                        @for (i, (service, n)) in data_events.iter().enumerate() {
                            @if i > 0 { ", " }
                            code { (service) } " (" (n) " accounts)"
                        }
                        ". Other services' data calls are not observable."
                    }
                }
                @if !gaps.is_empty() {
                    p class="note" { "In these accounts the logs do not cover the window: an action not seen there is unobservable, not unused." }
                    table class="data" id="t-usage" {
                        thead { tr { th { "account" } th { "name" } th { "logs from" } th { "logs to" } th class="num" { "records" } } }
                        tbody { @for c in gaps.iter().take(LISTED) { tr {
                            td { (c.account_id) } td { (names.get(c.account_id.as_str()).copied().unwrap_or("")) }
                            td { (day(c.covered_from)) } td { (day(c.covered_to)) } td class="num" { (c.records) } } } }
                    }
                    @if gaps.len() > LISTED {
                        p class="muted" { "Query the rest: " code { "SELECT * FROM read_parquet('" (location) "/usage_coverage/dt=*/*.parquet') WHERE NOT covers_window;" } }
                    }
                }
            }
        }
    }
}

//! The closing summary every command that runs the pipeline prints on stderr, and its exit code.

use rolescope_analysis::Severity;
use rolescope_exporter::Destination;
use rolescope_pipeline::{Outcome, Summary};
use std::process::ExitCode;

/// What to do about a kind of collection error.
fn fix(service: &str, operation: &str, code: &str) -> String {
    match (service, operation, code) {
        ("sts", "AssumeRole", "AccessDenied") => "the audit role is missing there or does not trust the caller; deploy deploy/audit-role-stackset.yaml with the caller as its trusted principal (docs/permissions.md)".into(),
        (_, _, "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation") => {
            format!("the audit role lacks {service}:{operation}; docs/permissions.md lists what it needs")
        }
        (_, _, "Unsupported") => format!("the endpoint does not implement {service}:{operation}"),
        (_, _, "Throttling" | "ThrottlingException" | "TooManyRequestsException") => {
            "AWS throttled the calls beyond their retries: lower --concurrency or raise --max-attempts".into()
        }
        (_, _, "Timeout" | "ConnectionError" | "DispatchFailure") => {
            "the network or the endpoint failed: check connectivity, or raise --operation-timeout".into()
        }
        (_, _, "ShardMissing") => "a shard left no usable part: run it again, then finalize".into(),
        _ => "see the collection_errors table".into(),
    }
}

/// The collection errors grouped by cause (service, operation, code), largest first: how many,
/// in how many of the accounts, a few of them, and the fix. At most `limit` causes.
pub fn error_causes(
    errors: &[rolescope_model::CollectionError],
    accounts: usize,
    limit: usize,
) -> Vec<String> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut by: BTreeMap<(&str, &str, &str), (usize, BTreeSet<&str>)> = BTreeMap::new();
    for e in errors {
        let entry = by
            .entry((
                e.service.as_str(),
                e.operation.as_str(),
                e.error_code.as_str(),
            ))
            .or_default();
        entry.0 += 1;
        if let Some(a) = &e.account_id {
            entry.1.insert(a.as_str());
        }
    }
    let mut causes: Vec<_> = by.into_iter().collect();
    causes.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
    let more = causes.len().saturating_sub(limit);
    let mut out: Vec<String> = causes
        .into_iter()
        .take(limit)
        .map(|((service, operation, code), (n, in_accounts))| {
            let examples: Vec<&str> = in_accounts.iter().take(3).copied().collect();
            let place = if in_accounts.is_empty() {
                String::new()
            } else {
                format!(
                    " in {} of {accounts} accounts (e.g. {})",
                    in_accounts.len(),
                    examples.join(", ")
                )
            };
            format!(
                "{n} × {service}:{operation} {}{place}: {}",
                rolescope_model::shown(code, 60),
                fix(service, operation, code)
            )
        })
        .collect();
    if more > 0 {
        out.push(format!("and {more} more causes (collection_errors table)"));
    }
    out
}

/// The errors line and, under it, the errors by cause with their fix.
pub fn print_errors(errors: &[rolescope_model::CollectionError], accounts: usize) {
    if errors.is_empty() {
        eprintln!("  errors     none");
        return;
    }
    eprintln!("  errors     {} collection errors, by cause:", errors.len());
    for line in error_causes(errors, accounts, 5) {
        eprintln!("    {line}");
    }
}

/// The findings line.
pub fn print_findings(s: &Summary) {
    let [c, h, m, l, i] = s.live;
    eprintln!(
        "  findings   {c} critical · {h} high · {m} medium · {l} low · {i} info · {} mitigated",
        s.mitigated
    );
}

/// Findings, riskiest roles, outputs and SCPs: what a pipeline run wrote.
pub fn print_outcome(outcome: &Outcome, dest: &Destination) {
    print_findings(&outcome.summary);
    let s = &outcome.summary;
    if s.incomplete_functions > 0 {
        eprintln!(
            "  incomplete {} functions whose policy or URLs could not be read (public_access unknown; see collection_errors)",
            s.incomplete_functions
        );
    }
    if s.incomplete_roles > 0 {
        eprintln!(
            "  incomplete {} roles with a policy or last-accessed report that could not be read (roles.unread; see collection_errors)",
            s.incomplete_roles
        );
    }
    if !outcome.summary.top_roles.is_empty() {
        eprintln!("  riskiest roles");
        for (arn, account, score, reason) in &outcome.summary.top_roles {
            // A name is untrusted: no control or bidi character reaches the terminal.
            let name = rolescope_model::shown(arn.rsplit('/').next().unwrap_or(arn), 100);
            let account = rolescope_model::shown(account, 100);
            eprintln!("    {score:>3}  {name}  ({account}; mostly {reason})");
        }
    }
    match &outcome.history {
        Ok((previous, changes)) => eprintln!("  since      scan {previous}: {changes}"),
        Err(why) => eprintln!("  history    no comparison ({why})"),
    }
    if let Some(path) = &outcome.snapshot {
        eprintln!("  snapshot   {path}");
    }
    eprintln!(
        "  datasets   {} Parquet files under {dest} (Athena SQL in athena/)",
        outcome.datasets.len()
    );
    crate::scp_cmd::print_plan(&outcome.plan);
    eprintln!("  report     {}", outcome.report);
    eprintln!("  SCP review {}", dest.location("scp/README.md"));
    let timings: Vec<String> = outcome
        .stages
        .iter()
        .map(|s| format!("{} {:.2}s", s.name, s.seconds))
        .collect();
    eprintln!("  stages     {}", timings.join(" · "));
}

/// Leave `value` to the end of the process, which follows the command: freeing a scanned
/// organization one allocation at a time (about 1.5 s at 10,000 accounts) only delays the exit.
pub fn leave_to_exit<T>(value: T) {
    std::mem::forget(value);
}

/// 1 when a live finding at or above the threshold exists, else 0.
pub fn exit_code(s: &Summary, threshold: Option<Severity>) -> ExitCode {
    match threshold {
        Some(t) if s.any_at_or_above(t) => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    }
}

//! `rolescope analyze`: a snapshot in, findings out (JSON Lines on stdout), exit code by severity.

use anyhow::{Context, Result};
use clap::Args;
use rolescope_analysis::{Severity, analyze};
use rolescope_model::snapshot::Snapshot;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `rolescope analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// The snapshot a scan wrote (`…/snapshots/dt=…/<scan-id>.jsonl`).
    #[arg(long)]
    snapshot: PathBuf,
    #[command(flatten)]
    usage: crate::usage_args::UsageArgs,
    /// Exit 1 when a live finding at or above this severity exists
    /// (critical, high, medium, low, info).
    #[arg(long)]
    fail_on: Option<String>,
    /// Days without use after which a role or service counts as unused.
    #[arg(long, default_value_t = rolescope_analysis::Settings::default().unused_days)]
    unused_days: i64,
    /// Functions sharing one role above which the role is reported.
    #[arg(long, default_value_t = rolescope_analysis::Settings::default().shared_role_threshold)]
    shared_role_threshold: usize,
    /// Print this role's effective permissions instead of findings: one JSON line per granted
    /// action (status, access level, resources, granting policies, last use).
    #[arg(long, value_name = "ROLE_ARN")]
    role: Option<String>,
    /// Also write the Parquet datasets for this snapshot under this folder or s3://bucket/prefix.
    #[arg(long)]
    out: Option<String>,
    /// Named AWS profile for an s3:// --out.
    #[arg(long)]
    profile: Option<String>,
    /// Endpoint of an S3-compatible store for an s3:// --out.
    #[arg(long)]
    endpoint_url: Option<String>,
    /// Print one JSON line per role (scores with explanations, counts, suggested policy) instead
    /// of findings.
    #[arg(long, conflicts_with = "role")]
    roles: bool,
    /// Print only findings at or above this severity (critical, high, medium, low, info). The
    /// exit code (--fail-on) still counts every live finding.
    #[arg(long)]
    severity: Option<String>,
    /// Print only findings of these checks (ids such as RS-ADMIN-001; repeat or separate with
    /// commas).
    #[arg(long, value_delimiter = ',')]
    check: Vec<String>,
    /// Print only findings in these accounts (repeat or separate with commas).
    #[arg(long, value_delimiter = ',')]
    account: Vec<String>,
    #[command(flatten)]
    scp: crate::scp_cmd::ScpOptions,
}

/// Parse `--fail-on`.
pub fn fail_on(value: Option<&str>) -> Result<Option<Severity>> {
    value
        .map(|v| {
            Severity::parse(v).with_context(|| {
                format!("--fail-on {v:?}: expected critical, high, medium, low or info")
            })
        })
        .transpose()
}

pub fn run(args: AnalyzeArgs) -> Result<ExitCode> {
    let threshold = fail_on(args.fail_on.as_deref())?;
    let shown_from = args
        .severity
        .as_deref()
        .map(|v| {
            Severity::parse(v).with_context(|| {
                format!("--severity {v:?}: expected critical, high, medium, low or info")
            })
        })
        .transpose()?;
    if let Some(unknown) = args
        .check
        .iter()
        .find(|c| rolescope_analysis::checks::check_by_id(c).is_none())
    {
        anyhow::bail!("--check {unknown}: no such check (`rolescope checks` lists them)");
    }
    let settings = crate::scp_cmd::settings(
        args.unused_days,
        Some(args.shared_role_threshold),
        &args.scp,
    )?;
    let mut snapshot = Snapshot::read(&args.snapshot).context("reading the snapshot")?;
    let aws = rolescope_collector::CollectorConfig {
        profile: args.profile.clone(),
        endpoint_url: args.endpoint_url.clone(),
        ..Default::default()
    };
    args.usage.attach(&mut snapshot, &aws, false)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if let Some(role) = &args.role {
        let rows = rolescope_analysis::role_grants(rolescope_policy::catalog(), &snapshot, role)
            .with_context(|| format!("role {role} is not in {}", args.snapshot.display()))?;
        for row in &rows {
            serde_json::to_writer(&mut out, row)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    // With --out, the whole pipeline (datasets, SCPs, SQL) runs and its analysis is printed.
    let written = match &args.out {
        Some(target) => {
            let dest = crate::output::destination(
                target,
                args.profile.as_deref(),
                args.endpoint_url.as_deref(),
                None,
            )?;
            let outcome = rolescope_pipeline::run(
                &snapshot,
                &settings,
                &dest,
                rolescope_pipeline::SnapshotWrite::Store,
                &mut |_| {},
            )?;
            Some((outcome, dest))
        }
        None => None,
    };
    let alone;
    let analysis = match &written {
        Some((outcome, _)) => &outcome.analysis,
        None => {
            alone = analyze(rolescope_policy::catalog(), &snapshot, &settings.analysis);
            &alone
        }
    };
    if args.roles {
        for r in &analysis.roles {
            serde_json::to_writer(&mut out, r)?;
            out.write_all(b"\n")?;
        }
    } else {
        let shown = analysis.findings.iter().filter(|f| {
            shown_from.is_none_or(|s| f.severity <= s)
                && (args.check.is_empty() || args.check.iter().any(|c| c == f.check_id))
                && (args.account.is_empty()
                    || args.account.iter().any(|a| a == f.account_id.as_str()))
        });
        for f in shown {
            serde_json::to_writer(&mut out, f)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    eprintln!(
        "rolescope analyze: {} roles, {} functions",
        analysis.roles.len(),
        snapshot.functions.len()
    );
    let summary = match &written {
        Some((outcome, dest)) => {
            crate::summary::print_outcome(outcome, dest);
            outcome.summary.clone()
        }
        None => {
            let summary = rolescope_pipeline::Summary::of(analysis);
            crate::summary::print_findings(&summary);
            summary
        }
    };
    crate::summary::leave_to_exit((written, snapshot));
    Ok(crate::summary::exit_code(&summary, threshold))
}

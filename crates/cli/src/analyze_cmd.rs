//! `rolescope analyze`: a snapshot in, findings out (JSON Lines on stdout), exit code by severity.

use anyhow::{Context, Result, bail};
use clap::Args;
use rolescope_analysis::{Analysis, Settings, Severity, analyze};
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
    /// Exit 1 when a live finding at or above this severity exists
    /// (critical, high, medium, low, info).
    #[arg(long)]
    fail_on: Option<String>,
    /// Days without use after which a role or service counts as unused.
    #[arg(long, default_value_t = 90)]
    unused_days: i64,
    /// Functions sharing one role above which the role is reported.
    #[arg(long, default_value_t = 5)]
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

/// Count findings by severity (live ones only) and print the table on stderr.
pub fn print_summary(analysis: &Analysis) {
    let mut counts = [0usize; 5];
    let mut mitigated = 0;
    for f in &analysis.findings {
        if f.mitigated_by.is_some() {
            mitigated += 1;
        } else {
            counts[f.severity as usize] += 1;
        }
    }
    eprintln!(
        "  findings   {} critical · {} high · {} medium · {} low · {} info · {mitigated} mitigated",
        counts[0], counts[1], counts[2], counts[3], counts[4]
    );
}

/// The exit code for a finding set and a threshold.
pub fn exit_code(analysis: &Analysis, threshold: Option<Severity>) -> ExitCode {
    match threshold {
        Some(t)
            if analysis
                .findings
                .iter()
                .any(|f| f.mitigated_by.is_none() && f.severity <= t) =>
        {
            ExitCode::from(1)
        }
        _ => ExitCode::SUCCESS,
    }
}

pub fn settings(unused_days: i64, shared_role_threshold: usize) -> Result<Settings> {
    if unused_days < 1 {
        bail!("--unused-days must be at least 1");
    }
    Ok(Settings {
        unused_days,
        shared_role_threshold,
    })
}

pub fn run(args: AnalyzeArgs) -> Result<ExitCode> {
    let threshold = fail_on(args.fail_on.as_deref())?;
    let settings = settings(args.unused_days, args.shared_role_threshold)?;
    let snapshot = Snapshot::read(&args.snapshot).context("reading the snapshot")?;
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
    let analysis = analyze(rolescope_policy::catalog(), &snapshot, &settings);
    if args.roles {
        for r in &analysis.roles {
            serde_json::to_writer(&mut out, r)?;
            out.write_all(b"\n")?;
        }
    } else {
        for f in &analysis.findings {
            serde_json::to_writer(&mut out, f)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    if let Some(out) = &args.out {
        let dest = crate::output::destination(
            out,
            args.profile.as_deref(),
            args.endpoint_url.as_deref(),
            None,
        )?;
        let files =
            rolescope_exporter::export(rolescope_policy::catalog(), &snapshot, &analysis, &dest)
                .context("writing the datasets")?;
        eprintln!("  datasets   {} Parquet files under {dest}", files.len());
    }
    eprintln!(
        "rolescope analyze: {} roles, {} functions",
        analysis.roles.len(),
        snapshot.functions.len()
    );
    print_summary(&analysis);
    Ok(exit_code(&analysis, threshold))
}

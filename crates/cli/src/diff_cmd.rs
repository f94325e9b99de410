//! `rolescope diff --from A --to B`: what changed between two scans, one JSON line per change on
//! stdout, a one-line summary on stderr, exit 1 when a new finding reaches `--fail-on`.

use anyhow::{Context, Result};
use clap::Args;
use rolescope_analysis::history::{Baseline, Changes, changes, summary};
use rolescope_analysis::{Settings, analyze};
use rolescope_model::snapshot::Snapshot;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `rolescope diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier scan's snapshot (`…/snapshots/dt=…/<scan-id>.jsonl`).
    #[arg(long)]
    from: PathBuf,
    /// The later scan's snapshot.
    #[arg(long)]
    to: PathBuf,
    /// Exit 1 when a *new* live finding at or above this severity exists (critical, high,
    /// medium, low, info): for scheduled runs that page only on regressions.
    #[arg(long)]
    fail_on: Option<String>,
}

pub fn run(args: DiffArgs) -> Result<ExitCode> {
    let threshold = crate::analyze_cmd::fail_on(args.fail_on.as_deref())?;
    let read = |path: &PathBuf, which: &str| {
        Snapshot::read(path).with_context(|| format!("reading the {which} snapshot"))
    };
    let (before, after) = (read(&args.from, "--from")?, read(&args.to, "--to")?);
    let org = |s: &Snapshot| s.scan.as_ref().and_then(|i| i.org_id.clone());
    if org(&before) != org(&after) {
        anyhow::bail!(
            "--from is a scan of organization {} and --to of {}: a diff between two organizations would call one's findings resolved and the other's new",
            org(&before).as_deref().unwrap_or("(none)"),
            org(&after).as_deref().unwrap_or("(none)")
        );
    }
    let settings = Settings::default();
    let cat = rolescope_policy::catalog();
    let (a, b) = (
        analyze(cat, &before, &settings),
        analyze(cat, &after, &settings),
    );
    let c = changes(&Baseline::of(&before, a), (&after, &b));
    print(&c)?;
    eprintln!("rolescope diff: {}", summary(&c));
    let regressed = threshold.is_some_and(|t| {
        c.findings
            .iter()
            .any(|f| f.change == "new" && f.mitigated_by.is_none() && f.severity <= t)
    });
    Ok(if regressed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Findings first, then inventory; each line says what it is about in `kind`.
fn print(c: &Changes) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for f in &c.findings {
        let mut line = serde_json::to_value(f)?;
        line["kind"] = json!("finding");
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    for i in &c.inventory {
        serde_json::to_writer(&mut out, i)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

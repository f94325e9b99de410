//! `rolescope scp`: SCP recommendations from a saved snapshot, or the impact of a hand-written SCP.

use anyhow::{Context, Result};
use clap::Args;
use rolescope_analysis::scp::{ScpPlan, ScpSettings};
use rolescope_model::snapshot::Snapshot;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Knobs shared by `scan` and `scp`.
#[derive(Debug, Args)]
pub struct ScpOptions {
    /// Characters per SCP (AWS's quota; lower it if your organization's is lower).
    #[arg(long, default_value_t = ScpSettings::default().max_chars)]
    scp_max_chars: usize,
    /// SCPs per root/OU/account, FullAWSAccess included (AWS's quota).
    #[arg(long, default_value_t = ScpSettings::default().max_per_target)]
    scp_max_per_target: usize,
    /// Principal ARN pattern every guardrail exempts (repeatable; break-glass, pipelines).
    /// Default: OrganizationAccountAccessRole.
    #[arg(long = "exempt-principal", value_name = "ARN_PATTERN")]
    exempt_principals: Vec<String>,
    /// Name of the permission boundary new Lambda execution roles must carry.
    #[arg(long, default_value_t = ScpSettings::default().boundary_name)]
    boundary_name: String,
    /// Do not compare with the latest committed scan in the output (no finding_changes or
    /// inventory_changes rows; first_seen starts again).
    #[arg(long, conflicts_with = "baseline")]
    pub no_baseline: bool,
    /// Compare with this scan instead of the latest: a committed scan id of the output, or a
    /// snapshot file (…/snapshots/dt=…/<scan-id>.jsonl).
    #[arg(long, value_name = "SCAN_ID|SNAPSHOT")]
    pub baseline: Option<String>,
}

/// `--baseline` / `--no-baseline` as the pipeline takes them.
fn baseline(scp: &ScpOptions) -> Result<rolescope_pipeline::Baseline> {
    use rolescope_pipeline::Baseline;
    Ok(match (&scp.baseline, scp.no_baseline) {
        (_, true) => Baseline::None,
        (None, false) => Baseline::Latest,
        (Some(v), false) if v.ends_with(".jsonl") || v.contains('/') => {
            Baseline::Snapshot(PathBuf::from(v))
        }
        (Some(v), false) => {
            rolescope_model::valid::scan_id(v).with_context(|| {
                format!("--baseline {v:?}: neither a scan id nor a .jsonl snapshot")
            })?;
            Baseline::ScanId(v.clone())
        }
    })
}

/// The pipeline settings from the flags every command shares; `None` keeps the library's
/// default for the shared-role threshold.
pub fn settings(
    unused_days: i64,
    shared_role_threshold: Option<usize>,
    scp: &ScpOptions,
) -> Result<rolescope_pipeline::Settings> {
    let defaults = rolescope_pipeline::Settings::default();
    let settings = rolescope_pipeline::Settings {
        analysis: rolescope_analysis::Settings {
            unused_days,
            shared_role_threshold: shared_role_threshold
                .unwrap_or(defaults.analysis.shared_role_threshold),
        },
        scp: ScpSettings {
            max_chars: scp.scp_max_chars,
            max_per_target: scp.scp_max_per_target,
            exempt_principals: if scp.exempt_principals.is_empty() {
                defaults.scp.exempt_principals
            } else {
                scp.exempt_principals.clone()
            },
            window_days: unused_days,
            boundary_name: scp.boundary_name.clone(),
        },
        baseline: baseline(scp)?,
    };
    Ok(settings.validated()?)
}

/// Arguments of `rolescope scp`.
#[derive(Debug, Args)]
pub struct ScpArgs {
    /// The snapshot a scan wrote.
    #[arg(long)]
    snapshot: PathBuf,
    /// Where to write `scp/…` and the scp_recommendations table (folder or s3://bucket/prefix).
    #[arg(long, required_unless_present = "simulate")]
    out: Option<String>,
    /// Instead of recommending: print the impact of this SCP (JSON file) attached at --target.
    #[arg(long, requires = "target", value_name = "FILE")]
    simulate: Option<PathBuf>,
    /// Root, OU or account id for --simulate.
    #[arg(long)]
    target: Option<String>,
    /// Days of last-accessed data that count as used.
    #[arg(long, default_value_t = rolescope_analysis::Settings::default().unused_days)]
    unused_days: i64,
    #[command(flatten)]
    options: ScpOptions,
    /// Named AWS profile for an s3:// --out.
    #[arg(long)]
    profile: Option<String>,
    /// Endpoint of an S3-compatible store for an s3:// --out.
    #[arg(long)]
    endpoint_url: Option<String>,
}

/// One line per recommendation on stderr.
pub fn print_plan(plan: &ScpPlan) {
    let safe = plan.recommendations.iter().filter(|r| r.safe).count();
    eprintln!(
        "  SCPs       {} recommended ({safe} safe, {} to review), {} guardrails not needed",
        plan.recommendations.len(),
        plan.recommendations.len() - safe,
        plan.skipped.len()
    );
}

pub fn run(args: ScpArgs) -> Result<ExitCode> {
    let settings = settings(args.unused_days, None, &args.options)?;
    let snapshot = Snapshot::read(&args.snapshot).context("reading the snapshot")?;
    let cat = rolescope_policy::catalog();
    let ev = rolescope_analysis::Evaluated::new(cat, &snapshot, settings.analysis.unused_days);
    if let Some(file) = &args.simulate {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let target = args.target.as_deref().unwrap_or_default();
        let impact = rolescope_analysis::scp::simulate_policy(&ev, target, &text, &settings.scp)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        let problems = rolescope_analysis::scp::lint(
            cat,
            &text,
            rolescope_analysis::scp::DocumentKind::Scp,
            settings.scp.max_chars,
        );
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        serde_json::to_writer(
            &mut out,
            &serde_json::json!({
                "target_id": target,
                "safe": impact.is_safe() && problems.is_empty(),
                "impacted_roles": impact.roles(),
                "denied": impact.denied,
                "impacted_functions": impact.functions,
                "roles_without_usage": impact.roles_without_usage,
                "lint": problems,
            }),
        )?;
        out.write_all(b"\n")?;
        return Ok(ExitCode::SUCCESS);
    }
    let analysis = rolescope_analysis::analyze_evaluated(&ev, &settings.analysis);
    let out = args.out.as_deref().unwrap_or_default();
    let dest = crate::output::destination(
        out,
        args.profile.as_deref(),
        args.endpoint_url.as_deref(),
        None,
    )?;
    let plan = rolescope_analysis::scp::recommend(&ev, &analysis, &settings.scp);
    let scan = snapshot
        .scan
        .as_ref()
        .context("the snapshot has no scan record")?;
    rolescope_exporter::scp::export_scp(
        &plan,
        &settings.scp,
        &scan.scan_id,
        &scan.started_at.date(),
        &dest,
    )
    .context("writing the SCP recommendations")?;
    eprintln!("rolescope scp {}", scan.scan_id);
    print_plan(&plan);
    eprintln!("  written    {}", dest.location("scp/README.md"));
    Ok(ExitCode::SUCCESS)
}

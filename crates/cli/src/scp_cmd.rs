//! `rolescope scp`: SCP recommendations from a saved snapshot, or the impact of a hand-written SCP.

use anyhow::{Context, Result, bail};
use clap::Args;
use rolescope_analysis::scp::{ScpPlan, ScpSettings};
use rolescope_model::snapshot::Snapshot;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Knobs shared by `scan` and `scp`.
#[derive(Debug, Args)]
pub struct ScpOptions {
    /// Characters per SCP (AWS default 5,120; some organizations have 10,240).
    #[arg(long, default_value_t = 5_120)]
    scp_max_chars: usize,
    /// SCPs per root/OU/account, FullAWSAccess included (AWS default 5).
    #[arg(long, default_value_t = 5)]
    scp_max_per_target: usize,
    /// Principal ARN pattern every guardrail exempts (repeatable; break-glass, pipelines).
    /// Default: OrganizationAccountAccessRole.
    #[arg(long = "exempt-principal", value_name = "ARN_PATTERN")]
    exempt_principals: Vec<String>,
    /// Name of the permission boundary new Lambda execution roles must carry.
    #[arg(long, default_value = "RolescopeLambdaBoundary")]
    boundary_name: String,
}

impl ScpOptions {
    /// Library settings; `window_days` is the usage window (`--unused-days`).
    pub fn settings(&self, window_days: i64) -> Result<ScpSettings> {
        if self.scp_max_chars < 200 {
            bail!("--scp-max-chars must be at least 200");
        }
        if self.scp_max_per_target < 1 {
            bail!("--scp-max-per-target must be at least 1");
        }
        let defaults = ScpSettings::default();
        Ok(ScpSettings {
            max_chars: self.scp_max_chars,
            max_per_target: self.scp_max_per_target,
            exempt_principals: if self.exempt_principals.is_empty() {
                defaults.exempt_principals
            } else {
                self.exempt_principals.clone()
            },
            window_days,
            boundary_name: self.boundary_name.clone(),
        })
    }
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
    #[arg(long, default_value_t = 90)]
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
    let settings = args.options.settings(args.unused_days)?;
    let snapshot = Snapshot::read(&args.snapshot).context("reading the snapshot")?;
    let cat = rolescope_policy::catalog();
    let analysis = rolescope_analysis::analyze(
        cat,
        &snapshot,
        &crate::analyze_cmd::settings(args.unused_days, 5)?,
    );
    if let Some(file) = &args.simulate {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let target = args.target.as_deref().unwrap_or_default();
        let impact = rolescope_analysis::scp::simulate_policy(
            cat, &snapshot, &analysis, target, &text, &settings,
        )
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        let problems = rolescope_analysis::scp::lint(cat, &text, settings.max_chars);
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
    let out = args.out.as_deref().unwrap_or_default();
    let dest = crate::output::destination(
        out,
        args.profile.as_deref(),
        args.endpoint_url.as_deref(),
        None,
    )?;
    let plan = rolescope_analysis::scp::recommend(cat, &snapshot, &analysis, &settings);
    let scan = snapshot
        .scan
        .as_ref()
        .context("the snapshot has no scan record")?;
    rolescope_exporter::scp::export_scp(
        &plan,
        &settings,
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

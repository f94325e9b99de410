//! `rolescope import`: offline input from AWS CLI JSON, then the same analysis and datasets as a scan.

use anyhow::{Context, Result};
use clap::Args;
use rolescope_model::AccountId;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `rolescope import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    usage: crate::usage_args::UsageArgs,
    /// Output of `aws iam get-account-authorization-details` (all pages merged, as the CLI prints).
    #[arg(long)]
    authorization_details: PathBuf,
    /// Output of `aws lambda list-functions` for one region.
    #[arg(long)]
    functions: Option<PathBuf>,
    /// Region of the --functions file, when its ARNs do not say.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// The account the files come from (12 digits).
    #[arg(long)]
    account_id: String,
    /// Output folder or s3://bucket/prefix (snapshot and datasets).
    #[arg(long)]
    out: String,
    /// Named AWS profile for an s3:// --out.
    #[arg(long)]
    profile: Option<String>,
    /// Endpoint of an S3-compatible store for an s3:// --out.
    #[arg(long)]
    endpoint_url: Option<String>,
    /// Exit 1 when a live finding at or above this severity exists.
    #[arg(long)]
    fail_on: Option<String>,
    /// Scan id (default: generated); re-running with the same id replaces that scan's output.
    #[arg(long)]
    scan_id: Option<String>,
    /// Days without use after which a role or service counts as unused.
    #[arg(long, default_value_t = rolescope_analysis::Settings::default().unused_days)]
    unused_days: i64,
    #[command(flatten)]
    scp: crate::scp_cmd::ScpOptions,
}

pub fn run(args: ImportArgs) -> Result<ExitCode> {
    let threshold = crate::analyze_cmd::fail_on(args.fail_on.as_deref())?;
    let scan_id = crate::scan_cmd::scan_id(args.scan_id.as_deref())?;
    let account = AccountId::new(args.account_id.trim()).context("--account-id")?;
    let read = |p: &PathBuf| {
        std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
    };
    let gaad = read(&args.authorization_details)?;
    let functions = args.functions.as_ref().map(read).transpose()?;
    let functions_name = args
        .functions
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut snapshot = rolescope_collector::import::import(
        &account,
        &args.authorization_details.display().to_string(),
        &gaad,
        functions
            .as_deref()
            .map(|json| (functions_name.as_str(), args.region.as_str(), json)),
    )?;
    if let (Some(id), Some(scan)) = (scan_id, snapshot.scan.as_mut()) {
        scan.scan_id = id;
    }
    let aws = rolescope_collector::CollectorConfig {
        profile: args.profile.clone(),
        endpoint_url: args.endpoint_url.clone(),
        ..Default::default()
    };
    args.usage.attach(&mut snapshot, &aws, false)?;
    let dest = crate::output::destination(
        &args.out,
        args.profile.as_deref(),
        args.endpoint_url.as_deref(),
        None,
    )?;
    eprintln!(
        "rolescope import: {} roles, {} functions from account {account}",
        snapshot.roles.len(),
        snapshot.functions.len()
    );
    let outcome = rolescope_pipeline::run(
        &snapshot,
        &crate::scp_cmd::settings(args.unused_days, None, &args.scp)?,
        &dest,
        rolescope_pipeline::SnapshotWrite::Store,
        &mut |_| {},
    )?;
    crate::summary::print_outcome(&outcome, &dest);
    Ok(crate::summary::exit_code(&outcome.summary, threshold))
}

//! `rolescope plan` and `rolescope finalize`: the two ends of a scan split into shards
//! (`scan --shard K/N` in between; docs/deploy.md).

use anyhow::{Context, Result};
use clap::Args;
use std::process::ExitCode;

/// Arguments of `rolescope plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// How many shards.
    #[arg(long)]
    shards: u32,
    /// The scan id every shard and finalize will use (default: generated).
    #[arg(long)]
    scan_id: Option<String>,
    /// The destination the shards and finalize write to (its latest committed scan balances
    /// the plan).
    #[arg(long)]
    out: String,
    #[command(flatten)]
    s3: crate::output::S3Flags,
}

/// `rolescope plan`: store the plan under `shards/<scan-id>/` and print it as JSON on stdout,
/// with the Map's items.
pub fn plan(args: PlanArgs) -> Result<ExitCode> {
    if rolescope_model::shard::ShardId::new(1, args.shards).is_none() {
        anyhow::bail!(
            "--shards must be between 1 and {}",
            rolescope_model::shard::MAX_SHARDS
        );
    }
    let scan_id = crate::scan_cmd::scan_id_or_new(args.scan_id.as_deref())?;
    let dest = args.s3.destination(&args.out)?;
    let plan = rolescope_pipeline::shards::plan(&dest, &scan_id, args.shards)?;
    let stored = rolescope_pipeline::shards::put_plan(&dest, &plan)?;
    let mut per_shard: Vec<Vec<&str>> = vec![Vec::new(); args.shards as usize];
    for (account, shard) in &plan.assignment.accounts {
        per_shard[*shard as usize - 1].push(account);
    }
    let items: Vec<serde_json::Value> = (1..=args.shards)
        .map(|k| {
            serde_json::json!({
                "shard": format!("{k}/{}", args.shards),
                "scan_id": scan_id,
                "expected_cost": plan.assignment.costs.get(k as usize - 1),
                "accounts": per_shard[k as usize - 1],
            })
        })
        .collect();
    println!(
        "{}",
        serde_json::json!({
            "scan_id": scan_id,
            "shards": args.shards,
            "based_on": plan.based_on,
            "plan": stored,
            "items": items,
        })
    );
    eprintln!(
        "rolescope plan: {} shards for scan {scan_id} ({}); run `rolescope scan --shard K/{} --scan-id {scan_id} --out {dest}` for each K, then `rolescope finalize --scan-id {scan_id} --out {dest}`",
        args.shards,
        match &plan.based_on {
            Some(id) => format!("balanced by scan {id}"),
            None => "no earlier scan: accounts go by the hash of their id".into(),
        },
        args.shards
    );
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `rolescope finalize`.
#[derive(Debug, Args)]
pub struct FinalizeArgs {
    /// The sharded scan's id.
    #[arg(long)]
    scan_id: String,
    /// The destination the shards wrote to; the merged scan is committed there.
    #[arg(long)]
    out: String,
    /// Shards the scan was split into, when no plan was stored (default: the plan's, else the
    /// highest N among the parts).
    #[arg(long)]
    shards: Option<u32>,
    /// Refuse to commit (exit 2) when a shard is missing or anything could not be collected.
    #[arg(long)]
    strict: bool,
    /// Exit 1 when a live finding at or above this severity exists.
    #[arg(long)]
    fail_on: Option<String>,
    /// Days without use after which a role or service counts as unused.
    #[arg(long, default_value_t = rolescope_analysis::Settings::default().unused_days)]
    unused_days: i64,
    #[command(flatten)]
    scp: crate::scp_cmd::ScpOptions,
    #[command(flatten)]
    s3: crate::output::S3Flags,
}

/// `rolescope finalize`: merge the parts, run every stage after collection over the merged
/// scan, commit it.
pub fn finalize(args: FinalizeArgs) -> Result<ExitCode> {
    rolescope_model::valid::scan_id(&args.scan_id)?;
    let settings = crate::scp_cmd::settings(args.unused_days, None, &args.scp)?;
    let threshold = crate::analyze_cmd::fail_on(args.fail_on.as_deref())?;
    let dest = args.s3.destination(&args.out)?;
    let merged = rolescope_pipeline::shards::merge(&dest, &args.scan_id, args.shards)
        .with_context(|| format!("merging the shards of scan {}", args.scan_id))?;
    let snapshot = &merged.snapshot;
    eprintln!(
        "rolescope finalize {}: {} of {} shards merged",
        args.scan_id,
        merged.merged.len(),
        merged.merged.len() + merged.missing.len()
    );
    for (id, why) in &merged.missing {
        eprintln!("  shard {id} missing: {why}");
    }
    let scanned = snapshot.accounts.iter().filter(|a| a.scanned).count();
    eprintln!(
        "  accounts   {scanned} scanned of {} in the organization",
        snapshot.accounts.len()
    );
    eprintln!("  roles      {}", snapshot.roles.len());
    eprintln!("  functions  {}", snapshot.functions.len());
    crate::summary::print_errors(&snapshot.collection_errors, snapshot.accounts.len());
    if args.strict && !merged.missing.is_empty() {
        eprintln!(
            "rolescope: --strict: {} shards missing; nothing was committed (the parts stay under {})",
            merged.missing.len(),
            dest.location(&rolescope_pipeline::shards::prefix(&args.scan_id))
        );
        return Ok(ExitCode::from(2));
    }
    let outcome = rolescope_pipeline::run(
        snapshot,
        &settings,
        &dest,
        rolescope_pipeline::SnapshotWrite::Store,
        &mut |_| {},
    )?;
    crate::summary::print_outcome(&outcome, &dest);
    if args.strict && !snapshot.collection_errors.is_empty() {
        eprintln!(
            "rolescope: --strict: {} collection errors; the outputs above are written and committed",
            snapshot.collection_errors.len()
        );
        return Ok(ExitCode::from(2));
    }
    let exit = crate::summary::exit_code(&outcome.summary, threshold);
    crate::summary::leave_to_exit((outcome, merged));
    Ok(exit)
}

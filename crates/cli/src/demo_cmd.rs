//! `rolescope demo`: the built-in simulated organization, scanned through the real collector.
//!
//! The simulator runs in-process on a loopback port and speaks the AWS wire protocols, so the
//! scan below is the same code path as `rolescope scan` against AWS.

use crate::scan_cmd::{Pipeline, pipeline};
use anyhow::{Context, Result, bail};
use clap::Args;
use rolescope_collector::{CollectorConfig, Rates, StaticCredentials};
use rolescope_simulator::bound::{BoundParams, bound};
use rolescope_simulator::{
    Faults, MANAGEMENT_ACCESS_KEY, MANAGEMENT_SECRET_KEY, Simulator, Spec, World,
};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Arguments of `rolescope demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output folder or s3://bucket/prefix.
    #[arg(long, default_value = "rolescope-demo")]
    out: String,
    /// Organization to simulate: demo (12 accounts, 200 functions covering every check) or a
    /// benchmark scenario: s, m, l (2,000 accounts × 17 regions, ≈ 300,000 functions), xl
    /// (10,000 accounts, ≈ 1,500,000 functions).
    #[arg(long, default_value = "demo")]
    scenario: String,
    /// Time scale k: AWS rates × k, latencies ÷ k (simulator and collector alike).
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Simulated latency per request, "LOW,HIGH" milliseconds (before scaling).
    #[arg(long, default_value = "5,20")]
    latency_ms: String,
    /// Fault: accounts whose audit role cannot be assumed (comma-separated ids; `member:N` for the
    /// N-th member account).
    #[arg(long, value_delimiter = ',')]
    deny_assume: Vec<String>,
    /// Fault: accounts reported SUSPENDED.
    #[arg(long, value_delimiter = ',')]
    suspend: Vec<String>,
    /// Fault: regions not enabled (ListRegions omits them; calls to them are refused).
    #[arg(long, value_delimiter = ',')]
    disable_region: Vec<String>,
    /// Fault: probability of a 5xx answer per request.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Fault: probability that a request hangs past the attempt timeout.
    #[arg(long, default_value_t = 0.0)]
    hang_rate: f64,
    /// Fault: operations the audit role may not call (AccessDenied on every call), e.g.
    /// `GenerateServiceLastAccessedDetails` or `lambda:GetPolicy`.
    #[arg(long, value_delimiter = ',', value_name = "OPERATION")]
    deny_operation: Vec<String>,
    /// Seed of the simulated organization (default: the scenario's): another seed gives an
    /// organization of the same shape with other functions, policies and URLs.
    #[arg(long)]
    seed: Option<u64>,
    /// Fault: the simulator's rates × this factor (below 1: a throttling storm).
    #[arg(long, default_value_t = 1.0)]
    rate_factor: f64,
    /// Regions to scan (default: every enabled region of the simulated accounts).
    #[arg(long, value_delimiter = ',')]
    regions: Option<Vec<String>>,
    /// Scan id (default: generated); a re-run with the same id replaces that scan's output.
    #[arg(long)]
    scan_id: Option<String>,
    /// Maximum API calls in flight.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Exit 1 when a live finding at or above this severity exists.
    #[arg(long)]
    fail_on: Option<String>,
    /// Exit 2 when anything could not be collected.
    #[arg(long)]
    strict: bool,
    /// Write a JSON benchmark report here (wall time, API calls by operation, retries, peak RSS,
    /// the lower bound and the ratios).
    #[arg(long, value_name = "FILE")]
    bench_report: Option<std::path::PathBuf>,
    /// Local folder that keeps the collection when the output cannot take it.
    #[arg(long, default_value = "rolescope-spool")]
    spool: std::path::PathBuf,
    /// Only serve the simulated organization, for scans run as other processes (`scan
    /// --endpoint-url`, sharded scans): prints one JSON line with the endpoint and the
    /// management account's credentials on stdout, then serves until stdin closes.
    #[arg(long)]
    serve: bool,
    /// No progress bars.
    #[arg(long, short)]
    quiet: bool,
    /// Write the simulated organization's CloudTrail (90 days, S3 data events) to this folder
    /// and read it after the scan; `none` for no trail. Default: for the demo organization, a
    /// temporary folder removed afterwards; for the benchmark scenarios, none.
    #[arg(long, value_name = "DIR")]
    trail: Option<String>,
}

/// The faults the flags ask for.
fn faults(args: &DemoArgs, world: &World, latency_ms: (u64, u64)) -> Result<Faults> {
    let refs =
        |list: &[String]| -> Result<_> { list.iter().map(|s| account_ref(world, s)).collect() };
    Ok(Faults {
        time_scale: args.time_scale,
        latency_ms,
        deny_assume: refs(&args.deny_assume)?,
        suspended: refs(&args.suspend)?,
        disabled_regions: args.disable_region.iter().cloned().collect(),
        error_rate: args.error_rate,
        hang_rate: args.hang_rate,
        rate_factor: args.rate_factor,
        deny_operations: args.deny_operation.iter().cloned().collect(),
        hang: Duration::from_secs(20),
        ..Faults::default()
    })
}

/// The simulated trail's folder, removed on drop when it is a temporary one.
struct Trail {
    dir: std::path::PathBuf,
    temporary: bool,
}

impl Drop for Trail {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Write the simulated trail (`--trail`), if any.
fn demo_trail(args: &DemoArgs, world: &World) -> Result<Option<Trail>> {
    let (dir, temporary) = match args.trail.as_deref() {
        Some("none") => return Ok(None),
        Some(dir) => (std::path::PathBuf::from(dir), false),
        None if args.scenario == "demo" && !args.serve => (
            std::env::temp_dir().join(format!("rolescope-demo-trail-{}", std::process::id())),
            true,
        ),
        None => return Ok(None),
    };
    let trail = Trail { dir, temporary };
    let stats = rolescope_simulator::trail::write_trail(
        world,
        &trail.dir,
        &rolescope_simulator::trail::TrailSpec::demo(),
    )
    .with_context(|| format!("writing the simulated trail to {}", trail.dir.display()))?;
    eprintln!(
        "rolescope demo: simulated CloudTrail, {} files, {} records, in {}",
        stats.files,
        stats.records,
        trail.dir.display()
    );
    Ok(Some(trail))
}

/// `member:N` → the N-th member's id.
fn account_ref(world: &World, s: &str) -> Result<String> {
    match s.strip_prefix("member:") {
        Some(n) => {
            let n: usize = n.parse().with_context(|| format!("{s}: member:N"))?;
            world
                .accounts
                .get(n)
                .filter(|_| n > 0)
                .map(|a| a.id.to_string())
                .with_context(|| {
                    format!(
                        "{s}: the organization has {} members",
                        world.accounts.len() - 1
                    )
                })
        }
        None => Ok(s.to_string()),
    }
}

pub fn run(args: DemoArgs) -> Result<ExitCode> {
    let mut spec = match args.scenario.as_str() {
        "demo" => Spec::demo(),
        other => Spec::scenario(other)
            .with_context(|| format!("--scenario {other}: expected demo, s, m, l or xl"))?,
    };
    if let Some(seed) = args.seed {
        spec.seed = seed;
    }
    if args.time_scale.is_nan() || args.time_scale <= 0.0 {
        bail!("--time-scale must be positive");
    }
    let (lo, hi) = args
        .latency_ms
        .split_once(',')
        .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)))
        .filter(|(a, b): &(u64, u64)| a <= b)
        .context("--latency-ms: expected LOW,HIGH in milliseconds")?;
    let world = World::generate(&spec);
    let trail = demo_trail(&args, &world)?;
    let faults = faults(&args, &world, (lo, hi))?;
    let dest = crate::output::destination(&args.out, None, None, None)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let functions = world.function_count();
    let accounts = world.accounts.len();
    let params = BoundParams {
        lambda_rate: 15.0 * args.time_scale,
        iam_rate: Rates::default().iam * args.time_scale,
        sts_rate: Rates::default().sts * args.time_scale,
        latency: (lo + hi) as f64 / 2.0 / 1000.0 / args.time_scale,
        last_accessed: true,
        access_analyzer: true,
    };
    let floor = bound(&world, &params);
    let sim = runtime
        .block_on(Simulator::start(world, faults))
        .context("starting the simulator")?;
    eprintln!(
        "rolescope demo: simulated organization ({} accounts, {} regions, {functions} functions) at {}",
        accounts,
        spec.regions.len(),
        sim.url()
    );
    if args.serve {
        return serve(&sim);
    }
    let config = CollectorConfig {
        endpoint_url: Some(sim.url().to_string()),
        static_credentials: Some(StaticCredentials {
            access_key_id: MANAGEMENT_ACCESS_KEY.into(),
            secret_access_key: MANAGEMENT_SECRET_KEY.into(),
        }),
        home_region: Some("us-east-1".into()),
        regions: args.regions.clone(),
        concurrency: args.concurrency.max(1),
        last_accessed_timeout: Duration::from_secs(60),
        attempt_timeout: Duration::from_secs_f64((10.0 / args.time_scale).max(0.5)),
        operation_timeout: Duration::from_secs(120),
        rates: Rates::default().scaled(args.time_scale),
        scan_id: Some(crate::scan_cmd::scan_id_or_new(args.scan_id.as_deref())?),
        ..CollectorConfig::default()
    };
    let started = Instant::now();
    let outcome = pipeline(
        runtime,
        config,
        &Pipeline {
            dest,
            quiet: args.quiet,
            strict: args.strict,
            threshold: crate::analyze_cmd::fail_on(args.fail_on.as_deref())?,
            settings: rolescope_pipeline::Settings::default(),
            spool: args.spool.clone(),
            usage: crate::usage_args::UsageArgs {
                cloudtrail_logs: trail.as_ref().map(|t| t.dir.clone()),
                usage_days: 90,
                cloudtrail_athena: None,
                athena_workgroup: "primary".into(),
                athena_output: None,
                cloudtrail_data_events: match &trail {
                    Some(_) => rolescope_simulator::trail::TrailSpec::demo().data_events,
                    None => Vec::new(),
                },
            },
        },
    );
    drop(trail);
    let outcome = outcome?;
    let wall = started.elapsed().as_secs_f64();
    let served: u64 = sim.stats().requests().values().sum();
    let logical: u64 = outcome.calls.values().sum();
    eprintln!(
        "  simulator  {served} requests served, {} throttled, {} faults injected",
        sim.stats().throttled(),
        sim.stats().injected()
    );
    if let Some(path) = &args.bench_report {
        let report = bench_report(&Run {
            args: &args,
            latency: (lo, hi),
            accounts,
            regions: spec.regions.len(),
            functions,
            outcome: &outcome,
            floor: &floor,
            sim: &sim,
            started,
            wall,
            served,
            logical,
        });
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    drop(sim);
    Ok(outcome.exit)
}

/// `demo --serve`: announce the simulator on stdout and serve until stdin closes.
fn serve(sim: &Simulator) -> Result<ExitCode> {
    use std::io::{Read, Write};
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}",
        serde_json::json!({
            "endpoint_url": sim.url(),
            "access_key_id": MANAGEMENT_ACCESS_KEY,
            "secret_access_key": MANAGEMENT_SECRET_KEY,
            "region": "us-east-1",
        })
    )?;
    out.flush()?;
    drop(out);
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    eprintln!(
        "rolescope demo --serve: {} requests served",
        sim.stats().requests().values().sum::<u64>()
    );
    Ok(ExitCode::SUCCESS)
}

/// What the benchmark report is made of.
struct Run<'r> {
    args: &'r DemoArgs,
    latency: (u64, u64),
    accounts: usize,
    regions: usize,
    functions: usize,
    outcome: &'r crate::scan_cmd::Outcome,
    floor: &'r rolescope_simulator::bound::Bound,
    sim: &'r Simulator,
    started: Instant,
    wall: f64,
    served: u64,
    logical: u64,
}

/// The JSON benchmark report of a demo run: wall time, stages, API calls against the lower
/// bound, retries, throttling, the busiest lane and the peak memory per stage.
fn bench_report(run: &Run<'_>) -> serde_json::Value {
    let Run {
        args,
        latency: (lo, hi),
        accounts,
        functions,
        outcome,
        floor,
        sim,
        started,
        wall,
        served,
        logical,
        ..
    } = *run;
    let busiest = sim.stats().busiest_lambda_lane().map(|lane| {
        let from = lane.first.saturating_duration_since(started).as_secs_f64();
        let to = lane.last.saturating_duration_since(started).as_secs_f64();
        serde_json::json!({
            "account": lane.account,
            "region": lane.region,
            "requests": lane.requests,
            "first_request_seconds": from,
            "last_request_seconds": to,
            "requests_per_second": lane.requests as f64 / (to - from).max(1e-9),
        })
    });
    // The world's largest lane (normally the busiest), admitted requests per window from its
    // first: whether it ran at its quota from the start.
    let largest = sim
        .stats()
        .largest_lane_timeline()
        .map(|(account, region, timeline)| {
            serde_json::json!({
                "account": account,
                "region": region,
                "first_request_seconds": timeline
                    .origin
                    .map(|o| o.saturating_duration_since(started).as_secs_f64()),
                "requests_per_window": timeline.counts,
            })
        });
    // Every request the simulator served, per window from the scan's first one: where the bulk
    // of the organization ends and the long tail begins.
    let timeline = sim.stats().timeline();
    let timeline = serde_json::json!({
        "window_seconds": rolescope_simulator::WINDOW.as_secs(),
        "first_request_seconds": timeline
            .origin
            .map(|o| o.saturating_duration_since(started).as_secs_f64()),
        "requests_per_window": timeline.counts,
    });
    let stage = |names: &[&str]| -> f64 {
        outcome
            .stages
            .iter()
            .filter(|s| names.contains(&s.name))
            .map(|s| s.seconds)
            .sum()
    };
    let by_stage = |field: fn(&crate::scan_cmd::StageMemory) -> Option<u64>| {
        outcome
            .memory
            .iter()
            .map(|m| (m.stage.to_string(), serde_json::json!(field(m))))
            .collect::<serde_json::Map<_, _>>()
    };
    let report = serde_json::json!({
        "scenario": args.scenario,
        "time_scale": args.time_scale,
        "latency_ms": [lo, hi],
        "accounts": accounts,
        "regions": run.regions,
        "functions": functions,
        "functions_collected": outcome.counts.0,
        "roles": outcome.counts.1,
        "findings": outcome.counts.2,
        "collection_errors": outcome.counts.3,
        "wall_seconds": wall,
        "collect_seconds": outcome.collect_secs,
        "stage_seconds": outcome
            .stages
            .iter()
            .map(|s| (s.name.to_string(), serde_json::json!(s.seconds)))
            .collect::<serde_json::Map<_, _>>(),
        // Wall time from the last API call to the last file; the stages overlap, so their sum
        // is more than this.
        "after_collection_seconds": wall - outcome.collect_secs,
        "analysis_seconds": stage(&["evaluate", "analysis"]),
        "datasets_seconds": stage(&["datasets", "commit"]),
        "scp_seconds": stage(&["scp"]),
        "export_seconds": stage(&["datasets", "scp", "sql", "commit"]),
        "rows_written": outcome.rows,
        "bound_seconds": floor.seconds,
        "ratio_to_bound": outcome.collect_secs / floor.seconds.max(1e-9),
        "api_calls": logical,
        "api_calls_min": floor.total_calls(),
        "api_calls_ratio": logical as f64 / floor.total_calls().max(1) as f64,
        "http_requests": served,
        "retries": served.saturating_sub(logical),
        "throttled": sim.stats().throttled(),
        "busiest_lambda_lane": busiest,
        "largest_lane_timeline": largest,
        "requests_timeline": timeline,
        "calls_by_operation": outcome.calls,
        "min_calls_by_operation": floor.calls,
        "peak_rss_bytes": crate::scan_cmd::peak_rss_bytes(),
        "peak_rss_bytes_by_stage": by_stage(|m| m.peak),
        "rss_bytes_by_stage": by_stage(|m| m.resident),
    });
    report
}

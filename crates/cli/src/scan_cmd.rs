//! `rolescope scan`: arguments → [`CollectorConfig`], progress bars on stderr, the snapshot on disk.

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rolescope_collector::{CollectorConfig, Progress};
use rolescope_model::AccountId;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `rolescope scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Output: a local folder or s3://bucket/prefix (snapshot and datasets).
    #[arg(long)]
    out: String,
    #[command(flatten)]
    usage: crate::usage_args::UsageArgs,
    /// TOML file with any of these settings (keys are the flag names); flags win.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Audit role assumed in every member account.
    #[arg(long, default_value = "RolescopeAudit")]
    role_name: String,
    /// ExternalId for AssumeRole.
    #[arg(long)]
    external_id: Option<String>,
    /// Session name of the assumed-role sessions.
    #[arg(long, default_value = "rolescope")]
    session_name: String,
    /// Session duration in seconds (900–43200).
    #[arg(long, default_value_t = 3600)]
    session_duration: u64,
    /// Regions to scan (comma-separated); default: the enabled regions of each account.
    #[arg(long, value_delimiter = ',')]
    regions: Option<Vec<String>>,
    /// Only these accounts (comma-separated 12-digit ids).
    #[arg(long, value_delimiter = ',')]
    accounts: Option<Vec<String>>,
    /// Only accounts under these OUs or roots (comma-separated ids, recursive).
    #[arg(long, value_delimiter = ',')]
    ou: Option<Vec<String>>,
    /// Never scan these accounts (comma-separated).
    #[arg(long, value_delimiter = ',')]
    exclude_accounts: Vec<String>,
    /// Endpoint override for every AWS service (AWS_ENDPOINT_URL is honoured too).
    #[arg(long)]
    endpoint_url: Option<String>,
    /// Named profile from the shared AWS config files.
    #[arg(long)]
    profile: Option<String>,
    /// Region for the global services when the profile/environment sets none.
    #[arg(long)]
    home_region: Option<String>,
    /// Maximum API calls in flight (1 to 4096).
    #[arg(long, default_value_t = 64,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=4096))]
    concurrency: usize,
    /// SDK attempts per call (standard retry mode; 1 to 20).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20))]
    max_attempts: u32,
    /// Upper bound on one call with its retries, in seconds.
    #[arg(long, default_value_t = 120)]
    operation_timeout: u64,
    /// Skip IAM service/action last-accessed data.
    #[arg(long)]
    no_last_accessed: bool,
    /// Upper bound on waiting for last-accessed jobs per account, in seconds.
    #[arg(long, default_value_t = 120)]
    last_accessed_timeout: u64,
    /// Skip IAM Access Analyzer findings.
    #[arg(long)]
    no_access_analyzer: bool,
    /// Read Access Analyzer findings only from this (delegated-administrator) account, whose
    /// organization analyzers cover every member.
    #[arg(long)]
    analyzer_account: Option<String>,
    /// Scan id (default: generated); re-running with the same id replaces that scan's output.
    #[arg(long)]
    scan_id: Option<String>,
    /// Collect only shard K of N (needs --scan-id): the organization is walked whole, only the
    /// accounts the plan gives this shard are scanned, and the part goes to
    /// `shards/<scan-id>/part-K-of-N.jsonl` for `rolescope finalize` (docs/deploy.md).
    #[arg(long, value_name = "K/N")]
    shard: Option<rolescope_model::shard::ShardId>,
    /// Exit 2 when anything could not be collected (default: report it and exit 0).
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
    /// Local folder that keeps the collection when the output cannot take it after the scan
    /// (S3 down, disk full): `<spool>/<scan-id>.jsonl`, to finish with `analyze --out`.
    #[arg(long, default_value = "rolescope-spool")]
    spool: PathBuf,
    /// Client-side AWS rates × this factor: for the simulator's time scale (`demo --serve
    /// --time-scale K`), never for AWS itself.
    #[arg(long, default_value_t = 1.0, hide = true)]
    rate_scale: f64,
    /// No progress bars.
    #[arg(long, short)]
    quiet: bool,
}

fn account_ids(list: &[String], flag: &str) -> Result<Vec<AccountId>> {
    list.iter()
        .map(|s| AccountId::new(s.trim()).with_context(|| format!("--{flag}")))
        .collect()
}

/// `--scan-id`, checked before anything runs: it names every output path.
pub fn scan_id(value: Option<&str>) -> Result<Option<String>> {
    value
        .map(|id| {
            rolescope_model::valid::scan_id(id)?;
            Ok(id.to_string())
        })
        .transpose()
}

/// `--scan-id` checked, or a new one: a scan knows its id before it starts, to lock it.
pub fn scan_id_or_new(value: Option<&str>) -> Result<String> {
    Ok(scan_id(value)?
        .unwrap_or_else(|| rolescope_model::valid::new_scan_id(rolescope_model::Timestamp::now())))
}

impl ScanArgs {
    fn config(&self) -> Result<CollectorConfig> {
        if !(900..=43_200).contains(&self.session_duration) {
            bail!("--session-duration must be between 900 and 43200 seconds");
        }
        Ok(CollectorConfig {
            role_name: self.role_name.clone(),
            external_id: self.external_id.clone(),
            session_name: self.session_name.clone(),
            session_duration: Duration::from_secs(self.session_duration),
            regions: self.regions.clone(),
            accounts: self
                .accounts
                .as_deref()
                .map(|a| account_ids(a, "accounts"))
                .transpose()?,
            ous: self.ou.clone(),
            exclude_accounts: account_ids(&self.exclude_accounts, "exclude-accounts")?,
            endpoint_url: self.endpoint_url.clone(),
            profile: self.profile.clone(),
            home_region: self.home_region.clone(),
            concurrency: self.concurrency.max(1),
            last_accessed: !self.no_last_accessed,
            last_accessed_timeout: Duration::from_secs(self.last_accessed_timeout),
            access_analyzer: !self.no_access_analyzer,
            analyzer_account: self
                .analyzer_account
                .as_deref()
                .map(|a| AccountId::new(a.trim()).context("--analyzer-account"))
                .transpose()?,
            max_attempts: self.max_attempts.max(1),
            operation_timeout: Duration::from_secs(self.operation_timeout),
            attempt_timeout: Duration::from_secs(self.operation_timeout.min(30)),
            scan_id: Some(scan_id_or_new(self.scan_id.as_deref())?),
            rates: if self.rate_scale.is_finite() && self.rate_scale > 0.0 {
                rolescope_collector::Rates::default().scaled(self.rate_scale)
            } else {
                bail!("--rate-scale must be positive")
            },
            ..CollectorConfig::default()
        })
    }
}

pub fn run(args: ScanArgs) -> Result<ExitCode> {
    args.usage.check()?;
    let mut config = args.config()?;
    // Resolve the output before scanning: a bad --out fails in seconds, not after the scan.
    let dest = crate::output::destination(
        &args.out,
        args.profile.as_deref(),
        args.endpoint_url.as_deref(),
        args.home_region.as_deref(),
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    if let Some(id) = args.shard {
        if args.scan_id.is_none() {
            bail!("--shard needs the --scan-id every shard of the scan shares");
        }
        let scan_id = config.scan_id.clone().unwrap_or_default();
        let plan = match rolescope_pipeline::shards::stored_plan(&dest, &scan_id, Some(id.count))? {
            Some(plan) => plan,
            None => rolescope_pipeline::shards::plan(&dest, &scan_id, id.count)?,
        };
        let shard = rolescope_model::shard::Shard {
            id,
            assignment: plan.assignment.clone(),
        };
        config.shard = Some(shard.clone());
        return shard_part(
            runtime,
            config,
            &dest,
            (&shard, &plan),
            args.quiet,
            args.strict,
        );
    }
    let outcome = pipeline(
        runtime,
        config,
        &Pipeline {
            dest,
            quiet: args.quiet,
            strict: args.strict,
            threshold: crate::analyze_cmd::fail_on(args.fail_on.as_deref())?,
            settings: crate::scp_cmd::settings(args.unused_days, None, &args.scp)?,
            spool: args.spool.clone(),
            usage: args.usage.clone(),
        },
    )?;
    Ok(outcome.exit)
}

/// Read the usage the flags ask for into the collection. The log folder was checked before
/// collection; one that fails now (removed, unreadable) becomes a collection error, and the scan
/// goes on without usage.
fn attach_usage(
    usage: &crate::usage_args::UsageArgs,
    snapshot: &mut rolescope_model::snapshot::Snapshot,
    aws: &CollectorConfig,
) {
    if let Err(e) = usage.attach(snapshot, aws, true) {
        eprintln!("rolescope: {e:#}");
        snapshot
            .collection_errors
            .push(rolescope_model::CollectionError {
                account_id: None,
                region: None,
                service: "cloudtrail".into(),
                operation: "ListLogFiles".into(),
                error_code: "Unreadable".into(),
                message: format!("{e:#}"),
                resource_arn: None,
            });
    }
}

/// What a scan pipeline needs besides the collector configuration.
pub struct Pipeline {
    /// Where everything goes.
    pub dest: rolescope_exporter::Destination,
    /// No progress bars.
    pub quiet: bool,
    /// Exit 2 on a partial scan.
    pub strict: bool,
    /// `--fail-on`.
    pub threshold: Option<rolescope_analysis::Severity>,
    /// Analysis and SCP settings.
    pub settings: rolescope_pipeline::Settings,
    /// Where the collection is kept when the destination refuses the snapshot.
    pub spool: PathBuf,
    /// CloudTrail usage read after collection.
    pub usage: crate::usage_args::UsageArgs,
}

/// What a scan produced, for callers that report more (demo, benchmarks).
pub struct Outcome {
    /// The exit code.
    pub exit: ExitCode,
    /// Logical API calls by `service:Operation`.
    pub calls: std::collections::BTreeMap<String, u64>,
    /// Functions, roles, findings, collection errors.
    pub counts: (usize, usize, usize, usize),
    /// Wall time of collection.
    pub collect_secs: f64,
    /// The pipeline's stages after collection, with their times.
    pub stages: Vec<rolescope_pipeline::Stage>,
    /// Memory at the end of collection and of each later stage.
    pub memory: Vec<StageMemory>,
    /// Rows written across the main datasets.
    pub rows: usize,
}

/// This process's memory at the end of a stage (Linux; `None` elsewhere).
#[derive(Debug, Clone, Copy)]
pub struct StageMemory {
    /// The stage just ended.
    pub stage: &'static str,
    /// Peak resident set so far: it only grows, so this is the peak up to the stage.
    pub peak: Option<u64>,
    /// Resident set now: with the peaks, what a stage's working memory adds to what the stages
    /// before it left resident.
    pub resident: Option<u64>,
}

impl StageMemory {
    fn now(stage: &'static str) -> Self {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        Self {
            stage,
            peak: status_bytes(&status, "VmHWM:"),
            resident: status_bytes(&status, "VmRSS:"),
        }
    }
}

/// Peak resident set of this process so far, from /proc (Linux).
pub fn peak_rss_bytes() -> Option<u64> {
    status_bytes(
        &std::fs::read_to_string("/proc/self/status").ok()?,
        "VmHWM:",
    )
}

/// A `kB` field of /proc/self/status, in bytes.
fn status_bytes(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The error of a pipeline that failed after collection, saying where the collection is: in
/// the destination when the snapshot got there, else in the local spool folder (written now).
/// Either way the scan is finished later with `rolescope analyze --snapshot … --out …`.
fn late_failure(
    e: rolescope_pipeline::PipelineError,
    snapshot: &rolescope_model::snapshot::Snapshot,
    dest: &rolescope_exporter::Destination,
    spool: &std::path::Path,
) -> anyhow::Error {
    let Some(scan) = snapshot.scan.as_ref() else {
        return e.into();
    };
    let finish = |at: &str| format!("finish with `rolescope analyze --snapshot {at} --out {dest}`");
    // Only once the snapshot is in the destination is the collection safe there; a failure
    // before it (the withdrawal of a previous commit record, the snapshot itself) spools it.
    if e.after_snapshot() {
        let key = rolescope_pipeline::snapshot_key(&scan.scan_id, &scan.started_at.date());
        let at = dest.location(&key);
        return anyhow::Error::from(e).context(format!(
            "the collection is complete in {at}: {}",
            finish(&at)
        ));
    }
    // The scan id was checked before the scan, so it is a safe file name.
    let path = spool.join(format!("{}.jsonl", scan.scan_id));
    match snapshot.write(&path) {
        Ok(()) => anyhow::Error::from(e).context(format!(
            "the collection is kept in {}: {}",
            path.display(),
            finish(&path.display().to_string())
        )),
        Err(spool_error) => anyhow::Error::from(e).context(format!(
            "the collection could not be kept either ({spool_error})"
        )),
    }
}

/// Collect with progress bars on stderr, then stop the runtime.
fn collect(
    runtime: tokio::runtime::Runtime,
    config: CollectorConfig,
    quiet: bool,
) -> Result<rolescope_collector::Collected> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let collected = runtime.block_on(async move {
        let render = tokio::spawn(async move {
            let bar = if quiet {
                ProgressBar::hidden()
            } else {
                ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
            };
            bar.set_style(
                ProgressStyle::with_template("{spinner} accounts {pos}/{len} · {msg} · {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let (mut calls, mut errors) = (0u64, 0u64);
            while let Some(event) = rx.recv().await {
                match event {
                    Progress::AccountsPlanned(n) => bar.set_length(n as u64),
                    Progress::AccountStarted(_) => {}
                    Progress::AccountFinished(_) => bar.inc(1),
                    Progress::ApiCall { .. } => calls += 1,
                    Progress::Error(_) => errors += 1,
                }
                bar.set_message(format!("{calls} calls · {errors} errors"));
            }
            bar.finish_and_clear();
        });
        let result = rolescope_collector::collect(config, Some(tx)).await;
        let _ = render.await;
        result
    })?;
    // Collection is over: stop the runtime, so its worker threads exit and the allocator
    // returns what they freed (an idle thread's freed pages otherwise stay resident through the
    // analysis and the export: ~250 MB at 2,000 accounts).
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    Ok(collected)
}

/// Collect one shard and store its part (no analysis: `finalize` analyses the merged scan).
fn shard_part(
    runtime: tokio::runtime::Runtime,
    config: CollectorConfig,
    dest: &rolescope_exporter::Destination,
    (shard, plan): (
        &rolescope_model::shard::Shard,
        &rolescope_pipeline::shards::Plan,
    ),
    quiet: bool,
    strict: bool,
) -> Result<ExitCode> {
    let _held =
        rolescope_pipeline::lock(dest, &format!("{}.{}", plan.scan_id, shard.id.part_name()))?;
    let collected = {
        let _span = tracing::info_span!("stage", stage = "collect").entered();
        collect(runtime, config, quiet)?
    };
    let snapshot = &collected.snapshot;
    let calls: u64 = collected.calls.values().sum();
    let location = rolescope_pipeline::shards::put_part(dest, shard, plan, snapshot, calls)
        .with_context(|| format!("storing shard {} of scan {}", shard.id, plan.scan_id))?;
    let owned = snapshot
        .accounts
        .iter()
        .filter(|a| shard.owns(a.account_id.as_str()))
        .count();
    let scanned = snapshot
        .accounts
        .iter()
        .filter(|a| a.scanned && shard.owns(a.account_id.as_str()))
        .count();
    eprintln!("rolescope scan {} shard {}", plan.scan_id, shard.id);
    eprintln!(
        "  accounts   {scanned} scanned of the {owned} this shard owns ({} in the organization)",
        snapshot.accounts.len()
    );
    eprintln!("  roles      {}", snapshot.roles.len());
    eprintln!("  functions  {}", snapshot.functions.len());
    eprintln!("  API calls  {calls}");
    eprintln!("  errors     {}", snapshot.collection_errors.len());
    eprintln!("  part       {location}");
    eprintln!(
        "  next       rolescope finalize --scan-id {} --out {dest}",
        plan.scan_id
    );
    Ok(if strict && !snapshot.collection_errors.is_empty() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Collect, then the library pipeline (snapshot, analysis, datasets, SCPs, SQL, commit), with
/// progress on stderr and the summary at the end. Shared by `scan` and `demo`.
pub fn pipeline(
    runtime: tokio::runtime::Runtime,
    config: CollectorConfig,
    p: &Pipeline,
) -> Result<Outcome> {
    let dest = &p.dest;
    // One writer per scan id: taken before an hour of collection, held to the commit.
    let held = rolescope_pipeline::lock(
        dest,
        config
            .scan_id
            .as_deref()
            .context("a scan has its id before it starts")?,
    )?;
    let started = std::time::Instant::now();
    let aws = config.clone();
    let mut collected = {
        let _span = tracing::info_span!("stage", stage = "collect").entered();
        collect(runtime, config, p.quiet)?
    };
    attach_usage(&p.usage, &mut collected.snapshot, &aws);
    let collect_secs = started.elapsed().as_secs_f64();
    let mut memory = vec![StageMemory::now("collect")];

    let snapshot = &collected.snapshot;
    let scan = snapshot
        .scan
        .as_ref()
        .context("collector returned no scan record")?;
    let scanned = snapshot.accounts.iter().filter(|a| a.scanned).count();
    eprintln!("rolescope scan {}", scan.scan_id);
    eprintln!(
        "  accounts   {scanned} scanned of {} in the organization",
        snapshot.accounts.len()
    );
    eprintln!("  regions    {}", scan.regions.join(", "));
    eprintln!("  roles      {}", snapshot.roles.len());
    eprintln!("  functions  {}", snapshot.functions.len());
    eprintln!("  API calls  {}", collected.calls.values().sum::<u64>());
    crate::summary::print_errors(&snapshot.collection_errors, snapshot.accounts.len());
    let outcome = rolescope_pipeline::run_locked(
        snapshot,
        &p.settings,
        &held,
        rolescope_pipeline::SnapshotWrite::Store,
        &mut |stage| memory.push(StageMemory::now(stage.name)),
    )
    .map_err(|e| late_failure(e, snapshot, dest, &p.spool))?;
    crate::summary::print_outcome(&outcome, dest);
    // An organization none of whose member accounts could be read is a failed scan, whatever
    // the management account held: say so and exit 2 (the outputs are written all the same).
    // The accounts the scan tried: those it read, and those an account-wide error names (the
    // ones --accounts, --ou or --exclude-accounts left out were not tried).
    let tried: std::collections::BTreeSet<&str> = snapshot
        .accounts
        .iter()
        .filter(|a| a.scanned)
        .map(|a| a.account_id.as_str())
        .chain(
            snapshot
                .collection_errors
                .iter()
                .filter(|e| e.region.is_none() && e.resource_arn.is_none())
                .filter_map(|e| e.account_id.as_ref().map(|a| a.as_str())),
        )
        .collect();
    let unread_members = tried.len() > 1 && scanned <= 1;
    let exit = if unread_members {
        eprintln!(
            "rolescope: no member account could be read ({} of {} accounts tried unread); see the causes above",
            tried.len() - scanned,
            tried.len()
        );
        ExitCode::from(2)
    } else if p.strict && !snapshot.collection_errors.is_empty() {
        let s = &outcome.summary;
        eprintln!(
            "rolescope: --strict: {} collection errors, {} functions and {} roles incomplete; the outputs above are written and committed",
            snapshot.collection_errors.len(),
            s.incomplete_functions,
            s.incomplete_roles
        );
        ExitCode::from(2)
    } else {
        crate::summary::exit_code(&outcome.summary, p.threshold)
    };
    Ok(Outcome {
        exit,
        calls: collected.calls.clone().into_iter().collect(),
        counts: (
            snapshot.functions.len(),
            snapshot.roles.len(),
            outcome.analysis.findings.len(),
            snapshot.collection_errors.len(),
        ),
        collect_secs,
        stages: outcome.stages.clone(),
        memory,
        rows: snapshot.accounts.len()
            + snapshot.functions.len()
            + snapshot.roles.len()
            + outcome.analysis.findings.len()
            + snapshot.collection_errors.len(),
    })
}

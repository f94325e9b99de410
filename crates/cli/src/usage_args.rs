//! The usage flags shared by `scan`, `analyze`, `import` and `demo`: where CloudTrail's log
//! files are, the window, the data events the trail logs (docs/usage.md).

use anyhow::{Context, Result, bail};
use clap::Args;
use rolescope_collector::CollectorConfig;
use rolescope_collector::cloudtrail::{
    AthenaSource, LogSource, attach_athena, attach_logs, attach_store,
};
use rolescope_model::snapshot::Snapshot;
use std::path::PathBuf;

/// Usage from CloudTrail.
#[derive(Debug, Clone, Args)]
pub struct UsageArgs {
    /// CloudTrail log files, as a trail delivers them (`AWSLogs/…`, any part of it, or one
    /// file): what each role really did fills `role_activity`.
    #[arg(long, value_name = "PATH")]
    pub cloudtrail_logs: Option<PathBuf>,
    /// The usage window: days of CloudTrail before the scan's start.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub usage_days: u32,
    /// Services whose data events the trail logs (`s3,dynamodb,lambda,sqs,sns,kinesis`; default:
    /// none, as AWS's default). Their data calls are observable; others' are not.
    #[arg(long, value_delimiter = ',', value_name = "SERVICE")]
    pub cloudtrail_data_events: Vec<String>,
    /// The organization trail's Athena table (`database.table`, as AWS documents it with
    /// partition projection): one aggregate query and one coverage query run there instead of
    /// reading log files (docs/usage.md).
    #[arg(
        long,
        value_name = "DATABASE.TABLE",
        conflicts_with = "cloudtrail_logs"
    )]
    pub cloudtrail_athena: Option<String>,
    /// The Athena workgroup.
    #[arg(long, default_value = "primary", requires = "cloudtrail_athena")]
    pub athena_workgroup: String,
    /// Where Athena writes query results (`s3://…`), when the workgroup does not set it.
    #[arg(long, value_name = "S3_URI", requires = "cloudtrail_athena")]
    pub athena_output: Option<String>,
}

impl UsageArgs {
    /// Check the flags before any work: the log folder exists, the data events are services.
    pub fn check(&self) -> Result<()> {
        self.data_events()?;
        if let Some(root) = &self.cloudtrail_logs {
            match root.to_str().and_then(|r| r.strip_prefix("s3://")) {
                Some(rest) if rest.split('/').next().is_none_or(str::is_empty) => {
                    bail!(
                        "--cloudtrail-logs {}: expected s3://bucket/prefix",
                        root.display()
                    )
                }
                // An S3 prefix is listed when it is read: a missing one lists nothing.
                Some(_) => {}
                None => {
                    std::fs::metadata(root)
                        .with_context(|| format!("--cloudtrail-logs {}", root.display()))?;
                }
            }
        } else if let Some(table) = &self.cloudtrail_athena {
            let valid = |s: &str| {
                !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            };
            if !table
                .split_once('.')
                .is_some_and(|(d, t)| valid(d) && valid(t))
            {
                bail!(
                    "--cloudtrail-athena {table:?}: expected DATABASE.TABLE (letters, digits, _)"
                );
            }
            if let Some(out) = self
                .athena_output
                .as_deref()
                .filter(|o| !o.starts_with("s3://"))
            {
                bail!("--athena-output {out:?}: expected s3://bucket/prefix/");
            }
        } else if !self.cloudtrail_data_events.is_empty() {
            bail!(
                "--cloudtrail-data-events describes the trail of --cloudtrail-logs, which is missing"
            );
        }
        Ok(())
    }

    fn data_events(&self) -> Result<Vec<String>> {
        let catalog = rolescope_policy::catalog();
        let mut data_events = Vec::new();
        for s in &self.cloudtrail_data_events {
            let s = s.trim().to_ascii_lowercase();
            if catalog.service(&s).is_none() {
                bail!(
                    "--cloudtrail-data-events: {s:?} is not a service prefix (e.g. s3, dynamodb, lambda)"
                );
            }
            data_events.push(s);
        }
        Ok(data_events)
    }

    /// Read the log files (or run the Athena queries with `aws`'s credentials and endpoint)
    /// into the snapshot, when asked; prints what was read on stderr. With `live` (a scan) and
    /// no `--cloudtrail-data-events`, the trail's own event selectors say which data events it
    /// logs; a failure to read them is a collection error, and no data event counts as logged.
    pub fn attach(&self, snapshot: &mut Snapshot, aws: &CollectorConfig, live: bool) -> Result<()> {
        self.check()?;
        let asked = self.cloudtrail_logs.is_some() || self.cloudtrail_athena.is_some();
        let mut this = self.clone();
        if live && asked && self.cloudtrail_data_events.is_empty() {
            match rolescope_collector::cloudtrail::trail_data_events(aws) {
                Ok(services) => {
                    eprintln!(
                        "  trail      data events of {}",
                        if services.is_empty() {
                            "no service".to_string()
                        } else {
                            services.join(", ")
                        }
                    );
                    this.cloudtrail_data_events = services;
                }
                Err(e) => snapshot.collection_errors.push(*e),
            }
        }
        this.attach_source(snapshot, aws)
    }

    fn attach_source(&self, snapshot: &mut Snapshot, aws: &CollectorConfig) -> Result<()> {
        if let Some(table) = &self.cloudtrail_athena {
            return self.attach_athena(snapshot, table, aws);
        }
        let Some(root) = &self.cloudtrail_logs else {
            return Ok(());
        };
        let data_events = self.data_events()?;
        let started = std::time::Instant::now();
        let _span = tracing::info_span!("stage", stage = "usage").entered();
        let stats = match root.to_str().filter(|r| r.starts_with("s3://")) {
            Some(url) => {
                let store = crate::output::S3Logs::open(url, aws)?;
                attach_store(snapshot, &store, self.usage_days, &data_events)
            }
            None => {
                let source = LogSource {
                    root: root.clone(),
                    days: self.usage_days,
                    data_events,
                };
                attach_logs(snapshot, &source)
            }
        }
        .context("reading CloudTrail logs")?;
        let covered = snapshot
            .usage_coverage
            .iter()
            .filter(|c| c.covers_window())
            .count();
        eprintln!(
            "  CloudTrail {} files, {} records in {:.1}s: {} calls of scanned roles counted, {} failed calls ignored, {} unmapped; {} of {} accounts cover the {}-day window",
            stats.files,
            stats.records,
            started.elapsed().as_secs_f64(),
            stats.counted,
            stats.failed,
            stats.unmapped,
            covered,
            snapshot.usage_coverage.len(),
            self.usage_days
        );
        Ok(())
    }

    fn attach_athena(
        &self,
        snapshot: &mut Snapshot,
        table: &str,
        aws: &CollectorConfig,
    ) -> Result<()> {
        let source = AthenaSource {
            table: table.to_string(),
            workgroup: self.athena_workgroup.clone(),
            output: self.athena_output.clone(),
            days: self.usage_days,
            data_events: self.data_events()?,
        };
        let started = std::time::Instant::now();
        let outcome = {
            let _span = tracing::info_span!("stage", stage = "usage").entered();
            attach_athena(snapshot, &source, aws).context("querying CloudTrail in Athena")?
        };
        eprintln!(
            "  Athena     {} queries ({}), {:.1} MB scanned in {:.1}s: {} calls of scanned roles counted, {} unmapped",
            outcome.queries.len(),
            outcome.queries.join(", "),
            outcome.bytes_scanned as f64 / 1e6,
            started.elapsed().as_secs_f64(),
            outcome.stats.counted,
            outcome.stats.unmapped
        );
        Ok(())
    }
}

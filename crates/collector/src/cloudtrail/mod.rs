//! What each role really did, from CloudTrail: the log files a trail delivers
//! (`--cloudtrail-logs`), aggregated per role session, action and resource (docs/usage.md).
//!
//! This is an edge like the SDK's: log files are untrusted input. A file that cannot be read, a
//! record without the fields a call has, an event no IAM action is known for: each becomes a
//! collection error naming the file (and record), and the rest is still read.

pub mod athena;
mod athena_sdk;
mod events;
mod logs;
mod resources;
mod selectors;
mod store;

pub use athena_sdk::{AthenaOutcome, AthenaSource, attach_athena};
use rolescope_model::{AccountId, Activity, CollectionError, Timestamp, UsageCoverage};
pub use selectors::trail_data_events;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
pub use store::{Level, LocalStore, LogStore};

/// What to read: whose calls, where and when.
#[derive(Debug, Clone)]
pub struct UsageRequest {
    /// The roles whose sessions count (every role of the scanned accounts), by exact ARN.
    pub roles: HashSet<String>,
    /// The scanned accounts: the only ones listed, and each gets a coverage row.
    pub accounts: Vec<AccountId>,
    /// The scanned regions (empty: every region).
    pub regions: Vec<String>,
    /// The window's start.
    pub window_start: Timestamp,
    /// Its end.
    pub window_end: Timestamp,
    /// Services whose data events the trail logs (`--cloudtrail-data-events`).
    pub data_events: Vec<String>,
}

const DAY: i64 = 86_400_000;

/// The start of the day of a source's first record in the window (None: no records).
fn covered_from(first: Option<i64>, req: &UsageRequest) -> Option<Timestamp> {
    first.map(|f| Timestamp::from_millis((f - f.rem_euclid(DAY)).max(req.window_start.millis)))
}

/// The end of the day of its last record, at most the window's end.
fn covered_to(last: Option<i64>, req: &UsageRequest) -> Option<Timestamp> {
    last.map(|l| Timestamp::from_millis((l - l.rem_euclid(DAY) + DAY).min(req.window_end.millis)))
}

/// Counts of one read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogStats {
    /// Files read (or tried).
    pub files: u64,
    /// Bytes of JSON read, decompressed.
    pub bytes: u64,
    /// Records read.
    pub records: u64,
    /// Successful calls of scanned roles inside the window: the aggregated ones.
    pub counted: u64,
    /// Failed calls of scanned roles (an `errorCode`): never counted as use.
    pub failed: u64,
    /// Calls by people, services, other roles.
    pub other_principals: u64,
    /// Records outside the window.
    pub outside_window: u64,
    /// Calls of scanned roles with no known IAM action.
    pub unmapped: u64,
}

impl LogStats {
    fn add(&mut self, o: &LogStats) {
        self.files += o.files;
        self.bytes += o.bytes;
        self.records += o.records;
        self.counted += o.counted;
        self.failed += o.failed;
        self.other_principals += o.other_principals;
        self.outside_window += o.outside_window;
        self.unmapped += o.unmapped;
    }
}

/// What a read found.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    /// The aggregated calls.
    pub activity: Vec<Activity>,
    /// Per scanned account, how much of the window the logs covered.
    pub coverage: Vec<UsageCoverage>,
    /// Files and records that could not be read, events that could not be mapped.
    pub errors: Vec<CollectionError>,
    /// Counts.
    pub stats: LogStats,
}

/// The folder (or file) of log files could not be listed at all.
#[derive(Debug, thiserror::Error)]
#[error("CloudTrail logs {path}: {error}")]
pub struct UsageError {
    /// The folder.
    pub path: PathBuf,
    /// Why.
    pub error: std::io::Error,
}

/// Read the CloudTrail log files under `root` (a folder as a trail delivers them, any part of
/// it, or one file).
pub fn read_logs(root: &Path, req: &UsageRequest) -> Result<Usage, UsageError> {
    let failed = |error| UsageError {
        path: root.to_path_buf(),
        error,
    };
    let store = LocalStore::new(root).map_err(failed)?;
    read_store(&store, req).map_err(|e| UsageError {
        path: root.to_path_buf(),
        ..e
    })
}

/// Read the log files of any store (an S3 prefix, through the binary).
pub fn read_store(store: &dyn LogStore, req: &UsageRequest) -> Result<Usage, UsageError> {
    let files = logs::list(store, req).map_err(|error| UsageError {
        path: store.name("").into(),
        error,
    })?;
    Ok(logs::read(store, &files, req))
}

/// Where the log files are and how to read them (`--cloudtrail-logs`, `--usage-days`,
/// `--cloudtrail-data-events`).
#[derive(Debug, Clone)]
pub struct LogSource {
    /// A folder as a trail delivers it (any part of it), or one file.
    pub root: PathBuf,
    /// The usage window, in days before the scan started.
    pub days: u32,
    /// Services whose data events the trail logs.
    pub data_events: Vec<String>,
}

/// Read the log files for the snapshot's roles, accounts and regions over the window that ends
/// when the scan started, and put what they show in the snapshot: its activity and coverage
/// rows of this source replace any it had, and its errors join the collection errors.
pub fn attach_logs(
    snapshot: &mut rolescope_model::snapshot::Snapshot,
    source: &LogSource,
) -> Result<LogStats, UsageError> {
    let store = LocalStore::new(&source.root).map_err(|error| UsageError {
        path: source.root.clone(),
        error,
    })?;
    attach_store(snapshot, &store, source.days, &source.data_events)
}

/// [`attach_logs`] over any store.
pub fn attach_store(
    snapshot: &mut rolescope_model::snapshot::Snapshot,
    store: &dyn LogStore,
    days: u32,
    data_events: &[String],
) -> Result<LogStats, UsageError> {
    let req = request_for(snapshot, days, data_events);
    let usage = read_store(store, &req)?;
    let this = rolescope_model::ActivitySource::CloudtrailLogs;
    snapshot.activity.retain(|a| a.source != this);
    snapshot.usage_coverage.retain(|c| c.source != this);
    snapshot
        .collection_errors
        .retain(|e| !(e.service == "cloudtrail" && LOG_OPERATIONS.contains(&e.operation.as_str())));
    snapshot.activity.extend(usage.activity);
    snapshot.usage_coverage.extend(usage.coverage);
    snapshot.collection_errors.extend(usage.errors);
    snapshot.canonical_order();
    Ok(usage.stats)
}

/// What a read of the snapshot's usage asks for: its roles (and its functions' roles), its
/// scanned accounts (or, for an import without them, its roles' accounts), its regions, and the
/// window of `days` that ends when the scan started.
pub(crate) fn request_for(
    snapshot: &rolescope_model::snapshot::Snapshot,
    days: u32,
    data_events: &[String],
) -> UsageRequest {
    let end = snapshot
        .scan
        .as_ref()
        .map_or_else(Timestamp::now, |s| s.started_at);
    let start = Timestamp::from_millis(end.millis - i64::from(days) * DAY);
    let mut accounts: Vec<AccountId> = snapshot
        .accounts
        .iter()
        .filter(|a| a.scanned)
        .map(|a| a.account_id.clone())
        .collect();
    if accounts.is_empty() {
        accounts = snapshot
            .roles
            .iter()
            .map(|r| r.account_id.clone())
            .collect();
        accounts.sort();
        accounts.dedup();
    }
    UsageRequest {
        roles: snapshot
            .roles
            .iter()
            .map(|r| r.arn.clone())
            .chain(snapshot.functions.iter().map(|f| f.role_arn.to_string()))
            .collect(),
        accounts,
        regions: snapshot
            .scan
            .as_ref()
            .map(|s| s.regions.clone())
            .unwrap_or_default(),
        window_start: start,
        window_end: end,
        data_events: data_events.to_vec(),
    }
}

/// The operations of the errors a log read records (a new read replaces them).
const LOG_OPERATIONS: &[&str] = &["ReadLogFile", "MapEvent"];

#[cfg(test)]
mod tests;

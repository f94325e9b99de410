//! The stages after collection as one library call: a snapshot in, the scan's whole output out.
//!
//! [`run`] takes a snapshot (just collected, imported, or read back), [`Settings`] and a
//! [`Destination`], evaluates the organization once ([`rolescope_analysis::Evaluated`]) and
//! runs, in order: analysis → history → datasets → OCSF/ASFF → SCP recommendations → the HTML
//! report → Athena SQL → the commit record (`scan_runs`, written last, so a reader that finds it
//! finds every other table of the scan), then copies the scan's report to `report.html`.
//! `scan`, `import`, `analyze --out` and `demo` all call it; the binary only parses flags into
//! [`Settings`] and renders what [`Outcome`] says.
//!
//! Every stage runs in a `tracing` span named after it that records its duration and item
//! count; the same measurement is returned in [`Outcome::stages`] for the summary and the
//! benchmarks.
//!
//! Invariant: synchronous, no tokio and no AWS SDK (the destination hides how S3 is reached).

mod baseline;
mod lock;
pub mod shards;
#[cfg(test)]
mod shards_tests;

pub use lock::{ScanLock, lock};

use baseline::{Loaded, compare_with_baseline, load_baseline, scan_accounts};

use rolescope_analysis::scp::{ScpPlan, ScpSettings};
use rolescope_analysis::{Analysis, Evaluated, Severity};
use rolescope_exporter::history::History;
use rolescope_exporter::{Destination, ExportError};
use rolescope_model::snapshot::Snapshot;
use std::time::Instant;

/// Everything the stages after collection can be told. `Default` holds the one set of
/// defaults every command uses.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Checks and scores.
    pub analysis: rolescope_analysis::Settings,
    /// SCP recommendations.
    pub scp: ScpSettings,
    /// What the scan is compared with (docs/history.md).
    pub baseline: Baseline,
}

/// The scan a run is compared with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Baseline {
    /// The latest committed scan of the same organization in the destination.
    #[default]
    Latest,
    /// A committed scan of the destination, by id.
    ScanId(String),
    /// A snapshot file (no `first_seen` comes with it: the findings it has count as first
    /// seen at its start).
    Snapshot(std::path::PathBuf),
    /// No comparison: no `finding_changes`, `first_seen` restarts.
    None,
}

/// A setting out of range.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A name that becomes a file name.
    #[error(transparent)]
    Name(#[from] rolescope_model::valid::InvalidId),
    /// `unused_days` below one.
    #[error("the unused window must be at least 1 day (got {0})")]
    UnusedDays(i64),
    /// An SCP size limit AWS would never accept.
    #[error("{what} must be at least {min} (got {got})")]
    TooSmall {
        /// Which setting.
        what: &'static str,
        /// Its minimum.
        min: usize,
        /// What was given.
        got: usize,
    },
}

impl Settings {
    /// Check the ranges; the usage window of the SCP impact simulation follows `unused_days`.
    pub fn validated(mut self) -> Result<Self, SettingsError> {
        rolescope_model::valid::file_name("boundary name", &self.scp.boundary_name)?;
        if self.analysis.unused_days < 1 {
            return Err(SettingsError::UnusedDays(self.analysis.unused_days));
        }
        if self.scp.max_chars < 200 {
            return Err(SettingsError::TooSmall {
                what: "the characters per SCP",
                min: 200,
                got: self.scp.max_chars,
            });
        }
        if self.scp.max_per_target < 1 {
            return Err(SettingsError::TooSmall {
                what: "the SCPs per target",
                min: 1,
                got: self.scp.max_per_target,
            });
        }
        self.scp.window_days = self.analysis.unused_days;
        Ok(self)
    }
}

/// A stage failed; what was written before it stays, and the error names what failed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The scan id cannot name a path.
    #[error(transparent)]
    ScanId(#[from] rolescope_model::valid::InvalidId),
    /// A record of the snapshot is invalid or repeated; nothing was written after it was found.
    #[error("the snapshot{}", stored.as_ref().map(|s| format!(" (kept at {s})")).unwrap_or_default())]
    Input {
        /// Where the snapshot was stored before it was checked, if it was.
        stored: Option<String>,
        /// What is wrong, and where.
        #[source]
        source: rolescope_model::snapshot::SnapshotError,
    },
    /// The snapshot has no closing scan record.
    #[error("the snapshot has no scan record; was the scan interrupted?")]
    NoScan,
    /// Another run writes the same scan into the same destination.
    #[error(
        "scan {scan_id} is being written to this destination by another run ({holder}); if no such run is active (it was killed), remove {lock}"
    )]
    Locked {
        /// The scan id.
        scan_id: String,
        /// Who holds the lock, as it says.
        holder: String,
        /// The lock object.
        lock: String,
    },
    /// An explicit `--baseline` that cannot be one: unreadable, missing, not a snapshot, or a
    /// scan of another organization. Nothing was written.
    #[error("--baseline {0}")]
    Baseline(String),
    /// The lock could not be taken or checked.
    #[error("taking the lock of the scan")]
    Lock(#[source] rolescope_exporter::destination::DestinationError),
    /// Storing the snapshot failed (the source names the object, so the message does not).
    #[error("writing the snapshot")]
    Snapshot {
        /// Where it was going.
        location: String,
        /// Why it failed.
        #[source]
        source: rolescope_exporter::destination::DestinationError,
    },
    /// The previous commit record of a re-run scan id could not be withdrawn (nothing of this
    /// run is written yet).
    #[error("withdrawing the previous commit record of the scan")]
    Withdraw(#[source] ExportError),
    /// The scan is committed, but its report could not be copied to `report.html`.
    #[error(
        "the scan is committed and its report is at {report}, but copying it to report.html failed"
    )]
    LatestReport {
        /// The scan's own report.
        report: String,
        /// Why the copy failed.
        #[source]
        source: rolescope_exporter::destination::DestinationError,
    },
    /// A stage's output could not be written.
    #[error("writing the {stage}")]
    Stage {
        /// Which output.
        stage: &'static str,
        /// Why it failed.
        #[source]
        source: ExportError,
    },
}

impl PipelineError {
    /// Whether the snapshot was in the destination when this error happened: the stages after
    /// it failed, or its check did after it was stored. Otherwise the caller must keep the
    /// collection itself.
    pub fn after_snapshot(&self) -> bool {
        matches!(
            self,
            PipelineError::Stage { .. }
                | PipelineError::LatestReport { .. }
                | PipelineError::Input {
                    stored: Some(_),
                    ..
                }
        )
    }
}

/// One stage's measurement: the same figures its tracing span records.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// `snapshot`, `evaluate`, `analysis`, `history`, `datasets`, `triage`, `scp`, `report`,
    /// `sql` or `commit`.
    pub name: &'static str,
    /// Wall time.
    pub seconds: f64,
    /// What the stage counted: roles evaluated, findings, files written, recommendations.
    pub items: usize,
}

/// What a run produced.
#[derive(Debug)]
pub struct Outcome {
    /// Findings, scores and suggestions.
    pub analysis: Analysis,
    /// The SCP recommendations.
    pub plan: ScpPlan,
    /// Where the snapshot went, when the run wrote it.
    pub snapshot: Option<String>,
    /// Every Parquet file written.
    pub datasets: Vec<String>,
    /// Where the HTML report of the scan went (`report.html`, the latest committed scan's).
    pub report: String,
    /// The stages in order.
    pub stages: Vec<Stage>,
    /// Counts for the summary.
    pub summary: Summary,
    /// The comparison with the baseline scan: its id and the one-line summary of the changes;
    /// or why there is none.
    pub history: Result<(String, String), String>,
}

/// Counts for the closing summary of a command.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// Live findings by severity, critical first.
    pub live: [usize; 5],
    /// Findings a boundary, SCP or deny blocks.
    pub mitigated: usize,
    /// The riskiest roles: (role ARN, account, score, the factor that weighs most).
    pub top_roles: Vec<(String, String, i32, String)>,
    /// Functions with a part that could not be read (policy or URLs unknown).
    pub incomplete_functions: usize,
    /// Roles with a part that could not be read (a referenced policy or the last-accessed
    /// report unknown).
    pub incomplete_roles: usize,
}

impl Summary {
    /// The counts of an analysis.
    pub fn of(analysis: &Analysis) -> Self {
        let mut s = Summary::default();
        for f in &analysis.findings {
            match &f.mitigated_by {
                Some(_) => s.mitigated += 1,
                None => s.live[f.severity as usize] += 1,
            }
        }
        s.top_roles = analysis
            .roles_by_risk()
            .into_iter()
            .take(5)
            .filter(|r| r.score.score > 0)
            .map(|r| {
                let reason = r.score.main_factor().unwrap_or_default().to_string();
                (
                    r.role_arn.clone(),
                    r.account_id.clone(),
                    r.score.score,
                    reason,
                )
            })
            .collect();
        s
    }

    /// Whether a live finding at or above `threshold` exists.
    pub fn any_at_or_above(&self, threshold: Severity) -> bool {
        self.live[..=threshold as usize].iter().any(|n| *n > 0)
    }
}

/// Whether [`run`] stores the snapshot it is given (a fresh collection or import) or only
/// reads it (`analyze --out`, where the snapshot already lives elsewhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotWrite {
    /// Store it under `snapshots/dt=…/<scan-id>.jsonl` first.
    Store,
    /// Leave it where it is.
    Skip,
}

/// Where a scan's snapshot is stored: `snapshots/dt=YYYY-MM-DD/<scan_id>.jsonl`, partitioned
/// like the datasets.
pub fn snapshot_key(scan_id: &str, date: &str) -> String {
    format!("snapshots/dt={date}/{scan_id}.jsonl")
}

/// The latest committed scan's report, at the top of the destination.
pub const REPORT: &str = "report.html";

/// Where a scan's own report is stored: `reports/dt=YYYY-MM-DD/<scan_id>.html`.
pub fn report_key(scan_id: &str, date: &str) -> String {
    format!("reports/dt={date}/{scan_id}.html")
}

/// Store a snapshot atomically; returns where it went.
pub fn put_snapshot(dest: &Destination, snapshot: &Snapshot) -> Result<String, PipelineError> {
    let scan = snapshot.scan.as_ref().ok_or(PipelineError::NoScan)?;
    let key = snapshot_key(&scan.scan_id, &scan.started_at.date());
    dest.put_streamed(&key, |w| snapshot.write_to(w))
        .map_err(|source| PipelineError::Snapshot {
            location: dest.location(&key),
            source,
        })
}

/// Run one stage in its span, timed; `items` counts what it produced.
fn measure<T, E>(
    name: &'static str,
    items: impl FnOnce(&T) -> usize,
    f: impl FnOnce() -> Result<T, E>,
) -> Result<(T, Stage), E> {
    let span = tracing::info_span!(
        "stage",
        stage = name,
        items = tracing::field::Empty,
        ms = tracing::field::Empty
    );
    let _entered = span.enter();
    let started = Instant::now();
    let value = f()?;
    let stage = Stage {
        name,
        seconds: started.elapsed().as_secs_f64(),
        items: items(&value),
    };
    span.record("items", stage.items);
    span.record("ms", (stage.seconds * 1000.0).round() as u64);
    Ok((value, stage))
}

/// Times stages and records them in spans.
struct Stages<'h> {
    done: Vec<Stage>,
    hook: &'h mut dyn FnMut(&Stage),
}

impl Stages<'_> {
    /// Run one stage in its span; `items` counts what it produced.
    fn run<T, E>(
        &mut self,
        name: &'static str,
        items: impl FnOnce(&T) -> usize,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let (value, stage) = measure(name, items, f)?;
        self.record(stage);
        Ok(value)
    }

    /// Record a stage measured elsewhere (on another thread).
    fn record(&mut self, stage: Stage) {
        (self.hook)(&stage);
        self.done.push(stage);
    }
}

/// Run every stage after collection over `snapshot`, writing to `dest`. `after_stage` is called
/// as each stage ends (the benchmarks read the process's peak memory there).
pub fn run(
    snapshot: &Snapshot,
    settings: &Settings,
    dest: &Destination,
    write: SnapshotWrite,
    after_stage: &mut dyn FnMut(&Stage),
) -> Result<Outcome, PipelineError> {
    let info = snapshot.scan.as_ref().ok_or(PipelineError::NoScan)?;
    let held = lock(dest, &info.scan_id)?;
    run_locked(snapshot, settings, &held, write, after_stage)
}

/// The snapshot's scan record, when its id is valid (it names every output path) and is the
/// one `held` locks.
fn locked_scan<'s>(
    snapshot: &'s Snapshot,
    held: &ScanLock<'_>,
) -> Result<&'s rolescope_model::ScanInfo, PipelineError> {
    let info = snapshot.scan.as_ref().ok_or(PipelineError::NoScan)?;
    rolescope_model::valid::scan_id(&info.scan_id)?;
    if info.scan_id != held.scan_id {
        return Err(PipelineError::Locked {
            scan_id: info.scan_id.clone(),
            holder: format!("this run, which locked scan {}", held.scan_id),
            lock: held.dest.location(&held.key),
        });
    }
    Ok(info)
}

/// The scan's report: its key and the page.
type Page = (String, String);

/// What the output stages produce: the dataset files, the SCP plan, the report and the four
/// stages (datasets, triage, scp, report).
type Outputs = (Vec<String>, ScpPlan, Page, [Stage; 4]);

/// What the output stages read: the evaluated scan, its analysis and its history.
struct Scan<'s> {
    ev: &'s Evaluated<'s>,
    analysis: &'s Analysis,
    history: Option<&'s History>,
    dest: &'s Destination,
}

/// An output stage failed.
fn stage_err(stage: &'static str) -> impl Fn(ExportError) -> PipelineError {
    move |source| PipelineError::Stage { stage, source }
}

/// The SCP stage running while the history is compared: its plan and its stage.
type ScpRun<'s> = std::thread::ScopedJoinHandle<'s, Result<(ScpPlan, Stage), PipelineError>>;

/// Join a scoped thread, passing its panic on.
fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The datasets and the OCSF/ASFF files, while the SCP stage (started before the history, which
/// it does not read) ends and the report (which shows both) follows it: they read the same
/// evaluated scan and write different objects, so they run at once (their stage times overlap).
/// Returns the dataset files, the plan, the report (key and page) and the four stages in order.
fn outputs(scan: &Scan<'_>, scp: ScpRun<'_>) -> Result<Outputs, PipelineError> {
    let Scan {
        ev,
        analysis,
        history,
        dest,
        ..
    } = *scan;
    let (datasets, triage, scp) = std::thread::scope(|s| {
        let datasets = s.spawn(|| {
            measure("datasets", Vec::len, || {
                let mut files = rolescope_exporter::export(ev, analysis, history, dest)
                    .map_err(stage_err("datasets"))?;
                let scan_id = ev.snapshot.scan.as_ref().map_or("", |s| s.scan_id.as_str());
                files.extend(
                    rolescope_exporter::remediation::export_remediation(
                        ev, analysis, scan_id, dest,
                    )
                    .map_err(stage_err("remediation files"))?,
                );
                Ok::<_, PipelineError>(files)
            })
        });
        let triage = s.spawn(|| {
            measure("triage", Vec::len, || {
                rolescope_exporter::triage::export_triage(ev.snapshot, analysis, history, dest)
                    .map_err(stage_err("OCSF and Security Hub findings"))
            })
        });
        let scp = join(scp).and_then(|(plan, stage)| {
            let (report, report_stage) = report(scan, &plan)?;
            Ok((plan, report, [stage, report_stage]))
        });
        (join(datasets), join(triage), scp)
    });
    let (datasets, datasets_stage) = datasets?;
    let (_, triage_stage) = triage?;
    let (plan, report, [scp_stage, report_stage]) = scp?;
    Ok((
        datasets,
        plan,
        report,
        [datasets_stage, triage_stage, scp_stage, report_stage],
    ))
}

/// The SCP recommendations, written under the scan.
fn scp_stage(
    ev: &Evaluated<'_>,
    analysis: &Analysis,
    settings: &Settings,
    dest: &Destination,
) -> Result<(ScpPlan, Stage), PipelineError> {
    let info = ev.snapshot.scan.as_ref().ok_or(PipelineError::NoScan)?;
    measure(
        "scp",
        |p: &ScpPlan| p.recommendations.len(),
        || {
            let plan = rolescope_analysis::scp::recommend(ev, analysis, &settings.scp);
            rolescope_exporter::scp::export_scp(
                &plan,
                &settings.scp,
                &info.scan_id,
                &info.started_at.date(),
                dest,
            )
            .map_err(stage_err("SCP recommendations"))?;
            Ok::<_, PipelineError>(plan)
        },
    )
}

/// The report, which shows the SCP plan and the history.
fn report(scan: &Scan<'_>, plan: &ScpPlan) -> Result<(Page, Stage), PipelineError> {
    let info = scan
        .ev
        .snapshot
        .scan
        .as_ref()
        .ok_or(PipelineError::NoScan)?;
    measure(
        "report",
        |_| 1,
        || {
            let html = rolescope_report::render(&rolescope_report::Input {
                ev: scan.ev,
                analysis: scan.analysis,
                plan,
                changes: scan
                    .history
                    .map(|h| (h.previous.scan_id.as_str(), &h.changes)),
                location: &scan.dest.location(""),
                limits: rolescope_report::Limits::default(),
            });
            let key = report_key(&info.scan_id, &info.started_at.date());
            scan.dest
                .put(&key, html.clone().into_bytes())
                .map(|_| (key, html))
                .map_err(|e| stage_err("HTML report")(ExportError::from(e)))
        },
    )
}

/// The summary counts of a run.
fn summary_of(snapshot: &Snapshot, analysis: &Analysis) -> Summary {
    let mut summary = Summary::of(analysis);
    summary.incomplete_functions = snapshot
        .functions
        .iter()
        .filter(|f| !f.unread.is_empty())
        .count();
    summary.incomplete_roles = analysis
        .roles
        .iter()
        .filter(|r| !r.unread.is_empty())
        .count();
    summary
}

/// [`run`] for a caller that took the scan's lock itself (a scan takes it before collecting).
pub fn run_locked(
    snapshot: &Snapshot,
    settings: &Settings,
    held: &ScanLock<'_>,
    write: SnapshotWrite,
    after_stage: &mut dyn FnMut(&Stage),
) -> Result<Outcome, PipelineError> {
    let dest = held.dest;
    let info = locked_scan(snapshot, held)?;
    let mut stages = Stages {
        done: Vec::new(),
        hook: after_stage,
    };
    // An explicit baseline is checked before anything is written: a wrong one would turn every
    // finding into "resolved" or "new".
    baseline::check_explicit(dest, info, &scan_accounts(snapshot), settings)
        .map_err(PipelineError::Baseline)?;
    // A re-run with the same id: the old commit record goes first, so a reader never takes a
    // half-replaced scan for a complete one.
    rolescope_exporter::uncommit(info, dest).map_err(PipelineError::Withdraw)?;
    let (stored, analysis, history, (datasets, plan, report)) = std::thread::scope(|s| {
        // The baseline is read while this scan is analysed; the comparison waits for both.
        let baseline = (settings.baseline != Baseline::None)
            .then(|| s.spawn(|| load_baseline(dest, info, &scan_accounts(snapshot), settings)));
        let (stored, ev, analysis) =
            store_and_analyse(snapshot, settings, dest, write, &mut stages)?;
        let (history, written) = std::thread::scope(|s| {
            // The SCP recommendations do not read the history: they run while it is compared.
            let scp = s.spawn(|| scp_stage(&ev, &analysis, settings, dest));
            let history = history(baseline, snapshot, &analysis, &mut stages)?;
            let scan = Scan {
                ev: &ev,
                analysis: &analysis,
                history: history.as_ref().ok(),
                dest,
            };
            let written = write_outputs(&scan, scp, &mut stages)?;
            Ok::<_, PipelineError>((history, written))
        })?;
        Ok::<_, PipelineError>((stored, analysis, history, written))
    })?;
    // The latest report at the top of the destination, once its scan is committed: only if no
    // committed scan started after this one (a back-filled `analyze --out` of an old snapshot
    // keeps its own report and leaves the top one alone).
    let (key, html) = report;
    let latest = rolescope_exporter::history::committed_scans(dest)
        .map(|scans| scans.last().is_none_or(|last| last.scan_id == info.scan_id))
        .unwrap_or(true);
    let report = if latest {
        dest.put(REPORT, html.into_bytes())
            .map_err(|source| PipelineError::LatestReport {
                report: dest.location(&key),
                source,
            })?
    } else {
        dest.location(&key)
    };
    let summary = summary_of(snapshot, &analysis);
    Ok(Outcome {
        history: history.map(|h| {
            (
                h.previous.scan_id.clone(),
                rolescope_analysis::history::summary(&h.changes),
            )
        }),
        analysis,
        plan,
        snapshot: stored,
        datasets,
        report,
        stages: stages.done,
        summary,
    })
}

/// Every output of an analysed scan, the Athena SQL, then the commit record: the dataset files
/// (the commit record last), the SCP plan and the report.
fn write_outputs(
    scan: &Scan<'_>,
    scp: ScpRun<'_>,
    stages: &mut Stages<'_>,
) -> Result<(Vec<String>, ScpPlan, Page), PipelineError> {
    let dest = scan.dest;
    let (mut datasets, plan, report, measured) = outputs(scan, scp)?;
    for stage in measured {
        stages.record(stage);
    }
    stages.run("sql", Vec::len, || {
        rolescope_exporter::ddl::export_sql(dest).map_err(stage_err("Athena SQL"))
    })?;
    let committed = stages.run(
        "commit",
        |_| 1,
        || {
            rolescope_exporter::commit(scan.ev, scan.analysis, dest)
                .map_err(stage_err("scan_runs commit record"))
        },
    )?;
    datasets.push(committed);
    Ok((datasets, plan, report))
}

/// Store the snapshot (unless told not to) while every other identifier is checked (before any
/// names a path) and the scan is evaluated and analysed. A snapshot that fails the check is still
/// stored, so the collection is kept; nothing is written under the scan before it is stored.
fn store_and_analyse<'s>(
    snapshot: &'s Snapshot,
    settings: &Settings,
    dest: &Destination,
    write: SnapshotWrite,
    stages: &mut Stages<'_>,
) -> Result<(Option<String>, Evaluated<'s>, Analysis), PipelineError> {
    let cat = rolescope_policy::catalog();
    std::thread::scope(|s| {
        let mut store = match write {
            SnapshotWrite::Store => {
                Some(s.spawn(|| measure("snapshot", |_| 1, || put_snapshot(dest, snapshot))))
            }
            SnapshotWrite::Skip => None,
        };
        let mut stored = |stages: &mut Stages<'_>| -> Result<Option<String>, PipelineError> {
            let Some(handle) = store.take() else {
                return Ok(None);
            };
            let (key, stage) = handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            stages.record(stage);
            Ok(Some(key))
        };
        if let Err(source) = snapshot.check() {
            return Err(PipelineError::Input {
                stored: stored(stages)?,
                source,
            });
        }
        let ev = stages.run::<_, PipelineError>(
            "evaluate",
            |ev: &Evaluated<'_>| ev.roles.len(),
            || Ok(Evaluated::new(cat, snapshot, settings.analysis.unused_days)),
        )?;
        let analysis = stages.run::<_, PipelineError>(
            "analysis",
            |a: &Analysis| a.findings.len(),
            || {
                Ok(rolescope_analysis::analyze_evaluated(
                    &ev,
                    &settings.analysis,
                ))
            },
        )?;
        Ok((stored(stages)?, ev, analysis))
    })
}

/// The comparison with the baseline scan; a baseline that cannot be read costs the comparison,
/// never the scan.
fn history(
    baseline: Option<std::thread::ScopedJoinHandle<'_, Result<Loaded, String>>>,
    snapshot: &Snapshot,
    analysis: &Analysis,
    stages: &mut Stages<'_>,
) -> Result<Result<History, String>, PipelineError> {
    Ok(match baseline {
        None => Err("--no-baseline".into()),
        Some(loading) => stages.run::<_, PipelineError>(
            "history",
            |h: &Result<History, String>| h.as_ref().map_or(0, |h| h.changes.findings.len()),
            || {
                let loaded = loading
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                Ok(compare_with_baseline(loaded, (snapshot, analysis)))
            },
        )?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::analysed;

    /// The golden demo snapshot.
    fn demo() -> Snapshot {
        let golden = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden/demo.jsonl");
        Snapshot::read(std::path::Path::new(golden)).unwrap()
    }

    /// An empty local destination of this test process, named `name`.
    fn fresh(name: &str) -> (std::path::PathBuf, Destination) {
        let out = std::env::temp_dir().join(format!("rolescope-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let dest = Destination::local(&out);
        (out, dest)
    }

    /// The demo snapshot with what the golden one lacks: a version and an alias with URLs and
    /// a resource policy, a second URL on a function, and a policy attached nowhere.
    fn demo_with_qualifiers() -> Snapshot {
        use rolescope_model::{FunctionUrl, Qualifier, QualifierKind};
        let mut s = demo();
        let f = &mut s.functions[0];
        let url = |auth: &str, qualifier: Option<&str>| FunctionUrl {
            url: format!("https://{}.lambda-url.on.aws/", qualifier.unwrap_or("fn")),
            auth_type: auth.into(),
            qualifier: qualifier.map(Into::into),
        };
        f.urls = vec![url("AWS_IAM", None), url("NONE", Some("live"))];
        let role = s.roles[1].arn.clone();
        f.qualifiers = vec![
            Qualifier {
                name: "1".into(),
                kind: QualifierKind::Version,
                role_arn: Some(role),
                routing: vec![],
                resource_policy: Some(r#"{"Version":"2012-10-17","Statement":[]}"#.into()),
                unread: vec![],
            },
            Qualifier {
                name: "live".into(),
                kind: QualifierKind::Alias,
                role_arn: None,
                routing: vec![("1".into(), 1_000_000)],
                resource_policy: None,
                unread: vec![],
            },
        ];
        let mut unattached = s.control_policies[1].clone();
        unattached.id = "p-unattached1".into();
        unattached.targets.clear();
        s.control_policies.push(unattached);
        s
    }

    #[test]
    fn a_committed_scans_tables_give_back_the_baseline_its_snapshot_and_analysis_make() {
        let snapshot = demo_with_qualifiers();
        let (out, dest) = fresh("pipeline-baseline");
        let settings = Settings::default();
        run(
            &snapshot,
            &settings,
            &dest,
            SnapshotWrite::Store,
            &mut |_| {},
        )
        .unwrap();
        let committed = rolescope_exporter::history::committed_scans(&dest).unwrap();
        let (read, (first, last)) =
            rolescope_exporter::history::read_baseline(&dest, &committed[0])
                .unwrap()
                .expect("every table is there");
        let expected = analysed(&snapshot, &settings);
        assert!(expected.inventory.qualifiers.len() == 2 && !expected.findings.is_empty());
        let function = expected.inventory.functions.get(&snapshot.functions[0].arn);
        assert!(
            function.is_some_and(|f| f.summary.ends_with("urls [AWS_IAM,NONE]")),
            "{function:?}"
        );
        assert_eq!(read.inventory, expected.inventory);
        assert_eq!(read.scores, expected.scores);
        assert_eq!(read.findings, expected.findings);
        let started = snapshot.scan.as_ref().unwrap().started_at.millis;
        assert_eq!(first.len(), expected.findings.len());
        assert!(first.values().chain(last.values()).all(|t| *t == started));
        std::fs::remove_dir_all(&out).unwrap();
    }

    /// The demo snapshot cut down to one account, as a scan of that account alone (no
    /// organization) would have it.
    fn standalone(index: usize, scan_id: &str, started_at: i64) -> Snapshot {
        let mut s = demo();
        let account = s.accounts[index].clone();
        let id = account.account_id.clone();
        s.accounts = vec![rolescope_model::Account {
            parent_id: String::new(),
            ou_path: String::new(),
            ..account
        }];
        s.org_units.clear();
        s.control_policies.clear();
        s.roles.retain(|r| r.account_id == id);
        s.functions.retain(|f| f.account_id == id);
        s.managed_policies
            .retain(|p| p.account_id.as_ref().is_none_or(|a| *a == id));
        s.last_accessed
            .retain(|l| rolescope_model::AccountId::from_arn(&l.role_arn).as_ref() == Some(&id));
        s.access_findings.retain(|f| f.account_id == id);
        s.collection_errors
            .retain(|e| e.account_id.as_ref() == Some(&id));
        let scan = s.scan.as_mut().unwrap();
        scan.scan_id = scan_id.into();
        scan.org_id = None;
        scan.started_at = rolescope_model::Timestamp::from_millis(started_at);
        scan.finished_at = scan.started_at;
        s
    }

    /// `s` as scan `id`, started `days` later (earlier when negative).
    fn moved(s: &Snapshot, id: &str, days: i64) -> Snapshot {
        let mut s = s.clone();
        let scan = s.scan.as_mut().unwrap();
        scan.scan_id = id.into();
        scan.started_at =
            rolescope_model::Timestamp::from_millis(scan.started_at.millis + days * 86_400_000);
        scan.finished_at = scan.started_at;
        s
    }

    #[test]
    fn a_scan_id_rerun_on_another_day_is_committed_once() {
        let (out, dest) = fresh("pipeline-rerun-day");
        let first = demo();
        let again = moved(&first, &first.scan.as_ref().unwrap().scan_id, 2);
        for s in [&first, &again] {
            run(
                s,
                &Settings::default(),
                &dest,
                SnapshotWrite::Store,
                &mut |_| {},
            )
            .unwrap();
        }
        let committed = rolescope_exporter::history::committed_scans(&dest).unwrap();
        assert_eq!(committed.len(), 1, "{committed:?}");
        assert_eq!(
            committed[0].date,
            again.scan.as_ref().unwrap().started_at.date()
        );
        // The first day's files of the scan id are gone with its commit record.
        let old = first.scan.as_ref().unwrap().started_at.date();
        for prefix in ["findings/", "roles/", "snapshots/", "ocsf/", "reports/"] {
            let keys = dest.list(prefix).unwrap();
            assert!(
                !keys.iter().any(|k| k.contains(&format!("dt={old}/"))),
                "{prefix}: {keys:?}"
            );
        }
        std::fs::remove_dir_all(&out).unwrap();
    }

    #[test]
    fn first_seen_from_a_baseline_in_the_future_is_never_after_this_scan() {
        let (out, dest) = fresh("pipeline-future-baseline");
        let now = demo();
        let future = moved(&now, "from-the-future", 365);
        let path = out.join("future.jsonl");
        std::fs::create_dir_all(&out).unwrap();
        future.write(&path).unwrap();
        let settings = Settings {
            baseline: Baseline::Snapshot(path),
            ..Settings::default()
        };
        let info = now.scan.clone().unwrap();
        let analysis =
            rolescope_analysis::analyze(rolescope_policy::catalog(), &now, &settings.analysis);
        let h = compare_with_baseline(
            load_baseline(&dest, &info, &scan_accounts(&now), &settings),
            (&now, &analysis),
        )
        .unwrap();
        assert!(!h.first_seen.is_empty());
        let started = info.started_at.millis;
        assert!(
            h.first_seen
                .values()
                .chain(h.last_seen.values())
                .all(|t| *t <= started)
        );
        std::fs::remove_dir_all(&out).unwrap();
    }

    #[test]
    fn report_html_stays_with_the_latest_scan_by_start_time() {
        let (out, dest) = fresh("pipeline-latest-report");
        let latest = demo();
        let older = moved(&latest, "backfilled-old", -3 * 365);
        run(
            &latest,
            &Settings::default(),
            &dest,
            SnapshotWrite::Store,
            &mut |_| {},
        )
        .unwrap();
        let top = std::fs::read(out.join(REPORT)).unwrap();
        let back = run(
            &older,
            &Settings::default(),
            &dest,
            SnapshotWrite::Store,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(
            std::fs::read(out.join(REPORT)).unwrap(),
            top,
            "replaced by an older scan"
        );
        assert!(back.report.contains("backfilled-old"), "{}", back.report);
        std::fs::remove_dir_all(&out).unwrap();
    }

    #[test]
    fn separate_standalone_accounts_are_not_one_anothers_history() {
        let (out, dest) = fresh("pipeline-standalone");
        let t = demo().scan.unwrap().started_at.millis;
        let a = standalone(1, "standalone-a", t);
        let b = standalone(2, "standalone-b", t + 3_600_000);
        assert!(!a.roles.is_empty() && !b.roles.is_empty());
        for s in [&a, &b] {
            run(
                s,
                &Settings::default(),
                &dest,
                SnapshotWrite::Store,
                &mut |_| {},
            )
            .unwrap();
        }
        let of = |s: &Snapshot, at: i64| {
            rolescope_exporter::history::baseline(
                &dest,
                "later",
                at,
                None,
                &crate::baseline::scan_accounts(s),
            )
            .unwrap()
            .map(|c| c.scan_id)
        };
        // B's first scan had no baseline although A's scan was committed before it, and a
        // later scan of A compares with A's, not with B's (the latest).
        assert_eq!(of(&b, t + 1), None);
        assert_eq!(of(&a, t + 7_200_000).as_deref(), Some("standalone-a"));
        assert_eq!(of(&b, t + 7_200_000).as_deref(), Some("standalone-b"));
        std::fs::remove_dir_all(&out).unwrap();
    }

    #[test]
    fn history_read_from_the_tables_equals_history_through_the_snapshot() {
        let before = demo_with_qualifiers();
        let (out, dest) = fresh("pipeline-history");
        let settings = Settings::default();
        run(&before, &settings, &dest, SnapshotWrite::Store, &mut |_| {}).unwrap();
        // A later scan: a role loses its policies, a function is gone, one gains a public URL
        // on its version, an account could not be read, a policy is detached.
        let mut after = before.clone();
        let scan = after.scan.as_mut().unwrap();
        scan.scan_id = "later-scan".into();
        scan.started_at =
            rolescope_model::Timestamp::from_millis(scan.started_at.millis + 86_400_000);
        let narrowed = after
            .roles
            .iter()
            .position(|r| !r.inline_policies.is_empty())
            .unwrap();
        after.roles[narrowed].inline_policies.clear();
        after.functions.remove(5);
        after.functions[0].urls.push(rolescope_model::FunctionUrl {
            url: "https://v1.lambda-url.on.aws/".into(),
            auth_type: "NONE".into(),
            qualifier: Some("1".into()),
        });
        let unread = after.accounts[3].account_id.clone();
        after
            .collection_errors
            .push(rolescope_model::CollectionError {
                account_id: Some(unread.clone()),
                region: None,
                service: "iam".into(),
                operation: "GetAccountAuthorizationDetails".into(),
                error_code: "Throttling".into(),
                message: "rate exceeded".into(),
                resource_arn: None,
            });
        after.roles.retain(|r| r.account_id != unread);
        after.control_policies[2].targets.clear();
        let analysis =
            rolescope_analysis::analyze(rolescope_policy::catalog(), &after, &settings.analysis);
        let info = after.scan.clone().unwrap();
        let from_tables = compare_with_baseline(
            load_baseline(&dest, &info, &scan_accounts(&after), &settings),
            (&after, &analysis),
        )
        .unwrap();
        let path = std::fs::read_dir(out.join("snapshots"))
            .unwrap()
            .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .unwrap();
        let through_snapshot = Settings {
            baseline: Baseline::Snapshot(path),
            ..Settings::default()
        };
        let from_snapshot = compare_with_baseline(
            load_baseline(&dest, &info, &scan_accounts(&after), &through_snapshot),
            (&after, &analysis),
        )
        .unwrap();
        let c = &from_tables.changes;
        assert_eq!(c, &from_snapshot.changes);
        let kinds: std::collections::BTreeSet<(&str, &str)> =
            c.inventory.iter().map(|i| (i.kind, i.change)).collect();
        for expected in [
            ("role", "changed"),
            ("function", "removed"),
            ("function", "changed"),
            ("control_policy", "removed"),
        ] {
            assert!(kinds.contains(&expected), "{expected:?} not in {kinds:?}");
        }
        assert!(c.findings.iter().any(|f| f.change == "resolved"));
        assert!(!c.carried.is_empty() && c.carried.iter().all(|f| f.account_id == unread));
        // Without one of its tables, the committed scan is read through its snapshot, to the
        // same changes.
        std::fs::remove_dir_all(out.join("role_policies")).unwrap();
        let fallback = compare_with_baseline(
            load_baseline(&dest, &info, &scan_accounts(&after), &settings),
            (&after, &analysis),
        )
        .unwrap();
        assert_eq!(fallback.changes, from_tables.changes);
        assert_eq!(fallback.first_seen, from_tables.first_seen);
        std::fs::remove_dir_all(&out).unwrap();
    }

    #[test]
    fn a_snapshot_that_fails_its_check_is_stored_and_nothing_else_is_written() {
        let mut snapshot = demo();
        // The same account twice: the check refuses it, after the store has started.
        snapshot.accounts.push(snapshot.accounts[0].clone());
        let (out, dest) = fresh("pipeline");
        let err = run(
            &snapshot,
            &Settings::default(),
            &dest,
            SnapshotWrite::Store,
            &mut |_| {},
        )
        .unwrap_err();
        assert!(err.after_snapshot(), "{err:#}");
        let PipelineError::Input {
            stored: Some(stored),
            ..
        } = &err
        else {
            panic!("not an input error with the snapshot kept: {err:?}");
        };
        assert!(std::path::Path::new(stored).is_file(), "{stored}");
        let written: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| !name.starts_with('.'))
            .collect();
        assert_eq!(
            written,
            ["snapshots"],
            "only the snapshot, no table or commit"
        );
        std::fs::remove_dir_all(&out).unwrap();
    }

    #[test]
    fn a_plan_reads_the_previous_scans_costs_from_its_tables_as_its_snapshot_has_them() {
        let snapshot = demo();
        let (out, dest) = fresh("pipeline-plan");
        run(
            &snapshot,
            &Settings::default(),
            &dest,
            SnapshotWrite::Store,
            &mut |_| {},
        )
        .unwrap();
        let previous = &snapshot.scan.as_ref().unwrap().scan_id;
        let expected = rolescope_model::shard::Assignment::balanced(&shards::costs(&snapshot), 3);
        let committed = rolescope_exporter::history::committed_scans(&dest).unwrap();
        assert_eq!(
            shards::table_costs(&dest, &committed[0]).unwrap(),
            Some(shards::costs(&snapshot))
        );
        let from_tables = shards::plan(&dest, "next-scan", 3).unwrap();
        assert_eq!(from_tables.based_on.as_ref(), Some(previous));
        assert_eq!(from_tables.assignment, expected);
        // Without its tables (a scan from before function_versions), the snapshot is read.
        let versions = out.join("function_versions");
        std::fs::remove_dir_all(&versions).unwrap();
        let from_snapshot = shards::plan(&dest, "next-scan", 3).unwrap();
        assert_eq!(from_snapshot.assignment, expected);
        std::fs::remove_dir_all(&out).unwrap();
    }
}

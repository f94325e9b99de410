//! The comparison of a scan with its baseline (docs/history.md): which committed scan that is,
//! reading it back (from its tables, or its snapshot analysed again when they predate that) and
//! comparing it with this scan's analysis.

use crate::{Baseline, Settings, snapshot_key};
use rolescope_analysis::Analysis;
use rolescope_exporter::Destination;
use rolescope_exporter::history::History;
use rolescope_model::snapshot::Snapshot;

/// Compare the scan with its baseline: by default the latest committed scan of the same
/// organization in `dest`, read back from its tables (its findings, seen and carried, with their
/// `first_seen`; its inventory and scores), so neither its snapshot nor another analysis of it is
/// needed. A scan whose tables predate that (or `--baseline FILE`) is compared through its
/// snapshot, analysed as this scan is. `Err` says why there is no comparison (the first scan, or
/// a baseline that cannot be read).
pub(crate) fn compare_with_baseline(
    loaded: Result<Loaded, String>,
    after: (&Snapshot, &Analysis),
) -> Result<History, String> {
    let (baseline, previous, seen) = loaded?;
    Ok(compare(baseline, previous, after, seen))
}

/// A baseline read back, with the scan it is and when its findings were seen.
pub(crate) type Loaded = (
    rolescope_analysis::history::Baseline,
    rolescope_exporter::history::CommittedScan,
    rolescope_exporter::history::Seen,
);

/// The accounts a scan covers, by id: what a scan outside any organization is matched on.
pub(crate) fn scan_accounts(snapshot: &Snapshot) -> std::collections::BTreeSet<String> {
    snapshot
        .accounts
        .iter()
        .map(|a| a.account_id.to_string())
        .collect()
}

/// Refuse an explicit `--baseline` that cannot be this scan's: a snapshot that cannot be read
/// (missing, a directory, garbage, an endless line), a scan id not committed here, or a scan of
/// another organization (or, outside any organization, of other accounts). `Latest` and
/// `None` pass: the latest scan is chosen among those that fit.
pub(crate) fn check_explicit(
    dest: &Destination,
    info: &rolescope_model::ScanInfo,
    accounts: &std::collections::BTreeSet<String>,
    settings: &Settings,
) -> Result<(), String> {
    let (name, org, theirs) = match &settings.baseline {
        Baseline::None | Baseline::Latest => return Ok(()),
        Baseline::Snapshot(path) => {
            let before = Snapshot::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let org = before.scan.as_ref().and_then(|s| s.org_id.clone());
            (path.display().to_string(), org, scan_accounts(&before))
        }
        Baseline::ScanId(id) => {
            let scan = rolescope_exporter::history::committed_scans(dest)
                .map_err(|e| format!("{id}: {e}"))?
                .into_iter()
                .rfind(|s| &s.scan_id == id)
                .ok_or_else(|| format!("{id}: no committed scan of that id here"))?;
            let theirs = rolescope_exporter::history::rows_per_account(dest, &scan, "accounts")
                .map_err(|e| format!("{id}: {e}"))?
                .unwrap_or_default()
                .into_keys()
                .collect();
            (id.clone(), scan.org_id, theirs)
        }
    };
    if org != info.org_id {
        return Err(format!(
            "{name}: a scan of organization {}, and this scan is of {}; history compares scans of one organization",
            org.as_deref().unwrap_or("(none)"),
            info.org_id.as_deref().unwrap_or("(none)")
        ));
    }
    if org.is_none() && theirs.is_disjoint(accounts) {
        return Err(format!(
            "{name}: a scan of other accounts ({}), outside any organization",
            theirs.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(())
}

/// Read the baseline [`compare_with_baseline`] compares with. It needs nothing of this scan's
/// analysis, so it runs alongside it.
pub(crate) fn load_baseline(
    dest: &Destination,
    info: &rolescope_model::ScanInfo,
    accounts: &std::collections::BTreeSet<String>,
    settings: &Settings,
) -> Result<Loaded, String> {
    let previous = match &settings.baseline {
        Baseline::None => return Err("--no-baseline".into()),
        Baseline::Snapshot(path) => {
            let before = Snapshot::read(path).map_err(|e| format!("--baseline: {e}"))?;
            let scan = before
                .scan
                .clone()
                .ok_or("--baseline: the snapshot has no scan")?;
            let previous = rolescope_exporter::history::CommittedScan {
                scan_id: scan.scan_id,
                date: scan.started_at.date(),
                started_at: scan.started_at.millis,
                org_id: scan.org_id,
            };
            let baseline = analysed(&before, settings);
            let at: rolescope_exporter::history::SeenAt = baseline
                .findings
                .iter()
                .map(|f| (f.finding_id.clone(), previous.started_at))
                .collect();
            return Ok((baseline, previous, (at.clone(), at)));
        }
        Baseline::ScanId(id) => rolescope_exporter::history::committed_scans(dest)
            .map_err(|e| format!("{e}"))?
            .into_iter()
            .rfind(|s| &s.scan_id == id)
            .ok_or_else(|| format!("--baseline {id}: no committed scan of that id here"))?,
        Baseline::Latest => rolescope_exporter::history::baseline(
            dest,
            &info.scan_id,
            info.started_at.millis,
            info.org_id.as_deref(),
            accounts,
        )
        .map_err(|e| format!("{e}"))?
        .ok_or_else(|| "no earlier committed scan of this organization here".to_string())?,
    };
    let (baseline, seen) = tracing::debug_span!("baseline_read", scan = %previous.scan_id)
        .in_scope(|| {
            match rolescope_exporter::history::read_baseline(dest, &previous)
                .map_err(|e| format!("{e}"))?
            {
                Some(read) => Ok::<_, String>(read),
                None => baseline_from_snapshot(dest, &previous, settings),
            }
        })?;
    Ok((baseline, previous, seen))
}

/// A snapshot as a baseline: analysed as this scan is.
pub(crate) fn analysed(
    before: &Snapshot,
    settings: &Settings,
) -> rolescope_analysis::history::Baseline {
    let cat = rolescope_policy::catalog();
    let analysis = rolescope_analysis::analyze(cat, before, &settings.analysis);
    rolescope_analysis::history::Baseline::of(before, analysis)
}

/// The baseline of a committed scan whose tables cannot give it (written by an older version):
/// its snapshot analysed again, with the findings it carried and the `first_seen` and
/// `last_seen` of its findings table.
fn baseline_from_snapshot(
    dest: &Destination,
    previous: &rolescope_exporter::history::CommittedScan,
    settings: &Settings,
) -> Result<
    (
        rolescope_analysis::history::Baseline,
        rolescope_exporter::history::Seen,
    ),
    String,
> {
    let key = snapshot_key(&previous.scan_id, &previous.date);
    let location = dest.location(&key);
    let bytes = dest
        .read_small(&key)
        .map_err(|e| format!("{e}"))?
        .ok_or_else(|| format!("baseline scan {}: {location} is missing", previous.scan_id))?;
    let before = Snapshot::read_from(std::io::Cursor::new(bytes), std::path::Path::new(&location))
        .map_err(|e| format!("{e}"))?;
    let seen = rolescope_exporter::history::seen(dest, previous).map_err(|e| format!("{e}"))?;
    let carried =
        rolescope_exporter::history::carried(dest, previous).map_err(|e| format!("{e}"))?;
    let mut baseline = analysed(&before, settings);
    // What the baseline held open includes what it carried from its own baseline.
    let known: std::collections::HashSet<String> = baseline
        .findings
        .iter()
        .map(|f| f.finding_id.clone())
        .collect();
    baseline.findings.extend(
        carried
            .into_iter()
            .filter(|f| !known.contains(&f.finding_id)),
    );
    Ok((baseline, seen))
}

/// The history of a scan against a baseline, with the baseline's `first_seen` and `last_seen`.
fn compare(
    before: rolescope_analysis::history::Baseline,
    previous: rolescope_exporter::history::CommittedScan,
    after: (&Snapshot, &Analysis),
    (first_seen, last_seen): rolescope_exporter::history::Seen,
) -> History {
    let mut changes = tracing::debug_span!("baseline_compare")
        .in_scope(|| rolescope_analysis::history::changes(&before, after));
    // Its maps are freed while the outputs are written.
    std::thread::spawn(move || drop(before));
    // The baseline's table also holds the findings it carried (its resource was not read
    // then): seen again now, they are not new.
    changes
        .findings
        .retain(|c| c.change != "new" || !first_seen.contains_key(&c.finding_id));
    // A baseline that started after this scan (an explicit one, a back-filled scan) cannot
    // have seen a finding before this scan did: no first_seen later than this scan's start.
    let (mut first_seen, mut last_seen) = (first_seen, last_seen);
    if let Some(started) = after.0.scan.as_ref().map(|s| s.started_at.millis) {
        for t in first_seen.values_mut().chain(last_seen.values_mut()) {
            *t = (*t).min(started);
        }
    }
    History {
        previous,
        changes,
        first_seen,
        last_seen,
    }
}

//! Scan history in a destination: the committed scans it holds, the baseline a new scan is
//! compared with, and the `finding_changes` / `inventory_changes` rows of that comparison.

use crate::ExportError;
use crate::destination::{Destination, DestinationError};
use arrow_array::{Array, BooleanArray, RecordBatch, StringArray, TimestampMillisecondArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rolescope_analysis::history::Changes;
use std::collections::HashMap;

/// A committed scan of a destination (its `scan_runs` row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedScan {
    /// The scan id.
    pub scan_id: String,
    /// Its partition date (`YYYY-MM-DD`).
    pub date: String,
    /// When it started (UTC ms).
    pub started_at: i64,
    /// Its organization.
    pub org_id: Option<String>,
}

/// What a scan is compared with, and what came of it.
#[derive(Debug, Clone)]
pub struct History {
    /// The baseline scan.
    pub previous: CommittedScan,
    /// Its changes to this scan.
    pub changes: Changes,
    /// `first_seen` of the baseline's findings, by finding id.
    pub first_seen: HashMap<String, i64>,
    /// `last_seen` of the baseline's findings, by finding id.
    pub last_seen: HashMap<String, i64>,
}

fn read_batches(dest: &Destination, key: &str) -> Result<Option<Vec<RecordBatch>>, ExportError> {
    read_columns(dest, key, None)
}

/// A table's batches, only the named columns when `columns` is given.
fn read_columns(
    dest: &Destination,
    key: &str,
    columns: Option<&[&str]>,
) -> Result<Option<Vec<RecordBatch>>, ExportError> {
    let Some(bytes) = dest.read_small(key)? else {
        return Ok(None);
    };
    let bad = |e: String| {
        ExportError::Destination(DestinationError::Corrupt {
            location: dest.location(key),
            message: e,
        })
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .and_then(|b| match columns {
            Some(columns) => {
                let mask = parquet::arrow::ProjectionMask::columns(
                    b.parquet_schema(),
                    columns.iter().copied(),
                );
                b.with_projection(mask).build()
            }
            None => b.build(),
        })
        .map_err(|e| bad(e.to_string()))?;
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    Ok(Some(batches))
}

fn strings<'b>(b: &'b RecordBatch, column: &str) -> Option<&'b StringArray> {
    b.column_by_name(column)?.as_any().downcast_ref()
}

fn times<'b>(b: &'b RecordBatch, column: &str) -> Option<&'b TimestampMillisecondArray> {
    b.column_by_name(column)?.as_any().downcast_ref()
}

/// Rows per account of one table of a committed scan (its `account_id` column alone is read);
/// `None` when the scan has no such table.
pub fn rows_per_account(
    dest: &Destination,
    scan: &CommittedScan,
    table: &str,
) -> Result<Option<std::collections::BTreeMap<String, u64>>, ExportError> {
    let key = crate::writer::table_key(table, &scan.date, &scan.scan_id);
    let Some(batches) = read_columns(dest, &key, Some(&["account_id"]))? else {
        return Ok(None);
    };
    let mut rows = std::collections::BTreeMap::new();
    for b in &batches {
        let Some(ids) = strings(b, "account_id") else {
            continue;
        };
        for i in 0..b.num_rows() {
            *rows.entry(ids.value(i).to_string()).or_default() += 1;
        }
    }
    Ok(Some(rows))
}

/// The committed scans of a destination, oldest first (by start time, then id). A `scan_runs`
/// file that cannot be read is an error naming it: history must not silently skip a scan.
pub fn committed_scans(dest: &Destination) -> Result<Vec<CommittedScan>, ExportError> {
    let mut scans = Vec::new();
    for key in dest.list("scan_runs/")? {
        let file = key.rsplit('/').next().unwrap_or_default();
        let (Some(scan_id), Some(date)) = (
            file.strip_suffix(".parquet")
                .filter(|n| !n.starts_with('.')),
            key.split('/').find_map(|p| p.strip_prefix("dt=")),
        ) else {
            continue;
        };
        if rolescope_model::valid::scan_id(scan_id).is_err() {
            continue;
        }
        for b in read_batches(dest, &key)?.unwrap_or_default() {
            let (Some(started), org) = (times(&b, "started_at"), strings(&b, "org_id")) else {
                continue;
            };
            for i in 0..b.num_rows() {
                scans.push(CommittedScan {
                    scan_id: scan_id.to_string(),
                    date: date.to_string(),
                    started_at: started.value(i),
                    org_id: org
                        .filter(|o| !o.is_null(i))
                        .map(|o| o.value(i).to_string()),
                });
            }
        }
    }
    scans.sort_by(|a, b| (a.started_at, &a.scan_id).cmp(&(b.started_at, &b.scan_id)));
    Ok(scans)
}

/// The baseline of a scan: the latest committed scan of the same organization that started
/// before it, other than itself.
pub fn baseline(
    dest: &Destination,
    scan_id: &str,
    started_at: i64,
    org_id: Option<&str>,
) -> Result<Option<CommittedScan>, ExportError> {
    Ok(committed_scans(dest)?.into_iter().rfind(|s| {
        s.scan_id != scan_id && s.started_at <= started_at && s.org_id.as_deref() == org_id
    }))
}

/// A time (UTC ms) per finding id.
pub type SeenAt = HashMap<String, i64>;

/// `first_seen` and `last_seen` of a committed scan's findings by id (its own start for a scan
/// written before the columns existed).
pub fn seen(dest: &Destination, scan: &CommittedScan) -> Result<(SeenAt, SeenAt), ExportError> {
    let key = crate::writer::table_key("findings", &scan.date, &scan.scan_id);
    let (mut first, mut last) = (HashMap::new(), HashMap::new());
    for b in read_batches(dest, &key)?.unwrap_or_default() {
        let Some(ids) = strings(&b, "finding_id") else {
            continue;
        };
        let (f, l) = (times(&b, "first_seen"), times(&b, "last_seen"));
        let at = |col: Option<&TimestampMillisecondArray>, i: usize| {
            col.filter(|c| !c.is_null(i))
                .map_or(scan.started_at, |c| c.value(i))
        };
        for i in 0..b.num_rows() {
            first.insert(ids.value(i).to_string(), at(f, i));
            last.insert(ids.value(i).to_string(), at(l, i));
        }
    }
    Ok((first, last))
}

/// The findings a committed scan carried from its own baseline (`observed = false`: it could
/// not read their resources). They are part of what that scan holds open, so the next scan
/// carries them again while it still cannot read there, and resolves them once it reads there
/// and they are gone. Rows naming a check this version does not have are left out.
pub fn carried(
    dest: &Destination,
    scan: &CommittedScan,
) -> Result<Vec<rolescope_analysis::Finding>, ExportError> {
    let key = crate::writer::table_key("findings", &scan.date, &scan.scan_id);
    let mut out = Vec::new();
    for b in read_batches(dest, &key)?.unwrap_or_default() {
        let observed: Option<&BooleanArray> = b
            .column_by_name("observed")
            .and_then(|c| c.as_any().downcast_ref());
        let (Some(observed), Some(ids), Some(checks), Some(severity), Some(account)) = (
            observed,
            strings(&b, "finding_id"),
            strings(&b, "check_id"),
            strings(&b, "severity"),
            strings(&b, "account_id"),
        ) else {
            continue;
        };
        let text = |name: &str, i: usize| {
            strings(&b, name)
                .filter(|c| !c.is_null(i))
                .map(|c| c.value(i).to_string())
        };
        for i in 0..b.num_rows() {
            if observed.is_null(i) || observed.value(i) {
                continue;
            }
            let Some(check) = rolescope_analysis::CHECKS
                .iter()
                .find(|c| c.id == checks.value(i))
            else {
                continue;
            };
            let (Some(severity), Ok(account_id)) = (
                rolescope_analysis::Severity::parse(severity.value(i)),
                rolescope_model::AccountId::new(account.value(i)),
            ) else {
                continue;
            };
            let detail: serde_json::Value = text("detail", i)
                .and_then(|d| serde_json::from_str(&d).ok())
                .unwrap_or(serde_json::Value::Null);
            out.push(rolescope_analysis::Finding {
                finding_id: ids.value(i).to_string(),
                check_id: check.id,
                category: check.category,
                severity,
                account_id,
                region: text("region", i).map(Into::into),
                resource_arn: text("resource_arn", i).unwrap_or_default(),
                title: text("title", i).unwrap_or_default().into(),
                detail: rolescope_analysis::findings::Evidence::new(&detail),
                mitigated_by: text("mitigated_by", i),
            });
        }
    }
    Ok(out)
}

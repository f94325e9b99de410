//! Scan history in a destination: the committed scans it holds, the baseline a new scan is
//! compared with, and the `finding_changes` / `inventory_changes` rows of that comparison.

use crate::ExportError;
use crate::destination::{Destination, DestinationError};
use arrow_array::{
    Array, BooleanArray, Int64Array, ListArray, RecordBatch, StringArray, TimestampMillisecondArray,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rolescope_analysis::history::Changes;
use std::collections::HashMap;

mod org;

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
/// before it, other than itself. A scan outside any organization (`org_id` `None`: a
/// standalone account, an `import`) compares with the latest such scan of the same accounts
/// (`accounts`, read from each candidate's `accounts` table): separate standalone accounts
/// written into one destination are not one another's history.
pub fn baseline(
    dest: &Destination,
    scan_id: &str,
    started_at: i64,
    org_id: Option<&str>,
    accounts: &std::collections::BTreeSet<String>,
) -> Result<Option<CommittedScan>, ExportError> {
    let candidates = committed_scans(dest)?.into_iter().rev().filter(|s| {
        s.scan_id != scan_id && s.started_at <= started_at && s.org_id.as_deref() == org_id
    });
    for s in candidates {
        if org_id.is_some() {
            return Ok(Some(s));
        }
        let theirs = rows_per_account(dest, &s, "accounts")?.unwrap_or_default();
        if theirs.keys().eq(accounts.iter()) {
            return Ok(Some(s));
        }
    }
    Ok(None)
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

/// A table of a committed scan, batch by batch (only the named columns): `Ok(false)` when the
/// scan has no such table.
fn each_batch(
    dest: &Destination,
    scan: &CommittedScan,
    table: &str,
    columns: &[&str],
    mut f: impl FnMut(&Columns<'_>) -> Result<(), String>,
) -> Result<bool, ExportError> {
    let key = crate::writer::table_key(table, &scan.date, &scan.scan_id);
    let Some(bytes) = dest.read_small(&key)? else {
        return Ok(false);
    };
    let bad = |message: String| {
        ExportError::Destination(DestinationError::Corrupt {
            location: dest.location(&key),
            message,
        })
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .map_err(|e| bad(e.to_string()))?;
    let mask =
        parquet::arrow::ProjectionMask::columns(builder.parquet_schema(), columns.iter().copied());
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(|e| bad(e.to_string()))?;
    let mut rows = 0;
    for batch in reader {
        let batch = batch.map_err(|e| bad(e.to_string()))?;
        f(&Columns {
            batch: &batch,
            first_row: rows,
        })
        .map_err(bad)?;
        rows += batch.num_rows();
    }
    Ok(true)
}

/// One batch of a table read back, with errors that name the column and row.
struct Columns<'b> {
    batch: &'b RecordBatch,
    first_row: usize,
}

impl<'b> Columns<'b> {
    fn rows(&self) -> std::ops::Range<usize> {
        0..self.batch.num_rows()
    }

    fn of<T: 'static>(&self, name: &str) -> Result<&'b T, String> {
        self.batch
            .column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<T>())
            .ok_or_else(|| format!("column {name} is missing or of another type"))
    }

    fn strings(&self, name: &str) -> Result<&'b StringArray, String> {
        self.of(name)
    }

    /// A non-null string column's value.
    fn text(&self, col: &'b StringArray, name: &str, i: usize) -> Result<&'b str, String> {
        if col.is_null(i) {
            return Err(format!("row {}: {name} is null", self.first_row + i));
        }
        Ok(col.value(i))
    }

    fn opt(col: &'b StringArray, i: usize) -> Option<&'b str> {
        (!col.is_null(i)).then(|| col.value(i))
    }

    fn account(
        &self,
        col: &'b StringArray,
        i: usize,
    ) -> Result<rolescope_model::AccountId, String> {
        let text = self.text(col, "account_id", i)?;
        rolescope_model::AccountId::new(text)
            .map_err(|e| format!("row {}: account_id: {e}", self.first_row + i))
    }

    fn score(&self, col: &'b Int64Array, i: usize) -> Result<i32, String> {
        i32::try_from(col.value(i))
            .ok()
            .filter(|s| (0..=100).contains(s) && !col.is_null(i))
            .ok_or_else(|| format!("row {}: risk_score is not 0-100", self.first_row + i))
    }
}

/// `first_seen` and `last_seen` by finding id.
pub type Seen = (SeenAt, SeenAt);

/// What a committed scan held, read back from its tables for the next scan's comparison:
/// every finding it held open with its `first_seen` and `last_seen`, its inventory and its
/// scores. The history then needs neither the scan's snapshot nor another analysis of it.
/// `None` when the scan lacks a table this needs (written by an older version): the caller
/// falls back to the snapshot. A table that cannot be read is an error naming it; a finding
/// of a check this version does not have is left out.
pub fn read_baseline(
    dest: &Destination,
    scan: &CommittedScan,
) -> Result<Option<(rolescope_analysis::history::Baseline, Seen)>, ExportError> {
    use rolescope_analysis::history::{Baseline, Inventory, Scores};
    let (findings, functions, rest) = std::thread::scope(|s| {
        let findings = s.spawn(|| read_findings(dest, scan));
        let functions = s.spawn(|| read_functions(dest, scan));
        let rest = org::read_roles_and_org(dest, scan);
        (join(findings), join(functions), rest)
    });
    let (
        Some((findings, seen)),
        Some((functions, qualifiers)),
        Some((roles, accounts, policies, scores)),
    ) = (findings?, functions?, rest?)
    else {
        return Ok(None);
    };
    let inventory = Inventory {
        accounts,
        functions,
        qualifiers,
        roles,
        control_policies: policies,
    };
    let scores: Scores = scores;
    Ok(Some((
        Baseline {
            findings,
            inventory,
            scores,
        },
        seen,
    )))
}

fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

type FindingsRead = (Vec<rolescope_analysis::Finding>, Seen);

/// Every row of the findings table (seen and carried alike), with their first and last seen.
fn read_findings(
    dest: &Destination,
    scan: &CommittedScan,
) -> Result<Option<FindingsRead>, ExportError> {
    use rolescope_analysis::findings::Evidence;
    let (mut out, mut first, mut last) = (Vec::new(), HashMap::new(), HashMap::new());
    let columns = [
        "finding_id",
        "check_id",
        "severity",
        "account_id",
        "region",
        "resource_arn",
        "title",
        "detail",
        "mitigated_by",
        "first_seen",
        "last_seen",
    ];
    let found = each_batch(dest, scan, "findings", &columns, |c| {
        let (ids, checks, severity, account, region) = (
            c.strings("finding_id")?,
            c.strings("check_id")?,
            c.strings("severity")?,
            c.strings("account_id")?,
            c.strings("region")?,
        );
        let (arn, title, detail, mitigated) = (
            c.strings("resource_arn")?,
            c.strings("title")?,
            c.strings("detail")?,
            c.strings("mitigated_by")?,
        );
        // Scans written before the columns existed: their own start.
        let (f, l) = (
            c.of::<TimestampMillisecondArray>("first_seen").ok(),
            c.of::<TimestampMillisecondArray>("last_seen").ok(),
        );
        let at = |col: Option<&TimestampMillisecondArray>, i: usize| {
            col.filter(|c| !c.is_null(i))
                .map_or(scan.started_at, |c| c.value(i))
        };
        for i in c.rows() {
            let id = c.text(ids, "finding_id", i)?;
            let Some(check) = rolescope_analysis::CHECKS
                .iter()
                .find(|k| k.id == checks.value(i))
            else {
                continue;
            };
            let severity = rolescope_analysis::Severity::parse(c.text(severity, "severity", i)?)
                .ok_or_else(|| format!("row {}: unknown severity", c.first_row + i))?;
            first.insert(id.to_string(), at(f, i));
            last.insert(id.to_string(), at(l, i));
            out.push(rolescope_analysis::Finding {
                finding_id: id.to_string(),
                check_id: check.id,
                category: check.category,
                severity,
                account_id: c.account(account, i)?,
                region: Columns::opt(region, i).map(Into::into),
                resource_arn: c.text(arn, "resource_arn", i)?.to_string(),
                title: c.text(title, "title", i)?.into(),
                detail: Evidence::stored(Columns::opt(detail, i).unwrap_or("null").into()),
                mitigated_by: Columns::opt(mitigated, i).map(str::to_string),
            });
        }
        Ok(())
    })?;
    Ok(found.then_some((out, (first, last))))
}

type Items = rolescope_analysis::history::Items;

/// Functions and qualifiers: the `functions` table with the URLs of `function_versions`.
fn read_functions(
    dest: &Destination,
    scan: &CommittedScan,
) -> Result<Option<(Items, Items)>, ExportError> {
    use rolescope_analysis::history::{Item, function_summary, qualifier_id, qualifier_summary};
    let (mut urls, mut qualifiers) = (HashMap::<String, Vec<String>>::new(), Items::new());
    let mut id = String::new();
    let columns = [
        "account_id",
        "region",
        "function_arn",
        "qualifier",
        "kind",
        "role_arns",
        "url_auth_type",
    ];
    let found = each_batch(dest, scan, "function_versions", &columns, |c| {
        let (account, region, arn, qualifier, kind, url) = (
            c.strings("account_id")?,
            c.strings("region")?,
            c.strings("function_arn")?,
            c.strings("qualifier")?,
            c.strings("kind")?,
            c.strings("url_auth_type")?,
        );
        let roles: &ListArray = c.of("role_arns")?;
        for i in c.rows() {
            let function = c.text(arn, "function_arn", i)?;
            if let Some(url) = Columns::opt(url, i) {
                urls.entry(function.to_string())
                    .or_default()
                    .push(url.to_string());
            }
            if c.text(kind, "kind", i)? == "latest" {
                continue;
            }
            let list = roles.value(i);
            let list: &StringArray = list
                .as_any()
                .downcast_ref()
                .ok_or("column role_arns is not a list of strings")?;
            let roles: Vec<&str> = (0..list.len()).map(|j| list.value(j)).collect();
            qualifiers.insert(
                qualifier_id(&mut id, function, c.text(qualifier, "qualifier", i)?),
                Item {
                    summary: &qualifier_summary(&roles),
                    account: Some(c.account(account, i)?.as_str()),
                    region: Some(c.text(region, "region", i)?),
                },
            );
        }
        Ok(())
    })?;
    if !found {
        return Ok(None);
    }
    let mut functions = Items::new();
    let columns = [
        "account_id",
        "region",
        "function_arn",
        "role_arn",
        "resource_policy",
    ];
    let found = each_batch(dest, scan, "functions", &columns, |c| {
        let (account, region, arn, role, policy) = (
            c.strings("account_id")?,
            c.strings("region")?,
            c.strings("function_arn")?,
            c.strings("role_arn")?,
            c.strings("resource_policy")?,
        );
        for i in c.rows() {
            let function = c.text(arn, "function_arn", i)?;
            let urls: Vec<&str> = urls
                .get(function)
                .map(|u| u.iter().map(String::as_str).collect())
                .unwrap_or_default();
            functions.insert(
                function,
                Item {
                    summary: &function_summary(
                        c.text(role, "role_arn", i)?,
                        Columns::opt(policy, i),
                        &urls,
                    ),
                    account: Some(c.account(account, i)?.as_str()),
                    region: Some(c.text(region, "region", i)?),
                },
            );
        }
        Ok(())
    })?;
    Ok(found.then_some((functions, qualifiers)))
}

//! The exporter: Athena-ready Parquet datasets from a snapshot and its analysis.
//!
//! Invariant: this crate owns every Arrow schema. Each is defined once, next to its row type, in
//! [`tables`]. The Athena DDL (`athena/tables.sql`) and `docs/schema.md` are generated from those
//! definitions, and a test fails when the committed files drift.
//!

pub mod cfn;
pub mod ddl;
pub mod destination;
pub mod history;
pub mod remediation;
mod rows;
pub mod scp;
pub mod table;
pub mod tables;
#[cfg(test)]
mod tests;
pub mod triage;
mod usage_rows;
pub mod writer;

pub use destination::{Destination, S3Credentials, S3Options};
use rolescope_analysis::{Analysis, Evaluated};
use table::Row;
use tables::*;

/// Exporting failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The snapshot has no closing scan record.
    #[error("the snapshot has no scan record; was the scan interrupted?")]
    NoScan,
    /// A row did not fit its schema (a bug).
    #[error(transparent)]
    Schema(#[from] table::SchemaMismatch),
    /// Writing failed.
    #[error(transparent)]
    Write(#[from] writer::WriteError),
    /// Storing a file failed.
    #[error(transparent)]
    Destination(#[from] destination::DestinationError),
}

/// Rows per record batch handed to the Parquet writer: the rows of a table are converted and
/// encoded this many at a time, never all at once.
const BATCH_ROWS: usize = 16 * 1024;

/// Bytes per record batch, whichever of the two limits comes first: rows with policy documents
/// (roles, role policies) are kilobytes each, and 16k of them would be held twice over (as Arrow
/// arrays and in the encoder's row group).
const BATCH_BYTES: usize = 4 << 20;

/// Roles grouped per slice for the permission tables. An administrator role expands to ~22,000
/// grants before grouping, so a slice is kept small.
const PERMISSION_ROLES: usize = 64;

/// Write one table from its rows, a batch at a time; returns where it went.
fn write_rows<R: Row>(
    out: &Destination,
    date: &str,
    scan_id: &str,
    rows: impl IntoIterator<Item = R>,
) -> Result<String, ExportError> {
    let mut writer = writer::TableWriter::create(
        out,
        R::TABLE.name,
        date,
        scan_id,
        std::sync::Arc::new(R::TABLE.schema()),
    )?;
    let mut chunk = table::BatchBuilder::<R>::new();
    for row in rows {
        chunk.push(&row)?;
        if chunk.rows() == BATCH_ROWS || chunk.bytes() >= BATCH_BYTES {
            writer.write(&chunk.finish()?)?;
        }
    }
    if chunk.rows() > 0 {
        writer.write(&chunk.finish()?)?;
    }
    Ok(writer.finish()?)
}

/// What a scoped thread returned; its panic goes on in the caller.
fn joined<T>(thread: std::thread::ScopedJoinHandle<'_, T>) -> T {
    thread
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Write the dataset for one scan under `out`, all tables but `scan_runs` ([`commit`] writes
/// that one last); returns the files written.
///
/// The permission tables are streamed a slice of roles at a time: grouping is the heaviest step
/// of the export, and 100,000 roles' groups must not sit in memory at once.
pub fn export(
    ev: &Evaluated<'_>,
    analysis: &Analysis,
    history: Option<&history::History>,
    out: &Destination,
) -> Result<Vec<String>, ExportError> {
    let info = ev.snapshot.scan.as_ref().ok_or(ExportError::NoScan)?;
    let scan = rows::Scan::new(ev, analysis, info, history);
    let (id, date) = (&scan.id, info.started_at.date());
    let scan = &scan;
    // Three groups of tables written at once: the permission tables (the heaviest, computed in
    // parallel within), the inventory and the rest, so that no one thread holds up the export
    // while the other stages have finished.
    let (permissions, inventory, rest) = std::thread::scope(|s| {
        let permissions = s.spawn(|| permission_tables(scan, out, &date));
        let inventory = s.spawn(|| -> Result<Vec<String>, ExportError> {
            Ok(vec![
                write_rows(out, &date, id, scan.accounts())?,
                write_rows(out, &date, id, scan.org_units())?,
                write_rows(out, &date, id, scan.scps())?,
                write_rows(out, &date, id, scan.functions())?,
                write_rows(out, &date, id, scan.function_versions())?,
            ])
        });
        let rest = (|| -> Result<Vec<String>, ExportError> {
            Ok(vec![
                write_rows(out, &date, id, scan.roles())?,
                write_rows(out, &date, id, scan.role_policies())?,
                write_rows(out, &date, id, scan.findings())?,
                write_rows(out, &date, id, scan.finding_changes())?,
                write_rows(out, &date, id, scan.inventory_changes())?,
                write_rows(out, &date, id, scan.collection_errors())?,
                write_rows(out, &date, id, scan.role_activity())?,
                write_rows(out, &date, id, scan.usage_coverage())?,
            ])
        })();
        (joined(permissions), joined(inventory), rest)
    });
    let mut files = inventory?;
    files.extend(rest?);
    files.extend(permissions?);
    Ok(files)
}

/// `role_permissions` and `role_service_access`, a slice of roles at a time.
fn permission_tables(
    scan: &rows::Scan<'_>,
    out: &Destination,
    date: &str,
) -> Result<Vec<String>, ExportError> {
    let schema = |def: table::TableDef| std::sync::Arc::new(def.schema());
    let table = |def: table::TableDef| {
        writer::TableWriter::create(out, def.name, date, &scan.id, schema(def))
    };
    let mut groups_out = table(RolePermissionRow::TABLE)?;
    let mut access_out = table(RoleServiceAccessRow::TABLE)?;
    let grouping = rolescope_analysis::permissions::Grouping::new(scan.ev, &scan.ev.roles);
    // One builder per table for all the chunks: each starts with the room the last one took.
    let mut group_rows = table::BatchBuilder::new();
    let mut access_rows = table::BatchBuilder::new();
    for roles in scan.ev.roles.chunks(PERMISSION_ROLES) {
        let (groups, access) = scan.permissions(&grouping, roles);
        for row in &groups {
            group_rows.push(row)?;
        }
        groups_out.write(&group_rows.finish()?)?;
        for row in &access {
            access_rows.push(row)?;
        }
        access_out.write(&access_rows.finish()?)?;
    }
    Ok(vec![groups_out.finish()?, access_out.finish()?])
}

/// Where a scan's commit record goes.
fn commit_key(info: &rolescope_model::ScanInfo) -> String {
    writer::table_key(ScanRun::TABLE.name, &info.started_at.date(), &info.scan_id)
}

/// Withdraw a scan's commit record before its outputs are rewritten (a re-run with the same
/// scan id): while the tables are replaced one by one, no reader takes the scan as complete.
/// A scan id committed on another date (a re-run on a later day) is withdrawn there too: its
/// commit record first, then every file of it under that date (tables, snapshot, OCSF, ASFF,
/// report), so the scan id is never committed twice nor its rows read twice.
pub fn uncommit(info: &rolescope_model::ScanInfo, out: &Destination) -> Result<(), ExportError> {
    out.delete(&commit_key(info))?;
    let date = info.started_at.date();
    let file = format!("/{}.parquet", info.scan_id);
    for key in out.list(&format!("{}/", ScanRun::TABLE.name))? {
        let Some(other) = key
            .strip_suffix(&file)
            .and_then(|k| k.rsplit('/').next())
            .and_then(|d| d.strip_prefix("dt="))
            .filter(|d| *d != date)
            .map(str::to_string)
        else {
            continue;
        };
        out.delete(&key)?;
        for table in tables::TABLES {
            out.delete(&writer::table_key(table.name, &other, &info.scan_id))?;
        }
        for (prefix, ext) in [
            ("snapshots", "jsonl"),
            ("ocsf", "jsonl"),
            ("asff", "jsonl"),
            ("reports", "html"),
        ] {
            out.delete(&format!("{prefix}/dt={other}/{}.{ext}", info.scan_id))?;
        }
    }
    Ok(())
}

/// Write the scan's `scan_runs` row: the commit record, written after everything else of the
/// scan, so a reader that finds it finds every other table of the scan complete.
pub fn commit(
    ev: &Evaluated<'_>,
    analysis: &Analysis,
    out: &Destination,
) -> Result<String, ExportError> {
    let info = ev.snapshot.scan.as_ref().ok_or(ExportError::NoScan)?;
    let scan = rows::Scan::new(ev, analysis, info, None);
    write_rows(out, &info.started_at.date(), &scan.id, scan.scan_runs())
}

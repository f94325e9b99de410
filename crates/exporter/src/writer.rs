//! The partitioned dataset layout and Parquet encoding: `<table>/dt=<YYYY-MM-DD>/<scan_id>.parquet`,
//! ZSTD, one object per table and scan, stored atomically through a [`Destination`].

use crate::destination::{Destination, DestinationError};
use arrow_array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

/// Writing a table failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The destination refused.
    #[error(transparent)]
    Destination(#[from] DestinationError),
    /// The Parquet encoder refused.
    #[error("encoding {location}: {source}")]
    Parquet {
        /// Where it was going.
        location: String,
        /// The error.
        source: parquet::errors::ParquetError,
    },
}

/// Rows per row group: large enough for Athena to read efficiently, small enough to stream.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// The key of a table's object for one scan, relative to the output root.
pub fn table_key(table: &str, date: &str, scan_id: &str) -> String {
    format!("{table}/dt={date}/{scan_id}.parquet")
}

/// Encode one batch as a Parquet file in memory.
pub fn encode(batch: &RecordBatch) -> Result<Vec<u8>, parquet::errors::ParquetError> {
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).expect("valid level"),
        ))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by(format!("rolescope {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut writer = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props))?;
    writer.write(batch)?;
    writer.into_inner()
}

/// Write one table's batch atomically. A re-run with the same scan id replaces the object.
pub fn write_table(
    out: &Destination,
    table: &str,
    date: &str,
    scan_id: &str,
    batch: &RecordBatch,
) -> Result<String, WriteError> {
    let key = table_key(table, date, scan_id);
    let bytes = encode(batch).map_err(|source| WriteError::Parquet {
        location: out.location(&key),
        source,
    })?;
    Ok(out.put(&key, bytes)?)
}

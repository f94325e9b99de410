//! The partitioned dataset layout and Parquet encoding: `<table>/dt=<YYYY-MM-DD>/<scan_id>.parquet`,
//! ZSTD, one object per table and scan, stored atomically through a [`Destination`].

use crate::destination::{Destination, DestinationError, ObjectWriter};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
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
    #[error("encoding {location}: {error}")]
    Parquet {
        /// Where it was going.
        location: String,
        /// The error (in the message, not a separate cause, so it is printed once).
        error: parquet::errors::ParquetError,
    },
}

/// Rows per row group: large enough for Athena to read efficiently, small enough to stream.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// The key of a table's object for one scan, relative to the output root.
pub fn table_key(table: &str, date: &str, scan_id: &str) -> String {
    format!("{table}/dt={date}/{scan_id}.parquet")
}

fn properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).expect("valid level"),
        ))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by(format!("rolescope {}", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Encode one batch as a Parquet file in memory.
pub fn encode(batch: &RecordBatch) -> Result<Vec<u8>, parquet::errors::ParquetError> {
    let mut writer = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(properties()))?;
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
    let mut writer = TableWriter::create(out, table, date, scan_id, batch.schema())?;
    writer.write(batch)?;
    writer.finish()
}

/// One table's Parquet object, written batch by batch as the rows are produced, so a table of
/// millions of rows never sits in memory whole. Nothing is visible until [`TableWriter::finish`].
pub struct TableWriter<'a> {
    parquet: ArrowWriter<ObjectWriter<'a>>,
    location: String,
}

impl std::fmt::Debug for TableWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableWriter")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl<'a> TableWriter<'a> {
    /// Start `<table>/dt=<date>/<scan_id>.parquet` with this schema.
    pub fn create(
        out: &'a Destination,
        table: &str,
        date: &str,
        scan_id: &str,
        schema: SchemaRef,
    ) -> Result<Self, WriteError> {
        let object = out.writer(&table_key(table, date, scan_id))?;
        let location = object.location().to_string();
        let parquet =
            ArrowWriter::try_new(object, schema, Some(properties())).map_err(|error| {
                WriteError::Parquet {
                    location: location.clone(),
                    error,
                }
            })?;
        Ok(Self { parquet, location })
    }

    /// Append rows.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), WriteError> {
        self.parquet.write(batch).map_err(|error| self.error(error))
    }

    /// Close the file and make it visible; returns where it went.
    pub fn finish(self) -> Result<String, WriteError> {
        let location = self.location;
        let object = self
            .parquet
            .into_inner()
            .map_err(|error| WriteError::Parquet {
                location: location.clone(),
                error,
            })?;
        Ok(object.commit()?)
    }

    fn error(&self, error: parquet::errors::ParquetError) -> WriteError {
        WriteError::Parquet {
            location: self.location.clone(),
            error,
        }
    }
}

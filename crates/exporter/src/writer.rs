//! The partitioned dataset writer: `<out>/<table>/dt=<YYYY-MM-DD>/<scan_id>.parquet`, ZSTD, one
//! file per table and scan, written under a temporary name and renamed into place.

use arrow_array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Writing a table failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The file system refused.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The Parquet encoder refused.
    #[error("encoding {path}: {source}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The error.
        source: parquet::errors::ParquetError,
    },
}

/// Rows per row group: large enough for Athena to read efficiently, small enough to stream.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Where a table's file for one scan goes.
pub fn file_path(out: &Path, table: &str, date: &str, scan_id: &str) -> PathBuf {
    out.join(table)
        .join(format!("dt={date}"))
        .join(format!("{scan_id}.parquet"))
}

/// Write one table's batch atomically. A re-run with the same scan id replaces the file.
pub fn write_table(
    out: &Path,
    table: &str,
    date: &str,
    scan_id: &str,
    batch: &RecordBatch,
) -> Result<PathBuf, WriteError> {
    let path = file_path(out, table, date, scan_id);
    let dir = path.parent().expect("a table folder");
    let tmp = dir.join(format!(".{scan_id}.parquet.partial"));
    let io = |source| WriteError::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let result = (|| {
        let file = File::create(&tmp).map_err(io)?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(3).expect("valid level"),
            ))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_created_by(format!("rolescope {}", env!("CARGO_PKG_VERSION")))
            .build();
        let pq = |source| WriteError::Parquet {
            path: path.clone(),
            source,
        };
        let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props)).map_err(pq)?;
        writer.write(batch).map_err(pq)?;
        let file = writer.into_inner().map_err(pq)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    })();
    if result.is_err() {
        // A failed write leaves nothing that looks like data.
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|()| path)
}

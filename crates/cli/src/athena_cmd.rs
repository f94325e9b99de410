//! `rolescope athena-sql`: the Athena DDL, views and example queries, ready to run.

use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Flags of `rolescope athena-sql`.
#[derive(Debug, Args)]
pub struct AthenaSqlArgs {
    /// Where the datasets are (`s3://bucket/prefix`, the scans' `--out`).
    #[arg(long)]
    location: String,
    /// The Glue database the tables and views go in.
    #[arg(long)]
    database: String,
    /// The folder the three files are written to.
    #[arg(long, default_value = "athena")]
    out_dir: PathBuf,
}

/// Write `tables.sql`, `views.sql` and `queries.sql` with the location and database filled in.
pub fn run(args: AthenaSqlArgs) -> Result<ExitCode> {
    let files = rolescope_exporter::ddl::filled_sql(&args.location, &args.database)
        .map_err(anyhow::Error::msg)?;
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("creating {}", args.out_dir.display()))?;
    for (name, text) in files {
        let path = args.out_dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

//! `rolescope checks`: every check rolescope runs, with what it reads.

use anyhow::Result;
use clap::Args;
use std::io::Write;
use std::process::ExitCode;

/// Flags of `rolescope checks`.
#[derive(Debug, Args)]
pub struct ChecksArgs {
    /// `table` (aligned columns) or `jsonl` (one JSON object a line).
    #[arg(long, default_value = "table", value_parser = ["table", "jsonl"])]
    format: String,
}

/// Print the check table on stdout.
pub fn run(args: ChecksArgs) -> Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for c in rolescope_analysis::CHECKS {
        let reads: Vec<&str> = c.reads.iter().map(|i| i.as_str()).collect();
        if args.format == "jsonl" {
            serde_json::to_writer(
                &mut out,
                &serde_json::json!({
                    "id": c.id, "category": c.category.as_str(), "severity": c.severity.as_str(),
                    "title": c.title, "remediation": c.remediation, "reads": reads,
                    "references": c.references,
                }),
            )?;
            writeln!(out)?;
        } else {
            writeln!(
                out,
                "{:<16} {:<8} {:<24} {}",
                c.id,
                c.severity.as_str(),
                c.category.as_str(),
                c.title
            )?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

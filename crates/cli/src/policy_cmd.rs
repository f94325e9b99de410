//! `rolescope policy …`: the policy engine on the command line.

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use rolescope_policy::catalog;
use rolescope_policy::simulate::run_line;
use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print the actions a pattern (`s3:Get*`, `*:Describe*`, `lambda:*`) expands to.
    Expand {
        /// Action patterns; `*` and `?` are wildcards, names are case-insensitive.
        #[arg(required = true)]
        patterns: Vec<String>,
        /// Also print each action's access level(s), tab separated.
        #[arg(long)]
        levels: bool,
    },
    /// Evaluate requests: one JSON case per line in, one decision per line out.
    Simulate {
        /// JSON Lines file of cases (`-` for standard input). See docs/policy-engine.md.
        #[arg(long)]
        cases: PathBuf,
    },
}

pub fn run(cmd: PolicyCommand) -> Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match cmd {
        PolicyCommand::Expand { patterns, levels } => {
            let cat = catalog();
            let mut ids: Vec<u32> = patterns.iter().flat_map(|p| cat.expand(p)).collect();
            ids.sort_unstable();
            ids.dedup();
            if ids.is_empty() {
                bail!(
                    "no action in the catalog ({}) matches {}",
                    cat.source,
                    patterns.join(", ")
                );
            }
            for id in ids {
                let a = &cat.actions[id as usize];
                if levels {
                    let names: Vec<&str> = a.levels.iter().map(|l| l.as_str()).collect();
                    writeln!(out, "{}\t{}", a.full_name, names.join(", "))?;
                } else {
                    writeln!(out, "{}", a.full_name)?;
                }
            }
        }
        PolicyCommand::Simulate { cases } => {
            let reader: Box<dyn BufRead> = if cases.as_os_str() == "-" {
                Box::new(std::io::stdin().lock())
            } else {
                let f = std::fs::File::open(&cases)
                    .with_context(|| format!("opening {}", cases.display()))?;
                Box::new(std::io::BufReader::new(f))
            };
            let mut errors = 0usize;
            for (n, line) in reader.lines().enumerate() {
                let line =
                    line.with_context(|| format!("reading {} line {}", cases.display(), n + 1))?;
                if line.trim().is_empty() {
                    continue;
                }
                let result = run_line(&line);
                if let Some(e) = result.get("error").and_then(|e| e.as_str()) {
                    errors += 1;
                    eprintln!("rolescope: {} line {}: {e}", cases.display(), n + 1);
                }
                writeln!(out, "{result}")?;
            }
            out.flush()?;
            if errors > 0 {
                eprintln!("rolescope: {errors} case(s) could not be evaluated");
                return Ok(ExitCode::from(2));
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

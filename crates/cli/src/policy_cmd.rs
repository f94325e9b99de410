//! `rolescope policy …`: the policy engine on the command line.

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use rolescope_policy::simulate::run_line;
use rolescope_policy::summary::{PrincipalPolicies, effective_permissions};
use rolescope_policy::{Policy, catalog};
use serde_json::{Value, json};
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
    /// Effective permissions over the whole action catalog: one JSON line per granted action.
    Summary {
        /// An identity policy document (repeat for several).
        #[arg(long, required = true)]
        identity: Vec<PathBuf>,
        /// The permission boundary document.
        #[arg(long)]
        boundary: Option<PathBuf>,
        /// One SCP level: a policy document or a JSON list of them (repeat, root first).
        #[arg(long = "scp-level")]
        scp_levels: Vec<PathBuf>,
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
        PolicyCommand::Summary {
            identity,
            boundary,
            scp_levels,
        } => {
            let identity: Vec<Policy> = identity
                .iter()
                .map(|p| read_policy(p))
                .collect::<Result<_>>()?;
            let boundary = boundary.as_deref().map(read_policy).transpose()?;
            let scps: Vec<Vec<Policy>> = scp_levels
                .iter()
                .map(|p| read_level(p))
                .collect::<Result<_>>()?;
            let cat = catalog();
            let pp = PrincipalPolicies {
                identity: &identity,
                boundary: boundary.as_ref(),
                scps: &scps,
            };
            for g in effective_permissions(cat, &pp).grants {
                let a = &cat.actions[g.action as usize];
                let line = json!({
                    "action": a.full_name,
                    "access_level": a.level().as_str(),
                    "status": g.status,
                    "denied_by": g.denied_by,
                    "scp_level": g.scp_level,
                    "depends_on": g.depends_on,
                });
                writeln!(out, "{line}")?;
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

fn read_json(path: &std::path::Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: invalid JSON", path.display()))
}

fn read_policy(path: &std::path::Path) -> Result<Policy> {
    Policy::from_value(&read_json(path)?)
        .with_context(|| format!("{}: malformed policy", path.display()))
}

/// One SCP level: a single document or a list of documents.
fn read_level(path: &std::path::Path) -> Result<Vec<Policy>> {
    match read_json(path)? {
        Value::Array(docs) => docs
            .iter()
            .enumerate()
            .map(|(i, d)| {
                Policy::from_value(d)
                    .with_context(|| format!("{} item {i}: malformed policy", path.display()))
            })
            .collect(),
        doc => Ok(vec![Policy::from_value(&doc).with_context(|| {
            format!("{}: malformed policy", path.display())
        })?]),
    }
}

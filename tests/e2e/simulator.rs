//! `rolescope demo` and the simulator: every check on the demo organization, faults survived,
//! a killed scan re-run with its scan id gives the same dataset.

use crate::moto::{files, out_dir, rolescope_bin, snapshot_in};
use crate::support::python_json;
use rolescope_model::snapshot::Snapshot;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn demo(out: &Path, extra: &[&str]) -> Output {
    Command::new(rolescope_bin())
        .arg("demo")
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(if extra.contains(&"--latency-ms") {
            &[][..]
        } else {
            &["--latency-ms", "0,2"][..]
        })
        .args(extra)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("running rolescope demo")
}

fn ok(run: &Output) {
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// (account, region) lanes that have a collection error, and accounts with an account-wide one.
fn gaps(s: &Snapshot) -> (BTreeSet<(String, String)>, BTreeSet<String>) {
    let mut lanes = BTreeSet::new();
    let mut accounts = BTreeSet::new();
    for e in &s.collection_errors {
        let Some(a) = &e.account_id else { continue };
        match &e.region {
            Some(r) => {
                lanes.insert((a.to_string(), r.clone()));
            }
            None => {
                accounts.insert(a.to_string());
            }
        }
    }
    (lanes, accounts)
}

/// Every function of `clean` is in `faulty` unless its lane or account has a recorded gap, and
/// `faulty` invents nothing.
fn nothing_lost(clean: &Snapshot, faulty: &Snapshot) {
    let (lanes, accounts) = gaps(faulty);
    let have: BTreeSet<&str> = faulty.functions.iter().map(|f| f.arn.as_str()).collect();
    let all: BTreeSet<&str> = clean.functions.iter().map(|f| f.arn.as_str()).collect();
    for f in &clean.functions {
        let covered = accounts.contains(f.account_id.as_str())
            || lanes.contains(&(f.account_id.to_string(), f.region.to_string()));
        assert!(
            have.contains(f.arn.as_str()) || covered,
            "{} is missing without a collection error",
            f.arn
        );
    }
    assert!(have.is_subset(&all), "the faulty scan invented functions");
}

#[test]
fn the_demo_organization_covers_every_check_and_keeps_secrets_out() {
    let out = out_dir("demo");
    let run = demo(&out, &["--scan-id", "demo-e2e", "-vv"]);
    ok(&run);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("SCPs"), "{stderr}");
    let snap = snapshot_in(&out);
    assert_eq!(snap.accounts.len(), 12);
    assert_eq!(snap.org_units.len(), 4, "root and 3 OUs");
    assert_eq!(snap.functions.len(), 200);
    assert!(
        snap.collection_errors.is_empty(),
        "{:#?}",
        snap.collection_errors
    );
    assert!(!snap.last_accessed.is_empty());
    assert!(!snap.access_findings.is_empty());
    assert!(snap.functions.iter().all(|f| f.last_modified.is_some()));

    let analysis = rolescope_analysis::analyze(
        rolescope_policy::catalog(),
        &snap,
        &rolescope_analysis::Settings::default(),
    );
    let found: BTreeSet<&str> = analysis.findings.iter().map(|f| f.check_id).collect();
    for check in rolescope_analysis::CHECKS {
        assert!(
            found.contains(check.id),
            "{} not found in the demo",
            check.id
        );
    }

    // The full output: datasets, Athena SQL, SCP recommendations with some safe to attach.
    for path in [
        "athena/tables.sql",
        "athena/views.sql",
        "scp/README.md",
        "scp/apply.sh",
    ] {
        assert!(out.join(path).exists(), "{path}");
    }
    let readme = std::fs::read_to_string(out.join("scp/README.md")).unwrap();
    assert!(readme.contains("safe: no observed impact"), "{readme}");

    // The secret-like values are flagged by kind, naming the variable, once per function.
    let kinds: BTreeSet<(String, String)> = analysis
        .findings
        .iter()
        .filter(|f| f.check_id == "RS-SECRET-001")
        .map(|f| {
            let e = f.detail.value();
            (
                e["variable"].as_str().unwrap().to_string(),
                e["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("AWS_ACCESS_KEY_ID", "aws_access_key_id"),
        ("DATABASE_URL", "connection_string_password"),
        ("DB_PASSWORD", "password"),
        ("GITHUB_TOKEN", "github_token"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(kinds, expected);
    let planted = snap
        .functions
        .iter()
        .filter(|f| !f.secret_like_env.is_empty())
        .count();
    assert!(
        (10..=40).contains(&planted),
        "{planted} functions with secrets"
    );

    // The env var values the simulator planted never reach an output byte or decoded value,
    // nor the log at -vv: not whole, and not their distinctive parts.
    let canary = rolescope_simulator::SECRET_CANARY;
    let mut needles: Vec<String> = rolescope_simulator::planted_secrets()
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    needles.extend(["SIMCANARY4F7DQ7X".into(), "sim4f1dCanary0never".into()]);
    needles.push(canary.into());
    let logged = String::from_utf8_lossy(&run.stderr).into_owned();
    let mut rows = serde_json::Value::Null;
    for needle in &needles {
        assert!(
            !logged.contains(needle.as_str()),
            "the -vv log holds {needle}"
        );
        for f in files(&out) {
            if f.extension().is_some_and(|e| e == "parquet") {
                continue;
            }
            let bytes = std::fs::read(&f).unwrap();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{} holds {needle}",
                f.display()
            );
        }
        let d = python_json(
            "duckdb/read_dataset.py",
            &[out.as_os_str(), needle.as_ref()],
        );
        for (table, v) in d.as_object().unwrap() {
            assert_eq!(v["needle_found"], false, "{table} holds {needle}");
        }
        rows = d["functions"]["rows"].clone();
    }
    assert_eq!(rows, 200);
}

#[test]
fn faults_are_survived_and_every_gap_is_a_collection_error() {
    let clean_out = out_dir("faults-clean");
    ok(&demo(&clean_out, &["--time-scale", "4"]));
    let clean = snapshot_in(&clean_out);

    let out = out_dir("faults");
    let run = demo(
        &out,
        &[
            "--time-scale",
            "4",
            "--deny-assume",
            "member:2",
            "--suspend",
            "member:3",
            "--disable-region",
            "eu-central-1",
            "--regions",
            "us-east-1,eu-west-1,eu-central-1,ap-southeast-2",
            "--error-rate",
            "0.03",
            "--hang-rate",
            "0.005",
            "--deny-operation",
            "GenerateServiceLastAccessedDetails",
            "--strict",
        ],
    );
    assert_eq!(
        run.status.code(),
        Some(2),
        "a partial scan with --strict exits 2: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let faulty = snapshot_in(&out);
    let member = |n: usize| {
        clean
            .accounts
            .iter()
            .filter(|a| a.name == format!("member-{n:04}"))
            .map(|a| a.account_id.to_string())
            .next()
            .unwrap()
    };
    let has = |account: &str, op: &str, code: &str| {
        faulty.collection_errors.iter().any(|e| {
            e.account_id.as_ref().map(|a| a.to_string()).as_deref() == Some(account)
                && e.operation == op
                && e.error_code == code
        })
    };
    assert!(
        has(&member(2), "AssumeRole", "AccessDenied"),
        "{:#?}",
        faulty.collection_errors
    );
    assert!(
        faulty
            .collection_errors
            .iter()
            .any(|e| e.error_code == "AccountSuspended"
                && e.account_id.as_ref().map(|a| a.to_string()) == Some(member(3))),
        "{:#?}",
        faulty.collection_errors
    );
    assert!(
        faulty
            .collection_errors
            .iter()
            .any(|e| e.region.as_deref() == Some("eu-central-1")
                && e.error_code == "UnrecognizedClientException"),
        "{:#?}",
        faulty.collection_errors
    );
    nothing_lost(&clean, &faulty);
    // Accounts that could be read are read in full where no gap is recorded.
    let scanned: BTreeSet<String> = faulty
        .accounts
        .iter()
        .filter(|a| a.scanned)
        .map(|a| a.account_id.to_string())
        .collect();
    assert_eq!(
        scanned.len(),
        10,
        "12 accounts minus the denied and the suspended one"
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("faults injected"), "{stderr}");
    // --strict says how much is incomplete, and every role a collection error names is counted.
    let strict = stderr
        .lines()
        .find(|l| l.contains("--strict:"))
        .unwrap_or_else(|| panic!("no --strict line: {stderr}"));
    assert!(
        strict.contains(&format!(
            "{} collection errors",
            faulty.collection_errors.len()
        )),
        "{strict}"
    );
    let role_arns: BTreeSet<&str> = faulty.roles.iter().map(|r| r.arn.as_str()).collect();
    let named: BTreeSet<&str> = faulty
        .collection_errors
        .iter()
        .filter_map(|e| e.resource_arn.as_deref())
        .filter(|a| role_arns.contains(a))
        .collect();
    assert!(
        !named.is_empty(),
        "the fault rates leave some role incomplete"
    );
    let counted: usize = strict
        .split(" roles incomplete")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{strict}"));
    assert!(
        counted >= named.len(),
        "{counted} < {}: {strict}",
        named.len()
    );
}

#[test]
fn a_throttling_storm_slows_the_scan_but_loses_nothing() {
    let clean_out = out_dir("storm-clean");
    ok(&demo(
        &clean_out,
        &["--time-scale", "8", "--scan-id", "storm-clean"],
    ));
    let clean = snapshot_in(&clean_out);
    let out = out_dir("storm");
    let run = demo(
        &out,
        &[
            "--time-scale",
            "8",
            "--rate-factor",
            "0.02",
            "--scan-id",
            "storm",
        ],
    );
    ok(&run);
    let stderr = String::from_utf8_lossy(&run.stderr);
    // The simulator's own line: `simulator  N requests served, M throttled, …`.
    let throttled: u64 = stderr
        .lines()
        .find(|l| l.trim_start().starts_with("simulator"))
        .and_then(|l| l.split(" throttled").next())
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        throttled > 50,
        "the storm throttled only {throttled} requests: {stderr}"
    );
    let storm = snapshot_in(&out);
    nothing_lost(&clean, &storm);
    for e in &storm.collection_errors {
        assert!(
            matches!(
                e.error_code.as_str(),
                "Throttling" | "TooManyRequestsException" | "ThrottlingException"
            ),
            "only throttling can be left over: {e:?}"
        );
    }
}

/// Decoded rows of every table except scan_runs (which holds the scan's own timestamps).
fn dataset(out: &Path) -> BTreeMap<String, Vec<u8>> {
    files(out)
        .into_iter()
        .filter(|p| {
            p.extension().is_some_and(|e| e == "parquet")
                && !p.to_string_lossy().contains("/scan_runs/")
        })
        .map(|p| {
            (
                p.strip_prefix(out).unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_killed_scan_rerun_with_the_same_scan_id_gives_the_same_dataset() {
    let whole = out_dir("rerun-whole");
    ok(&demo(
        &whole,
        &["--scan-id", "same-id", "--latency-ms", "20,40"],
    ));

    let out = out_dir("rerun-killed");
    let mut child = Command::new(rolescope_bin())
        .args([
            "demo",
            "--quiet",
            "--scan-id",
            "same-id",
            "--latency-ms",
            "20,40",
            "--out",
        ])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    let finished_early = child.try_wait().unwrap().is_some();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        !finished_early,
        "the scan finished before it could be killed"
    );
    ok(&demo(
        &out,
        &["--scan-id", "same-id", "--latency-ms", "20,40"],
    ));

    let (a, b) = (dataset(&whole), dataset(&out));
    assert_eq!(
        a.len(),
        rolescope_exporter::tables::TABLES.len() - 1,
        "every table but scan_runs: {:?}",
        a.keys()
    );
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        // Findings carry first_seen and last_seen, the start of their scan: the same rows
        // otherwise.
        if name.starts_with("findings/") {
            assert_eq!(
                rows_without(bytes, &["first_seen", "last_seen"]),
                rows_without(&b[name], &["first_seen", "last_seen"]),
                "{name} differs from the uninterrupted scan"
            );
            continue;
        }
        // The usage window ends when the scan starts; the rows are the same.
        if name.starts_with("usage_coverage/") {
            let window = ["window_start", "window_end"];
            assert_eq!(
                rows_without(bytes, &window),
                rows_without(&b[name], &window),
                "{name} differs from the uninterrupted scan"
            );
            continue;
        }
        assert!(
            bytes == &b[name],
            "{name} differs from the uninterrupted scan"
        );
    }
}

/// A Parquet file's record batches without some columns.
fn rows_without(bytes: &[u8], drop: &[&str]) -> Vec<arrow_array::RecordBatch> {
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        bytes::Bytes::copy_from_slice(bytes),
    )
    .unwrap()
    .build()
    .unwrap()
    .map(|batch| {
        let batch = batch.unwrap();
        let keep: Vec<usize> = batch
            .schema()
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| !drop.contains(&f.name().as_str()))
            .map(|(i, _)| i)
            .collect();
        batch.project(&keep).unwrap()
    })
    .collect()
}

#[test]
fn scenario_s_is_collected_completely_with_the_minimum_of_calls() {
    // Correctness only: no timing is asserted (timings are benchmarks: docs/benchmarks.md).
    let out = out_dir("scenario-s");
    let report = out.join("report.json");
    let run = demo(
        &out.join("data"),
        &[
            "--scenario",
            "s",
            "--time-scale",
            "8",
            "--latency-ms",
            "50,150",
            "--bench-report",
            report.to_str().unwrap(),
        ],
    );
    ok(&run);
    let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["functions_collected"], r["functions"]);
    assert_eq!(r["functions"], 600);
    assert_eq!(r["collection_errors"], 0);
    // Every call the work needs, and at most 5% more (last-accessed polls may repeat).
    let ratio = r["api_calls_ratio"].as_f64().unwrap();
    assert!(
        (1.0..=1.05).contains(&ratio),
        "{ratio}: {:#}",
        r["calls_by_operation"]
    );
    for (op, min) in r["min_calls_by_operation"].as_object().unwrap() {
        assert!(
            r["calls_by_operation"][op].as_u64().unwrap_or(0) >= min.as_u64().unwrap(),
            "{op} below its minimum"
        );
    }
    assert!(r["bound_seconds"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_destination_that_fails_after_collection_keeps_the_collection_in_the_spool() {
    let out = out_dir("late-failure");
    let spool = out_dir("late-failure-spool");
    // The preflight probe at the root succeeds; the snapshot's folder cannot be created.
    std::fs::write(out.join("snapshots"), b"not a folder").unwrap();
    let run = demo(
        &out,
        &["--scan-id", "late", "--spool", spool.to_str().unwrap()],
    );
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{err}");
    let kept = spool.join("late.jsonl");
    assert!(
        err.contains(&format!("the collection is kept in {}", kept.display())),
        "{err}"
    );
    // What the message says works: the kept snapshot finishes the scan elsewhere.
    let snapshot = Snapshot::read(&kept).unwrap();
    assert_eq!(snapshot.functions.len(), 200);
    let finished = out_dir("late-failure-finished");
    let analyzed = Command::new(rolescope_bin())
        .args(["analyze", "--snapshot"])
        .arg(&kept)
        .arg("--out")
        .arg(&finished)
        .output()
        .unwrap();
    assert!(
        analyzed.status.success(),
        "{}",
        String::from_utf8_lossy(&analyzed.stderr)
    );
    assert!(finished.join("scan_runs").exists());
    // Nothing of the scan became visible in the failed destination.
    assert!(!out.join("scan_runs").exists() && !out.join("findings").exists());
}

#[test]
fn two_runs_with_one_scan_id_into_one_destination_are_one_too_many() {
    let out = out_dir("two-writers");
    let start = || {
        Command::new(rolescope_bin())
            .args([
                "demo",
                "--quiet",
                "--latency-ms",
                "5,20",
                "--scan-id",
                "twice",
                "--out",
            ])
            .arg(&out)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (start(), start());
    let runs = [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ];
    let codes: Vec<Option<i32>> = runs.iter().map(|r| r.status.code()).collect();
    let refused: Vec<&Output> = runs.iter().filter(|r| r.status.code() == Some(2)).collect();
    assert_eq!(refused.len(), 1, "exit codes {codes:?}");
    assert!(
        runs.iter().any(|r| r.status.success()),
        "exit codes {codes:?}"
    );
    let err = String::from_utf8_lossy(&refused[0].stderr);
    assert!(
        err.contains("scan twice is being written to this destination by another run"),
        "{err}"
    );
    // The lock went with the run that held it, and its scan is whole.
    assert!(!out.join(".locks/twice.lock").exists());
    assert_eq!(snapshot_in(&out).functions.len(), 200);
}

/// `rolescope diff` between two snapshots: (stdout lines as JSON, stderr, exit code).
fn diff(from: &Path, to: &Path, extra: &[&str]) -> (Vec<Value>, String, Option<i32>) {
    let out = Command::new(rolescope_bin())
        .arg("diff")
        .arg("--from")
        .arg(from)
        .arg("--to")
        .arg(to)
        .args(extra)
        .output()
        .unwrap();
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

fn snapshot_file(out: &Path) -> std::path::PathBuf {
    files(&out.join("snapshots"))
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .unwrap()
}

#[test]
fn diff_tells_changes_from_identical_runs_and_unread_accounts_from_resolved_findings() {
    let one = out_dir("diff-one");
    ok(&demo(&one, &["--scan-id", "one"]));
    let again = out_dir("diff-again");
    ok(&demo(&again, &["--scan-id", "again"]));
    let other = out_dir("diff-other");
    ok(&demo(&other, &["--scan-id", "other", "--seed", "8"]));
    let denied = out_dir("diff-denied");
    ok(&demo(
        &denied,
        &["--scan-id", "denied", "--deny-assume", "member:2"],
    ));
    let (one, again, other, denied) = (
        snapshot_file(&one),
        snapshot_file(&again),
        snapshot_file(&other),
        snapshot_file(&denied),
    );

    // Two scans of the same organization: nothing changed.
    let (lines, stderr, code) = diff(&one, &again, &["--fail-on", "info"]);
    assert!(lines.is_empty(), "{lines:?}");
    assert!(stderr.contains("no changes"), "{stderr}");
    assert_eq!(code, Some(0));

    // Another seed: new and resolved findings, functions changed; new critical findings page.
    let (lines, stderr, code) = diff(&one, &other, &["--fail-on", "critical"]);
    let count = |kind: &str, change: &str| {
        lines
            .iter()
            .filter(|l| l["kind"] == kind && l["change"] == change)
            .count()
    };
    assert!(count("finding", "new") > 0 && count("finding", "resolved") > 0);
    assert!(count("function", "changed") > 0);
    let new_critical = lines
        .iter()
        .filter(|l| {
            l["change"] == "new" && l["severity"] == "critical" && l["mitigated_by"].is_null()
        })
        .count();
    assert!(new_critical > 0);
    assert!(
        stderr.contains(&format!("{new_critical} new critical findings")),
        "{stderr}"
    );
    assert_eq!(
        code,
        Some(1),
        "a new critical finding with --fail-on critical"
    );
    let ids: BTreeSet<&str> = lines
        .iter()
        .filter_map(|l| l["finding_id"].as_str())
        .collect();
    assert_eq!(
        ids.len(),
        lines.iter().filter(|l| l["kind"] == "finding").count(),
        "one line per finding"
    );

    // An account that could not be assumed: its findings are not resolved, its roles and
    // functions not removed; the summary says they were not read.
    let (lines, stderr, code) = diff(&one, &denied, &[]);
    assert!(
        lines
            .iter()
            .all(|l| l["change"] != "resolved" && l["change"] != "removed"),
        "{lines:?}"
    );
    assert!(stderr.contains("not read this time"), "{stderr}");
    assert_eq!(code, Some(0));
}

#[test]
fn scans_into_one_destination_record_what_changed_and_carry_first_seen() {
    let out = out_dir("history");
    let run = |extra: &[&str]| {
        let r = demo(&out, extra);
        ok(&r);
        String::from_utf8_lossy(&r.stderr).into_owned()
    };
    let first = run(&["--scan-id", "h-1"]);
    assert!(first.contains("history    no comparison"), "{first}");
    let second = run(&["--scan-id", "h-2", "--seed", "8"]);
    assert!(second.contains("since      scan h-1:"), "{second}");
    let third = run(&[
        "--scan-id",
        "h-3",
        "--seed",
        "8",
        "--deny-assume",
        "member:2",
    ]);
    assert!(third.contains("since      scan h-2:"), "{third}");
    assert!(third.contains("not read this time"), "{third}");
    let fourth = run(&["--scan-id", "h-4", "--seed", "8"]);
    assert!(fourth.contains("since      scan h-3:"), "{fourth}");

    // The tables tell the story `rolescope diff` tells.
    let snapshot = |id: &str| {
        files(&out.join("snapshots"))
            .into_iter()
            .find(|p| p.file_name().unwrap().to_string_lossy() == format!("{id}.jsonl"))
            .unwrap()
    };
    let d = Command::new(rolescope_bin())
        .args(["diff", "--from"])
        .arg(snapshot("h-1"))
        .arg("--to")
        .arg(snapshot("h-2"))
        .output()
        .unwrap();
    let mut by_change = BTreeMap::<String, u64>::new();
    for line in String::from_utf8(d.stdout).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["kind"] == "finding" {
            *by_change
                .entry(v["change"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    let h = python_json("duckdb/history.py", &[out.as_os_str()]);
    let from_table: BTreeMap<String, u64> = h["changes"]["h-2"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(from_table, by_change);
    assert!(by_change["new"] > 0 && by_change["resolved"] > 0);
    // The scan that could not read member 2 resolves nothing there (nor anywhere: same seed).
    assert!(h["changes"]["h-3"].get("resolved").is_none(), "{h}");
    // Findings seen before keep their first_seen; h-1 had no baseline.
    assert!(h["carried_first_seen"]["h-2"].as_u64().unwrap() > 0, "{h}");
    assert!(h["carried_first_seen"].get("h-1").is_none(), "{h}");
    // h-3 could not read member 2: its findings there are carried, not observed, and h-4, which
    // reads it again, does not start their first_seen anew: it still predates h-3.
    let unobserved = h["unobserved"]["h-3"].as_u64().unwrap();
    assert!(unobserved > 0, "{h}");
    assert!(h["unobserved"].get("h-4").is_none(), "{h}");
    assert!(
        h["older_than_previous_scan"]["h-4"].as_u64().unwrap() >= unobserved,
        "{h}"
    );
    assert!(
        h["changes"].get("h-4").is_none(),
        "h-4 reads again what h-3 carried: nothing changed {h}"
    );

    // The history views run in DuckDB over the same files.
    let views = python_json(
        "duckdb/views.py",
        &[out.as_os_str(), out.join("athena/views.sql").as_os_str()],
    );
    assert!(
        views["v_finding_changes_per_scan"].as_u64().unwrap() > 0,
        "{views}"
    );
    assert!(views["v_time_to_resolve"].as_u64().unwrap() > 0, "{views}");
    assert!(
        views["v_open_findings_per_day"].as_u64().unwrap() > 0,
        "{views}"
    );
    assert!(
        views["v_oldest_open_critical"].as_u64().unwrap() > 0,
        "{views}"
    );

    // --baseline: another committed scan of the folder by id, or a snapshot file anywhere.
    let attempt = |baseline: &std::ffi::OsStr, into: &Path| {
        Command::new(rolescope_bin())
            .args(["analyze", "--snapshot"])
            .arg(snapshot("h-4"))
            .arg("--out")
            .arg(into)
            .arg("--baseline")
            .arg(baseline)
            .stdout(Stdio::null())
            .output()
            .unwrap()
    };
    let rerun = |baseline: &std::ffi::OsStr, into: &Path| {
        let r = attempt(baseline, into);
        ok(&r);
        String::from_utf8_lossy(&r.stderr).into_owned()
    };
    let by_id = rerun("h-1".as_ref(), &out);
    assert!(by_id.contains("since      scan h-1:"), "{by_id}");
    let elsewhere = out_dir("history-elsewhere");
    let by_file = rerun(snapshot("h-2").as_os_str(), &elsewhere);
    assert!(by_file.contains("since      scan h-2:"), "{by_file}");
    // An explicit baseline that is none is refused, once, with nothing written.
    let unknown = attempt("h-9".as_ref(), &elsewhere);
    let said = String::from_utf8_lossy(&unknown.stderr);
    assert_eq!(unknown.status.code(), Some(2), "{said}");
    assert!(
        said.contains("--baseline h-9: no committed scan of that id here"),
        "{said}"
    );

    // OCSF: every line a valid Detection Finding of the pinned version, with the lifecycle of
    // finding_changes: new ones New, resolved ones sent once more as Resolved.
    let ocsf = |id: &str| {
        let file = files(&out.join("ocsf"))
            .into_iter()
            .find(|p| p.file_name().unwrap().to_string_lossy() == format!("{id}.jsonl"))
            .unwrap();
        python_json("ocsf/validate.py", &[file.as_os_str()])
    };
    let first = ocsf("h-1");
    assert_eq!(first["errors"], serde_json::json!([]), "{first}");
    assert_eq!(first["ocsf_version"], "1.5.0");
    assert!(first["statuses"].get("In Progress").is_none(), "{first}");
    let second = ocsf("h-2");
    assert_eq!(second["errors"], serde_json::json!([]), "{second}");
    assert_eq!(second["statuses"]["New"], by_change["new"], "{second}");
    assert_eq!(
        second["statuses"]["Resolved"], by_change["resolved"],
        "{second}"
    );
    assert!(
        second["statuses"]["In Progress"].as_u64().unwrap() > 0,
        "{second}"
    );

    // ASFF: moto's Security Hub takes every request (line) of the second scan, refusing none.
    let asff = files(&out.join("asff"))
        .into_iter()
        .find(|p| p.ends_with("h-2.jsonl"))
        .unwrap();
    let requests = std::fs::read_to_string(&asff).unwrap().lines().count() as u64;
    assert!(requests > 1, "{requests} requests");
    let moto = crate::moto::Moto::start();
    let hub = python_json(
        "moto/securityhub.py",
        &[moto.url.as_ref(), asff.as_os_str()],
    );
    assert_eq!(hub["failed"], 0, "{hub}");
    assert_eq!(hub["calls"], requests);
    // Full requests but the last: as few calls as BatchImportFindings allows.
    assert_eq!(
        requests,
        second["lines"].as_u64().unwrap().div_ceil(100),
        "{hub}"
    );
    assert_eq!(hub["imported"], second["lines"], "{hub}");
    assert_eq!(hub["archived"], by_change["resolved"], "{hub}");
}

/// A finding the scan could not read is carried for as long as its account stays unread (two
/// scans here), keeps its first_seen, and is resolved by the first scan that reads the account
/// again and no longer finds it.
#[test]
fn a_finding_carried_across_two_unread_scans_stays_open_then_resolves_once_read_and_gone() {
    let out = out_dir("carried");
    let run = |extra: &[&str]| ok(&demo(&out, extra));
    const MEMBER2: &str = "100000002222";
    run(&["--scan-id", "c-1"]);
    run(&["--scan-id", "c-2", "--deny-assume", "member:2"]);
    run(&["--scan-id", "c-3", "--deny-assume", "member:2"]);
    // Another seed: member 2 is read again and some of its findings are gone.
    run(&["--scan-id", "c-4", "--seed", "8"]);
    let q = |name: &str, sql: String| format!("{name}={sql}");
    let r = python_json(
        "duckdb/sql.py",
        &[
            out.as_os_str(),
            q("unobserved", "SELECT scan_id, count(*), min(first_seen) FROM findings WHERE NOT observed GROUP BY scan_id ORDER BY scan_id".into()).as_ref(),
            q("c1", format!("SELECT count(*), min(f.first_seen) FROM findings f WHERE f.scan_id = 'c-1' AND f.account_id = '{MEMBER2}'")).as_ref(),
            q("c1_start", "SELECT started_at FROM scan_runs WHERE scan_id = 'c-1'".into()).as_ref(),
            q("changes", format!("SELECT scan_id, change, count(*) FROM finding_changes WHERE account_id = '{MEMBER2}' GROUP BY ALL ORDER BY ALL")).as_ref(),
            q("kept", format!("SELECT count(*) FROM findings f WHERE f.scan_id = 'c-4' AND f.account_id = '{MEMBER2}' AND f.first_seen = (SELECT started_at FROM scan_runs WHERE scan_id = 'c-1')")).as_ref(),
            q("gone", format!("SELECT count(*) FROM (SELECT finding_id FROM findings WHERE scan_id = 'c-1' AND account_id = '{MEMBER2}' EXCEPT SELECT finding_id FROM findings WHERE scan_id = 'c-4')")).as_ref(),
        ],
    );
    let c1 = &r["c1"][0];
    let start = &r["c1_start"][0][0];
    assert!(c1[0].as_u64().unwrap() > 0, "{r}");
    // c-2 and c-3 both carry every finding member 2 had in c-1, first seen in c-1.
    let unobserved = r["unobserved"].as_array().unwrap();
    assert_eq!(unobserved.len(), 2, "{r}");
    for row in unobserved {
        assert_eq!(row[1], c1[0], "{r}");
        assert_eq!(&row[2], start, "{r}");
    }
    // Nothing of member 2 changed while it was unread; c-4 resolves what is gone and keeps
    // first_seen for what is still there.
    let changes: Vec<(String, String, u64)> = r["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row[0].as_str().unwrap().to_string(),
                row[1].as_str().unwrap().to_string(),
                row[2].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        changes.iter().all(|(scan, _, _)| scan == "c-4"),
        "{changes:?}"
    );
    let resolved = changes
        .iter()
        .find(|(_, change, _)| change == "resolved")
        .map_or(0, |c| c.2);
    let gone = r["gone"][0][0].as_u64().unwrap();
    assert!(gone > 0, "the seeds differ in member 2: {r}");
    assert_eq!(resolved, gone, "{changes:?}");
    assert!(r["kept"][0][0].as_u64().unwrap() > 0, "{r}");
}

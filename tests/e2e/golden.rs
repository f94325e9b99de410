//! Golden outputs: fixed snapshots (the demo organization and the moto organization, as scans of
//! them wrote them) run through the commands that write datasets, and every file they write
//! compared with the digests kept in `tests/golden/<case>.expected.json`.
//!
//! A refactoring must keep every digest. A change that means to change the output rewrites the
//! expectations with `UPDATE_EXPECT=1 cargo test -p rolescope-tests --test e2e golden`, and the
//! diff of the `.expected.json` files shows what changed.

use crate::moto::{files, out_dir, rolescope};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden")
}

/// Path (relative to `out`) → SHA-256 of every file under `out` (the report with `out` itself
/// written as `{out}`), and of stdout under `"-"`.
fn digests(out: &Path, stdout: &[u8]) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("-".into(), hex(stdout).into());
    for path in files(out) {
        let rel = path
            .strip_prefix(out)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let mut bytes = std::fs::read(&path).unwrap();
        // The report names where its datasets are (for the queries it shows): the test's
        // folder, which differs per run, is the one part of it that may.
        if path.extension().is_some_and(|e| e == "html") {
            let text = String::from_utf8(bytes).unwrap();
            bytes = text.replace(&*out.to_string_lossy(), "{out}").into_bytes();
        }
        map.insert(rel, hex(&bytes).into());
    }
    map
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Run one command per case and compare (or, with `UPDATE_EXPECT=1`, rewrite) the digests.
fn check(case: &str, commands: &[(&str, &[&str])]) {
    let snapshot = golden_dir().join(format!("{case}.jsonl"));
    let mut actual = Map::new();
    for (name, args) in commands {
        let out = out_dir(&format!("golden-{case}-{name}"));
        let mut argv: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        argv.extend([
            OsStr::new("--snapshot"),
            snapshot.as_os_str(),
            OsStr::new("--out"),
            out.as_os_str(),
        ]);
        let run = rolescope(&argv);
        assert!(
            run.status.code().is_some_and(|c| c < 2),
            "{name}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        actual.insert(name.to_string(), Value::Object(digests(&out, &run.stdout)));
    }
    let expected_path = golden_dir().join(format!("{case}.expected.json"));
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        let text = serde_json::to_string_pretty(&Value::Object(actual)).unwrap() + "\n";
        std::fs::write(&expected_path, text).unwrap();
        return;
    }
    let expected: Map<String, Value> = serde_json::from_str(
        &std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display())),
    )
    .unwrap();
    let mut differences = Vec::new();
    for (command, files) in &expected {
        for (file, digest) in files.as_object().unwrap() {
            let got = actual.get(command).and_then(|c| c.get(file));
            if got != Some(digest) {
                differences.push(format!("{command}: {file}"));
            }
        }
    }
    for (command, files) in &actual {
        for file in files.as_object().unwrap().keys() {
            if expected.get(command).and_then(|c| c.get(file)).is_none() {
                differences.push(format!("{command}: {file} (new)"));
            }
        }
    }
    assert!(
        differences.is_empty(),
        "outputs differ from {} (UPDATE_EXPECT=1 rewrites it if the change is meant):\n  {}",
        expected_path.display(),
        differences.join("\n  ")
    );
}

const COMMANDS: &[(&str, &[&str])] = &[
    ("analyze", &["analyze"]),
    ("analyze-roles", &["analyze", "--roles"]),
    ("scp", &["scp"]),
];

#[test]
fn the_demo_snapshot_gives_the_golden_outputs() {
    check("demo", COMMANDS);
}

/// The analysis and the SCP plan of a snapshot, as JSON, and its HTML report.
fn outputs(snapshot: &rolescope_model::snapshot::Snapshot) -> (String, String, String) {
    let settings = rolescope_pipeline::Settings::default();
    let ev = rolescope_analysis::Evaluated::new(
        rolescope_policy::catalog(),
        snapshot,
        settings.analysis.unused_days,
    );
    let analysis = rolescope_analysis::analyze_evaluated(&ev, &settings.analysis);
    let plan = rolescope_analysis::scp::recommend(&ev, &analysis, &settings.scp);
    let report = rolescope_report::render(&rolescope_report::Input {
        ev: &ev,
        analysis: &analysis,
        plan: &plan,
        changes: None,
        location: "out",
        limits: rolescope_report::Limits::default(),
    });
    (
        serde_json::to_string(&analysis).unwrap(),
        serde_json::to_string(&plan).unwrap(),
        report,
    )
}

#[test]
fn the_order_of_a_snapshots_records_changes_nothing() {
    let text = std::fs::read_to_string(golden_dir().join("demo.jsonl")).unwrap();
    let (body, scan) = text.trim_end().rsplit_once('\n').unwrap();
    let mut lines: Vec<&str> = body.lines().collect();
    let expected = outputs(&read(&lines, scan));
    let mut rng = crate::support::Rng::new(7);
    for _ in 0..3 {
        // Fisher–Yates over every record but the closing scan record.
        for i in (1..lines.len()).rev() {
            lines.swap(i, rng.below(i + 1));
        }
        let shuffled = outputs(&read(&lines, scan));
        same("the analysis", &shuffled.0, &expected.0);
        same("the SCP plan", &shuffled.1, &expected.1);
        same("the report", &shuffled.2, &expected.2);
    }
}

fn read(lines: &[&str], scan: &str) -> rolescope_model::snapshot::Snapshot {
    let path = out_dir("shuffled").join("s.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n" + scan + "\n").unwrap();
    rolescope_model::snapshot::Snapshot::read(&path).unwrap()
}

/// Equal texts, or a panic showing where they part.
fn same(what: &str, got: &str, want: &str) {
    if let Some(at) = got.bytes().zip(want.bytes()).position(|(a, b)| a != b) {
        let around = |t: &str| {
            let from = t.floor_char_boundary(at.saturating_sub(200));
            t[from..t.floor_char_boundary((at + 100).min(t.len()))].to_string()
        };
        panic!(
            "{what} depends on record order:\n  {}\n  {}",
            around(got),
            around(want)
        );
    }
    assert_eq!(got.len(), want.len(), "{what} depends on record order");
}

#[test]
fn the_moto_snapshot_gives_the_golden_outputs() {
    check("moto", COMMANDS);
}

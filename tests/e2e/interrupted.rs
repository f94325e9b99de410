//! A process killed while writing leaves no complete-looking partial file.
//!
//! `rolescope analyze --snapshot F --out DIR` is killed (SIGKILL, no chance to clean up) at
//! increasing delays until a run finishes. After every kill, each file a reader would pick up
//! (not hidden, ending in `.parquet` or `.jsonl`) must be complete and decode; leftovers may only
//! be hidden `.*.partial` files, which Athena, Hive and DuckDB's `*.parquet` globs skip.
//!
//! A disk that fills up mid-export (a real ENOSPC on a small tmpfs) fails the run once, keeps the
//! collection, leaves the previous scan the one the views show, and the kept collection finishes
//! later.

use crate::moto::{files, out_dir, rolescope_bin};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rolescope_model::snapshot::Snapshot;
use rolescope_model::{
    Account, AccountId, AccountStatus, Function, InlinePolicy, Role, ScanInfo, Timestamp,
};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// A snapshot big enough that exporting it takes a while in a debug build.
fn big_snapshot(roles: usize) -> Snapshot {
    let acct = AccountId::new("000000000042").unwrap();
    let mut s = Snapshot::default();
    s.accounts.push(Account {
        account_id: acct.clone(),
        name: "big".into(),
        status: AccountStatus::Active,
        parent_id: "r-1".into(),
        ou_path: "Root".into(),
        scanned: true,
    });
    let actions = [
        r#""*""#,
        r#"["s3:*","dynamodb:GetItem"]"#,
        r#"["iam:PassRole","lambda:*"]"#,
        r#"["ec2:Describe*","logs:*"]"#,
    ];
    for i in 0..roles {
        let arn = format!("arn:aws:iam::000000000042:role/r{i}");
        s.roles.push(Role {
            account_id: acct.clone(),
            name: format!("r{i}"),
            arn: arn.clone(),
            path: "/".into(),
            trust_policy: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#.into(),
            inline_policies: vec![InlinePolicy {
                name: "p".into(),
                document: format!(
                    r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":{},"Resource":"*"}}]}}"#,
                    // One administrator in 16, the rest narrower.
                    if i % 16 == 0 { actions[0] } else { actions[1 + i % (actions.len() - 1)] }
                ),
            }],
            attached_policy_arns: vec![],
            boundary_arn: None,
            tags: vec![],
            last_used_at: None,
            last_used_region: None,
            created_at: None,
        });
        s.functions.push(Function {
            config: Default::default(),
            unread: Vec::new(),
            account_id: acct.clone(),
            region: "us-east-1".into(),
            name: format!("f{i}"),
            arn: format!("arn:aws:lambda:us-east-1:000000000042:function:f{i}"),
            role_arn: arn.into(),
            runtime: Some("python3.12".into()),
            architectures: vec!["x86_64".into()],
            package_type: Some("Zip".into()),
            last_modified: None,
            layers: vec![],
            env_var_names: vec![],
            secret_like_env: vec![],
            qualifiers: vec![],
            resource_policy: None,
            urls: vec![],
        });
    }
    s.scan = Some(ScanInfo {
        scan_id: "killed".into(),
        started_at: Timestamp::from_millis(1_800_000_000_000),
        finished_at: Timestamp::from_millis(1_800_000_060_000),
        org_id: None,
        regions: vec!["us-east-1".into()],
        tool_version: "test".into(),
    });
    s
}

/// The files a reader would pick up; each must decode completely. Returns the Parquet tables.
fn visible_files_are_complete(out: &Path) -> usize {
    let mut complete = 0;
    for path in files(out) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') {
            assert!(name.ends_with(".partial"), "unexpected hidden file {name}");
            continue;
        }
        if name.ends_with(".lock") {
            // A killed run's lock stays behind, naming it; the next run on this host takes it
            // over (pipeline::lock).
            let holder = std::fs::read_to_string(&path).unwrap();
            assert!(holder.starts_with("pid "), "{}: {holder}", path.display());
            continue;
        }
        if name.ends_with(".jsonl") && path.to_string_lossy().contains("/snapshots/") {
            rolescope_model::snapshot::Snapshot::read(&path)
                .unwrap_or_else(|e| panic!("{} is not a complete snapshot: {e}", path.display()));
            continue;
        }
        if name.ends_with(".jsonl") {
            // OCSF: every line a whole JSON document.
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("{} has a broken line: {e}", path.display()));
            }
            continue;
        }
        if name.ends_with(".json") {
            let text = std::fs::read_to_string(&path).unwrap();
            serde_json::from_str::<serde_json::Value>(&text)
                .unwrap_or_else(|e| panic!("{} is not complete JSON: {e}", path.display()));
            continue;
        }
        if [".sql", ".md", ".sh", ".html"]
            .iter()
            .any(|ext| name.ends_with(ext))
        {
            // Written whole or not at all, like every object (non-empty when visible).
            assert!(
                std::fs::metadata(&path).unwrap().len() > 0,
                "{} is empty",
                path.display()
            );
            continue;
        }
        assert!(
            name.ends_with(".parquet"),
            "unexpected file {}",
            path.display()
        );
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap())
            .unwrap_or_else(|e| panic!("{} is not a complete Parquet file: {e}", path.display()))
            .build()
            .unwrap();
        for batch in reader {
            batch.unwrap_or_else(|e| panic!("{} does not decode: {e}", path.display()));
        }
        complete += 1;
    }
    complete
}

#[test]
fn a_killed_export_leaves_only_complete_files() {
    let work = out_dir("killed");
    let snapshot = work.join("snapshot.jsonl");
    big_snapshot(800).write(&snapshot).unwrap();
    let bin = rolescope_bin();
    let run = |out: &Path| {
        Command::new(&bin)
            .arg("analyze")
            .arg("--snapshot")
            .arg(&snapshot)
            .arg("--out")
            .arg(out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };

    // How long a full run takes, and what it writes.
    let full = work.join("full");
    let started = Instant::now();
    let status = run(&full).wait().unwrap();
    let total = started.elapsed();
    eprintln!("a full export took {total:?}");
    assert_eq!(status.code(), Some(0));
    let tables = visible_files_are_complete(&full);
    assert!(tables >= 11, "{tables} tables");

    // Kill at spread-out points of the run; at least one kill must land while some tables
    // are written and others are not.
    let mut mid_write = 0;
    for step in 1..=12u32 {
        let out = work.join(format!("kill-{step}"));
        let mut child = run(&out);
        std::thread::sleep(total.mul_f64(f64::from(step) / 13.0));
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill();
        let _ = child.wait();
        if !out.exists() {
            continue;
        }
        let written = visible_files_are_complete(&out);
        if !finished && written > 0 && written < tables {
            mid_write += 1;
        }
        // scan_runs is the commit record: once it is visible, every table of the scan is.
        let committed = out.join("scan_runs").exists()
            && files(&out.join("scan_runs"))
                .iter()
                .any(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'));
        if committed {
            assert_eq!(
                written, tables,
                "scan_runs visible before the rest (kill {step})"
            );
        }
    }
    assert!(
        mid_write > 0,
        "no kill landed mid-export (a full run took {total:?}); the test proved nothing"
    );
}

/// The scan ids with a visible file under `table/`.
fn scans_in(out: &Path, table: &str) -> Vec<String> {
    let mut ids: Vec<String> = files(&out.join(table))
        .iter()
        .filter_map(|p| {
            p.file_name()?
                .to_str()?
                .strip_suffix(".parquet")
                .map(String::from)
        })
        .filter(|n| !n.starts_with('.'))
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_full_disk_mid_export_fails_once_keeps_the_collection_and_commits_nothing() {
    let work = out_dir("enospc");
    let spool = work.join("spool");
    // A tmpfs in a private mount namespace (unshare -rm: no privilege needed where user
    // namespaces are enabled; CI runs as root anyway). The first scan gets room; then the file
    // system is shrunk to 1.4 times what it used, so the second scan's snapshot fits and its
    // datasets do not (the remediation and SCP files are rewritten in place, not added: a
    // second scan needs less room than the first).
    let script = r#"set -u
mkdir m after
mount -t tmpfs -o size=16m tmpfs m || exit 97
"$BIN" demo --quiet --latency-ms 0,2 --out m --scan-id first --spool "$SPOOL" 2>first.err
echo $? > first.rc
used=$(df -k m | awk 'NR==2 {print $3}')
mount -o remount,size=$((used * 14 / 10))k m || exit 98
"$BIN" demo --quiet --latency-ms 0,2 --out m --scan-id second --spool "$SPOOL" 2>second.err
echo $? > second.rc
cp -a m/. after/
"#;
    let run = Command::new("unshare")
        .args(["-rm", "sh", "-c", script])
        .current_dir(&work)
        .env("BIN", rolescope_bin())
        .env("SPOOL", &spool)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("running unshare (util-linux) for a private tmpfs");
    assert!(
        run.status.success(),
        "setting up the small file system failed ({:?}): {}",
        run.status.code(),
        String::from_utf8_lossy(&run.stderr)
    );
    let read = |name: &str| std::fs::read_to_string(work.join(name)).unwrap();
    assert_eq!(read("first.rc").trim(), "0", "{}", read("first.err"));
    let err = read("second.err");
    assert_eq!(read("second.rc").trim(), "2", "{err}");

    // One error line, naming the object that did not fit once.
    let line = err
        .lines()
        .find(|l| l.starts_with("rolescope: error:"))
        .unwrap_or_else(|| panic!("no error line: {err}"));
    assert_eq!(line.matches("No space left on device").count(), 1, "{line}");
    let object = line
        .rsplit(": No space left on device")
        .nth(1)
        .and_then(|s| s.rsplit("writing ").next())
        .unwrap_or_else(|| panic!("{line}"));
    assert_eq!(
        line.matches(object).count(),
        1,
        "{object} named more than once: {line}"
    );
    // Which output fills the disk depends on their sizes (datasets and SCP files are written
    // side by side); it is never the snapshot, which was stored first.
    assert!(
        line.contains("the collection is complete in")
            && object.starts_with("m/")
            && !object.contains("/snapshots/"),
        "the export filled the disk after the snapshot: {line}"
    );

    // Nothing of the second scan is committed: the first is the latest scan readers see, and
    // every visible file is whole.
    let after = work.join("after");
    visible_files_are_complete(&after);
    assert_eq!(scans_in(&after, "scan_runs"), ["first"]);
    let views = |out: &Path| {
        crate::support::python_json(
            "duckdb/views.py",
            &[out.as_os_str(), out.join("athena/views.sql").as_os_str()],
        )
    };
    let before = views(&after);
    assert_eq!(before["v_latest_scan_per_day"], 1);
    assert_eq!(
        before["v_account_risk"], 12,
        "the views show the complete scan: {before}"
    );

    // The collection is kept where the message says, and finishes later on a disk with room.
    let kept = line
        .split("--snapshot ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("{line}"));
    let kept = after.join(kept.strip_prefix("m/").unwrap_or_else(|| panic!("{kept}")));
    let snapshot = Snapshot::read(&kept).unwrap();
    assert_eq!(snapshot.scan.as_ref().unwrap().scan_id, "second");
    let finish = Command::new(rolescope_bin())
        .args(["analyze", "--snapshot"])
        .arg(&kept)
        .arg("--out")
        .arg(&after)
        .output()
        .unwrap();
    assert!(
        finish.status.success(),
        "{}",
        String::from_utf8_lossy(&finish.stderr)
    );
    assert_eq!(scans_in(&after, "scan_runs"), ["first", "second"]);
    assert_eq!(scans_in(&after, "roles"), ["first", "second"]);
    let finished = views(&after);
    assert_eq!(finished["v_latest_scan_per_day"], 1);
    assert_eq!(finished["v_account_risk"], 12, "{finished}");
}

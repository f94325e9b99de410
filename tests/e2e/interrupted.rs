//! A process killed while writing leaves no complete-looking partial file.
//!
//! `rolescope analyze --snapshot F --out DIR` is killed (SIGKILL, no chance to clean up) at
//! increasing delays until a run finishes. After every kill, each file a reader would pick up
//! (not hidden, ending in `.parquet` or `.jsonl`) must be complete and decode; leftovers may only
//! be hidden `.*.partial` files, which Athena, Hive and DuckDB's `*.parquet` globs skip.

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
            unread: Vec::new(),
            account_id: acct.clone(),
            region: "us-east-1".into(),
            name: format!("f{i}"),
            arn: format!("arn:aws:lambda:us-east-1:000000000042:function:f{i}"),
            role_arn: arn,
            runtime: Some("python3.12".into()),
            architectures: vec!["x86_64".into()],
            package_type: Some("Zip".into()),
            last_modified: None,
            layers: vec![],
            env_var_names: vec![],
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
        if name.ends_with(".jsonl") {
            rolescope_model::snapshot::Snapshot::read(&path)
                .unwrap_or_else(|e| panic!("{} is not a complete snapshot: {e}", path.display()));
            continue;
        }
        if name.ends_with(".json") {
            let text = std::fs::read_to_string(&path).unwrap();
            serde_json::from_str::<serde_json::Value>(&text)
                .unwrap_or_else(|e| panic!("{} is not complete JSON: {e}", path.display()));
            continue;
        }
        if [".sql", ".md", ".sh"].iter().any(|ext| name.ends_with(ext)) {
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

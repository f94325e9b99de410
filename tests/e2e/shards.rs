//! Sharded scans against the simulator served to separate processes (`demo --serve`): the
//! merge of three shards equals a one-process scan of the same organization, table for table;
//! a missing or forged shard becomes collection errors for its accounts, and `--strict`
//! refuses to commit.

use crate::moto::{files, out_dir, rolescope_bin};
use crate::support::python_json;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The simulator, served until dropped.
pub struct Served {
    child: Child,
    /// Where it listens.
    pub endpoint: String,
    key: String,
    secret: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Start `demo --serve` and read its announcement.
pub fn serve() -> Served {
    let mut child = Command::new(rolescope_bin())
        .args(["demo", "--serve", "--latency-ms", "0,2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting rolescope demo --serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: Value = serde_json::from_str(&line).expect("demo --serve announces itself");
    Served {
        endpoint: v["endpoint_url"].as_str().unwrap().to_string(),
        key: v["access_key_id"].as_str().unwrap().to_string(),
        secret: v["secret_access_key"].as_str().unwrap().to_string(),
        child,
    }
}

impl Served {
    /// `rolescope ARGS` with the simulator's credentials.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(rolescope_bin());
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_ACCESS_KEY_ID", &self.key)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        cmd
    }

    fn scan(&self, out: &Path, extra: &[&str]) -> Command {
        let mut cmd = self.command(&["scan", "--quiet", "--endpoint-url", &self.endpoint]);
        cmd.arg("--out").arg(out).args(extra);
        cmd
    }
}

fn ok(what: &str, run: Output) -> Output {
    assert!(
        run.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    run
}

/// The records of the one snapshot under `out/snapshots`, without the scan record (its id and
/// times are the run's own).
fn records(out: &Path, scan_id: &str) -> Vec<String> {
    let path: PathBuf = files(&out.join("snapshots"))
        .into_iter()
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy() == format!("{scan_id}.jsonl"))
        })
        .unwrap_or_else(|| panic!("no snapshot of {scan_id} in {}", out.display()));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("{\"kind\":\"scan\""))
        .map(str::to_string)
        .collect()
}

/// SCP recommendation files (the JSON policies) of an output, by relative path.
fn scp_files(out: &Path) -> Vec<(String, Vec<u8>)> {
    let mut all: Vec<(String, Vec<u8>)> = files(&out.join("scp"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            (
                p.strip_prefix(out).unwrap().display().to_string(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    all.sort();
    all
}

#[test]
fn three_shards_and_a_finalize_equal_one_scan_and_a_lost_shard_loses_only_its_accounts() {
    let sim = serve();
    let one = out_dir("shards-one");
    let three = out_dir("shards-three");
    ok(
        "one-process scan",
        sim.scan(&one, &["--scan-id", "one"]).output().unwrap(),
    );

    // The plan (no earlier scan here: accounts go by their hash), then three shards as three
    // processes at once, then finalize.
    let plan = ok(
        "plan",
        sim.command(&["plan", "--shards", "3", "--scan-id", "s1", "--out"])
            .arg(&three)
            .output()
            .unwrap(),
    );
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(plan["items"].as_array().unwrap().len(), 3);
    let items: Value =
        serde_json::from_slice(&std::fs::read(three.join("shards/s1/items.json")).unwrap())
            .unwrap();
    assert_eq!(
        items[2],
        serde_json::json!({"shard": "3/3", "scan_id": "s1"})
    );
    let shards: Vec<Child> = (1..=3)
        .map(|k| {
            sim.scan(&three, &["--scan-id", "s1", "--shard", &format!("{k}/3")])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (k, child) in shards.into_iter().enumerate() {
        ok(
            &format!("shard {}", k + 1),
            child.wait_with_output().unwrap(),
        );
    }
    assert!(
        !three.join("scan_runs").exists(),
        "shards commit nothing themselves"
    );
    ok(
        "finalize",
        sim.command(&["finalize", "--scan-id", "s1", "--out"])
            .arg(&three)
            .output()
            .unwrap(),
    );

    // The same organization, record for record and row for row.
    assert_eq!(records(&three, "s1"), records(&one, "one"));
    let compared = python_json(
        "duckdb/compare.py",
        &[
            one.as_os_str(),
            "one".as_ref(),
            three.as_os_str(),
            "s1".as_ref(),
        ],
    );
    let tables = compared.as_object().unwrap();
    assert!(tables.len() >= 12, "{compared}");
    for (table, c) in tables {
        assert_eq!(c["equal"], true, "{table}: {c}");
    }
    assert!(compared["findings"]["a"].as_u64().unwrap() > 100);
    assert_eq!(
        scp_files(&three),
        scp_files(&one),
        "the same SCP recommendations"
    );

    // A second sharded scan, balanced by the first: shard 3's part is forged from shard 1's
    // (it holds accounts shard 3 does not own), so shard 3 counts as missing.
    let plan = ok(
        "plan s2",
        sim.command(&["plan", "--shards", "3", "--scan-id", "s2", "--out"])
            .arg(&three)
            .output()
            .unwrap(),
    );
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(plan["based_on"], "s1", "{plan}");
    let costs: Vec<u64> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["expected_cost"].as_u64().unwrap())
        .collect();
    let (lo, hi) = (*costs.iter().min().unwrap(), *costs.iter().max().unwrap());
    assert!(lo > 0 && hi < 2 * lo, "balanced by cost: {costs:?}");
    let lost: Vec<String> = plan["items"][2]["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert!(!lost.is_empty());
    for k in 1..=2 {
        ok(
            &format!("s2 shard {k}"),
            sim.scan(&three, &["--scan-id", "s2", "--shard", &format!("{k}/3")])
                .output()
                .unwrap(),
        );
    }
    let dir = three.join("shards/s2");
    std::fs::copy(dir.join("part-1-of-3.jsonl"), dir.join("part-3-of-3.jsonl")).unwrap();
    let manifest = std::fs::read_to_string(dir.join("part-1-of-3.json"))
        .unwrap()
        .replace("\"shard\": \"1/3\"", "\"shard\": \"3/3\"");
    std::fs::write(dir.join("part-3-of-3.json"), manifest).unwrap();

    let strict = sim
        .command(&["finalize", "--scan-id", "s2", "--strict", "--out"])
        .arg(&three)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&strict.stderr);
    assert_eq!(strict.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("shard 3/3 missing"), "{stderr}");
    assert!(stderr.contains("which shard 1 owns"), "{stderr}");
    assert!(stderr.contains("nothing was committed"), "{stderr}");
    let committed = |id: &str| {
        files(&three.join("scan_runs"))
            .iter()
            .any(|p| p.file_name().unwrap().to_string_lossy() == format!("{id}.parquet"))
    };
    assert!(!committed("s2"), "--strict commits nothing");

    ok(
        "finalize s2",
        sim.command(&["finalize", "--scan-id", "s2", "--out"])
            .arg(&three)
            .output()
            .unwrap(),
    );
    assert!(committed("s2"));
    let snapshot = rolescope_model::snapshot::Snapshot::read(
        &files(&three.join("snapshots"))
            .into_iter()
            .find(|p| p.ends_with("s2.jsonl"))
            .unwrap(),
    )
    .unwrap();
    let mut missing: Vec<String> = snapshot
        .collection_errors
        .iter()
        .filter(|e| e.error_code == "ShardMissing")
        .map(|e| e.account_id.as_ref().unwrap().to_string())
        .collect();
    missing.sort();
    let mut expected = lost.clone();
    expected.sort();
    assert_eq!(missing, expected, "one error per account of the lost shard");
    for a in &snapshot.accounts {
        assert_eq!(
            a.scanned,
            !lost.contains(&a.account_id.to_string()),
            "{}",
            a.account_id
        );
    }
    assert!(
        snapshot
            .roles
            .iter()
            .all(|r| !lost.contains(&r.account_id.to_string()))
    );
    // Unknown is not resolved: nothing of the lost accounts is reported resolved.
    let resolved = python_json(
        "browser/figures.py",
        &[three.as_os_str(), "s2".as_ref(), lost[0].as_ref()],
    );
    let changes = &resolved["changes"];
    assert!(changes.get("resolved").is_none(), "{changes}");
}

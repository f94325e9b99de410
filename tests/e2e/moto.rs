//! End-to-end: a seeded moto server (the AWS emulator from PyPI) scanned by the real `rolescope`
//! binary through the real AWS SDK. moto's gaps (Access Analyzer, last-accessed, function URL
//! listing, account:ListRegions) must show up as collection errors, never as a failed scan.

use crate::support::{python_json, require_tool};
use rolescope_model::snapshot::Snapshot;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A moto server on a free loopback port, killed on drop.
pub struct Moto {
    child: Child,
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    pub fn start() -> Moto {
        let bin = require_tool("venv/bin/moto_server");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting moto_server");
        let moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !moto.ready(port) {
            assert!(
                Instant::now() < deadline,
                "moto_server did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    fn ready(&self, port: u16) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        if s.write_all(b"GET /moto-api/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .is_err()
        {
            return false;
        }
        let mut buf = [0u8; 12];
        s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.")
    }

    /// Run `tests/moto/seed.py` against this server; returns what it created.
    pub fn seed(&self) -> Value {
        let python = require_tool("venv/bin/python");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("moto/seed.py");
        let out = Command::new(python)
            .arg(script)
            .arg(&self.url)
            .output()
            .expect("running seed.py");
        assert!(
            out.status.success(),
            "seed.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("seed.py prints JSON")
    }
}

/// The `rolescope` binary of this workspace, built on first use (a no-op under
/// `cargo test --workspace`, which has built it already).
pub fn rolescope_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // `cargo xtask ci` runs `cargo test --workspace`, which has just built the binary with the
        // workspace's unified features; it says where. A nested `cargo build -p rolescope` would
        // resolve features differently and rebuild the AWS SDK crates.
        if let Some(bin) = std::env::var_os("ROLESCOPE_BIN") {
            return PathBuf::from(bin);
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        // A clean environment: the variables cargo sets for a running test would change build
        // scripts' fingerprints and rebuild half the dependency tree.
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "-p", "rolescope", "--bin", "rolescope"])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .env_clear();
        for var in [
            "PATH",
            "HOME",
            "RUSTUP_HOME",
            "RUSTUP_TOOLCHAIN",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "TMPDIR",
        ] {
            if let Some(value) = std::env::var_os(var) {
                cmd.env(var, value);
            }
        }
        let status = cmd.status().expect("running cargo build");
        assert!(status.success(), "building the rolescope binary failed");
        let exe = std::env::current_exe().unwrap();
        // target/<profile>/deps/e2e-… → target/<profile>/rolescope
        exe.parent().unwrap().parent().unwrap().join("rolescope")
    })
    .clone()
}

/// Run a generated shell script with the AWS CLI (from `.tools/venv`) pointed at moto, with
/// moto's test credentials and no AWS configuration of the developer's.
pub fn aws_cli_script(moto: &Moto, script: &Path, args: &[&str]) -> Output {
    let bin = crate::support::require_tool("venv/bin");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("sh")
        .arg(script)
        .args(args)
        .env("PATH", &path)
        .env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .unwrap()
}

/// An empty file for AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE, so a developer's own AWS
/// configuration never leaks into a test.
fn empty_aws_file() -> PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("rolescope-empty-aws-{}", std::process::id()));
        std::fs::write(&path, b"").unwrap();
        path
    })
    .clone()
}

/// Run `rolescope scan` against an endpoint with dummy static credentials.
pub fn scan(endpoint: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<&std::ffi::OsStr> = vec!["scan".as_ref(), "--out".as_ref(), out.as_os_str()];
    args.extend(
        ["--endpoint-url", endpoint, "--max-attempts", "2", "--quiet"]
            .iter()
            .chain(extra)
            .map(|a| std::ffi::OsStr::new(*a)),
    );
    rolescope(&args)
}

/// `rolescope diff` between the snapshots of two committed scans of one output folder.
pub fn diff_of(out: &Path, from: &str, to: &str) -> Output {
    let snapshot = |id: &str| {
        files(&out.join("snapshots"))
            .into_iter()
            .find(|p| p.ends_with(format!("{id}.jsonl")))
            .unwrap_or_else(|| panic!("no snapshot of scan {id} under {}", out.display()))
    };
    rolescope(&[
        "diff".as_ref(),
        "--from".as_ref(),
        snapshot(from).as_os_str(),
        "--to".as_ref(),
        snapshot(to).as_os_str(),
    ])
}

/// A fresh output folder under the target directory.
pub fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rolescope-e2e-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every file under a folder.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Whether a file of an output folder is a snapshot (`snapshots/dt=…/<id>.jsonl`; the OCSF
/// files are JSON Lines too).
pub fn is_snapshot(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "jsonl") && p.to_string_lossy().contains("/snapshots/")
}

/// The one snapshot a scan wrote into `out`.
pub fn snapshot_in(out: &Path) -> Snapshot {
    let snaps: Vec<_> = files(out).into_iter().filter(|p| is_snapshot(p)).collect();
    assert_eq!(
        snaps.len(),
        1,
        "expected one snapshot in {}: {snaps:?}",
        out.display()
    );
    Snapshot::read(&snaps[0]).unwrap()
}

/// Run a scan that must succeed and return its snapshot.
fn scan_ok(endpoint: &str, out: &Path, extra: &[&str]) -> Snapshot {
    let run = scan(endpoint, out, extra);
    assert!(
        run.status.success(),
        "scan failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    snapshot_in(out)
}

/// One seeded server shared by the tests in this module (scans only read).
fn seeded() -> &'static (Moto, Value) {
    static SEEDED: OnceLock<(Moto, Value)> = OnceLock::new();
    SEEDED.get_or_init(|| {
        let moto = Moto::start();
        let seed = moto.seed();
        (moto, seed)
    })
}

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .fold(v, |v, k| &v[*k])
        .as_str()
        .unwrap_or_else(|| panic!("seed output lacks {path:?}"))
}

#[test]
fn scan_of_a_seeded_organization_matches_what_was_created() {
    let (moto, seed) = seeded();
    let out = out_dir("full");
    let run = scan(
        &moto.url,
        &out,
        &[
            "--regions",
            "us-east-1,eu-west-1",
            "--last-accessed-timeout",
            "5",
        ],
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "scan failed: {stderr}");
    assert!(
        run.stdout.is_empty(),
        "scan printed data on stdout without being asked"
    );
    let snap = snapshot_in(&out);

    // The secret value of the environment variable is nowhere: not on disk, not in the output.
    let canary = s(seed, &["canary"]);
    for file in files(&out) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
            "{} contains the env var value",
            file.display()
        );
    }
    assert!(!stderr.contains(canary));

    // Organization: root + 4 OUs with their paths; management + 5 accounts.
    let ou_paths: Vec<(&str, &str)> = snap
        .org_units
        .iter()
        .map(|u| (u.id.as_str(), u.path.as_str()))
        .collect();
    for (name, path) in [
        ("Workloads", "Root/Workloads"),
        ("Prod", "Root/Workloads/Prod"),
        ("Dev", "Root/Workloads/Dev"),
        ("Sandbox", "Root/Sandbox"),
    ] {
        assert!(
            ou_paths.contains(&(s(seed, &["ous", name]), path)),
            "{name}: {ou_paths:?}"
        );
    }
    assert_eq!(snap.org_units.len(), 5);
    assert_eq!(snap.accounts.len(), 6);
    let account = |name: &str| {
        let id = s(seed, &["accounts", name]);
        snap.accounts
            .iter()
            .find(|a| a.account_id.as_str() == id)
            .unwrap_or_else(|| panic!("account {name} missing"))
    };
    assert_eq!(account("prod-a").ou_path, "Root/Workloads/Prod");
    assert_eq!(account("dev").ou_path, "Root/Workloads/Dev");
    assert_eq!(account("sandbox").ou_path, "Root/Sandbox");
    assert!(account("prod-a").scanned && account("sandbox").scanned);
    // The closed account is listed, skipped and recorded.
    assert!(!account("closed").scanned);
    let closed = s(seed, &["accounts", "closed"]);
    assert!(
        snap.collection_errors
            .iter()
            .any(|e| e.error_code == "AccountSuspended"
                && e.account_id.as_ref().map(|a| a.as_str()) == Some(closed))
    );
    assert_eq!(snap.accounts.iter().filter(|a| a.scanned).count(), 5);

    // SCPs: the three seeded ones with their targets, plus FullAWSAccess.
    assert_eq!(snap.control_policies.len(), 4);
    let scp = |name: &str| {
        snap.control_policies
            .iter()
            .find(|p| p.name == name)
            .unwrap()
    };
    assert_eq!(
        scp("DenyLeaveOrganization").targets,
        vec![s(seed, &["root"]).to_string()]
    );
    assert_eq!(
        scp("WorkloadRegions").targets,
        vec![s(seed, &["ous", "Workloads"]).to_string()]
    );
    assert_eq!(
        scp("SandboxNoIamUsers").targets,
        vec![s(seed, &["accounts", "sandbox"]).to_string()]
    );
    let doc = rolescope_policy::Policy::parse(&scp("WorkloadRegions").document).unwrap();
    assert_eq!(doc.statements.len(), 1);

    // Functions: exactly the seeded ones, per account and region.
    for name in ["prod-a", "prod-b", "dev", "sandbox"] {
        let id = s(seed, &["accounts", name]);
        let mut got: Vec<&str> = snap
            .functions
            .iter()
            .filter(|f| f.account_id.as_str() == id)
            .map(|f| f.arn.as_str())
            .collect();
        got.sort();
        let want: Vec<&str> = seed["functions"][name]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(got, want, "functions of {name}");
    }
    assert_eq!(
        snap.functions.len(),
        19,
        "18 plus billing, with a version and an alias"
    );
    for f in &snap.functions {
        assert_eq!(f.env_var_names, vec!["DB_PASSWORD", "STAGE"]);
        assert_eq!(f.runtime.as_deref(), Some("python3.12"));
        assert!(f.last_modified.is_some(), "{}", f.arn);
    }

    // The public resource policy and the function URLs in prod-a us-east-1.
    let prod_a = s(seed, &["accounts", "prod-a"]);
    let function = |region: &str, name: &str| {
        snap.functions
            .iter()
            .find(|f| f.account_id.as_str() == prod_a && f.region == region && f.name == name)
            .unwrap()
    };
    let orders = function("us-east-1", "orders");
    let policy =
        rolescope_policy::Policy::parse(orders.resource_policy.as_deref().unwrap()).unwrap();
    // The public statement and the URL's InvokeFunctionUrl one.
    assert_eq!(policy.statements.len(), 2);
    assert!(
        orders
            .resource_policy
            .as_deref()
            .unwrap()
            .contains("\"Principal\": \"*\"")
    );
    assert_eq!(orders.urls.len(), 1);
    assert_eq!(orders.urls[0].auth_type, "NONE");
    let admin_tool = function("us-east-1", "admin-tool");
    assert_eq!(admin_tool.urls[0].auth_type, "AWS_IAM");
    assert_eq!(admin_tool.architectures, vec!["arm64"]);
    assert!(admin_tool.resource_policy.is_none());
    assert!(
        function("us-east-1", "report")
            .resource_policy
            .as_deref()
            .unwrap()
            .contains("s3.amazonaws.com")
    );
    assert!(function("eu-west-1", "orders").urls.is_empty());

    // Roles: decoded documents, attached policies, boundary, tags.
    let app_arn = s(seed, &["roles", "prod-a", "app"]);
    let app = snap.roles.iter().find(|r| r.arn == app_arn).unwrap();
    assert_eq!(app.path, "/service-role/");
    assert_eq!(
        app.boundary_arn.as_deref(),
        Some(s(seed, &["roles", "prod-a", "boundary"]))
    );
    assert_eq!(
        app.attached_policy_arns,
        vec![
            s(seed, &["roles", "prod-a", "tables"]).to_string(),
            "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole".to_string()
        ]
    );
    assert_eq!(app.inline_policies.len(), 1);
    assert_eq!(app.inline_policies[0].name, "ReadConfig");
    let inline = rolescope_policy::Policy::parse(&app.inline_policies[0].document).unwrap();
    assert_eq!(inline.statements.len(), 1);
    let trust = rolescope_policy::Policy::parse(&app.trust_policy).unwrap();
    assert_eq!(trust.statements.len(), 1);
    assert!(app.trust_policy.contains("lambda.amazonaws.com"));
    assert_eq!(app.tags, vec![("team".to_string(), "orders".to_string())]);
    let admin = snap
        .roles
        .iter()
        .find(|r| r.arn == s(seed, &["roles", "prod-a", "admin"]))
        .unwrap();
    assert_eq!(
        admin.attached_policy_arns,
        vec!["arn:aws:iam::aws:policy/AdministratorAccess"]
    );
    assert_eq!(admin.boundary_arn, None);
    // Each member account: the audit role, OrganizationAccountAccessRole and the two app roles;
    // prod-a also billing-v1, the role of billing's version 1.
    assert_eq!(
        snap.roles
            .iter()
            .filter(|r| r.account_id.as_str() == prod_a)
            .count(),
        5
    );
    // Customer-managed policies: the boundary and the tables policy per member account.
    let managed: Vec<&str> = snap
        .managed_policies
        .iter()
        .filter(|m| m.account_id.as_ref().map(|a| a.as_str()) == Some(prod_a))
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(managed, vec!["LambdaBoundary", "OrdersTables"]);
    let boundary = snap
        .managed_policies
        .iter()
        .find(|m| m.arn == s(seed, &["roles", "prod-a", "boundary"]))
        .unwrap();
    assert!(rolescope_policy::Policy::parse(&boundary.document).is_ok());

    // moto's gaps are recorded, per account (and region), and nothing else failed.
    let mut unexpected = Vec::new();
    for e in &snap.collection_errors {
        let expected = matches!(
            (e.operation.as_str(), e.error_code.as_str()),
            ("ListAnalyzers", "Unsupported")
                | ("GenerateServiceLastAccessedDetails", "Unsupported")
                | ("ListFunctionUrlConfigs", "Unsupported")
                | ("ScanAccount", "AccountSuspended")
        );
        if !expected {
            unexpected.push(e);
        }
    }
    assert!(
        unexpected.is_empty(),
        "unexpected collection errors: {unexpected:#?}"
    );
    let count = |op: &str| {
        snap.collection_errors
            .iter()
            .filter(|e| e.operation == op)
            .count()
    };
    assert_eq!(
        count("ListAnalyzers"),
        5 * 2,
        "one per scanned account and region"
    );
    assert_eq!(
        count("GenerateServiceLastAccessedDetails"),
        4,
        "one per account with Lambda roles"
    );
    // One per account-region that has functions: 3 accounts × 2 regions + sandbox × 1.
    assert_eq!(count("ListFunctionUrlConfigs"), 7);

    let scan = snap.scan.as_ref().unwrap();
    assert_eq!(scan.regions, vec!["eu-west-1", "us-east-1"]);
    assert!(
        scan.org_id
            .as_deref()
            .is_some_and(|id| id.starts_with("o-"))
    );
}

#[test]
fn filters_select_accounts_by_ou_and_exclusion() {
    let (moto, seed) = seeded();
    let out = out_dir("filters");
    let workloads = s(seed, &["ous", "Workloads"]);
    let prod_b = s(seed, &["accounts", "prod-b"]);
    let snap = scan_ok(
        &moto.url,
        &out,
        &[
            "--regions",
            "us-east-1",
            "--ou",
            workloads,
            "--exclude-accounts",
            prod_b,
            "--no-last-accessed",
            "--no-access-analyzer",
        ],
    );
    let mut scanned: Vec<&str> = snap
        .accounts
        .iter()
        .filter(|a| a.scanned)
        .map(|a| a.account_id.as_str())
        .collect();
    scanned.sort();
    let mut want = vec![
        s(seed, &["accounts", "prod-a"]),
        s(seed, &["accounts", "dev"]),
    ];
    want.sort();
    // Workloads' descendants (Prod, Dev) minus the excluded account; the org is still listed.
    assert_eq!(scanned, want);
    assert_eq!(snap.accounts.len(), 6);
    assert!(snap.functions.iter().all(|f| f.region == "us-east-1"));
    assert_eq!(snap.functions.len(), 7);
    assert!(snap.last_accessed.is_empty());
    assert!(
        !snap
            .collection_errors
            .iter()
            .any(|e| e.service == "access-analyzer")
    );
}

#[test]
fn region_discovery_falls_back_to_default_regions_when_listregions_is_missing() {
    let (moto, seed) = seeded();
    let out = out_dir("regions");
    let sandbox = s(seed, &["accounts", "sandbox"]);
    let snap = scan_ok(
        &moto.url,
        &out,
        &[
            "--accounts",
            sandbox,
            "--no-last-accessed",
            "--no-access-analyzer",
        ],
    );
    let discovery: Vec<_> = snap
        .collection_errors
        .iter()
        .filter(|e| e.operation == "ListRegions")
        .collect();
    assert_eq!(discovery.len(), 1, "{:#?}", snap.collection_errors);
    assert_eq!(discovery[0].error_code, "Unsupported");
    assert!(discovery[0].message.contains("default-enabled regions"));
    let scan = snap.scan.as_ref().unwrap();
    assert_eq!(
        scan.regions.len(),
        rolescope_collector::DEFAULT_ENABLED_REGIONS.len()
    );
    // The sandbox's three functions live in us-east-1 and are found there.
    assert_eq!(snap.functions.len(), 3);
}

#[test]
fn strict_mode_reports_a_partial_scan_with_exit_code_2() {
    let (moto, seed) = seeded();
    let out = out_dir("strict");
    let run = scan(
        &moto.url,
        &out,
        &[
            "--accounts",
            s(seed, &["accounts", "dev"]),
            "--regions",
            "us-east-1",
            "--strict",
        ],
    );
    assert_eq!(
        run.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // The snapshot is still written: nothing collected is lost.
    let snap = snapshot_in(&out);
    assert_eq!(snap.functions.len(), 3);
}

#[test]
fn access_analyzer_is_read_only_from_the_delegated_account_when_given() {
    let (moto, seed) = seeded();
    let out = out_dir("analyzer-account");
    let dev = s(seed, &["accounts", "dev"]);
    let snap = scan_ok(
        &moto.url,
        &out,
        &[
            "--regions",
            "us-east-1",
            "--analyzer-account",
            dev,
            "--no-last-accessed",
        ],
    );
    // moto lacks Access Analyzer: exactly one gap, in the delegated account, not one per account.
    let aa: Vec<_> = snap
        .collection_errors
        .iter()
        .filter(|e| e.service == "access-analyzer")
        .collect();
    assert_eq!(aa.len(), 1, "{aa:#?}");
    assert_eq!(aa[0].account_id.as_ref().map(|a| a.as_str()), Some(dev));
}

/// `rolescope analyze` on the snapshot of a moto scan: the planted risks are found, the SCP
/// that denies IAM user actions in the sandbox shows up as a mitigation, `--fail-on` sets exit 1.
#[test]
fn analysis_of_the_seeded_organization_finds_the_planted_risks() {
    let (moto, seed) = seeded();
    let out = out_dir("analysis");
    let prod_a = s(seed, &["accounts", "prod-a"]);
    let sandbox = s(seed, &["accounts", "sandbox"]);
    let accounts = format!("{prod_a},{sandbox}");
    let run = scan(
        &moto.url,
        &out,
        &[
            "--regions",
            "us-east-1",
            "--accounts",
            &accounts,
            "--no-last-accessed",
            "--fail-on",
            "critical",
        ],
    );
    assert_eq!(
        run.status.code(),
        Some(1),
        "critical findings exist: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let snapshot = files(&out).into_iter().find(|p| is_snapshot(p)).unwrap();
    let analyze = Command::new(rolescope_bin())
        .arg("analyze")
        .arg("--snapshot")
        .arg(&snapshot)
        .output()
        .unwrap();
    assert_eq!(analyze.status.code(), Some(0), "no --fail-on: exit 0");
    let findings: Vec<Value> = String::from_utf8(analyze.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let find = |check: &str, resource: &str| {
        findings
            .iter()
            .filter(|f| f["check_id"] == check && f["resource_arn"].as_str().unwrap() == resource)
            .collect::<Vec<_>>()
    };
    let orders = format!("arn:aws:lambda:us-east-1:{prod_a}:function:orders");
    assert_eq!(
        find("RS-PUBLIC-001", &orders).len(),
        1,
        "public resource policy"
    );
    assert_eq!(
        find("RS-PUBLIC-003", &orders).len(),
        1,
        "URL with AuthType NONE"
    );
    // Versions and aliases: billing's alias live runs version 1 as billing-v1 (admin), which no
    // $LATEST uses; the role is in use, and the public alias policy is on the qualified ARN.
    let billing = s(seed, &["billing", "function"]);
    let old_role = s(seed, &["billing", "old_role"]);
    let snap = rolescope_model::snapshot::Snapshot::read(&snapshot).unwrap();
    let f = snap.functions.iter().find(|f| f.arn == billing).unwrap();
    assert_eq!(f.role_arn, s(seed, &["billing", "role"]));
    let old_role = old_role.to_string();
    let kinds: Vec<(&str, rolescope_model::QualifierKind, Vec<&str>)> = f
        .qualifiers
        .iter()
        .map(|q| (q.name.as_str(), q.kind, f.roles_of(Some(&q.name))))
        .collect();
    assert_eq!(
        kinds,
        [
            (
                "1",
                rolescope_model::QualifierKind::Version,
                vec![&old_role[..]]
            ),
            (
                "live",
                rolescope_model::QualifierKind::Alias,
                vec![&old_role[..]]
            ),
        ]
    );
    assert_eq!(find("RS-PUBLIC-001", &format!("{billing}:live")).len(), 1);
    assert!(
        find("RS-TRUST-005", &old_role).is_empty(),
        "version 1 uses it"
    );
    assert_eq!(find("RS-ADMIN-001", &old_role).len(), 1);
    // The seeded DB_PASSWORD is flagged by name and kind at the edge, its value kept nowhere.
    let secret = find("RS-SECRET-001", &orders);
    assert_eq!(secret.len(), 1, "{secret:?}");
    assert_eq!(secret[0]["detail"]["variable"], "DB_PASSWORD");
    assert_eq!(secret[0]["detail"]["kind"], "password");
    let canary = s(seed, &["canary"]);
    for f in files(&out) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
            "{} holds the seeded value",
            f.display()
        );
    }
    let admin_tool = format!("arn:aws:lambda:us-east-1:{prod_a}:function:admin-tool");
    assert!(
        find("RS-PUBLIC-003", &admin_tool).is_empty(),
        "AWS_IAM URL is not public"
    );
    for account in [prod_a, sandbox] {
        let admin = s(seed, &["roles", name_of(seed, account), "admin"]);
        let app = s(seed, &["roles", name_of(seed, account), "app"]);
        assert_eq!(find("RS-ADMIN-001", admin).len(), 1);
        assert_eq!(find("RS-BOUNDARY-001", admin).len(), 1);
        assert!(
            find("RS-BOUNDARY-001", app).is_empty(),
            "orders-fn has a boundary"
        );
        assert!(find("RS-ADMIN-001", app).is_empty());
    }
    // The sandbox SCP denies iam:CreateAccessKey: those escalation paths are mitigated there only.
    let sandbox_admin = s(seed, &["roles", "sandbox", "admin"]);
    let mitigated = find("RS-PRIVESC-001", sandbox_admin)
        .into_iter()
        .find(|f| f["mitigated_by"] == "explicit_deny")
        .expect("mitigated paths in the sandbox");
    assert_eq!(mitigated["severity"], "info");
    let prod_admin = s(seed, &["roles", "prod-a", "admin"]);
    assert!(
        find("RS-PRIVESC-001", prod_admin)
            .iter()
            .all(|f| f["mitigated_by"].is_null())
    );
    // The env var value is not in the findings either.
    let canary = s(seed, &["canary"]);
    assert!(findings.iter().all(|f| !f.to_string().contains(canary)));
}

fn name_of<'a>(seed: &'a Value, account: &str) -> &'a str {
    seed["accounts"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, id)| id.as_str() == Some(account))
        .map(|(name, _)| name.as_str())
        .unwrap()
}

/// The datasets of a moto scan, read back by DuckDB (hive partitioning) and pyarrow.
#[test]
fn datasets_of_a_scan_read_back_with_duckdb_and_pyarrow() {
    let (moto, seed) = seeded();
    let out = out_dir("datasets");
    let run = scan(
        &moto.url,
        &out,
        &[
            "--regions",
            "us-east-1,eu-west-1",
            "--last-accessed-timeout",
            "5",
        ],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let python = require_tool("venv/bin/python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("duckdb/read_dataset.py");
    let canary = s(seed, &["canary"]);
    let read = Command::new(python)
        .arg(script)
        .arg(&out)
        .arg(canary)
        .output()
        .unwrap();
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let d: Value = serde_json::from_slice(&read.stdout).unwrap();
    let snap = snapshot_in(&out);
    let today = snap.scan.as_ref().unwrap().started_at.date();
    for (table, rows) in [
        ("scan_runs", 1),
        ("accounts", 6),
        ("functions", 19),
        (
            "function_versions",
            snap.functions.iter().map(|f| 1 + f.qualifiers.len()).sum(),
        ),
        ("roles", snap.roles.len()),
        ("collection_errors", snap.collection_errors.len()),
        ("org_units", 5),
        (
            "scps",
            snap.control_policies.iter().map(|p| p.targets.len()).sum(),
        ),
        (
            "role_policies",
            snap.roles
                .iter()
                .map(|r| {
                    r.inline_policies.len()
                        + r.attached_policy_arns.len()
                        + usize::from(r.boundary_arn.is_some())
                })
                .sum(),
        ),
    ] {
        assert_eq!(d[table]["rows"], rows, "{table}");
        assert_eq!(
            d[table]["dt"],
            serde_json::json!([today.clone()]),
            "{table}: one dt partition"
        );
        assert_eq!(
            d[table]["duckdb_types"]["account_id"]
                .as_str()
                .unwrap_or("VARCHAR"),
            "VARCHAR",
            "{table}"
        );
        assert_eq!(
            d[table]["hidden_files"],
            serde_json::json!([]),
            "{table}: no partial files left"
        );
    }
    assert!(d["findings"]["rows"].as_u64().unwrap() > 0);
    assert!(d["role_permissions"]["rows"].as_u64().unwrap() > 0);
    assert!(d["role_service_access"]["rows"].as_u64().unwrap() > 0);
    // Account ids are strings; timestamps are UTC milliseconds; integers signed.
    assert_eq!(d["accounts"]["arrow_types"]["account_id"], "string");
    assert_eq!(
        d["functions"]["arrow_types"]["last_modified"],
        "timestamp[ms, tz=UTC]"
    );
    assert_eq!(
        d["scan_runs"]["arrow_types"]["started_at"],
        "timestamp[ms, tz=UTC]"
    );
    assert_eq!(d["roles"]["arrow_types"]["risk_score"], "int64");
    assert_eq!(d["functions"]["duckdb_types"]["public_access"], "BOOLEAN");
    // The shipped QuickSight views run in DuckDB over the same files.
    let athena = Path::new(env!("CARGO_MANIFEST_DIR")).join("../athena");
    let counts = python_json(
        "duckdb/views.py",
        &[out.as_os_str(), athena.join("views.sql").as_os_str()],
    );
    assert_eq!(counts["v_latest_scan_per_day"], 1);
    assert_eq!(counts["v_account_risk"], 6);
    assert_eq!(counts["v_ou_risk"], 5);
    assert_eq!(
        counts["v_public_functions"], 2,
        "prod-a's orders function, and billing through its public alias live"
    );
    assert!(
        counts["v_top_roles"].as_u64().unwrap() >= 8,
        "two Lambda roles per member account"
    );
    assert!(counts["v_findings_by_category"].as_u64().unwrap() > 0);

    // Every documented query runs in DuckDB; "who can pass a role" over the grouped
    // role_permissions equals the analysis's per-action grants.
    let q = python_json(
        "duckdb/queries.py",
        &[out.as_os_str(), athena.join("queries.sql").as_os_str()],
    );
    for name in [
        "who_can_pass_role",
        "blocked_by_guardrails",
        "write_access_never_used",
        "riskiest_lambda_roles",
        "public_functions",
        "live_findings_by_category",
        "collection_gaps",
    ] {
        assert!(q[name].is_array(), "query {name} ran");
    }
    let from_sql: std::collections::BTreeSet<String> = q["who_can_pass_role"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[1].as_str().unwrap().to_string())
        .collect();
    let from_grants: std::collections::BTreeSet<String> = snap
        .roles
        .iter()
        .filter(|r| {
            rolescope_analysis::role_grants(rolescope_policy::catalog(), &snap, &r.arn)
                .unwrap()
                .iter()
                .any(|g| g.action == "iam:PassRole" && g.status.is_allowed())
        })
        .map(|r| r.arn.clone())
        .collect();
    assert!(
        !from_grants.is_empty(),
        "the seed has roles that can pass roles"
    );
    assert_eq!(from_sql, from_grants);
    assert!(
        !q["blocked_by_guardrails"].as_array().unwrap().is_empty(),
        "the sandbox SCP and the boundaries block something"
    );

    // The secret stays out of the datasets too: searched in every decoded value.
    for table in d.as_object().unwrap().keys() {
        assert_eq!(
            d[table]["needle_found"], false,
            "{table} contains the env var value"
        );
    }
}

/// Run the tests' S3 helper against moto.
pub fn s3_helper(moto: &Moto, args: &[&str]) -> String {
    let out = Command::new(require_tool("venv/bin/python"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("moto/s3.py"))
        .arg(&moto.url)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "s3.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Run `rolescope` with the test environment (dummy credentials, no user AWS config).
pub fn rolescope(args: &[&std::ffi::OsStr]) -> Output {
    rolescope_command().args(args).output().unwrap()
}

/// The binary with moto's test credentials and nothing else of the environment.
fn rolescope_command() -> Command {
    let mut c = Command::new(rolescope_bin());
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", empty_aws_file())
        .env("AWS_SHARED_CREDENTIALS_FILE", empty_aws_file())
        .env("AWS_EC2_METADATA_DISABLED", "true");
    c
}

#[test]
fn datasets_written_to_moto_s3_are_the_same_files_as_local_ones() {
    let (moto, _) = seeded();
    s3_helper(moto, &["create", "rolescope-e2e"]);

    // A scan straight to S3: snapshot and every table land under the prefix.
    let scanned = rolescope(&[
        "scan".as_ref(),
        "--out".as_ref(),
        "s3://rolescope-e2e/scan".as_ref(),
        "--endpoint-url".as_ref(),
        moto.url.as_ref(),
        "--regions".as_ref(),
        "us-east-1".as_ref(),
        "--no-last-accessed".as_ref(),
        "--quiet".as_ref(),
    ]);
    assert!(
        scanned.status.success(),
        "{}",
        String::from_utf8_lossy(&scanned.stderr)
    );
    let from_scan = out_dir("s3-scan");
    let keys: Vec<String> = serde_json::from_str(&s3_helper(
        moto,
        &[
            "download",
            "rolescope-e2e",
            "scan",
            from_scan.to_str().unwrap(),
        ],
    ))
    .unwrap();
    let tables: std::collections::BTreeSet<&str> =
        keys.iter().map(|k| k.split('/').nth(1).unwrap()).collect();
    for table in [
        "snapshots",
        "scan_runs",
        "accounts",
        "functions",
        "roles",
        "role_permissions",
        "role_service_access",
        "findings",
        "collection_errors",
    ] {
        assert!(tables.contains(table), "{table} in {keys:?}");
    }
    assert!(keys.iter().all(|k| !k.contains(".partial")), "{keys:?}");
    let snap = snapshot_in(&from_scan);
    assert!(!snap.functions.is_empty());

    // The same snapshot exported locally and to S3 gives byte-identical objects.
    let snapshot_file = files(&from_scan)
        .into_iter()
        .find(|p| is_snapshot(p))
        .unwrap();
    let local = out_dir("s3-local");
    let to_s3 = "s3://rolescope-e2e/again";
    for out in [local.as_os_str(), to_s3.as_ref()] {
        let run = rolescope(&[
            "analyze".as_ref(),
            "--snapshot".as_ref(),
            snapshot_file.as_os_str(),
            "--out".as_ref(),
            out,
            "--endpoint-url".as_ref(),
            moto.url.as_ref(),
        ]);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let downloaded = out_dir("s3-again");
    s3_helper(
        moto,
        &[
            "download",
            "rolescope-e2e",
            "again",
            downloaded.to_str().unwrap(),
        ],
    );
    let relative = |root: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        files(root)
            .into_iter()
            .map(|p| {
                (
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect()
    };
    let (a, b) = (relative(&local), relative(&downloaded));
    assert!(a.len() >= 11, "{a:?}");
    assert_eq!(
        a.iter().map(|(p, _)| p).collect::<Vec<_>>(),
        b.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    for ((path, x), (_, y)) in a.iter().zip(&b) {
        if path.extension().is_some_and(|e| e == "html") {
            // The report names where its datasets are: the folder, or the bucket.
            let x = String::from_utf8_lossy(x).replace(&*local.to_string_lossy(), "{out}");
            let y = String::from_utf8_lossy(y).replace("s3://rolescope-e2e/again", "{out}");
            assert!(x == y, "{} differs between local and S3", path.display());
            continue;
        }
        assert!(x == y, "{} differs between local and S3", path.display());
    }

    // A bucket that does not exist: a clear error naming the object, exit 2.
    let missing = rolescope(&[
        "analyze".as_ref(),
        "--snapshot".as_ref(),
        snapshot_file.as_os_str(),
        "--out".as_ref(),
        "s3://no-such-bucket-rolescope/x".as_ref(),
        "--endpoint-url".as_ref(),
        moto.url.as_ref(),
    ]);
    assert_eq!(missing.status.code(), Some(2));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("s3://no-such-bucket-rolescope/x/"), "{err}");
}

#[test]
fn scp_recommendations_of_the_seeded_organization_are_accepted_by_organizations() {
    // Its own server: creating and attaching SCPs would change what the other tests scan.
    let moto = Moto::start();
    moto.seed();
    let out = out_dir("scp");
    let snap = scan_ok(
        &moto.url,
        &out,
        &[
            "--regions",
            "us-east-1,eu-west-1",
            "--last-accessed-timeout",
            "5",
        ],
    );
    // `scan` wrote recommendations too; `scp` regenerates them offline into another folder.
    assert!(out.join("scp/README.md").exists());
    let snapshot_file = files(&out).into_iter().find(|p| is_snapshot(p)).unwrap();
    let again = out_dir("scp-again");
    let run = rolescope(&[
        "scp".as_ref(),
        "--snapshot".as_ref(),
        snapshot_file.as_os_str(),
        "--out".as_ref(),
        again.as_os_str(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for name in ["README.md", "apply.sh"] {
        assert_eq!(
            std::fs::read(out.join("scp").join(name)).unwrap(),
            std::fs::read(again.join("scp").join(name)).unwrap(),
            "{name}: scan and scp agree"
        );
    }
    let policies: Vec<PathBuf> = files(&again.join("scp"))
        .into_iter()
        .filter(|p| {
            let n = p.to_string_lossy();
            n.ends_with(".json") && !n.ends_with(".boundary.json")
        })
        .collect();
    assert!(!policies.is_empty());
    // Targets are real OUs or accounts of the organization; every policy fits and lints clean.
    let ous: Vec<&str> = snap.org_units.iter().map(|u| u.id.as_str()).collect();
    let accounts: Vec<String> = snap
        .accounts
        .iter()
        .map(|a| a.account_id.to_string())
        .collect();
    for p in &policies {
        let target = p
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            ous.contains(&target.as_str()) || accounts.contains(&target),
            "{target} is not in the organization"
        );
        let text = std::fs::read_to_string(p).unwrap();
        let (kind, max) = if p.to_string_lossy().ends_with(".boundary.json") {
            let kind = rolescope_analysis::scp::DocumentKind::ManagedPolicy;
            (kind, kind.max_chars())
        } else {
            let kind = rolescope_analysis::scp::DocumentKind::Scp;
            (kind, kind.max_chars())
        };
        assert!(kind.size(&text) <= max, "{}", p.display());
        assert!(
            rolescope_analysis::scp::lint(rolescope_policy::catalog(), &text, kind, max).is_empty(),
            "{}",
            p.display()
        );
    }
    // The generated apply.sh itself, every command uncommented (the unsafe ones too, so it
    // reaches every target), run twice with the AWS CLI against moto: the first run creates
    // and attaches, the second finds each policy by name, updates it and attaches nothing twice.
    let script = std::fs::read_to_string(again.join("scp/apply.sh"))
        .unwrap()
        .replace("\n# create_and_attach ", "\ncreate_and_attach ");
    let all = again.join("scp/apply-all.sh");
    std::fs::write(&all, &script).unwrap();
    let targets: std::collections::BTreeSet<&str> = script
        .lines()
        .filter_map(|l| l.strip_prefix("create_and_attach "))
        .filter_map(|l| l.split('\'').nth(3))
        .collect();
    assert!(targets.len() >= 2, "several targets: {targets:?}");
    for round in ["first", "second"] {
        let run = aws_cli_script(&moto, &all, &[]);
        let said = String::from_utf8_lossy(&run.stdout);
        assert!(
            run.status.success(),
            "{round} run of apply.sh: {said}{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let (want, not) = if round == "first" {
            ("created ", "already attached")
        } else {
            ("already attached", "created ")
        };
        assert!(
            said.contains(want) && !said.contains(not),
            "{round}: {said}"
        );
    }
    // Organizations (moto) holds every policy under its name, as the file says, attached.
    let created = python_json(
        "moto/scp.py",
        &[moto.url.as_ref(), again.as_os_str(), "check".as_ref()],
    );
    assert_eq!(created.as_array().unwrap().len(), policies.len());
    // The script names every policy file, and the sh syntax is valid.
    let script = std::fs::read_to_string(again.join("scp/apply.sh")).unwrap();
    for p in &policies {
        let rel = p
            .strip_prefix(again.join("scp"))
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(script.contains(&rel), "{rel} not in apply.sh");
    }
    let syntax = Command::new("sh")
        .arg("-n")
        .arg(again.join("scp/apply.sh"))
        .status()
        .unwrap();
    assert!(syntax.success());
}

/// A streamed object larger than one part goes up as a multipart upload and arrives whole; a
/// writer that fails half-way leaves no object behind (the upload is aborted).
#[test]
fn streamed_objects_go_up_in_parts_and_a_failed_stream_leaves_nothing() {
    use rolescope_exporter::destination::{Destination, PART_BYTES, S3Credentials, S3Options};
    let (moto, _) = seeded();
    s3_helper(moto, &["create", "rolescope-stream"]);
    let options = S3Options {
        region: Some("us-east-1".into()),
        endpoint_url: Some(moto.url.clone()),
        credentials: Some(S3Credentials {
            access_key_id: "testing".into(),
            secret_access_key: "testing".into(),
            session_token: None,
        }),
    };
    let dest = Destination::parse("s3://rolescope-stream/big", &options).unwrap();
    // Two full parts and a short one, written in odd-sized pieces.
    let total = 2 * PART_BYTES + 12_345;
    let expected: Vec<u8> = (0..total).map(|i| (i * 7 % 251) as u8).collect();
    let url = dest
        .put_streamed("blob.bin", |w| {
            for chunk in expected.chunks(1_000_003) {
                w.write_all(chunk)?;
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(url, "s3://rolescope-stream/big/blob.bin");
    let failed = dest.put_streamed("broken.bin", |w| {
        w.write_all(&expected[..PART_BYTES + 10])?;
        Err(std::io::Error::other("the producer failed"))
    });
    let err = failed.unwrap_err().to_string();
    assert!(
        err.contains("s3://rolescope-stream/big/broken.bin"),
        "{err}"
    );

    let downloaded = out_dir("s3-stream");
    let keys: Vec<String> = serde_json::from_str(&s3_helper(
        moto,
        &[
            "download",
            "rolescope-stream",
            "big",
            downloaded.to_str().unwrap(),
        ],
    ))
    .unwrap();
    assert_eq!(keys, vec!["big/blob.bin".to_string()]);
    let got = std::fs::read(downloaded.join("blob.bin")).unwrap();
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "the object differs from what was streamed");
    let unfinished: Vec<String> =
        serde_json::from_str(&s3_helper(moto, &["uploads", "rolescope-stream"])).unwrap();
    assert!(unfinished.is_empty(), "parts left behind: {unfinished:?}");
}

#[test]
fn a_missing_bucket_fails_the_preflight_before_any_scan_call() {
    let (moto, _) = seeded();
    let run = rolescope(&[
        "scan".as_ref(),
        "--out".as_ref(),
        "s3://rolescope-no-such-bucket/scan".as_ref(),
        "--endpoint-url".as_ref(),
        moto.url.as_ref(),
        "--quiet".as_ref(),
    ]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(
        err.contains("preflight") && err.contains("rolescope-no-such-bucket"),
        "{err}"
    );
    // The scan never started: no progress lines, no scan summary.
    assert!(!err.contains("rolescope scan "), "{err}");
}

#[test]
fn a_frozen_s3_endpoint_fails_in_bounded_time_naming_the_object() {
    // Accepts connections and never answers; counts them.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = attempts.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(stream);
        }
    });
    let snapshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/demo.jsonl");
    let endpoint = format!("http://127.0.0.1:{port}");
    let run = rolescope(&[
        "analyze".as_ref(),
        "--snapshot".as_ref(),
        snapshot.as_os_str(),
        "--out".as_ref(),
        "s3://frozen/prefix".as_ref(),
        "--endpoint-url".as_ref(),
        endpoint.as_ref(),
    ]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(err.contains("s3://frozen/prefix/.rolescope-probe"), "{err}");
    assert_eq!(
        err.matches("s3://frozen").count(),
        1,
        "the object is named once: {err}"
    );
    // Bounded: 30 s per attempt and retries for at most 60 s give two or three attempts (the
    // defaults would retry for 3 minutes after 30 s attempts); counted, not timed.
    let n = attempts.load(std::sync::atomic::Ordering::SeqCst);
    assert!((1..=3).contains(&n), "{n} connection attempts: {err}");
}

#[test]
fn a_second_writer_of_a_scan_id_is_refused_on_s3_by_a_conditional_create() {
    let (moto, _) = seeded();
    s3_helper(moto, &["create", "rolescope-lock"]);
    let snapshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/demo.jsonl");
    let analyze = || {
        rolescope(&[
            "analyze".as_ref(),
            "--snapshot".as_ref(),
            snapshot.as_os_str(),
            "--out".as_ref(),
            "s3://rolescope-lock/p".as_ref(),
            "--endpoint-url".as_ref(),
            moto.url.as_ref(),
        ])
    };
    // Another run holds the lock (on another host: it cannot be judged stale).
    s3_helper(
        moto,
        &[
            "put",
            "rolescope-lock",
            "p/.locks/golden-demo.lock",
            "pid 7 on elsewhere",
        ],
    );
    let refused = analyze();
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(
        err.contains("being written to this destination by another run (pid 7 on elsewhere)")
            && err.contains("s3://rolescope-lock/p/.locks/golden-demo.lock"),
        "{err}"
    );
    assert_eq!(
        s3_helper(moto, &["exists", "rolescope-lock", "p/scan_runs"]).trim(),
        "false",
        "the refused run wrote nothing"
    );
    // Where no other run holds the lock, the scan goes through and leaves no lock behind.
    let ok = rolescope(&[
        "analyze".as_ref(),
        "--snapshot".as_ref(),
        snapshot.as_os_str(),
        "--out".as_ref(),
        "s3://rolescope-lock/q".as_ref(),
        "--endpoint-url".as_ref(),
        moto.url.as_ref(),
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(
        s3_helper(moto, &["exists", "rolescope-lock", "q/.locks/"]).trim(),
        "false",
        "the lock is removed at the end"
    );
    assert_eq!(
        s3_helper(moto, &["exists", "rolescope-lock", "q/scan_runs/"]).trim(),
        "true"
    );
}

/// A loopback proxy in front of moto that can "kill" the S3 side: once killed, every connection
/// that carries S3 requests (path-style, under `bucket`) is closed and new ones are refused,
/// while the other AWS APIs keep working through it.
struct KillableS3 {
    url: String,
    killed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    probed: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl KillableS3 {
    fn start(upstream: &str, bucket: &str) -> KillableS3 {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").to_string();
        let killed = Arc::new(AtomicBool::new(false));
        let probed = Arc::new(AtomicBool::new(false));
        let s3_path = format!(" /{bucket}");
        let (k, p) = (killed.clone(), probed.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (k, p, upstream, s3_path) =
                    (k.clone(), p.clone(), upstream.clone(), s3_path.clone());
                std::thread::spawn(move || {
                    let Ok(server) = TcpStream::connect(&upstream) else {
                        return;
                    };
                    let (mut c_read, mut s_write) =
                        (client.try_clone().unwrap(), server.try_clone().unwrap());
                    let (mut s_read, mut c_write) = (server, client);
                    // The lock PUT went out on this connection: its answer means the lock is
                    // held, and S3 may die.
                    let lock_sent = Arc::new(AtomicBool::new(false));
                    let (sent, answered) = (lock_sent.clone(), p.clone());
                    let back = std::thread::spawn(move || {
                        let mut buf = [0u8; 16 * 1024];
                        loop {
                            let n = match s_read.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            if c_write.write_all(&buf[..n]).is_err() {
                                break;
                            }
                            if sent.load(Ordering::SeqCst) && buf.starts_with(b"HTTP/1.1 200") {
                                answered.store(true, Ordering::SeqCst);
                            }
                        }
                        let _ = c_write.shutdown(std::net::Shutdown::Both);
                    });
                    let mut buf = [0u8; 16 * 1024];
                    let mut s3 = false;
                    loop {
                        let n = match c_read.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let text = String::from_utf8_lossy(&buf[..n]);
                        s3 |= text.contains(&s3_path);
                        if s3 && k.load(Ordering::SeqCst) {
                            break;
                        }
                        // The scan's lock, taken after the preflight probe and before collecting.
                        if text.starts_with("PUT") && text.contains("/.locks/") {
                            lock_sent.store(true, Ordering::SeqCst);
                        }
                        if s_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = s_write.shutdown(std::net::Shutdown::Both);
                    let _ = c_read.shutdown(std::net::Shutdown::Both);
                    let _ = back.join();
                });
            }
        });
        KillableS3 {
            url,
            killed,
            probed,
        }
    }
}

#[test]
fn a_killed_s3_endpoint_after_collection_keeps_the_collection_in_the_spool() {
    use std::sync::atomic::Ordering;
    let (moto, seed) = seeded();
    s3_helper(moto, &["create", "rolescope-killed"]);
    let proxy = KillableS3::start(&moto.url, "rolescope-killed");
    let spool = out_dir("killed-s3-spool");
    // The scan runs in the background; S3 dies once the scan has taken its lock (after the
    // preflight probe), while the collection (several seconds against moto) is still going.
    let mut child = rolescope_command()
        .args([
            "scan",
            "--out",
            "s3://rolescope-killed/scan",
            "--endpoint-url",
            &proxy.url,
        ])
        .args([
            "--regions",
            "us-east-1",
            "--no-last-accessed",
            "--quiet",
            "--scan-id",
            "killed",
        ])
        .arg("--spool")
        .arg(&spool)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    while !proxy.probed.load(Ordering::SeqCst) {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the scan ended before it took its lock: {status}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    proxy.killed.store(true, Ordering::SeqCst);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let kept = spool.join("killed.jsonl");
    assert!(
        err.contains(&format!("the collection is kept in {}", kept.display())),
        "{err}"
    );
    assert_eq!(
        err.matches("rolescope: error:").count(),
        1,
        "one error: {err}"
    );
    // Nothing collected is lost: the kept snapshot is whole and holds every function seeded in
    // the scanned region.
    let snapshot = Snapshot::read(&kept).unwrap();
    let seeded_here = seed["functions"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|arns| arns.as_array().unwrap())
        .filter(|arn| arn.as_str().unwrap().contains(":us-east-1:"))
        .count();
    assert_eq!(snapshot.functions.len(), seeded_here, "{err}");
}

/// A scan of moto's organization split into two shards (separate processes) and finalized
/// equals a one-process scan of it: the same snapshot records and the same rows.
#[test]
fn two_shards_of_the_moto_organization_and_a_finalize_equal_one_scan() {
    let (moto, _) = seeded();
    let flags = [
        "--regions",
        "us-east-1,eu-west-1",
        "--last-accessed-timeout",
        "5",
    ];
    let one = out_dir("moto-shards-one");
    let mut args = flags.to_vec();
    args.extend(["--scan-id", "m-one"]);
    let single = scan_ok(&moto.url, &one, &args);
    let two = out_dir("moto-shards-two");
    let run = rolescope(&[
        "plan".as_ref(),
        "--shards".as_ref(),
        "2".as_ref(),
        "--scan-id".as_ref(),
        "m-two".as_ref(),
        "--out".as_ref(),
        two.as_os_str(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for k in ["1/2", "2/2"] {
        let mut args = flags.to_vec();
        args.extend(["--scan-id", "m-two", "--shard", k]);
        let run = scan(&moto.url, &two, &args);
        assert!(
            run.status.success(),
            "shard {k}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let run = rolescope(&[
        "finalize".as_ref(),
        "--scan-id".as_ref(),
        "m-two".as_ref(),
        "--out".as_ref(),
        two.as_os_str(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let merged = Snapshot::read(
        &files(&two.join("snapshots"))
            .into_iter()
            .find(|p| p.ends_with("m-two.jsonl"))
            .unwrap(),
    )
    .unwrap();
    assert!(single.accounts.len() >= 2 && !single.functions.is_empty());
    // moto, like AWS, stamps RoleLastUsed when a scan assumes a role: the one field that
    // differs between two scans of the same organization.
    let records = |s: &Snapshot| {
        let mut s = s.clone();
        for r in &mut s.roles {
            r.last_used_at = None;
            r.last_used_region = None;
        }
        s.records()
            .filter(|r| !matches!(r, rolescope_model::snapshot::RecordRef::Scan(_)))
            .map(|r| serde_json::to_string(&r).unwrap())
            .collect::<Vec<_>>()
    };
    let (a, b) = (records(&merged), records(&single));
    let only_merged: Vec<&String> = a.iter().filter(|r| !b.contains(r)).collect();
    let only_single: Vec<&String> = b.iter().filter(|r| !a.contains(r)).collect();
    assert!(
        only_merged.is_empty() && only_single.is_empty() && a.len() == b.len(),
        "merged only: {only_merged:#?}\nsingle only: {only_single:#?}"
    );
    let compared = crate::support::python_json(
        "duckdb/compare.py",
        &[
            one.as_os_str(),
            "m-one".as_ref(),
            two.as_os_str(),
            "m-two".as_ref(),
        ],
    );
    for (table, c) in compared.as_object().unwrap() {
        assert_eq!(c["equal"], true, "{table}: {c}");
    }
}

/// A loopback proxy in front of moto that refuses `sts:AssumeRole` into one account with AWS's
/// AccessDenied (moto itself never refuses one), and passes everything else through.
struct DenyAssume {
    url: String,
}

impl DenyAssume {
    fn start(upstream: &str, account: &str) -> DenyAssume {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").to_string();
        let needle = format!("arn%3Aaws%3Aiam%3A%3A{account}%3Arole");
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (upstream, needle) = (upstream.clone(), needle.clone());
                std::thread::spawn(move || {
                    let Ok(server) = TcpStream::connect(&upstream) else {
                        return;
                    };
                    let (mut c_read, mut s_write) =
                        (client.try_clone().unwrap(), server.try_clone().unwrap());
                    let (mut s_read, mut c_write) = (server, client);
                    let back = std::thread::spawn(move || {
                        let _ = std::io::copy(&mut s_read, &mut c_write);
                        let _ = c_write.shutdown(std::net::Shutdown::Both);
                    });
                    let mut buf = [0u8; 64 * 1024];
                    loop {
                        let n = match c_read.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let text = String::from_utf8_lossy(&buf[..n]);
                        if text.contains("Action=AssumeRole") && text.contains(&needle) {
                            // Requests on a connection are sequential: the previous answer is
                            // through, so this one can be answered here, then the connection
                            // closed.
                            let body = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform sts:AssumeRole (test proxy)</Message></Error><RequestId>deny</RequestId></ErrorResponse>";
                            let mut out = c_read.try_clone().unwrap();
                            let _ = write!(
                                out,
                                "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            );
                            let _ = out.shutdown(std::net::Shutdown::Both);
                            break;
                        }
                        if s_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = s_write.shutdown(std::net::Shutdown::Both);
                    let _ = back.join();
                });
            }
        });
        DenyAssume { url }
    }
}

/// Scan history against moto: scan, change the organization (a function made public, a
/// policy detached, a function deleted, an SCP changed), scan again into the same folder; the
/// tables, `diff`, OCSF and ASFF tell the same story. A third scan that cannot assume the audit
/// role in one account resolves nothing there.
#[test]
fn moto_history_two_scans_tell_one_story_and_an_unread_account_resolves_nothing() {
    let moto = Moto::start();
    let seed = moto.seed();
    let out = out_dir("moto-history");
    let flags = [
        "--regions",
        "us-east-1,eu-west-1",
        "--last-accessed-timeout",
        "5",
    ];
    let scan_as = |endpoint: &str, id: &str| {
        let mut args = flags.to_vec();
        args.extend(["--scan-id", id]);
        let run = scan(endpoint, &out, &args);
        assert!(
            run.status.success(),
            "{id}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        String::from_utf8_lossy(&run.stderr).into_owned()
    };
    scan_as(&moto.url, "mh-1");
    let python = require_tool("venv/bin/python");
    let mutated = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("moto/mutate.py"))
        .arg(&moto.url)
        .arg(seed.to_string())
        .output()
        .unwrap();
    assert!(
        mutated.status.success(),
        "{}",
        String::from_utf8_lossy(&mutated.stderr)
    );
    let m: Value = serde_json::from_slice(&mutated.stdout).unwrap();
    let second = scan_as(&moto.url, "mh-2");
    assert!(second.contains("since      scan mh-1:"), "{second}");

    let q = |name: &str, sql: &str| format!("{name}={sql}");
    let t = crate::support::python_json(
        "duckdb/sql.py",
        &[
            out.as_os_str(),
            q("changes", "SELECT change, check_id, resource_arn FROM finding_changes WHERE scan_id = 'mh-2' ORDER BY ALL").as_ref(),
            q("inventory", "SELECT kind, change, arn FROM inventory_changes WHERE scan_id = 'mh-2' ORDER BY ALL").as_ref(),
        ],
    );
    let rows = |name: &str| crate::support::text_rows(&t[name]);
    let changes = rows("changes");
    let inventory = rows("inventory");
    let has = |list: &[Vec<String>], a: &str, b: &str, c: &str| {
        list.iter()
            .any(|r| r[0] == a && (b.is_empty() || r[1] == b) && r[2].starts_with(c))
    };
    let public = m["public"].as_str().unwrap();
    let deleted = m["deleted"].as_str().unwrap();
    let detached = m["detached"].as_str().unwrap();
    assert!(has(&changes, "new", "RS-PUBLIC-001", public), "{changes:?}");
    assert!(has(&changes, "resolved", "", deleted), "{changes:?}");
    assert!(
        has(&inventory, "function", "removed", deleted),
        "{inventory:?}"
    );
    assert!(
        inventory
            .iter()
            .any(|r| r[0] == "role" && r[1] == "changed" && r[2] == detached),
        "{inventory:?}"
    );
    assert!(
        inventory.iter().any(|r| r[0] == "control_policy"
            && r[1] == "changed"
            && r[2] == m["scp"].as_str().unwrap()),
        "{inventory:?}"
    );

    // `diff` between the two snapshots says the same.
    let d = crate::moto::diff_of(&out, "mh-1", "mh-2");
    let mut from_diff = Vec::new();
    let mut inventory_diff = Vec::new();
    for line in String::from_utf8(d.stdout).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
        if v["kind"] == "finding" {
            from_diff.push(vec![s("change"), s("check_id"), s("resource_arn")]);
        } else {
            inventory_diff.push(vec![s("kind"), s("change"), s("arn")]);
        }
    }
    from_diff.sort();
    inventory_diff.sort();
    assert_eq!(from_diff, changes, "diff and finding_changes");
    assert_eq!(inventory_diff, inventory, "diff and inventory_changes");

    // OCSF and ASFF: as many New and Resolved as the table, valid, imported without refusal.
    let count = |c: &str| changes.iter().filter(|r| r[0] == c).count() as u64;
    let ocsf = files(&out.join("ocsf"))
        .into_iter()
        .find(|p| p.ends_with("mh-2.jsonl"))
        .unwrap();
    let o = crate::support::python_json("ocsf/validate.py", &[ocsf.as_os_str()]);
    assert_eq!(o["errors"], serde_json::json!([]), "{o}");
    assert_eq!(
        o["statuses"]["New"].as_u64().unwrap_or(0),
        count("new"),
        "{o}"
    );
    assert_eq!(
        o["statuses"]["Resolved"].as_u64().unwrap_or(0),
        count("resolved"),
        "{o}"
    );
    let asff = files(&out.join("asff"))
        .into_iter()
        .find(|p| p.ends_with("mh-2.jsonl"))
        .unwrap();
    let hub = crate::support::python_json(
        "moto/securityhub.py",
        &[moto.url.as_ref(), asff.as_os_str()],
    );
    assert_eq!(hub["failed"], 0, "{hub}");
    assert_eq!(
        hub["archived"].as_u64().unwrap(),
        count("resolved"),
        "{hub}"
    );

    // The third scan cannot assume the audit role in prod-a: nothing of prod-a is resolved,
    // its findings are carried.
    let prod_a = seed["accounts"]["prod-a"].as_str().unwrap();
    let proxy = DenyAssume::start(&moto.url, prod_a);
    let third = scan_as(&proxy.url, "mh-3");
    assert!(third.contains("not read this time"), "{third}");
    let t = crate::support::python_json(
        "duckdb/sql.py",
        &[
            out.as_os_str(),
            q("resolved", &format!("SELECT count(*) FROM finding_changes WHERE scan_id = 'mh-3' AND account_id = '{prod_a}' AND change = 'resolved'")).as_ref(),
            q("carried", &format!("SELECT count(*) FROM findings WHERE scan_id = 'mh-3' AND account_id = '{prod_a}' AND NOT observed")).as_ref(),
            q("before", &format!("SELECT count(*) FROM findings WHERE scan_id = 'mh-2' AND account_id = '{prod_a}'")).as_ref(),
            q("denied", &format!("SELECT count(*) FROM collection_errors WHERE scan_id = 'mh-3' AND account_id = '{prod_a}' AND error_code = 'AccessDenied'")).as_ref(),
        ],
    );
    assert!(t["denied"][0][0].as_u64().unwrap() > 0, "{t}");
    assert_eq!(t["resolved"][0][0], 0, "{t}");
    assert!(t["before"][0][0].as_u64().unwrap() > 0, "{t}");
    assert_eq!(t["carried"][0][0], t["before"][0][0], "{t}");
}

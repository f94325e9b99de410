//! The binary's observable contract: stdout data, stderr diagnostics, exit codes.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn rolescope(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rolescope"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("write stdin");
    }
    drop(input);
    child.wait_with_output().expect("binary exits")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf8")
}

#[test]
fn policy_expand_prints_matching_actions() {
    let o = rolescope(
        &[
            "policy",
            "expand",
            "lambda:*Permission",
            "LAMBDA:invokefunction",
        ],
        None,
    );
    assert!(o.status.success());
    assert_eq!(
        stdout(&o).lines().collect::<Vec<_>>(),
        [
            "lambda:AddLayerVersionPermission",
            "lambda:AddPermission",
            "lambda:InvokeFunction",
            "lambda:RemoveLayerVersionPermission",
            "lambda:RemovePermission"
        ]
    );
    let o = rolescope(&["policy", "expand", "--levels", "iam:PassRole"], None);
    assert_eq!(stdout(&o), "iam:PassRole\tPermissions management, Write\n");
}

#[test]
fn an_unreadable_snapshot_is_named_with_its_cause_once() {
    // A folder where a snapshot file is expected.
    let dir = std::env::temp_dir();
    let o = rolescope(&["analyze", "--snapshot", dir.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    let line = err
        .lines()
        .find(|l| l.starts_with("rolescope: error:"))
        .unwrap_or_else(|| panic!("no error line: {err}"));
    let cause = std::io::Error::from_raw_os_error(21).to_string();
    assert_eq!(line.matches(&cause).count(), 1, "{line}");
    assert_eq!(line.matches(dir.to_str().unwrap()).count(), 1, "{line}");
}

#[test]
fn policy_expand_without_match_is_an_error() {
    let o = rolescope(&["policy", "expand", "nosuchservice:*"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no action in the catalog"));
}

#[test]
fn policy_simulate_reads_cases_and_reports_bad_lines() {
    let cases = concat!(
        r#"{"id":"allow","principal":"arn:aws:sts::111111111111:assumed-role/r/s","action":"s3:GetObject","resource":"arn:aws:s3:::b/k","identity":[{"Version":"2012-10-17","Statement":{"Sid":"Read","Effect":"Allow","Action":"s3:Get*","Resource":"arn:aws:s3:::b/*"}}],"scps":[[{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}],[{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"s3:PutObject","Resource":"*"}]}]]}"#,
        "\n",
        r#"{"id":"scp","principal":"arn:aws:sts::111111111111:assumed-role/r/s","action":"s3:GetObject","resource":"arn:aws:s3:::b/k","identity":[{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}],"scps":[[{"Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*"}}]]}"#,
        "\n\n",
        r#"{"id":"bad","principal":"p","action":"s3:GetObject","resource":"*","identity":[{"Statement":[{"Effect":"Allow","Action":"*","Condition":{"Nope":{}}}]}]}"#,
        "\n"
    );
    let o = rolescope(&["policy", "simulate", "--cases", "-"], Some(cases));
    assert_eq!(
        o.status.code(),
        Some(2),
        "a case that cannot be evaluated makes the run an error"
    );
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["decision"], "Allowed");
    assert_eq!(lines[0]["deciding"][0]["sid"], "Read");
    assert_eq!(lines[1]["decision"], "ImplicitlyDenied");
    assert_eq!(lines[1]["reason"], "scp_no_allow");
    assert_eq!(
        lines[2]["error"],
        "identity[0]: $.Statement[0].Condition.Nope: unknown condition operator \"Nope\""
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("- line 4"));
}

#[test]
fn policy_simulate_missing_file_names_it() {
    let o = rolescope(
        &["policy", "simulate", "--cases", "/nonexistent/cases.jsonl"],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("opening /nonexistent/cases.jsonl"), "{err}");
}

#[test]
fn policy_summary_labels_every_granted_action() {
    let dir = std::env::temp_dir().join(format!("rolescope-cli-summary-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    };
    let identity = write(
        "id.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:PassRole","lambda:CreateFunction","s3:GetObject"],"Resource":"*"}]}"#,
    );
    let boundary = write(
        "pb.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#,
    );
    let root = write(
        "root.json",
        r#"[{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}},{"Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*"}}]"#,
    );
    let o = rolescope(
        &[
            "policy",
            "summary",
            "--identity",
            &identity,
            "--boundary",
            &boundary,
            "--scp-level",
            &root,
        ],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let status = |action: &str| {
        lines
            .iter()
            .find(|l| l["action"] == action)
            .map(|l| l["status"].clone())
    };
    assert_eq!(lines.len(), 3);
    assert_eq!(status("iam:PassRole"), Some("blocked_by_boundary".into()));
    assert_eq!(status("lambda:CreateFunction"), Some("allowed".into()));
    assert_eq!(status("s3:GetObject"), Some("explicitly_denied".into()));
    let bad = write("bad.json", r#"{"Statement":[{"Effect":"Allow"}]}"#);
    let o = rolescope(&["policy", "summary", "--identity", &bad], None);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.json: malformed policy") && err.contains("$.Statement[0]"),
        "{err}"
    );
}

/// A small snapshot on disk: one account, one admin Lambda role with a public function URL.
fn admin_snapshot() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rolescope-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("snap.jsonl");
    let lines = [
        r#"{"kind":"org_unit","id":"r-1","name":"Root","parent_id":null,"path":"Root"}"#,
        r#"{"kind":"account","account_id":"012345678901","name":"a","status":"ACTIVE","parent_id":"r-1","ou_path":"Root","scanned":true}"#,
        r#"{"kind":"role","account_id":"012345678901","name":"admin","arn":"arn:aws:iam::012345678901:role/admin","path":"/","trust_policy":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"lambda.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}","inline_policies":[],"attached_policy_arns":["arn:aws:iam::aws:policy/AdministratorAccess"],"boundary_arn":null,"tags":[],"last_used_at":null,"last_used_region":null,"created_at":null}"#,
        r#"{"kind":"function","account_id":"012345678901","region":"eu-west-1","name":"f","arn":"arn:aws:lambda:eu-west-1:012345678901:function:f","role_arn":"arn:aws:iam::012345678901:role/admin","runtime":"python3.12","architectures":["x86_64"],"package_type":"Zip","last_modified":null,"layers":[],"env_var_names":[],"resource_policy":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"lambda:InvokeFunctionUrl\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"lambda:FunctionUrlAuthType\":\"NONE\"}}},{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"lambda:InvokeFunction\",\"Resource\":\"*\",\"Condition\":{\"Bool\":{\"lambda:InvokedViaFunctionUrl\":\"true\"}}}]}","urls":[{"url":"https://u","auth_type":"NONE"}]}"#,
        r#"{"kind":"scan","scan_id":"s","started_at":"2026-11-28T00:00:00.000Z","finished_at":"2026-11-28T00:00:01.000Z","org_id":null,"regions":["eu-west-1"],"tool_version":"test"}"#,
    ];
    // Tests run at once and share this file: each writes its own copy and renames it into
    // place, so a reader never sees a half-written snapshot.
    static WRITES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!("snap.jsonl.{n}.tmp"));
    std::fs::write(&tmp, lines.join("\n") + "\n").unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    path
}

#[test]
fn analyze_prints_findings_and_fail_on_sets_exit_1() {
    let snap = admin_snapshot();
    let snap = snap.to_str().unwrap();
    let o = rolescope(&["analyze", "--snapshot", snap], None);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let checks: Vec<String> = stdout(&o)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["check_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(checks.contains(&"RS-ADMIN-001".to_string()));
    assert!(checks.contains(&"RS-PUBLIC-003".to_string()));
    let o = rolescope(
        &["analyze", "--snapshot", snap, "--fail-on", "critical"],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let o = rolescope(
        &["analyze", "--snapshot", snap, "--fail-on", "severe"],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--fail-on"));
}

#[test]
fn analyze_role_and_roles_views() {
    let snap = admin_snapshot();
    let snap = snap.to_str().unwrap();
    let o = rolescope(
        &[
            "analyze",
            "--snapshot",
            snap,
            "--role",
            "arn:aws:iam::012345678901:role/admin",
        ],
        None,
    );
    assert!(o.status.success());
    // AdministratorAccess: every catalog action, each labelled.
    let rows: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(rows.len() > 20_000);
    assert!(
        rows.iter()
            .all(|r| r["status"] == "allowed" && r["resources"] == serde_json::json!(["*"]))
    );
    let o = rolescope(&["analyze", "--snapshot", snap, "--roles"], None);
    let role: serde_json::Value = serde_json::from_str(stdout(&o).lines().next().unwrap()).unwrap();
    assert_eq!(role["score"]["level"], "critical");
    assert!(
        role["score"]["contributions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["factor"] == "public_function")
    );
    let o = rolescope(
        &[
            "analyze",
            "--snapshot",
            snap,
            "--role",
            "arn:aws:iam::012345678901:role/none",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn import_turns_cli_json_into_findings_and_datasets() {
    let dir = std::env::temp_dir().join(format!("rolescope-import-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let gaad = dir.join("gaad.json");
    std::fs::write(
        &gaad,
        r#"{"UserDetailList":[],"GroupDetailList":[],"Policies":[],
            "RoleDetailList":[{"Path":"/","RoleName":"fn-admin","Arn":"arn:aws:iam::000111222333:role/fn-admin",
              "CreateDate":"2024-01-01T00:00:00Z",
              "AssumeRolePolicyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]},
              "RolePolicyList":[],"AttachedManagedPolicies":[{"PolicyName":"AdministratorAccess","PolicyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}],
              "Tags":[],"RoleLastUsed":{}}]}"#,
    )
    .unwrap();
    let functions = dir.join("functions.json");
    std::fs::write(
        &functions,
        r#"{"Functions":[{"FunctionName":"f","FunctionArn":"arn:aws:lambda:eu-west-1:000111222333:function:f",
            "Runtime":"python3.12","Role":"arn:aws:iam::000111222333:role/fn-admin","Architectures":["x86_64"],
            "PackageType":"Zip","LastModified":"2026-11-01T10:00:00.000+0000",
            "Environment":{"Variables":{"API_KEY":"sk_live_value0that0must0not0be0stored"}}},
            {"FunctionName":"f","FunctionArn":"arn:aws:lambda:eu-west-1:000111222333:function:f:1","Version":"1",
            "Runtime":"python3.12","Role":"arn:aws:iam::000111222333:role/fn-v1","Architectures":["x86_64"],
            "PackageType":"Zip","LastModified":"2026-10-01T10:00:00.000+0000"}]}"#,
    )
    .unwrap();
    let out = dir.join("out");
    let o = rolescope(
        &[
            "import",
            "--authorization-details",
            gaad.to_str().unwrap(),
            "--functions",
            functions.to_str().unwrap(),
            "--account-id",
            "000111222333",
            "--out",
            out.to_str().unwrap(),
            "--fail-on",
            "critical",
        ],
        None,
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("1 roles, 1 functions"));
    let snapshot = std::fs::read_dir(out.join("snapshots"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let snap_file = std::fs::read_dir(&snapshot)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&snap_file).unwrap();
    assert!(text.contains("\"env_var_names\":[\"API_KEY\"]"));
    // The value is looked at on the way in (a Stripe-shaped key) and kept nowhere.
    assert!(!text.contains("value0that0must0not0be0stored"));
    assert!(
        text.contains(r#""secret_like_env":[{"variable":"API_KEY","kind":"stripe_key"}]"#),
        "{text}"
    );
    // `list-functions --function-version ALL`: version 1 is a qualifier of f with its own role;
    // its policy is not in the file, so it is unread, not absent.
    assert!(
        text.contains(r#""qualifiers":[{"name":"1","kind":"version","role_arn":"arn:aws:iam::000111222333:role/fn-v1","unread":["resource_policy"]}]"#),
        "{text}"
    );
    assert!(out.join("functions").exists() && out.join("findings").exists());
    let o = rolescope(
        &["analyze", "--snapshot", snap_file.to_str().unwrap()],
        None,
    );
    assert!(stdout(&o).contains("RS-ADMIN-001"));
    // Malformed input names the file and the JSON path.
    std::fs::write(&gaad, r#"{"Roles":[]}"#).unwrap();
    let o = rolescope(
        &[
            "import",
            "--authorization-details",
            gaad.to_str().unwrap(),
            "--account-id",
            "000111222333",
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("gaad.json") && err.contains("$.RoleDetailList"),
        "{err}"
    );
}

/// `rolescope analyze --snapshot SNAP --out OUT`.
fn analyze_out(snap: &std::path::Path, out: &std::path::Path) -> Output {
    rolescope(
        &[
            "analyze",
            "--snapshot",
            snap.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    )
}

/// Every file under a folder, relative to it.
fn tree(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn hostile_snapshots_write_nothing_outside_out_and_name_the_line() {
    let base = std::env::temp_dir().join(format!("rolescope-cli-hostile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let text = std::fs::read_to_string(admin_snapshot()).unwrap();
    let cases = [
        // Each hostile edit of the snapshot, the line it is on, and what the error says.
        (
            r#""scan_id":"s""#,
            r#""scan_id":"../../escaped""#,
            5,
            "invalid scan id",
        ),
        (
            r#""scan_id":"s""#,
            r#""scan_id":"s\nrm -rf ~""#,
            5,
            "invalid scan id",
        ),
        (
            r#""id":"r-1""#,
            r#""id":"r-../../escaped""#,
            1,
            "invalid root or OU id",
        ),
    ];
    for (i, (from, to, line, message)) in cases.iter().enumerate() {
        let case = base.join(format!("case{i}"));
        let out = case.join("out");
        std::fs::create_dir_all(&case).unwrap();
        let snap = case.join("snap.jsonl");
        std::fs::write(&snap, text.replace(from, to)).unwrap();
        let o = analyze_out(&snap, &out);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!("line {line}")) && err.contains(message),
            "{err}"
        );
        assert_eq!(tree(&case), ["snap.jsonl"], "case {i} wrote files: {err}");
    }
    // The same account twice doubles every count: refused, both lines named.
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(2, lines[1]);
    let snap = base.join("twice.jsonl");
    std::fs::write(&snap, lines.join("\n") + "\n").unwrap();
    let o = rolescope(&["analyze", "--snapshot", snap.to_str().unwrap()], None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("line 3") && err.contains("duplicate account") && err.contains("line 2"),
        "{err}"
    );
    // A hostile --scan-id is refused before anything runs.
    for command in [
        &[
            "import",
            "--authorization-details",
            "x.json",
            "--account-id",
            "012345678901",
        ][..],
        &["scan"][..],
    ] {
        let out = base.join("flag-out");
        let mut args = command.to_vec();
        args.extend(["--out", out.to_str().unwrap(), "--scan-id", "../x"]);
        let o = rolescope(&args, None);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("invalid scan id"), "{err}");
        assert!(!out.exists() && !base.join("x").exists());
    }
}

#[test]
fn an_output_that_cannot_be_written_fails_before_any_work() {
    let base = std::env::temp_dir().join(format!("rolescope-cli-preflight-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    // A plain file where the output folder should be: nothing can be created under it (this
    // holds for root too, unlike a read-only folder).
    let blocker = base.join("blocker");
    std::fs::write(&blocker, b"").unwrap();
    let out = blocker.join("out");
    let started = std::time::Instant::now();
    // No endpoint answers on this port: a scan that got past the preflight would fail later,
    // on its first API call, with a different message.
    let o = rolescope(
        &[
            "scan",
            "--out",
            out.to_str().unwrap(),
            "--endpoint-url",
            "http://127.0.0.1:9",
            "--max-attempts",
            "1",
            "--quiet",
        ],
        None,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("preflight") && err.contains("blocker"),
        "{err}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "{err}"
    );
    let snap = admin_snapshot();
    let o = analyze_out(&snap, &out);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("preflight"), "{err}");
    assert!(
        stdout(&o).is_empty(),
        "no findings printed before the failure"
    );
}

#[test]
fn a_lock_left_by_a_killed_run_is_taken_over_and_a_live_one_refuses() {
    let base = std::env::temp_dir().join(format!("rolescope-cli-lock-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let locks = base.join("out/.locks");
    std::fs::create_dir_all(&locks).unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let snap = admin_snapshot();
    let analyze = || analyze_out(&snap, &base.join("out"));
    // pid 1 runs: the lock is live.
    std::fs::write(locks.join("s.lock"), format!("pid 1 on {}", host.trim())).unwrap();
    let o = analyze();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("another run (pid 1 on"), "{err}");
    // A pid that cannot exist: the run that held the lock was killed.
    std::fs::write(
        locks.join("s.lock"),
        format!("pid 4194305 on {}", host.trim()),
    )
    .unwrap();
    let o = analyze();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        !locks.join("s.lock").exists(),
        "the lock is removed at the end"
    );
}

#[test]
fn import_refuses_partial_pages_foreign_accounts_and_functions_without_role() {
    let dir = std::env::temp_dir().join(format!("rolescope-import-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let role = |account: &str| {
        format!(
            r#"{{"RoleName":"r","Arn":"arn:aws:iam::{account}:role/r","AssumeRolePolicyDocument":{{}},"RolePolicyList":[],"AttachedManagedPolicies":[]}}"#
        )
    };
    let import = |gaad: &str, functions: Option<&str>| {
        let g = dir.join("gaad.json");
        std::fs::write(&g, gaad).unwrap();
        let f = dir.join("functions.json");
        let mut args = vec![
            "import".to_string(),
            "--authorization-details".into(),
            g.display().to_string(),
            "--account-id".into(),
            "000111222333".into(),
            "--out".into(),
            dir.join("out").display().to_string(),
        ];
        if let Some(text) = functions {
            std::fs::write(&f, text).unwrap();
            args.extend(["--functions".into(), f.display().to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = rolescope(&args, None);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let truncated = format!(
        r#"{{"RoleDetailList":[{}],"IsTruncated":true,"Marker":"abc"}}"#,
        role("000111222333")
    );
    let err = import(&truncated, None);
    assert!(
        err.contains("gaad.json: $.IsTruncated: this is one page of several"),
        "{err}"
    );
    let foreign = format!(r#"{{"RoleDetailList":[{}]}}"#, role("999999999999"));
    let err = import(&foreign, None);
    assert!(
        err.contains("$.RoleDetailList[0].Arn") && err.contains("not to --account-id 000111222333"),
        "{err}"
    );
    let fine = format!(r#"{{"RoleDetailList":[{}]}}"#, role("000111222333"));
    let err = import(
        &fine,
        Some(
            r#"{"Functions":[{"FunctionName":"f","FunctionArn":"arn:aws:lambda:eu-west-1:000111222333:function:f"}]}"#,
        ),
    );
    assert!(
        err.contains("functions.json: $.Functions[0].Role: missing"),
        "{err}"
    );
    let err = import(&fine, Some(r#"{"Functions":[],"NextMarker":"m"}"#));
    assert!(err.contains("$.NextMarker"), "{err}");
    assert!(
        !dir.join("out").join("scan_runs").exists(),
        "nothing was written"
    );
}

#[test]
fn explicit_baseline_that_is_no_baseline_of_this_scan_is_refused() {
    let snap = admin_snapshot();
    let dir = snap.parent().unwrap().join("baseline-refusals");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // Another organization's snapshot: the same records under another org id.
    let other = dir.join("other-org.jsonl");
    let text = std::fs::read_to_string(&snap)
        .unwrap()
        .replace(r#""org_id":null"#, r#""org_id":"o-other12345""#);
    std::fs::write(&other, text).unwrap();
    let garbage = dir.join("garbage.jsonl");
    std::fs::write(&garbage, "not a snapshot\n").unwrap();
    for (baseline, says) in [
        ("/dev/zero", "longer than 64 MiB"),
        ("/nonexistent/baseline.jsonl", "/nonexistent/baseline.jsonl"),
        (dir.to_str().unwrap(), "baseline-refusals"),
        (garbage.to_str().unwrap(), "garbage.jsonl line 1"),
        (other.to_str().unwrap(), "organization o-other12345"),
    ] {
        let out = dir.join("out");
        let o = rolescope(
            &[
                "analyze",
                "--snapshot",
                snap.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--baseline",
                baseline,
            ],
            None,
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{baseline}: {err}");
        assert!(
            err.contains("--baseline") && err.contains(says),
            "{baseline}: {err}"
        );
        assert_eq!(err.matches("--baseline").count(), 1, "said once: {err}");
        // Nothing was committed.
        assert!(!out.join("scan_runs").exists(), "{baseline}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn out_empty_is_refused() {
    let snap = admin_snapshot();
    let o = rolescope(
        &["analyze", "--snapshot", snap.to_str().unwrap(), "--out", ""],
        None,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("empty"), "{err}");
}

#[test]
fn diff_between_two_organizations_is_refused() {
    let snap = admin_snapshot();
    let other = snap.parent().unwrap().join("diff-other-org.jsonl");
    let text = std::fs::read_to_string(&snap)
        .unwrap()
        .replace(r#""org_id":null"#, r#""org_id":"o-other12345""#);
    std::fs::write(&other, text).unwrap();
    let o = rolescope(
        &[
            "diff",
            "--from",
            snap.to_str().unwrap(),
            "--to",
            other.to_str().unwrap(),
        ],
        None,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("two organizations"), "{err}");
    assert!(stdout(&o).is_empty(), "no change printed");
}

#[test]
fn integer_settings_are_bounded() {
    for (flag, value) in [
        ("--concurrency", "200000000"),
        ("--concurrency", "0"),
        ("--max-attempts", "0"),
        ("--max-attempts", "100000"),
    ] {
        let o = rolescope(&["scan", "--out", "/nonexistent/never", flag, value], None);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {err}");
        assert!(err.contains(flag), "{err}");
    }
}

/// `rolescope` with no AWS configuration at all: no credentials, no profile, no instance metadata.
fn rolescope_without_aws(args: &[&str]) -> Output {
    let home = std::env::temp_dir().join(format!("rolescope-nohome-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    Command::new(env!("CARGO_BIN_EXE_rolescope"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .current_dir(&home)
        .output()
        .unwrap()
}

#[test]
fn no_credentials_or_an_unknown_profile_is_one_line_without_sdk_internals() {
    let out = std::env::temp_dir().join(format!("rolescope-nocreds-{}", std::process::id()));
    for (extra, says) in [
        (vec![], "no AWS credentials were found"),
        (
            vec!["--profile", "nosuch"],
            "--profile nosuch: no such profile",
        ),
    ] {
        let mut args = vec!["scan", "--out", out.to_str().unwrap()];
        args.extend(extra);
        let o = rolescope_without_aws(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(says), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        for internal in [
            "DispatchFailure {",
            "CredentialsNotLoaded(",
            "ProviderAttempt",
        ] {
            assert!(!err.contains(internal), "SDK internals: {err}");
        }
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn an_s3_path_without_its_two_slashes_is_refused_not_made_a_folder() {
    let snap = admin_snapshot();
    let o = rolescope_without_aws(&[
        "analyze",
        "--snapshot",
        snap.to_str().unwrap(),
        "--out",
        "s3:/bucket/x",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("did you mean s3://bucket/x"), "{err}");
    let home = std::env::temp_dir().join(format!("rolescope-nohome-{}", std::process::id()));
    assert!(
        !home.join("s3:").exists(),
        "a local folder named s3: was made"
    );
}

#[test]
fn a_closed_stdout_ends_the_command_quietly_with_exit_0() {
    use std::io::BufRead;
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden/demo.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rolescope"))
        .args(["analyze", "--snapshot", demo])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("check_id"));
    // The reader is gone (as `| head -1` leaves): the rest of the output meets a closed pipe.
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_scan_that_reads_no_member_account_says_why_by_cause_and_exits_2() {
    let out = std::env::temp_dir().join(format!("rolescope-deny-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let o = rolescope(
        &[
            "demo",
            "--deny-operation",
            "AssumeRole",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("11 × sts:AssumeRole AccessDenied in 11 of 12 accounts"),
        "{err}"
    );
    assert!(err.contains("does not trust the caller"), "{err}");
    assert!(err.contains("no member account could be read"), "{err}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn checks_lists_every_check_in_both_formats() {
    let o = rolescope(&["checks"], None);
    assert!(o.status.success());
    let table = stdout(&o);
    let o = rolescope(&["checks", "--format", "jsonl"], None);
    assert!(o.status.success());
    let rows: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), table.lines().count());
    assert!(rows.len() >= 31);
    let public = rows.iter().find(|r| r["id"] == "RS-PUBLIC-004").unwrap();
    assert_eq!(public["severity"], "info");
    assert!(
        public["reads"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "URLs")
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("RS-ADMIN-001") && l.contains("critical"))
    );
}

#[test]
fn analyze_filters_findings_by_severity_check_and_account() {
    let snap = admin_snapshot();
    let snap = snap.to_str().unwrap();
    let lines = |extra: &[&str]| -> Vec<serde_json::Value> {
        let mut args = vec!["analyze", "--snapshot", snap];
        args.extend(extra);
        let o = rolescope(&args, None);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        stdout(&o)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let all = lines(&[]);
    let critical = lines(&["--severity", "critical"]);
    assert!(!critical.is_empty() && critical.len() < all.len());
    assert!(critical.iter().all(|f| f["severity"] == "critical"));
    let admin = lines(&["--check", "RS-ADMIN-001,RS-PUBLIC-003"]);
    assert!(!admin.is_empty());
    assert!(
        admin
            .iter()
            .all(|f| f["check_id"] == "RS-ADMIN-001" || f["check_id"] == "RS-PUBLIC-003")
    );
    assert!(lines(&["--account", "999999999999"]).is_empty());
    assert_eq!(lines(&["--account", "012345678901"]).len(), all.len());
    let o = rolescope(
        &["analyze", "--snapshot", snap, "--check", "RS-NOPE-001"],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--check RS-NOPE-001: no such check"));
}

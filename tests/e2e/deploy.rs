//! The deployment (`deploy/`): the CloudFormation templates pass cfn-lint and follow the
//! exporter's tables and the documented scanner policy; the state machine is valid ASL
//! (asl-validator, npm) and its tasks' commands, run in order against the simulator, make a
//! committed sharded scan; the Dockerfile is conventional; the binary runs on glibc 2.34.

use crate::moto::{files, out_dir, rolescope_bin};
use crate::support::{python_json, require_tool};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn template() -> Value {
    python_json(
        "deploy/template.py",
        &[
            repo().join("deploy/scanner.yaml").as_os_str(),
            repo().join("deploy/audit-role-stackset.yaml").as_os_str(),
        ],
    )
}

#[test]
fn the_templates_pass_cfn_lint() {
    crate::support::cfn_lint(&[
        &repo().join("deploy/scanner.yaml"),
        &repo().join("deploy/audit-role-stackset.yaml"),
    ]);
}

fn asl_validator(path: &Path) -> std::process::Output {
    Command::new(require_tool("asl/node_modules/.bin/asl-validator"))
        .arg("--json-path")
        .arg(path)
        .output()
        .unwrap()
}

#[test]
fn the_state_machine_is_valid_asl_and_a_broken_one_is_not() {
    let asl = repo().join("deploy/state-machine.asl.json");
    let out = asl_validator(&asl);
    assert!(
        out.status.success(),
        "asl-validator: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The validator can fail: a transition to a state that does not exist.
    let dir = out_dir("asl-broken");
    let broken = dir.join("broken.asl.json");
    let text = std::fs::read_to_string(&asl).unwrap().replacen(
        "\"Next\": \"Finalize\"",
        "\"Next\": \"Nowhere\"",
        1,
    );
    std::fs::write(&broken, text).unwrap();
    assert!(!asl_validator(&broken).status.success());
}

#[test]
fn the_scanner_template_follows_the_tables_the_docs_and_the_state_machine() {
    let t = template();
    // One Glue table per dataset, with the exporter's columns and types, projected on dt.
    let tables = t["tables"].as_object().unwrap();
    let defs = rolescope_exporter::tables::TABLES;
    assert_eq!(tables.len(), defs.len());
    for def in defs {
        let table = &tables[def.name];
        let columns: Vec<&str> = def.columns.iter().map(|c| c.name).collect();
        let types: Vec<&str> = def.columns.iter().map(|c| c.kind.athena()).collect();
        assert_eq!(table["columns"], serde_json::json!(columns), "{}", def.name);
        assert_eq!(table["types"], serde_json::json!(types), "{}", def.name);
        assert_eq!(table["projection"], "true");
        assert_eq!(table["partition"], serde_json::json!(["dt"]));
    }
    let views = rolescope_exporter::cfn::views(rolescope_exporter::ddl::VIEWS_SQL);
    assert_eq!(t["named_queries"].as_array().unwrap().len(), views.len());
    // Every substitution the definition uses is defined, and the definition is the ASL file.
    let used = t["substitutions_used"].as_array().unwrap();
    let defined = t["substitutions_defined"].as_array().unwrap();
    for name in used {
        assert!(defined.contains(name), "{name} is not substituted");
    }
    let asl: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("deploy/state-machine.asl.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(t["definition"], asl);
    let map = &asl["States"]["Shards"];
    assert_eq!(
        map["ItemProcessor"]["ProcessorConfig"]["Mode"],
        "DISTRIBUTED"
    );
    assert!(map["MaxConcurrency"].as_u64().unwrap() > 0);
    assert!(map["ToleratedFailurePercentage"].as_u64().unwrap() > 0);
    assert_eq!(
        map["Catch"][0]["Next"], "Finalize",
        "a failed map still finalizes"
    );
    // The bucket: versioned, encrypted, private, TLS only, old scans and uploads expire.
    assert_eq!(t["versioning"], "Enabled");
    assert!(t["encryption"].to_string().contains("AES256"));
    let block = t["public_access_block"].as_object().unwrap();
    assert_eq!(block.len(), 4);
    assert!(block.values().all(|v| v == true));
    let deny = &t["bucket_policy"]["Statement"][0];
    assert_eq!(deny["Effect"], "Deny");
    assert_eq!(deny["Condition"]["Bool"]["aws:SecureTransport"], "false");
    let lifecycle = t["lifecycle"].to_string();
    assert!(lifecycle.contains("AbortIncompleteMultipartUpload"));
    assert!(lifecycle.contains("\"ExpirationInDays\""));
    // The task role: the documented scanner policy (and the collector's calls, which
    // permissions.rs ties to it), with the audit role from the parameters; S3 only under the
    // prefix.
    let policy = &t["task_policies"]["rolescope-scanner"];
    let docs = std::fs::read_to_string(repo().join("docs/permissions.md")).unwrap();
    let documented: Value =
        serde_json::from_str(&rolescope_exporter::cfn::scanner_policy(&docs).unwrap()).unwrap();
    assert_eq!(*policy, documented);
    let assume = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Action"] == "sts:AssumeRole")
        .unwrap();
    assert_eq!(
        assume["Resource"]["Fn::Sub"],
        "arn:${AWS::Partition}:iam::*:role/${AuditRoleName}"
    );
    let output = t["task_policies"]["rolescope-output"].to_string();
    assert!(output.contains("${DataBucket.Arn}/${Prefix}/*"), "{output}");
    assert!(!output.contains("\"s3:*\""));
    // One schedule, whichever the shape.
    assert!(t["schedule"]["ScheduleExpression"].is_object());
    // The StackSet: service-managed, following new accounts, the audit template verbatim.
    let stackset = &t["stackset"];
    assert_eq!(stackset["permission_model"], "SERVICE_MANAGED");
    assert_eq!(stackset["auto_deployment"]["Enabled"], true);
    let audit: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("docs/cloudformation/rolescope-audit-role.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(stackset["template_body"], audit);
}

/// The arguments of a `States.Array(...)` expression: quoted strings, or paths resolved by
/// `path`.
fn array_args(expr: &str, path: &dyn Fn(&str) -> String) -> Vec<String> {
    let inner = expr
        .strip_prefix("States.Array(")
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not States.Array: {expr}"));
    inner
        .split(", ")
        .map(
            |a| match a.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
                Some(text) => text.to_string(),
                None => path(a),
            },
        )
        .collect()
}

/// Replace `${Name}` with the template's substitution.
fn substitute(text: &str, subs: &BTreeMap<&str, String>) -> String {
    let mut out = text.to_string();
    for (k, v) in subs {
        out = out.replace(&format!("${{{k}}}"), v);
    }
    out
}

#[test]
fn the_state_machines_tasks_run_in_order_make_a_committed_sharded_scan() {
    let asl: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("deploy/state-machine.asl.json")).unwrap(),
    )
    .unwrap();
    let command = |state: &Value| {
        state["Parameters"]["Overrides"]["ContainerOverrides"][0]["Command.$"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let states = &asl["States"];
    let plan = command(&states["Plan"]);
    let shard = command(&states["Shards"]["ItemProcessor"]["States"]["Shard"]);
    let finalize = command(&states["Finalize"]);
    assert_eq!(states["Plan"]["Next"], "Shards");
    assert_eq!(states["Shards"]["Next"], "Finalize");
    // The Map reads the items where plan writes them: <Destination>/shards/<scan-id>/items.json.
    let key = states["Shards"]["ItemReader"]["Parameters"]["Key.$"]
        .as_str()
        .unwrap();
    assert_eq!(
        key,
        "States.Format('${Prefix}/shards/{}/items.json', $$.Execution.Name)"
    );

    let sim = crate::shards::serve();
    let out = out_dir("sfn");
    let subs: BTreeMap<&str, String> = [
        ("Destination", out.display().to_string()),
        ("Shards", "3".into()),
        ("AuditRoleName", "RolescopeAudit".into()),
        ("ExternalId", "test-external-id".into()),
    ]
    .into_iter()
    .collect();
    let execution = "sfn-exec-1";
    let run = |args: Vec<String>, aws: bool| {
        let mut cmd = sim.command(&[]);
        cmd.args(&args);
        if aws {
            cmd.args(["--endpoint-url", &sim.endpoint]);
        }
        let o = cmd.output().unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    let context = |p: &str| match p {
        "$$.Execution.Name" => execution.to_string(),
        other => panic!("unexpected path {other}"),
    };
    run(array_args(&substitute(&plan, &subs), &context), false);
    let items: Vec<Value> = serde_json::from_slice(
        &std::fs::read(out.join(format!("shards/{execution}/items.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(items.len(), 3);
    for item in &items {
        let path = |p: &str| {
            item[p.strip_prefix("$.").unwrap()]
                .as_str()
                .unwrap()
                .to_string()
        };
        run(array_args(&substitute(&shard, &subs), &path), true);
    }
    run(array_args(&substitute(&finalize, &subs), &context), false);
    assert!(
        files(&out.join("scan_runs"))
            .iter()
            .any(|p| p.ends_with(format!("{execution}.parquet")))
    );
    assert!(out.join("report.html").exists());
}

#[test]
fn the_dockerfile_builds_as_ci_does_and_runs_unprivileged() {
    let text = std::fs::read_to_string(repo().join("deploy/Dockerfile")).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    assert!(
        lines.iter().filter(|l| l.starts_with("FROM ")).count() >= 2,
        "multi-stage"
    );
    assert!(text.contains("cargo build --release --locked -p rolescope"));
    assert!(text.contains("ca-certificates"));
    let user = lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    assert!(!["root", "0", "0:0"].contains(&user.trim()), "{user}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ENTRYPOINT [\"/usr/local/bin/rolescope\"]"))
    );
}

#[test]
fn the_binary_needs_glibc_2_34_at_most() {
    let out = Command::new("objdump")
        .arg("-T")
        .arg(rolescope_bin())
        .output()
        .expect("objdump (binutils)");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let newest = text
        .split("GLIBC_")
        .skip(1)
        .filter_map(|rest| {
            let v: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
            Some((parts.next()?, parts.next().unwrap_or(0)))
        })
        .max()
        .expect("glibc symbols");
    assert!(
        newest <= (2, 34),
        "the binary needs glibc {}.{}: Amazon Linux 2023 has 2.34",
        newest.0,
        newest.1
    );
}

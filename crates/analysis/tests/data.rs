//! Data-driven check tests: each `checks/<case>.json` describes a small organization, and
//! `checks/<case>.findings` next to it lists the findings the analysis must produce, one line
//! each (`check severity resource [mitigated_by]`). `UPDATE_EXPECT=1 cargo test -p
//! rolescope-analysis --test data` rewrites the expectations; the diff shows what changed.
//!
//! A case file holds `roles` (name, `inline` and `attached` policies, `boundary`, `trust`,
//! `idle_days`), `functions` (name, role, resource `policy`, `url_auth` with an optional
//! `url_qualifier`, `qualifiers`: versions with their `role`, aliases with `routing`
//! `{version: share}`, each with an optional `policy`), `scps` (attached at the
//! root), `managed` (customer-managed documents by ARN) and `org` (`id`, the organization id,
//! and `accounts`, more member accounts in OU `ou-work`). Everything not given has a plain
//! default: a Lambda trust policy, a role used yesterday, no SCPs.

use rolescope_analysis::{Settings, analyze};
use rolescope_model::snapshot::Snapshot;
use rolescope_model::{
    Account, AccountId, AccountStatus, ControlPolicy, ControlPolicyType, Function, FunctionUrl,
    InlinePolicy, ManagedPolicy, OrgUnit, Qualifier, QualifierKind, Role, ScanInfo, Timestamp,
};
use serde_json::Value;
use std::path::{Path, PathBuf};

const ACCT: &str = "111122223333";
const NOW: i64 = 1_800_000_000_000;
const DAY: i64 = 86_400_000;
const LAMBDA_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().into_iter().flatten().map(text).collect()
}

/// The snapshot a case describes.
fn snapshot(case: &Value) -> Snapshot {
    let acct = AccountId::new(ACCT).unwrap();
    let mut s = Snapshot::default();
    s.org_units.push(OrgUnit {
        id: "r-root".into(),
        name: "Root".into(),
        parent_id: None,
        path: "Root".into(),
    });
    s.accounts.push(Account {
        account_id: acct.clone(),
        name: "workload".into(),
        status: AccountStatus::Active,
        parent_id: "r-root".into(),
        ou_path: "Root".into(),
        scanned: true,
    });
    if let Some(org) = case.get("org") {
        s.org_units.push(OrgUnit {
            id: "ou-work".into(),
            name: "Work".into(),
            parent_id: Some("r-root".into()),
            path: "Root/Work".into(),
        });
        for id in strings(&org["accounts"]) {
            s.accounts.push(Account {
                account_id: AccountId::new(&id).unwrap(),
                name: format!("member-{id}"),
                status: AccountStatus::Active,
                parent_id: "ou-work".into(),
                ou_path: "Root/Work".into(),
                scanned: true,
            });
        }
    }
    for (i, doc) in case["scps"].as_array().into_iter().flatten().enumerate() {
        s.control_policies.push(ControlPolicy {
            id: format!("p-case{i}"),
            name: format!("scp{i}"),
            policy_type: ControlPolicyType::ServiceControlPolicy,
            document: text(doc),
            targets: vec!["r-root".into()],
        });
    }
    for (arn, doc) in case["managed"].as_object().into_iter().flatten() {
        s.managed_policies.push(ManagedPolicy {
            account_id: Some(acct.clone()),
            arn: arn.clone(),
            name: arn.rsplit('/').next().unwrap_or(arn).into(),
            default_version: "v1".into(),
            document: text(doc),
        });
    }
    for r in case["roles"].as_array().into_iter().flatten() {
        let name = r["name"].as_str().expect("a role has a name");
        let idle = r["idle_days"].as_i64().unwrap_or(1);
        s.roles.push(Role {
            account_id: acct.clone(),
            name: name.into(),
            arn: format!("arn:aws:iam::{ACCT}:role/{name}"),
            path: "/".into(),
            trust_policy: r
                .get("trust")
                .map(text)
                .unwrap_or_else(|| LAMBDA_TRUST.into()),
            inline_policies: r["inline"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, d)| InlinePolicy {
                    name: format!("inline{i}"),
                    document: text(d),
                })
                .collect(),
            attached_policy_arns: strings(&r["attached"]),
            boundary_arn: r["boundary"].as_str().map(str::to_string),
            tags: vec![],
            last_used_at: Some(Timestamp::from_millis(NOW - idle * DAY)),
            last_used_region: None,
            created_at: Some(Timestamp::from_millis(NOW - 400 * DAY)),
        });
    }
    for f in case["functions"].as_array().into_iter().flatten() {
        let name = f["name"].as_str().expect("a function has a name");
        let role = f["role"].as_str().expect("a function has a role");
        s.functions.push(Function {
            config: Default::default(),
            unread: Vec::new(),
            account_id: acct.clone(),
            region: "eu-west-1".into(),
            name: name.into(),
            arn: format!("arn:aws:lambda:eu-west-1:{ACCT}:function:{name}"),
            role_arn: format!("arn:aws:iam::{ACCT}:role/{role}").into(),
            runtime: Some("python3.12".into()),
            architectures: vec!["x86_64".into()],
            package_type: Some("Zip".into()),
            last_modified: None,
            layers: vec![],
            env_var_names: vec![],
            secret_like_env: vec![],
            qualifiers: f["qualifiers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|q| Qualifier {
                    name: text(&q["name"]),
                    kind: if q.get("routing").is_some() {
                        QualifierKind::Alias
                    } else {
                        QualifierKind::Version
                    },
                    role_arn: q["role"]
                        .as_str()
                        .map(|r| format!("arn:aws:iam::{ACCT}:role/{r}")),
                    routing: q["routing"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(v, share)| (v.clone(), (share.as_f64().unwrap() * 1e6) as u32))
                        .collect(),
                    resource_policy: q.get("policy").map(text),
                    unread: vec![],
                })
                .collect(),
            resource_policy: f.get("policy").map(text),
            urls: f["url_auth"]
                .as_str()
                .map(|auth| FunctionUrl {
                    url: format!("https://{name}.lambda-url.eu-west-1.on.aws/"),
                    auth_type: auth.into(),
                    qualifier: f["url_qualifier"].as_str().map(String::from),
                })
                .into_iter()
                .collect(),
        });
    }
    s.scan = Some(ScanInfo {
        scan_id: "case".into(),
        started_at: Timestamp::from_millis(NOW),
        finished_at: Timestamp::from_millis(NOW),
        org_id: case["org"]["id"].as_str().map(str::to_string),
        regions: vec!["eu-west-1".into()],
        tool_version: "test".into(),
    });
    s
}

/// One line per finding: check, severity, the resource's last segment, and the gate.
fn render(s: &Snapshot) -> String {
    let analysis = analyze(rolescope_policy::catalog(), s, &Settings::default());
    let mut lines: Vec<String> = analysis
        .findings
        .iter()
        .map(|f| {
            let resource = f.resource_arn.rsplit([':', '/']).next().unwrap_or_default();
            let gate = f
                .mitigated_by
                .as_deref()
                .map(|g| format!(" [{g}]"))
                .unwrap_or_default();
            format!("{} {} {resource}{gate}", f.check_id, f.severity.as_str())
        })
        .collect();
    lines.sort();
    lines.join("\n") + "\n"
}

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/checks");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    cases.sort();
    cases
}

#[test]
fn every_case_gives_its_expected_findings() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failed = Vec::new();
    let cases = cases();
    assert!(cases.len() >= 8, "the case folder lost its cases");
    for path in cases {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let got = render(&snapshot(&case));
        let expected_path = path.with_extension("findings");
        if update {
            std::fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if got != want {
            failed.push(format!(
                "{}:\n--- expected\n{want}--- got\n{got}",
                path.file_stem().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "findings differ (UPDATE_EXPECT=1 rewrites the expectations if the change is meant):\n{}",
        failed.join("\n")
    );
}

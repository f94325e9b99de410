//! Least-privilege suggestions judged by peers: iam-simulate (the independent decision oracle)
//! on every suggestion of the simulated organization and of the moto account of the usage test,
//! and the remediation files applied to moto's IAM with the AWS CLI, then a re-scan.

use crate::iam_oracle::oracle;
use crate::moto::{Moto, out_dir, rolescope, scan};
use crate::support::{cfn_lint, python_json, text_rows};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

/// A request resource for an ARN pattern: wildcards become letters, a log group's `:*` one of
/// its streams.
fn concrete(resource: &str) -> String {
    let r = match resource.strip_suffix(":*") {
        Some(group) if resource.contains(":log-group:") => format!("{group}:log-stream:x"),
        _ => resource.to_string(),
    };
    r.replace(['*', '?'], "x")
}

/// The same kind of resource under another name: `elsewhere-` before the name (after the
/// resource type, or the bucket for S3).
fn elsewhere(resource: &str) -> Option<String> {
    let at = resource.match_indices(':').nth(4)?.0 + 1;
    let part = &resource[at..];
    let type_len = if resource.contains(":s3:::") {
        0
    } else {
        part.find(['/', ':']).map_or(0, |i| i + 1)
    };
    let cut = at + type_len;
    Some(format!(
        "{}elsewhere-{}",
        &resource[..cut],
        &resource[cut..]
    ))
}

/// A case for the oracle (and our `simulate` format).
fn case(id: usize, role: &str, action: &str, resource: &str, identity: &[Value]) -> Value {
    let account = role.split(':').nth(4).unwrap_or_default();
    let partition = role.split(':').nth(1).unwrap_or("aws");
    let mut c = json!({"id": id, "principal": role, "action": action, "resource": resource,
        "context": {}, "identity": identity});
    if action.starts_with("kms:") && resource.contains(":key/") {
        c["resourcePolicy"] = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": format!("arn:{partition}:iam::{account}:root")}, "Action": "kms:*", "Resource": "*"}]});
    }
    c
}

/// The actions a suggestion keeps as today (unobservable or without a recorded resource).
fn kept(suggestion: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for s in suggestion["Statement"].as_array().into_iter().flatten() {
        let sid = s["Sid"].as_str().unwrap_or_default();
        if sid.starts_with("RsUnobservable") || sid.starts_with("RsResourceUnknown") {
            for a in s["Action"].as_array().into_iter().flatten() {
                out.insert(a.as_str().unwrap_or_default().to_ascii_lowercase());
            }
        }
    }
    out
}

/// The service a suggestion lets `iam:PassRole` pass roles to (the request context of a pass).
fn passed_to(suggestion: &Value) -> Option<String> {
    suggestion["Statement"].as_array()?.iter().find_map(|s| {
        s["Condition"]["StringEquals"]["iam:PassedToService"][0]
            .as_str()
            .map(str::to_string)
    })
}

/// What the oracle says of each role's uses under today's policies and under the suggestion.
#[derive(Debug, Default)]
struct Verdicts {
    /// Used calls today's policies allow, and the suggestion's answers.
    used: Vec<(String, String)>,
    /// The same calls on another resource, today allowed: the suggestion's answers.
    other: Vec<(String, String)>,
    rejected: usize,
}

/// Judge the suggestions: `roles` (role, suggestion), `docs` (role, current document), `uses`
/// (role, action, resource or "").
fn judge(roles: &[Vec<String>], docs: &[Vec<String>], uses: &[Vec<String>]) -> Verdicts {
    let cat = rolescope_policy::catalog();
    let mut current: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for d in docs {
        current
            .entry(&d[0])
            .or_default()
            .push(serde_json::from_str(&d[1]).unwrap());
    }
    let mut cases = Vec::new();
    let mut labels = Vec::new();
    for r in roles {
        let suggestion: Value = serde_json::from_str(&r[1]).unwrap();
        let keep = kept(&suggestion);
        let passed_to = passed_to(&suggestion);
        let today = current.get(r[0].as_str()).cloned().unwrap_or_default();
        for u in uses.iter().filter(|u| u[0] == r[0]) {
            let Some(action) = cat.action(&u[1]) else {
                continue;
            };
            let resource = match u[2].as_str() {
                "" if action.resource_types.is_empty() => "*".to_string(),
                "" => continue,
                res => concrete(res),
            };
            let mut pair = |kind: &str, res: &str| {
                for (side, identity) in
                    [("today", &today), ("suggestion", &vec![suggestion.clone()])]
                {
                    let mut c = case(cases.len(), &r[0], &u[1], res, identity);
                    if let Some(service) = &passed_to
                        && u[1].eq_ignore_ascii_case("iam:PassRole")
                    {
                        c["context"] = json!({"iam:PassedToService": service});
                    }
                    cases.push(c);
                    labels.push((kind.to_string(), side, format!("{} {} {res}", r[0], u[1])));
                }
            };
            pair("used", &resource);
            if resource != "*"
                && !keep.contains(&u[1].to_ascii_lowercase())
                && let Some(other) = elsewhere(&resource)
            {
                pair("other", &other);
            }
        }
    }
    let answers = oracle(&cases);
    let mut v = Verdicts::default();
    for (pair, labels) in answers.chunks(2).zip(labels.chunks(2)) {
        let (Some(today), Some(sugg)) =
            (pair[0]["decision"].as_str(), pair[1]["decision"].as_str())
        else {
            v.rejected += 1;
            continue;
        };
        if today != "Allowed" {
            continue;
        }
        let entry = (labels[0].2.clone(), sugg.to_string());
        match labels[0].0.as_str() {
            "used" => v.used.push(entry),
            _ => v.other.push(entry),
        }
    }
    v
}

#[test]
fn every_demo_suggestion_allows_the_used_calls_and_denies_other_resources_by_iam_simulate() {
    let out = out_dir("least-demo");
    let run = rolescope(&[
        "demo".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
        "--quiet".as_ref(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let t = python_json(
        "duckdb/sql.py",
        &[
            out.as_os_str(),
            OsStr::new(
                "roles=SELECT role_arn, suggested_policy FROM roles WHERE suggestion_status = 'suggested' AND suggestion_basis = 'cloudtrail' ORDER BY role_arn",
            ),
            OsStr::new(
                "docs=SELECT role_arn, document FROM role_policies WHERE kind <> 'boundary' AND document IS NOT NULL ORDER BY ALL",
            ),
            OsStr::new(
                "uses=SELECT DISTINCT role_arn, action, coalesce(resource_arn, '') FROM role_activity ORDER BY ALL",
            ),
            OsStr::new(
                "status=SELECT suggestion_status, count(*) FROM roles WHERE is_lambda_role GROUP BY ALL ORDER BY ALL",
            ),
            OsStr::new(
                "failed=SELECT count(*) FROM roles WHERE suggestion_status = 'proof_failed'",
            ),
        ],
    );
    let roles = text_rows(&t["roles"]);
    assert!(
        roles.len() >= 40,
        "suggestions from the trail: {} ({})",
        roles.len(),
        t["status"]
    );
    assert_eq!(
        t["failed"],
        json!([[0]]),
        "no suggestion fails a proof: {}",
        t["status"]
    );
    let v = judge(&roles, &text_rows(&t["docs"]), &text_rows(&t["uses"]));
    let denied: Vec<&(String, String)> = v.used.iter().filter(|(_, d)| d != "Allowed").collect();
    assert!(
        denied.is_empty(),
        "{} of {} used calls denied by the suggestion, e.g. {:?}",
        denied.len(),
        v.used.len(),
        &denied[..denied.len().min(5)]
    );
    let allowed: Vec<&(String, String)> = v.other.iter().filter(|(_, d)| d == "Allowed").collect();
    assert!(
        allowed.is_empty(),
        "{} of {} other resources allowed, e.g. {:?}",
        allowed.len(),
        v.other.len(),
        &allowed[..allowed.len().min(5)]
    );
    assert!(
        v.used.len() >= 200 && v.other.len() >= 100,
        "used {} other {} rejected {}",
        v.used.len(),
        v.other.len(),
        v.rejected
    );
    eprintln!(
        "demo: {} suggestions; oracle: {} used calls allowed, {} other resources denied, {} cases rejected",
        roles.len(),
        v.used.len(),
        v.other.len(),
        v.rejected
    );
    std::fs::remove_dir_all(&out).unwrap();
}

/// Run a remediation script with the AWS CLI against moto.
fn apply(script: &Path, moto: &Moto, args: &[&str]) -> String {
    let run = crate::moto::aws_cli_script(moto, script, args);
    let said = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "apply.sh {args:?}: {said}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    said
}

#[test]
fn remediation_files_apply_to_moto_and_a_rescan_finds_the_role_narrowed() {
    let moto = Moto::start();
    let out = out_dir("least-moto");
    let trail = out.with_extension("trail");
    let _ = std::fs::remove_dir_all(&trail);
    let seeded = python_json(
        "moto/seed_usage.py",
        &[OsStr::new(&moto.url), trail.as_os_str()],
    );
    let account = seeded["account"].as_str().unwrap().to_string();
    let args = [
        "--regions",
        "us-east-1",
        "--no-access-analyzer",
        "--no-last-accessed",
        "--cloudtrail-logs",
        trail.to_str().unwrap(),
        "--usage-days",
        "3",
    ];
    let run = scan(&moto.url, &out, &args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let before = worker_tables(&out);
    let role = text_rows(&before["role"]).remove(0);
    assert_eq!(
        (role[0].as_str(), role[1].as_str()),
        ("suggested", "cloudtrail"),
        "{role:?}"
    );
    let folder = out.join(format!("remediation/{account}/worker"));
    let script = folder.join("apply.sh");
    assert!(
        Command::new("sh")
            .arg("-n")
            .arg(&script)
            .status()
            .unwrap()
            .success()
    );
    cfn_lint(&[&folder.join("cloudformation.json")]);

    // The oracle on the suggestion: every use allowed, the denied call and other resources not.
    let arn = seeded["role"].as_str().unwrap().to_string();
    let v = judge(
        &[vec![arn.clone(), role[5].clone()]],
        &text_rows(&before["docs"]),
        &text_rows(&before["uses"]),
    );
    assert!(
        v.used.len() >= 8 && v.used.iter().all(|(_, d)| d == "Allowed"),
        "{:?}",
        v.used
    );
    assert!(
        !v.other.is_empty() && v.other.iter().all(|(_, d)| d != "Allowed"),
        "{:?}",
        v.other
    );
    let suggestion: Value = serde_json::from_str(&role[5]).unwrap();
    let failed = format!("arn:aws:secretsmanager:us-east-1:{account}:secret:prod/admin-AbCdEf");
    let answers = oracle(&[
        case(
            0,
            &arn,
            "secretsmanager:GetSecretValue",
            &failed,
            std::slice::from_ref(&suggestion),
        ),
        case(
            1,
            &arn,
            "sqs:CreateQueue",
            &format!("arn:aws:sqs:us-east-1:{account}:new"),
            &[suggestion],
        ),
    ]);
    assert_eq!(
        answers[0]["decision"], "ImplicitlyDenied",
        "a denied call is not use"
    );
    assert_eq!(answers[1]["decision"], "ImplicitlyDenied", "sqs:* narrowed");

    // A dry run changes nothing; two runs apply once.
    let dry = apply(&script, &moto, &["--dry-run"]);
    assert!(dry.contains("would run: aws iam create-policy"), "{dry}");
    assert_eq!(
        text_rows(&query_after(&moto, &out, &args)["kinds"]),
        text_rows(&before["kinds"]),
        "the dry run changed nothing"
    );
    let first = apply(&script, &moto, &[]);
    assert!(
        first.contains("created rolescope-worker-1")
            && first.contains("attached rolescope-worker-1")
            && first.contains("deleted inline app"),
        "{first}"
    );
    let second = apply(&script, &moto, &[]);
    assert!(
        second.contains("updated rolescope-worker-1")
            && second.contains("already attached")
            && second.contains("inline app not there"),
        "{second}"
    );

    // A re-scan: the role holds the suggestion only, every use still allowed, nothing to remove.
    let again = out.with_extension("again");
    let run = scan(&moto.url, &again, &args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let after = worker_tables(&again);
    assert_eq!(
        text_rows(&after["kinds"]),
        [vec![
            "managed".to_string(),
            "rolescope-worker-1".to_string()
        ]],
        "only the suggestion is attached"
    );
    let role_after = text_rows(&after["role"]).remove(0);
    assert_eq!(role_after[0], "no_change", "{role_after:?}");
    let allowed = |t: &Value| t["role"][0][3].as_i64().unwrap();
    assert!(
        allowed(&after) < allowed(&before),
        "allowed actions {} → {}",
        allowed(&before),
        allowed(&after)
    );
    let docs = text_rows(&after["docs"]);
    let v = judge(
        &[vec![arn.clone(), docs[0][1].clone()]],
        &docs,
        &text_rows(&after["uses"]),
    );
    assert!(
        v.used.len() >= 8 && v.used.iter().all(|(_, d)| d == "Allowed"),
        "{:?}",
        v.used
    );
    for dir in [&out, &again, &trail] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// The role's policies as a new scan reads them (for the dry run: nothing changed).
fn query_after(moto: &Moto, out: &Path, args: &[&str]) -> Value {
    let dir = out.with_extension("dry");
    let run = scan(&moto.url, &dir, args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let t = worker_tables(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    t
}

/// The worker role's row, policies and uses in an output folder.
fn worker_tables(dir: &Path) -> Value {
    python_json(
        "duckdb/sql.py",
        &[
            dir.as_os_str(),
            OsStr::new(
                "role=SELECT suggestion_status, coalesce(suggestion_basis, ''), coalesce(suggestion_reason, ''), allowed_actions, supported_actions, coalesce(suggested_policy, '') FROM roles WHERE role_name = 'worker'",
            ),
            OsStr::new(
                "docs=SELECT role_arn, document FROM role_policies WHERE role_arn LIKE '%/worker' AND kind <> 'boundary' ORDER BY ALL",
            ),
            OsStr::new(
                "kinds=SELECT kind, name FROM role_policies WHERE role_arn LIKE '%/worker' ORDER BY ALL",
            ),
            OsStr::new(
                "uses=SELECT DISTINCT role_arn, action, coalesce(resource_arn, '') FROM role_activity WHERE role_arn LIKE '%/worker' ORDER BY ALL",
            ),
        ],
    )
}

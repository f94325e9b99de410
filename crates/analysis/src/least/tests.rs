//! The suggestion on a small organization: one role, one function, a trail that covered the
//! window with S3 data events.

use super::{Basis, Status};
use crate::tests::{ACCT, NOW, function, role, snapshot};
use crate::{Settings, analyze};
use rolescope_model::snapshot::Snapshot;
use rolescope_model::{
    AccountId, Activity, ActivitySource, FunctionConfig, LastAccessed, Timestamp, UsageCoverage,
};
use rolescope_policy::{Decision, Policy, catalog};
use serde_json::Value;

const DAY: i64 = 86_400_000;

const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":"s3:*","Resource":"*"},
    {"Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:PutItem"],"Resource":"*"},
    {"Effect":"Allow","Action":"sqs:*","Resource":"*"},
    {"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"arn:aws:logs:*:*:*"},
    {"Effect":"Allow","Action":["iam:PassRole","lambda:CreateFunction"],"Resource":"*"},
    {"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}},
    {"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}"#;

fn activity(action: &str, resource: Option<&str>, calls: u64) -> Activity {
    Activity {
        role_arn: format!("arn:aws:iam::{ACCT}:role/app"),
        account_id: AccountId::new(ACCT).unwrap(),
        region: "eu-west-1".into(),
        session_name: "f".into(),
        action: action.into(),
        resource_arn: resource.map(str::to_string),
        first_seen: Timestamp::from_millis(NOW - 80 * DAY),
        last_seen: Timestamp::from_millis(NOW - DAY),
        calls,
        source: ActivitySource::CloudtrailLogs,
    }
}

fn coverage(from_days: i64) -> UsageCoverage {
    UsageCoverage {
        account_id: AccountId::new(ACCT).unwrap(),
        source: ActivitySource::CloudtrailLogs,
        window_start: Timestamp::from_millis(NOW - 90 * DAY),
        window_end: Timestamp::from_millis(NOW),
        covered_from: Some(Timestamp::from_millis(NOW - from_days * DAY)),
        covered_to: Some(Timestamp::from_millis(NOW)),
        regions: vec!["eu-west-1".into()],
        data_events: vec!["s3".into()],
        files: 10,
        records: 100,
    }
}

const QUEUE: &str = "arn:aws:sqs:eu-west-1:111122223333:jobs";
const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/k";

fn organization() -> Snapshot {
    let mut f = function("f", "app");
    f.config = Box::new(FunctionConfig {
        event_sources: vec![QUEUE.into()],
        ..FunctionConfig::default()
    });
    let mut s = snapshot(vec![role("app", &[POLICY], &[], None)], vec![f], &[], &[]);
    s.activity = vec![
        activity(
            "s3:GetObject",
            Some("arn:aws:s3:::bucket/in/2026/1.json"),
            5,
        ),
        activity(
            "s3:GetObject",
            Some("arn:aws:s3:::bucket/in/2026/2.json"),
            3,
        ),
        activity("s3:PutObject", Some("arn:aws:s3:::bucket/out/x.json"), 2),
        activity(
            "iam:PassRole",
            Some("arn:aws:iam::111122223333:role/worker"),
            1,
        ),
        activity(
            "lambda:CreateFunction",
            Some("arn:aws:lambda:eu-west-1:111122223333:function:build"),
            1,
        ),
        activity("kms:Decrypt", Some(KEY), 7),
        activity(
            "secretsmanager:GetSecretValue",
            Some("arn:aws:secretsmanager:eu-west-1:111122223333:secret:s-AbCdEf"),
            1,
        ),
    ];
    s.usage_coverage = vec![coverage(90)];
    s
}

fn statement_with<'a>(doc: &'a Value, action: &str) -> Vec<&'a Value> {
    doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["Effect"] == "Allow" && s["Action"].as_array().unwrap().iter().any(|a| a == action)
        })
        .collect()
}

fn decide(doc: &Policy, action: &str, resource: &str) -> Decision {
    super::proof::decide(
        &format!("arn:aws:iam::{ACCT}:role/app"),
        ACCT,
        "aws",
        std::slice::from_ref(doc),
        &super::proof::Call {
            action: action.into(),
            resource: resource.into(),
            region: "eu-west-1".into(),
        },
    )
}

#[test]
fn a_covered_role_gets_resource_scoped_statements_and_keeps_what_no_trail_shows() {
    let s = organization();
    let a = analyze(catalog(), &s, &Settings::default());
    let r = &a.roles[0];
    let sug = &r.suggestion;
    assert_eq!(sug.status, Status::Suggested, "{:?}", sug.reason);
    assert_eq!(sug.basis, Some(Basis::Cloudtrail));
    let doc: Value = serde_json::from_str(sug.policy.as_deref().unwrap()).unwrap();
    let resources = |action: &str| -> Vec<Value> {
        statement_with(&doc, action)
            .iter()
            .map(|s| s["Resource"].clone())
            .collect()
    };
    // Observed: objects by folder, the passed role, the function, the key with its condition.
    assert_eq!(
        resources("s3:GetObject"),
        [serde_json::json!(["arn:aws:s3:::bucket/in/2026/*"])]
    );
    assert_eq!(
        resources("s3:PutObject"),
        [serde_json::json!(["arn:aws:s3:::bucket/out/*"])]
    );
    assert_eq!(
        resources("iam:PassRole"),
        [serde_json::json!(["arn:aws:iam::111122223333:role/worker"])]
    );
    // Only to the service its passing call (lambda:CreateFunction) hands roles to.
    assert_eq!(
        statement_with(&doc, "iam:PassRole")[0]["Condition"],
        serde_json::json!({"StringEquals": {"iam:PassedToService": ["lambda.amazonaws.com"]}})
    );
    let kms = statement_with(&doc, "kms:Decrypt");
    assert_eq!(kms[0]["Resource"], serde_json::json!([KEY]));
    assert_eq!(
        kms[0]["Condition"]["StringEquals"]["aws:RequestedRegion"],
        "eu-west-1"
    );
    // Configuration: the log group's streams; the queue's attributes (a management call).
    let logs = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/f:*";
    assert_eq!(
        resources("logs:CreateLogStream"),
        [serde_json::json!([logs])]
    );
    assert_eq!(resources("logs:PutLogEvents"), [serde_json::json!([logs])]);
    assert_eq!(
        resources("sqs:GetQueueAttributes"),
        [serde_json::json!([QUEUE])]
    );
    // Unobservable (data events the trail does not select): kept as today, labelled.
    for action in ["dynamodb:GetItem", "sqs:ReceiveMessage", "sqs:SendMessage"] {
        let kept = statement_with(&doc, action);
        assert_eq!(kept.len(), 1, "{action}");
        assert_eq!(kept[0]["Resource"], "*", "{action}");
        assert!(
            kept[0]["Sid"]
                .as_str()
                .unwrap()
                .starts_with("RsUnobservable")
        );
        assert!(sug.evidence.unobservable.iter().any(|a| a == action));
    }
    // Removed: observable and not seen.
    for action in [
        "s3:DeleteObject",
        "s3:ListAllMyBuckets",
        "sqs:CreateQueue",
        "logs:CreateLogGroup",
    ] {
        assert!(statement_with(&doc, action).is_empty(), "{action} removed");
    }
    assert!(
        sug.evidence
            .removed
            .iter()
            .any(|(s, n, _)| s == "s3" && *n > 50)
    );
    // Deny kept; the secret was granted elsewhere.
    assert!(
        doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["Effect"] == "Deny" && s["Action"] == "s3:DeleteBucket")
    );
    assert_eq!(sug.evidence.elsewhere.len(), 1);
    assert!(sug.evidence.elsewhere[0].starts_with("secretsmanager:GetSecretValue"));
    // The engine on the suggestion: used calls allowed, the rest of S3 and other roles denied.
    let p = Policy::parse(sug.policy.as_deref().unwrap()).unwrap();
    assert_eq!(
        decide(&p, "s3:GetObject", "arn:aws:s3:::bucket/in/2026/3.json"),
        Decision::Allowed
    );
    assert_eq!(
        decide(&p, "s3:GetObject", "arn:aws:s3:::bucket/secret/a"),
        Decision::ImplicitlyDenied
    );
    assert_eq!(
        decide(&p, "s3:GetObject", "arn:aws:s3:::other/in/2026/1.json"),
        Decision::ImplicitlyDenied
    );
    assert_eq!(
        decide(&p, "iam:PassRole", "arn:aws:iam::111122223333:role/admin"),
        Decision::ImplicitlyDenied
    );
    assert_eq!(
        decide(
            &p,
            "logs:PutLogEvents",
            "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/other:log-stream:x"
        ),
        Decision::ImplicitlyDenied
    );
    assert_eq!(
        decide(&p, "s3:DeleteBucket", "arn:aws:s3:::bucket"),
        Decision::ExplicitlyDenied
    );
    // Far wider than its use: RS-UNUSED-003, with the figures.
    let f = a
        .findings
        .iter()
        .find(|f| f.check_id == "RS-UNUSED-003")
        .expect("RS-UNUSED-003");
    assert!(f.title.contains("granted actions"), "{}", f.title);
    assert!(sug.evidence.share() < 0.1);
    // The split documents hold the same statements.
    let split: usize = sug
        .documents
        .iter()
        .map(|d| {
            serde_json::from_str::<Value>(d).unwrap()["Statement"]
                .as_array()
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(split, doc["Statement"].as_array().unwrap().len());
}

#[test]
fn functions_sharing_a_role_each_get_their_own_share() {
    let mut s = organization();
    s.functions.push(function("g", "app"));
    let mut g = activity("s3:GetObject", Some("arn:aws:s3:::other/data/1.json"), 4);
    g.session_name = "g".into();
    s.activity.push(g);
    let a = analyze(catalog(), &s, &Settings::default());
    let sug = &a.roles[0].suggestion;
    assert_eq!(sug.status, Status::Suggested, "{:?}", sug.reason);
    let doc: Value = serde_json::from_str(sug.policy.as_deref().unwrap()).unwrap();
    let role_wide: Vec<Value> = statement_with(&doc, "s3:GetObject")
        .iter()
        .map(|s| s["Resource"].clone())
        .collect();
    assert_eq!(
        role_wide,
        [serde_json::json!([
            "arn:aws:s3:::bucket/in/2026/*",
            "arn:aws:s3:::other/data/*"
        ])]
    );
    let names: Vec<&str> = sug.functions.iter().map(|f| f.function.as_str()).collect();
    assert_eq!(names, ["f", "g"]);
    let own = |name: &str| -> Policy {
        let f = sug.functions.iter().find(|f| f.function == name).unwrap();
        assert_eq!(f.status, Status::Suggested, "{name}: {:?}", f.reason);
        Policy::parse(f.policy.as_deref().unwrap()).unwrap()
    };
    let (f, g) = (own("f"), own("g"));
    assert_eq!(
        decide(&f, "s3:GetObject", "arn:aws:s3:::bucket/in/2026/9.json"),
        Decision::Allowed
    );
    assert_eq!(
        decide(&f, "s3:GetObject", "arn:aws:s3:::other/data/9.json"),
        Decision::ImplicitlyDenied
    );
    assert_eq!(
        decide(&g, "s3:GetObject", "arn:aws:s3:::other/data/9.json"),
        Decision::Allowed
    );
    assert_eq!(
        decide(&g, "s3:GetObject", "arn:aws:s3:::bucket/in/2026/9.json"),
        Decision::ImplicitlyDenied
    );
    assert_eq!(
        decide(&g, "iam:PassRole", "arn:aws:iam::111122223333:role/worker"),
        Decision::ImplicitlyDenied,
        "f passed it, not g"
    );
    // g's own log group, not f's.
    assert_eq!(
        decide(
            &g,
            "logs:PutLogEvents",
            "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/g:log-stream:x"
        ),
        Decision::Allowed
    );
    assert_eq!(
        decide(
            &g,
            "logs:PutLogEvents",
            "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/f:log-stream:x"
        ),
        Decision::ImplicitlyDenied
    );
}

#[test]
fn a_role_many_functions_share_is_not_split_one_by_one() {
    let mut s = organization();
    for i in 0..super::PER_FUNCTION_MAX {
        s.functions.push(function(&format!("g{i}"), "app"));
    }
    let a = analyze(catalog(), &s, &Settings::default());
    let sug = &a.roles[0].suggestion;
    assert_eq!(sug.status, Status::Suggested);
    assert!(
        sug.functions.is_empty(),
        "{} functions",
        super::PER_FUNCTION_MAX + 1
    );
    s.functions.pop();
    let a = analyze(catalog(), &s, &Settings::default());
    assert_eq!(
        a.roles[0].suggestion.functions.len(),
        super::PER_FUNCTION_MAX
    );
}

#[test]
fn a_role_without_evidence_says_why() {
    // No trail, no last-accessed data: no suggestion, and why.
    let mut s = organization();
    s.activity.clear();
    s.usage_coverage.clear();
    let a = analyze(catalog(), &s, &Settings::default());
    let sug = &a.roles[0].suggestion;
    assert_eq!(sug.status, Status::NoUsageEvidence);
    assert!(
        sug.reason
            .as_deref()
            .unwrap()
            .contains("no CloudTrail logs"),
        "{:?}",
        sug.reason
    );
    assert!(a.roles[0].suggested_policy.is_none());
    // Logs covering 30 of 90 days, with last-accessed data: today's action-level suggestion,
    // resources as they are, and the reason.
    let mut s = organization();
    s.usage_coverage = vec![coverage(30)];
    let la = |service: &str, at: Option<Timestamp>| LastAccessed {
        role_arn: format!("arn:aws:iam::{ACCT}:role/app"),
        service: service.into(),
        last_accessed_at: at,
        actions: vec![],
    };
    s.last_accessed = vec![
        la("s3", Some(Timestamp::from_millis(NOW - DAY))),
        la("sqs", None),
    ];
    let a = analyze(catalog(), &s, &Settings::default());
    let sug = &a.roles[0].suggestion;
    assert_eq!(sug.status, Status::Suggested, "{:?}", sug.reason);
    assert_eq!(sug.basis, Some(Basis::LastAccessed));
    assert!(
        sug.reason
            .as_deref()
            .unwrap()
            .contains("do not cover the 90-day window"),
        "{:?}",
        sug.reason
    );
    let doc: Value = serde_json::from_str(sug.policy.as_deref().unwrap()).unwrap();
    assert!(
        statement_with(&doc, "sqs:SendMessage").is_empty(),
        "sqs unused: removed"
    );
    assert!(
        sug.evidence
            .removed
            .iter()
            .any(|(s, _, whole)| s == "sqs" && *whole)
    );
    assert!(
        !a.findings.iter().any(|f| f.check_id == "RS-UNUSED-003"),
        "no trail evidence, no RS-UNUSED-003"
    );
    // A role no function uses and Lambda does not trust: none.
    let mut s = organization();
    s.functions.clear();
    s.roles[0].trust_policy = r#"{"Version":"2012-10-17","Statement":[]}"#.into();
    let a = analyze(catalog(), &s, &Settings::default());
    assert_eq!(a.roles[0].suggestion.status, Status::NotLambda);
}

#[test]
fn a_role_that_uses_all_it_has_needs_no_change() {
    let mut s = organization();
    s.roles[0].inline_policies[0].document = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/in/2026/*"},
        {"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/f:*"}]}"#.into();
    *s.functions[0].config = FunctionConfig::default();
    let a = analyze(catalog(), &s, &Settings::default());
    let sug = &a.roles[0].suggestion;
    assert_eq!(
        sug.status,
        Status::NoChange,
        "{:?} {:?}",
        sug.reason,
        sug.policy
    );
}

//! The log reader on hand-made trails: attribution, windows, layout pruning, bad input.

use super::*;
use rolescope_model::ActivitySource;
use serde_json::json;
use std::io::Write;

const ACCOUNT: &str = "111122223333";
const ROLE: &str = "arn:aws:iam::111122223333:role/service-role/worker-role";
const DAY: i64 = 86_400_000;

/// 2026-12-01T00:00:00Z.
fn end() -> Timestamp {
    Timestamp::parse("2026-12-01T00:00:00Z").unwrap()
}

fn request() -> UsageRequest {
    UsageRequest {
        roles: [ROLE.to_string()].into_iter().collect(),
        accounts: vec![AccountId::new(ACCOUNT).unwrap()],
        regions: vec!["eu-west-1".into()],
        window_start: Timestamp::from_millis(end().millis - 30 * DAY),
        window_end: end(),
        data_events: vec![],
    }
}

fn call(
    issuer: &str,
    time: &str,
    source: &str,
    name: &str,
    params: serde_json::Value,
) -> serde_json::Value {
    let account = issuer.split(':').nth(4).unwrap();
    json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "arn": format!("arn:aws:sts::{account}:assumed-role/worker-role/worker"),
            "accountId": account,
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": issuer, "accountId": account}}
        },
        "eventTime": time,
        "eventSource": source,
        "eventName": name,
        "awsRegion": "eu-west-1",
        "requestParameters": params,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management"
    })
}

fn gz(path: &std::path::Path, body: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(body).unwrap();
    std::fs::write(path, e.finish().unwrap()).unwrap();
}

fn day_dir(root: &std::path::Path, account: &str, date: &str) -> std::path::PathBuf {
    root.join(format!(
        "AWSLogs/o-abc123/{account}/CloudTrail/eu-west-1/{date}"
    ))
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rolescope-ct-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn counts_only_successful_calls_of_scanned_roles_in_the_window() {
    let root = temp("attribution");
    let ours = |t: &str, name: &str, p| call(ROLE, t, "dynamodb.amazonaws.com", name, p);
    let mut denied = ours(
        "2026-11-20T10:00:00Z",
        "DeleteItem",
        json!({"tableName": "orders"}),
    );
    denied["errorCode"] = "AccessDenied".into();
    let foreign = call(
        "arn:aws:iam::444455556666:role/service-role/worker-role",
        "2026-11-20T10:00:00Z",
        "dynamodb.amazonaws.com",
        "Scan",
        json!({"tableName": "orders"}),
    );
    let mut person = ours(
        "2026-11-20T10:00:00Z",
        "Query",
        json!({"tableName": "orders"}),
    );
    person["userIdentity"] =
        json!({"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice"});
    let records = json!({"Records": [
        ours("2026-11-20T10:00:00Z", "GetItem", json!({"tableName": "orders"})),
        ours("2026-11-21T11:00:00Z", "GetItem", json!({"tableName": "orders"})),
        call(ROLE, "2026-11-21T12:00:00Z", "lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2",
             json!({"functionName": "worker", "role": "arn:aws:iam::111122223333:role/next"})),
        denied,
        foreign,
        person,
        // Inside a current file, but before the window.
        ours("2026-08-01T10:00:00Z", "PutItem", json!({"tableName": "orders"})),
    ]});
    gz(
        &day_dir(&root, ACCOUNT, "2026/11/21").join("a.json.gz"),
        records.to_string().as_bytes(),
    );
    // Pruned without being read: a day before the window, an account not scanned, a digest.
    let broken = b"not gzip at all";
    std::fs::create_dir_all(day_dir(&root, ACCOUNT, "2026/08/01")).unwrap();
    std::fs::write(
        day_dir(&root, ACCOUNT, "2026/08/01").join("old.json.gz"),
        broken,
    )
    .unwrap();
    std::fs::create_dir_all(day_dir(&root, "999999999999", "2026/11/21")).unwrap();
    std::fs::write(
        day_dir(&root, "999999999999", "2026/11/21").join("x.json.gz"),
        broken,
    )
    .unwrap();
    let digest = root.join(format!(
        "AWSLogs/o-abc123/{ACCOUNT}/CloudTrail-Digest/eu-west-1/2026/11/21"
    ));
    std::fs::create_dir_all(&digest).unwrap();
    std::fs::write(digest.join("d.json.gz"), broken).unwrap();

    let usage = read_logs(&root, &request()).unwrap();
    assert!(usage.errors.is_empty(), "{:?}", usage.errors);
    let rows: Vec<(&str, Option<&str>, u64)> = usage
        .activity
        .iter()
        .map(|a| (a.action.as_str(), a.resource_arn.as_deref(), a.calls))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let table = "arn:aws:dynamodb:eu-west-1:111122223333:table/orders";
    assert_eq!(
        rows,
        [
            ("dynamodb:GetItem", Some(table), 2),
            (
                "iam:PassRole",
                Some("arn:aws:iam::111122223333:role/next"),
                1
            ),
            (
                "lambda:UpdateFunctionConfiguration",
                Some("arn:aws:lambda:eu-west-1:111122223333:function:worker"),
                1
            ),
        ]
    );
    let get = usage
        .activity
        .iter()
        .find(|a| a.action == "dynamodb:GetItem")
        .unwrap();
    assert_eq!(get.session_name, "worker");
    assert_eq!(get.source, ActivitySource::CloudtrailLogs);
    assert_eq!(
        get.first_seen,
        Timestamp::parse("2026-11-20T10:00:00Z").unwrap()
    );
    assert_eq!(
        get.last_seen,
        Timestamp::parse("2026-11-21T11:00:00Z").unwrap()
    );
    assert_eq!(usage.stats.files, 1, "pruned files are not read");
    assert_eq!(usage.stats.failed, 1);
    assert_eq!(usage.stats.other_principals, 2);
    assert_eq!(usage.stats.outside_window, 1);
    // One day of logs in a 30-day window: covered, but not the window.
    let c = &usage.coverage[0];
    assert_eq!(c.covered_from, Timestamp::parse("2026-11-20T00:00:00Z"));
    assert_eq!(c.covered_to, Timestamp::parse("2026-11-22T00:00:00Z"));
    assert!(!c.covers_window());
    assert_eq!(c.regions, ["eu-west-1"]);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn bad_files_and_records_are_errors_naming_them_and_the_rest_is_read() {
    let root = temp("bad");
    let dir = day_dir(&root, ACCOUNT, "2026/11/21");
    let good = call(
        ROLE,
        "2026-11-21T10:00:00Z",
        "sqs.amazonaws.com",
        "SendMessage",
        json!({"queueUrl": "https://sqs.eu-west-1.amazonaws.com/111122223333/jobs"}),
    );
    gz(
        &dir.join("1-good.json.gz"),
        json!({"Records": [good]}).to_string().as_bytes(),
    );
    // Truncated gzip.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(json!({"Records": [good]}).to_string().as_bytes())
        .unwrap();
    let bytes = e.finish().unwrap();
    std::fs::write(dir.join("2-truncated.json.gz"), &bytes[..bytes.len() / 2]).unwrap();
    // Not gzip.
    std::fs::write(dir.join("3-plain.json.gz"), b"{\"Records\": []}").unwrap();
    // Not a CloudTrail file.
    gz(&dir.join("4-other.json.gz"), b"[1, 2, 3]");
    // Bad records among good ones: no userIdentity, eventName of the wrong type, an event
    // with no known IAM action.
    let mut no_identity = good.clone();
    no_identity.as_object_mut().unwrap().remove("userIdentity");
    let mut wrong_type = good.clone();
    wrong_type["eventName"] = json!(7);
    let unmapped = call(
        ROLE,
        "2026-11-21T10:00:00Z",
        "sqs.amazonaws.com",
        "FrobnicateQueue",
        json!({}),
    );
    gz(
        &dir.join("5-records.json.gz"),
        json!({"Records": [good, no_identity, wrong_type, unmapped]})
            .to_string()
            .as_bytes(),
    );

    let usage = read_logs(&root, &request()).unwrap();
    let send = usage
        .activity
        .iter()
        .find(|a| a.action == "sqs:SendMessage")
        .unwrap();
    assert_eq!(
        send.calls, 2,
        "the good records of every readable file count"
    );
    assert_eq!(
        send.resource_arn.as_deref(),
        Some("arn:aws:sqs:eu-west-1:111122223333:jobs")
    );
    let messages: Vec<&str> = usage.errors.iter().map(|e| e.message.as_str()).collect();
    let has = |file: &str, what: &str| {
        usage.errors.iter().any(|e| {
            e.message.contains(file)
                && e.message.contains(what)
                && e.account_id.as_ref().map(|a| a.as_str()) == Some(ACCOUNT)
        })
    };
    assert!(has("2-truncated.json.gz", ""), "{messages:?}");
    assert!(has("3-plain.json.gz", "not a gzip file"), "{messages:?}");
    assert!(
        has("4-other.json.gz", "not a CloudTrail log file"),
        "{messages:?}"
    );
    assert!(
        has(
            "5-records.json.gz",
            "2 record(s) unreadable, the first at record 1"
        ),
        "{messages:?}"
    );
    assert!(
        usage.errors.iter().any(|e| e.error_code == "UnmappedEvent"
            && e.message.contains("FrobnicateQueue")
            && e.message.contains("5-records.json.gz record 3")),
        "{messages:?}"
    );
    assert_eq!(usage.errors.len(), 5, "{messages:?}");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_missing_folder_is_one_error_naming_it() {
    let err = read_logs(std::path::Path::new("/nonexistent/trail"), &request()).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/trail"), "{err}");
}

#[test]
fn attach_replaces_an_earlier_read_and_keeps_other_rows() {
    let root = temp("attach");
    let good = call(
        ROLE,
        "2026-11-21T10:00:00Z",
        "sqs.amazonaws.com",
        "SendMessage",
        json!({"queueUrl": "https://sqs.eu-west-1.amazonaws.com/111122223333/jobs"}),
    );
    gz(
        &day_dir(&root, ACCOUNT, "2026/11/21").join("a.json.gz"),
        json!({"Records": [good]}).to_string().as_bytes(),
    );
    let mut snapshot = rolescope_model::snapshot::Snapshot::default();
    snapshot.roles.push(serde_json::from_value(json!({
        "account_id": ACCOUNT, "name": "worker-role", "arn": ROLE, "path": "/service-role/",
        "trust_policy": "{}", "inline_policies": [], "attached_policy_arns": [], "boundary_arn": null,
        "tags": [], "last_used_at": null, "last_used_region": null, "created_at": null
    })).unwrap());
    snapshot.scan = Some(rolescope_model::ScanInfo {
        scan_id: "s".into(),
        started_at: end(),
        finished_at: end(),
        org_id: None,
        regions: vec!["eu-west-1".into()],
        tool_version: "t".into(),
    });
    let source = LogSource {
        root: root.clone(),
        days: 30,
        data_events: vec!["s3".into()],
    };
    attach_logs(&mut snapshot, &source).unwrap();
    attach_logs(&mut snapshot, &source).unwrap();
    assert_eq!(
        snapshot.activity.len(),
        1,
        "a second read replaces the first"
    );
    assert_eq!(snapshot.usage_coverage.len(), 1);
    assert_eq!(snapshot.usage_coverage[0].data_events, ["s3"]);
    snapshot.check().unwrap();
    let _ = std::fs::remove_dir_all(&root);
}

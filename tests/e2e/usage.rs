//! Usage from CloudTrail against trailscraper (PyPI), the file-based peer, on the simulated
//! organization's trail: per role, the actions rolescope counts are exactly those trailscraper
//! derives from the successful records, plus the `iam:PassRole` rolescope infers. The
//! differences are listed in docs/usage.md.

use crate::moto::{out_dir, rolescope};
use crate::support::{python_json, require_tool, text_rows};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;

/// Per role, the actions of trailscraper's answer, lower-cased (IAM actions are
/// case-insensitive; trailscraper keeps the event name's casing).
fn actions(answer: &Value) -> BTreeMap<String, BTreeSet<String>> {
    answer
        .as_object()
        .unwrap()
        .iter()
        .map(|(role, actions)| {
            let set = actions
                .as_object()
                .unwrap()
                .keys()
                .map(|a| a.to_lowercase())
                .collect();
            (role.clone(), set)
        })
        .collect()
}

#[test]
fn role_activity_holds_every_action_trailscraper_derives_from_successful_calls() {
    let out = out_dir("usage-trailscraper");
    let trail = out.with_extension("trail");
    let _ = std::fs::remove_dir_all(&trail);
    let run = rolescope(&[
        "demo".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
        "--trail".as_ref(),
        trail.as_os_str(),
        "--quiet".as_ref(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let ours = python_json(
        "duckdb/sql.py",
        &[
            out.as_os_str(),
            OsStr::new(
                "activity=SELECT role_arn, lower(action), resource_arn FROM role_activity WHERE source = 'cloudtrail_logs'",
            ),
            OsStr::new("roles=SELECT role_arn FROM roles"),
            OsStr::new(
                "window=SELECT strftime(window_start, '%Y-%m-%dT%H:%M:%SZ'), strftime(window_end, '%Y-%m-%dT%H:%M:%SZ') FROM usage_coverage LIMIT 1",
            ),
        ],
    );
    let window = &text_rows(&ours["window"])[0];
    let mut rolescope_actions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut resources: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for row in text_rows(&ours["activity"]) {
        rolescope_actions
            .entry(row[0].clone())
            .or_default()
            .insert(row[1].clone());
        resources
            .entry((row[0].clone(), row[1].clone()))
            .or_default()
            .insert(row[2].clone());
    }

    let peer = std::process::Command::new(require_tool("trailscraper/bin/python"))
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/trailscraper/policies.py"
        ))
        .args([
            trail.as_os_str(),
            OsStr::new(&window[0]),
            OsStr::new(&window[1]),
        ])
        .output()
        .expect("running trailscraper");
    assert!(
        peer.status.success(),
        "{}",
        String::from_utf8_lossy(&peer.stderr)
    );
    let peer: Value = serde_json::from_slice(&peer.stdout).unwrap();
    // trailscraper sees every role of the folder; rolescope only the organization's. A role of
    // another account with the same name and path is not ours.
    let scanned: BTreeSet<String> = text_rows(&ours["roles"])
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    let foreign = "arn:aws:iam::999988887777:role/admin-fn";
    assert!(
        actions(&peer["all"]).contains_key(foreign),
        "the trail's same-named foreign role"
    );
    let ours_only = |m: BTreeMap<String, BTreeSet<String>>| -> BTreeMap<String, BTreeSet<String>> {
        m.into_iter()
            .filter(|(role, _)| scanned.contains(role))
            .collect()
    };
    let successful = ours_only(actions(&peer["successful"]));
    let all = ours_only(actions(&peer["all"]));
    assert!(
        successful.len() >= 20,
        "a trail of many roles: {}",
        successful.len()
    );

    for (role, theirs) in &successful {
        let ours = rolescope_actions.get(role).cloned().unwrap_or_default();
        // iam:PassRole is never logged: rolescope infers it from the role a call passed.
        let inferred: BTreeSet<String> = ours
            .iter()
            .filter(|a| *a == "iam:passrole")
            .cloned()
            .collect();
        let ours_logged: BTreeSet<String> = ours.difference(&inferred).cloned().collect();
        assert_eq!(
            &ours_logged, theirs,
            "{role}: rolescope's actions against trailscraper's"
        );
        if theirs.contains("lambda:createfunction") {
            assert!(
                !inferred.is_empty(),
                "{role}: a CreateFunction passes the function's role"
            );
        }
    }
    for role in rolescope_actions.keys() {
        assert!(
            successful.contains_key(role),
            "{role}: rolescope counts calls trailscraper does not see"
        );
    }
    // trailscraper counts denied calls as use; rolescope does not.
    let mut denied_only = Vec::new();
    for (role, a) in &all {
        let ok = successful.get(role);
        denied_only.extend(
            a.iter()
                .filter(|x| !ok.is_some_and(|s| s.contains(*x)))
                .cloned(),
        );
    }
    assert!(
        denied_only.contains(&"secretsmanager:getsecretvalue".to_string()),
        "the trail's denied calls: {denied_only:?}"
    );
    assert!(
        rolescope_actions
            .values()
            .all(|a| !a.contains("secretsmanager:getsecretvalue"))
    );

    // Resources: where the record lists resources, trailscraper keeps all of them and rolescope
    // keeps the ones the action is authorised on (the object, not its bucket, for GetObject);
    // where it lists none, trailscraper says `*` and rolescope reads the request parameters.
    for (role, by_action) in peer["successful"].as_object().unwrap() {
        if !scanned.contains(role) {
            continue;
        }
        for (action, theirs) in by_action.as_object().unwrap() {
            let ours = &resources[&(role.clone(), action.to_lowercase())];
            for r in theirs
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap())
            {
                let bucket_of_object = action == "s3:GetObject" || action == "s3:PutObject";
                if r == "*" {
                    assert!(
                        ours.iter().all(|o| o.starts_with("arn:")),
                        "{role} {action}: {ours:?}"
                    );
                } else if !bucket_of_object || r.contains('/') {
                    assert!(ours.contains(r), "{role} {action}: {r} not in {ours:?}");
                }
            }
        }
    }
    std::fs::remove_dir_all(&out).unwrap();
    std::fs::remove_dir_all(&trail).unwrap();
}

/// A moto account whose function polls a queue, has a dead-letter queue, tracing, a VPC and a
/// KMS key, with three days of trail: `scan --cloudtrail-logs` records what the configuration
/// needs and what the role called, and the window is covered.
#[test]
fn a_scan_of_moto_records_configuration_needs_and_the_trails_calls() {
    use crate::moto::{Moto, scan};
    let moto = Moto::start();
    let out = out_dir("usage-moto");
    let trail = out.with_extension("trail");
    let _ = std::fs::remove_dir_all(&trail);
    let seeded = python_json(
        "moto/seed_usage.py",
        &[OsStr::new(&moto.url), trail.as_os_str()],
    );
    let run = scan(
        &moto.url,
        &out,
        &[
            "--regions",
            "us-east-1",
            "--no-access-analyzer",
            "--no-last-accessed",
            "--cloudtrail-logs",
            trail.to_str().unwrap(),
            "--usage-days",
            "3",
        ],
    );
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
                "rows=SELECT source, coalesce(because, ''), action, coalesce(resource_arn, ''), calls FROM role_activity WHERE session_name = 'worker' ORDER BY ALL",
            ),
            OsStr::new(
                "coverage=SELECT covers_window, files, records, data_events FROM usage_coverage",
            ),
        ],
    );
    let rows: BTreeSet<(String, String, String, String)> = t["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |i: usize| r[i].as_str().unwrap_or_default().to_string();
            (s(0), s(1), s(2), s(3))
        })
        .collect();
    let s = |k: &str| seeded[k].as_str().unwrap().to_string();
    let (account, queue, dlq, key) = (s("account"), s("queue"), s("dlq"), s("key"));
    let row = |source: &str, because: &str, action: &str, resource: &str| {
        (
            source.to_string(),
            because.to_string(),
            action.to_string(),
            resource.to_string(),
        )
    };
    for want in [
        row(
            "configuration",
            "event_source",
            "sqs:ReceiveMessage",
            &queue,
        ),
        row("configuration", "event_source", "sqs:DeleteMessage", &queue),
        row("configuration", "tracing", "xray:PutTraceSegments", ""),
        row("configuration", "vpc", "ec2:CreateNetworkInterface", ""),
        row("configuration", "kms", "kms:Decrypt", &key),
        row(
            "configuration",
            "logs",
            "logs:PutLogEvents",
            &format!("arn:aws:logs:us-east-1:{account}:log-group:/aws/lambda/worker:*"),
        ),
        row(
            "cloudtrail_logs",
            "",
            "secretsmanager:GetSecretValue",
            &format!("arn:aws:secretsmanager:us-east-1:{account}:secret:prod/db-??????"),
        ),
        row(
            "cloudtrail_logs",
            "",
            "ssm:GetParameter",
            &format!("arn:aws:ssm:us-east-1:{account}:parameter/worker/config"),
        ),
    ] {
        assert!(rows.contains(&want), "{want:?} missing from {rows:#?}");
    }
    // moto 5.2.5 keeps no DeadLetterConfig (its Lambda model has none): the dead-letter queue
    // is not in its answers, and so not here. The collector's tests read it from replayed SDK
    // responses.
    assert!(
        !rows.iter().any(|r| r.1 == "dead_letter" && r.3 == dlq),
        "{rows:#?}"
    );
    // The denied call is not use.
    assert!(
        rows.iter().all(|r| !r.3.contains("prod/admin")),
        "{rows:#?}"
    );
    let coverage = text_rows(&t["coverage"]);
    assert_eq!(coverage.len(), 1);
    assert_eq!(
        t["coverage"][0][0], true,
        "three days of logs cover a three-day window"
    );
    // No --cloudtrail-data-events: the trail's own selectors say what it logs.
    assert_eq!(
        t["coverage"][0][3], "['dynamodb', 's3']",
        "{}",
        t["coverage"]
    );

    // The example queries read the usage tables.
    let athena = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../athena/queries.sql");
    let q = python_json("duckdb/queries.py", &[out.as_os_str(), athena.as_os_str()]);
    let used: Vec<Vec<String>> = text_rows(&q["observed_use_per_role"]);
    assert!(
        used.iter()
            .any(|r| r[1] == "secretsmanager:GetSecretValue" && r[0] == s("role")),
        "{used:?}"
    );
    assert_eq!(
        q["unobservable_accounts"],
        serde_json::json!([]),
        "the window is covered"
    );

    // The same trail read from an S3 prefix gives the same rows.
    crate::moto::s3_helper(&moto, &["create", "trail-copy"]);
    crate::moto::s3_helper(
        &moto,
        &["upload", "trail-copy", "org", trail.to_str().unwrap()],
    );
    let snapshot = crate::moto::files(&out.join("snapshots"))
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .unwrap();
    let again = out.with_extension("from-s3");
    let run = rolescope(&[
        "analyze".as_ref(),
        "--snapshot".as_ref(),
        snapshot.as_os_str(),
        "--cloudtrail-logs".as_ref(),
        "s3://trail-copy/org".as_ref(),
        "--usage-days".as_ref(),
        "3".as_ref(),
        "--cloudtrail-data-events".as_ref(),
        "s3,dynamodb".as_ref(),
        "--endpoint-url".as_ref(),
        moto.url.as_ref(),
        "--out".as_ref(),
        again.as_os_str(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let query = "rows=SELECT action, coalesce(resource_arn, ''), calls FROM role_activity WHERE source = 'cloudtrail_logs' ORDER BY ALL";
    let local = python_json("duckdb/sql.py", &[out.as_os_str(), OsStr::new(query)]);
    let remote = python_json("duckdb/sql.py", &[again.as_os_str(), OsStr::new(query)]);
    assert_eq!(local["rows"], remote["rows"]);
    assert!(!text_rows(&remote["rows"]).is_empty());
    std::fs::remove_dir_all(&again).unwrap();
    std::fs::remove_dir_all(&out).unwrap();
    std::fs::remove_dir_all(&trail).unwrap();
}

/// The Athena source's SQL, run by a real SQL engine over the demo organization's trail (DuckDB
/// through sqlglot's Trino-to-DuckDB transpiler, the files exposed as AWS's CloudTrail table
/// with its projected partitions), gives exactly the rows the file reader gives.
#[test]
fn athena_sql_run_in_duckdb_gives_the_file_readers_rows() {
    use rolescope_collector::cloudtrail::athena::{
        AggregateRow, CoverageRow, aggregate_sql, coverage_sql, usage_from_rows,
    };
    use rolescope_collector::cloudtrail::{UsageRequest, read_logs};
    use rolescope_model::{AccountId, Timestamp};
    use rolescope_simulator::trail::{TrailSpec, write_trail};
    use rolescope_simulator::{Spec, World};

    let world = World::generate(&Spec::demo());
    let dir = out_dir("usage-athena");
    write_trail(&world, &dir, &TrailSpec::demo()).unwrap();
    let end = Timestamp::from_millis(world.spec.now.millis + 3_600_000);
    let req = UsageRequest {
        roles: world
            .accounts
            .iter()
            .flat_map(|a| {
                a.roles
                    .iter()
                    .map(move |r| format!("arn:aws:iam::{}:role{}{}", a.id, r.path, r.name))
            })
            .collect(),
        accounts: world
            .accounts
            .iter()
            .map(|a| a.id.clone())
            .collect::<Vec<AccountId>>(),
        regions: world.spec.regions.clone(),
        window_start: Timestamp::from_millis(end.millis - 90 * 86_400_000),
        window_end: end,
        data_events: vec!["s3".into()],
    };
    let files = read_logs(&dir, &req).unwrap();
    assert!(files.errors.is_empty(), "{:?}", files.errors);
    assert!(files.activity.len() > 1_000, "{}", files.activity.len());

    let (agg, cov) = (dir.join("aggregate.sql"), dir.join("coverage.sql"));
    std::fs::write(&agg, aggregate_sql("cloudtrail_logs", &req)).unwrap();
    std::fs::write(&cov, coverage_sql("cloudtrail_logs", &req)).unwrap();
    let mut agg_arg = std::ffi::OsString::from("agg=");
    agg_arg.push(&agg);
    let mut cov_arg = std::ffi::OsString::from("cov=");
    cov_arg.push(&cov);
    let result = python_json(
        "duckdb/cloudtrail.py",
        &[dir.as_os_str(), &agg_arg, &cov_arg],
    );
    let rows = |name: &str| -> Vec<Vec<Option<String>>> {
        result[name]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .collect()
    };
    let aggregates: Vec<AggregateRow> = rows("agg")
        .into_iter()
        .map(|values| AggregateRow { values })
        .collect();
    let coverage: Vec<CoverageRow> = rows("cov")
        .into_iter()
        .map(|values| CoverageRow { values })
        .collect();
    let athena = usage_from_rows(&aggregates, &coverage, &req);
    assert!(athena.errors.is_empty(), "{:?}", athena.errors);

    let key = |a: &rolescope_model::Activity| {
        (
            a.role_arn.clone(),
            a.region.clone(),
            a.session_name.clone(),
            a.action.clone(),
            a.resource_arn.clone(),
            a.first_seen,
            a.last_seen,
            a.calls,
        )
    };
    let from_files: BTreeSet<_> = files.activity.iter().map(key).collect();
    let from_sql: BTreeSet<_> = athena.activity.iter().map(key).collect();
    let only_files: Vec<_> = from_files.difference(&from_sql).take(5).collect();
    let only_sql: Vec<_> = from_sql.difference(&from_files).take(5).collect();
    assert!(
        only_files.is_empty() && only_sql.is_empty(),
        "files only: {only_files:#?}\nSQL only: {only_sql:#?}"
    );
    assert_eq!(athena.stats.counted, files.stats.counted);
    let cov_key = |c: &rolescope_model::UsageCoverage| {
        (
            c.account_id.clone(),
            c.covered_from,
            c.covered_to,
            c.regions.clone(),
            c.data_events.clone(),
            c.records,
        )
    };
    assert_eq!(
        athena.coverage.iter().map(cov_key).collect::<Vec<_>>(),
        files.coverage.iter().map(cov_key).collect::<Vec<_>>()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The usage flags are checked before any work: a table name that is not `database.table`, an
/// Athena output that is not S3, both sources at once, a log folder that does not exist, data
/// events that are not services.
#[test]
fn bad_usage_flags_are_refused_with_one_clear_error() {
    let snapshot = concat!(env!("CARGO_MANIFEST_DIR"), "/golden/demo.jsonl");
    let cases: &[(&[&str], &str)] = &[
        (
            &["--cloudtrail-athena", "trail.logs; DROP TABLE x"],
            "expected DATABASE.TABLE",
        ),
        (
            &[
                "--cloudtrail-athena",
                "trail.logs",
                "--athena-output",
                "http://example.com/",
            ],
            "expected s3://bucket/prefix/",
        ),
        (
            &[
                "--cloudtrail-athena",
                "trail.logs",
                "--cloudtrail-logs",
                "/tmp",
            ],
            "cannot be used with",
        ),
        (
            &["--cloudtrail-logs", "s3:///no-bucket"],
            "expected s3://bucket/prefix",
        ),
        (
            &["--cloudtrail-logs", "/nonexistent/trail"],
            "/nonexistent/trail",
        ),
        (
            &[
                "--cloudtrail-logs",
                "/tmp",
                "--cloudtrail-data-events",
                "s3,nosuch",
            ],
            "\"nosuch\" is not a service prefix",
        ),
        (
            &["--cloudtrail-data-events", "s3"],
            "--cloudtrail-logs, which is missing",
        ),
    ];
    for (flags, expected) in cases {
        let mut args: Vec<&OsStr> =
            vec!["analyze".as_ref(), "--snapshot".as_ref(), snapshot.as_ref()];
        args.extend(flags.iter().map(OsStr::new));
        let run = rolescope(&args);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains(expected), "{flags:?}: {stderr}");
        assert!(run.stdout.is_empty(), "{flags:?}: nothing on stdout");
    }
}

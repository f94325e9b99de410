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

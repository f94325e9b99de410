//! A standalone account (in no organization) scanned twice into one destination: what was
//! fixed in between is resolved in `finding_changes`, `diff`, OCSF and ASFF, although moto serves
//! no last-accessed data or Access Analyzer (details no fixed finding reads).

use crate::moto::{Moto, files, out_dir, scan};
use crate::support::python_json;
use serde_json::Value;
use std::ffi::OsStr;

#[test]
fn two_scans_of_a_standalone_account_resolve_what_was_fixed() {
    let moto = Moto::start();
    let seeded = python_json("moto/seed_standalone.py", &[OsStr::new(&moto.url)]);
    let out = out_dir("standalone");
    let scan_as = |id: &str| {
        let run = scan(
            &moto.url,
            &out,
            &[
                "--regions",
                "us-east-1",
                "--last-accessed-timeout",
                "5",
                "--scan-id",
                id,
            ],
        );
        assert!(
            run.status.success(),
            "{id}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    };
    scan_as("sa-1");
    python_json(
        "moto/seed_standalone.py",
        &[OsStr::new(&moto.url), OsStr::new("fix")],
    );
    scan_as("sa-2");

    let role = seeded["role"].as_str().unwrap();
    let function = seeded["function"].as_str().unwrap();
    let t = python_json(
        "duckdb/sql.py",
        &[
            out.as_os_str(),
            OsStr::new(
                "changes=SELECT change, check_id, resource_arn FROM finding_changes WHERE scan_id = 'sa-2' ORDER BY ALL",
            ),
            OsStr::new(
                "carried=SELECT check_id, resource_arn FROM findings WHERE scan_id = 'sa-2' AND NOT observed ORDER BY ALL",
            ),
            OsStr::new(
                "errors=SELECT operation FROM collection_errors WHERE scan_id = 'sa-2' ORDER BY ALL",
            ),
        ],
    );
    let rows = |name: &str| crate::support::text_rows(&t[name]);
    let changes = rows("changes");
    let errors = rows("errors");
    // Not being in an organization is no error; moto's missing APIs are.
    assert!(
        !errors.iter().any(|r| r[0] == "DescribeOrganization"),
        "{errors:?}"
    );
    let resolved = |check: &str, arn: &str| {
        changes
            .iter()
            .any(|r| r[0] == "resolved" && r[1] == check && r[2] == arn)
    };
    for (check, arn) in [
        ("RS-ADMIN-001", role),
        ("RS-ADMIN-002", role),
        ("RS-SECRET-001", function),
    ] {
        assert!(resolved(check, arn), "{check} on {arn}: {changes:?}");
    }
    let carried = rows("carried");
    assert!(
        !carried
            .iter()
            .any(|r| r[0].starts_with("RS-ADMIN") || r[0] == "RS-SECRET-001"),
        "{carried:?}"
    );

    // `diff` between the two snapshots resolves the same findings.
    let d = crate::moto::diff_of(&out, "sa-1", "sa-2");
    let from_diff: Vec<Vec<String>> = String::from_utf8(d.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["kind"] == "finding" && v["change"] == "resolved")
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
            vec![s("change"), s("check_id"), s("resource_arn")]
        })
        .collect();
    for (check, arn) in [("RS-ADMIN-001", role), ("RS-SECRET-001", function)] {
        assert!(
            from_diff.iter().any(|r| r[1] == check && r[2] == arn),
            "diff: {check}: {from_diff:?}"
        );
    }

    // OCSF and ASFF: as many Resolved as the table, and Security Hub archives them.
    let resolved_count = changes.iter().filter(|r| r[0] == "resolved").count() as u64;
    assert!(resolved_count >= 3);
    let ocsf = files(&out.join("ocsf"))
        .into_iter()
        .find(|p| p.ends_with("sa-2.jsonl"))
        .unwrap();
    let o = python_json("ocsf/validate.py", &[ocsf.as_os_str()]);
    assert_eq!(o["errors"], serde_json::json!([]), "{o}");
    assert_eq!(
        o["statuses"]["Resolved"].as_u64().unwrap_or(0),
        resolved_count,
        "{o}"
    );
    let asff = files(&out.join("asff"))
        .into_iter()
        .find(|p| p.ends_with("sa-2.jsonl"))
        .unwrap();
    let hub = python_json(
        "moto/securityhub.py",
        &[moto.url.as_ref(), asff.as_os_str()],
    );
    assert_eq!(hub["failed"], 0, "{hub}");
    assert_eq!(hub["archived"].as_u64().unwrap(), resolved_count, "{hub}");
    std::fs::remove_dir_all(&out).unwrap();
}

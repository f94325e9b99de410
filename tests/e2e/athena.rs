//! The shipped Athena SQL over many scans: three scans of one day whose ids sort wrongly as text
//! (`weekly-9` after `weekly-11`) give every example query and view the figures of the latest
//! scan by start time, which an output holding that scan alone gives independently; and
//! `rolescope athena-sql` writes the files ready to run.

use crate::moto::{out_dir, rolescope};
use crate::support::python_json;
use rolescope_model::Timestamp;
use rolescope_model::snapshot::Snapshot;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

fn demo() -> Snapshot {
    Snapshot::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/demo.jsonl")).unwrap()
}

/// The demo as scan `id`, `hour` hours into its day, with its last `drop` functions gone.
fn scan_file(dir: &Path, id: &str, hour: i64, drop: usize) -> PathBuf {
    let mut s = demo();
    let keep = s.functions.len() - drop;
    s.functions.truncate(keep);
    let scan = s.scan.as_mut().unwrap();
    let day = scan.started_at.millis - scan.started_at.millis % 86_400_000;
    scan.scan_id = id.into();
    scan.started_at = Timestamp::from_millis(day + hour * 3_600_000);
    scan.finished_at = scan.started_at;
    let path = dir.join(format!("{id}.jsonl"));
    s.write(&path).unwrap();
    path
}

fn analyze_into(snapshot: &Path, out: &Path) {
    let run = rolescope(&[
        "analyze".as_ref(),
        "--snapshot".as_ref(),
        snapshot.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn example_queries_read_the_latest_scan_by_start_time_whatever_the_ids() {
    let work = out_dir("athena-latest");
    let (many, alone) = (work.join("many"), work.join("alone"));
    // Started in this order; as text, weekly-9 sorts last.
    let nine = scan_file(&work, "weekly-9", 1, 0);
    let ten = scan_file(&work, "weekly-10", 2, 10);
    let eleven = scan_file(&work, "weekly-11", 3, 25);
    for s in [&nine, &ten, &eleven] {
        analyze_into(s, &many);
    }
    analyze_into(&eleven, &alone);

    let athena = Path::new(env!("CARGO_MANIFEST_DIR")).join("../athena");
    let queries = |out: &Path| {
        python_json(
            "duckdb/queries.py",
            &[out.as_os_str(), athena.join("queries.sql").as_os_str()],
        )
    };
    let (q_many, q_alone) = (queries(&many), queries(&alone));
    let names: Vec<&String> = q_alone.as_object().unwrap().keys().collect();
    assert!(names.len() >= 7, "{names:?}");
    for name in names {
        if name == "live_findings_per_scan" {
            continue;
        }
        assert_eq!(
            q_many[name], q_alone[name],
            "{name}: three scans in one place give other figures than the latest alone"
        );
    }
    assert!(
        !q_many["riskiest_lambda_roles"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The history query tells the scans apart, oldest first.
    let order: Vec<String> = q_many["live_findings_per_scan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[1].as_str().unwrap().to_string())
        .fold(Vec::new(), |mut v, id| {
            if v.last() != Some(&id) {
                v.push(id);
            }
            v
        });
    assert_eq!(order, ["weekly-9", "weekly-10", "weekly-11"]);

    // The views that show "the latest scan of the day" agree too.
    let views = |out: &Path| {
        python_json(
            "duckdb/views.py",
            &[out.as_os_str(), athena.join("views.sql").as_os_str()],
        )
    };
    let (v_many, v_alone) = (views(&many), views(&alone));
    for view in [
        "latest_scan",
        "v_latest_scan_per_day",
        "v_account_risk",
        "v_top_roles",
        "v_findings_by_category",
        "v_public_functions",
        "v_oldest_open_critical",
    ] {
        assert_eq!(v_many[view], v_alone[view], "{view}");
    }
    let latest = python_json(
        "duckdb/sql.py",
        &[
            many.as_os_str(),
            OsStr::new("latest=SELECT scan_id FROM scan_runs ORDER BY started_at DESC LIMIT 1"),
        ],
    );
    assert_eq!(latest["latest"][0][0], "weekly-11");
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn athena_sql_writes_ready_to_run_files_and_refuses_what_would_break_them() {
    let dir = out_dir("athena-sql");
    let run = rolescope(&[
        "athena-sql".as_ref(),
        "--location".as_ref(),
        "s3://security-lake/rolescope/".as_ref(),
        "--database".as_ref(),
        "rolescope_prod".as_ref(),
        "--out-dir".as_ref(),
        dir.as_os_str(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for name in ["tables.sql", "views.sql", "queries.sql"] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        // `${dt}` is Athena's own: partition projection fills it.
        assert!(
            !text.replace("${dt}", "").contains("${"),
            "{name} keeps a placeholder"
        );
        assert!(text.contains("rolescope_prod."), "{name}");
    }
    let tables = std::fs::read_to_string(dir.join("tables.sql")).unwrap();
    assert!(tables.contains("LOCATION 's3://security-lake/rolescope/roles/'"));
    for (flag, value) in [
        ("--location", "s3://bucket/x'; DROP TABLE y; --"),
        ("--location", "/local/folder"),
        ("--database", "Bad-Name"),
    ] {
        let mut args: Vec<&OsStr> = vec![
            "athena-sql".as_ref(),
            "--location".as_ref(),
            "s3://b/p".as_ref(),
            "--database".as_ref(),
            "db".as_ref(),
            "--out-dir".as_ref(),
            dir.as_os_str(),
        ];
        let at = args.iter().position(|a| *a == OsStr::new(flag)).unwrap();
        args[at + 1] = value.as_ref();
        let o = rolescope(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{value}: {err}");
        assert!(err.contains(flag), "{err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

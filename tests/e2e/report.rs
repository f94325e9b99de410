//! The HTML report in a real browser: headless Chromium (Debian's, driven by playwright-core
//! from the npm registry) opens the demo's `report.html` from `file://`, and what it shows is
//! compared with the Parquet datasets of the same scan read by DuckDB.

use crate::moto::{out_dir, rolescope_bin};
use crate::support::{python_json, require_tool};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Where Chromium is: `ROLESCOPE_CHROMIUM`, else Debian's.
fn chromium() -> String {
    let path = std::env::var("ROLESCOPE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&path).exists(),
        "{path} is missing: `cargo xtask tools` installs Debian's chromium (as root), or set ROLESCOPE_CHROMIUM"
    );
    path
}

fn demo(out: &Path, extra: &[&str]) {
    let run = Command::new(rolescope_bin())
        .args(["demo", "--quiet", "--latency-ms", "0,2", "--out"])
        .arg(out)
        .args(extra)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("running rolescope demo");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    // The terminal names the report and ends the findings with the riskiest roles.
    let report = out.join("report.html");
    assert!(
        stderr.contains(&format!("report     {}", report.display())),
        "{stderr}"
    );
    assert!(stderr.contains("riskiest roles"), "{stderr}");
}

/// Open a report in Chromium and return what the page showed and did.
fn browse(report: &Path, screenshot: &Path, filter: &str) -> Value {
    let browser = require_tool("browser/node_modules/playwright-core");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser/report.cjs");
    let out = Command::new("node")
        .arg(&script)
        .arg(report)
        .arg(screenshot)
        .arg(filter)
        .env("NODE_PATH", browser.parent().unwrap())
        .env("ROLESCOPE_CHROMIUM", chromium())
        .output()
        .expect("running node");
    assert!(
        out.status.success(),
        "report.cjs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("report.cjs prints JSON")
}

#[test]
fn the_demo_report_in_chromium_shows_what_the_datasets_hold_and_asks_for_nothing() {
    let out = out_dir("report");
    demo(&out, &["--scan-id", "report-1"]);
    // A second scan of a changed organization: the page also says what changed.
    demo(&out, &["--scan-id", "report-2", "--seed", "8"]);
    let report = out.join("report.html");
    let own = out.join(format!(
        "reports/dt={}/report-2.html",
        rolescope_model::Timestamp::now().date()
    ));
    assert_eq!(
        std::fs::read(&report).unwrap(),
        std::fs::read(&own).unwrap(),
        "report.html is the latest committed scan's report"
    );
    let size = std::fs::metadata(&report).unwrap().len();
    assert!(size < 15 << 20, "{size} bytes");

    let top_account = {
        let html = std::fs::read_to_string(&report).unwrap();
        let at = html.find("data-role=\"arn:aws:iam::").expect("a role row") + 24;
        html[at..at + 12].to_string()
    };
    let screenshot = out.join("report.png");
    let page = browse(&report, &screenshot, &top_account);
    let data = python_json(
        "browser/figures.py",
        &[out.as_os_str(), "report-2".as_ref(), top_account.as_ref()],
    );

    // Nothing went wrong and nothing left the page: the only request is the file itself.
    assert_eq!(page["ready"], true, "the page's script ran: {page}");
    assert_eq!(page["console_errors"], serde_json::json!([]), "{page}");
    assert_eq!(page["page_errors"], serde_json::json!([]), "{page}");
    assert_eq!(page["requests"], serde_json::json!([page["url"]]), "{page}");

    // The figures are the datasets'.
    let fig = |name: &str| -> i64 {
        page["figures"][name]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("figure {name}: {page}"))
    };
    for severity in ["critical", "high", "medium", "low", "info"] {
        assert_eq!(
            fig(&format!("live-{severity}")),
            data["live"][severity].as_i64().unwrap(),
            "{severity}"
        );
    }
    assert!(fig("live-critical") > 0);
    // The usage section says what the usage tables hold: the demo reads its simulated trail.
    for (figure, key) in [
        ("usage-accounts", "usage_accounts"),
        ("usage-accounts-covered", "usage_accounts_covered"),
        ("usage-calls", "usage_calls"),
    ] {
        assert_eq!(fig(figure), data[key].as_i64().unwrap(), "{figure}");
    }
    assert!(fig("usage-calls") > 0 && fig("usage-accounts-covered") > 0);
    assert_eq!(fig("mitigated"), data["mitigated"].as_i64().unwrap());
    assert_eq!(fig("org-score"), data["org_score"].as_i64().unwrap());
    assert_eq!(fig("accounts-listed"), data["accounts"].as_i64().unwrap());
    assert_eq!(fig("functions"), data["functions"].as_i64().unwrap());
    assert_eq!(fig("roles"), data["roles"].as_i64().unwrap());
    assert_eq!(
        page["top_role"], data["top_role"],
        "the riskiest role and its score"
    );
    assert_eq!(
        fig("public-functions"),
        data["public_functions"].as_i64().unwrap()
    );
    let mut public: Vec<&str> = page["public"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    public.sort();
    let expected: Vec<&str> = data["public"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(public, expected, "public function qualifiers");
    // The second organization differs from the first: the page says how, as finding_changes does.
    let changes = data["changes"].as_object().expect("changes");
    assert!(!changes.is_empty(), "the seeds differ: {data}");
    for (change, n) in changes {
        assert_eq!(
            fig(&format!("change-{change}")),
            n.as_i64().unwrap(),
            "{change}"
        );
    }

    // Filtering by the top role's account leaves exactly that account's roles, and the counter
    // says so; clearing the filter shows every row again.
    let filter = &page["filter"];
    assert_eq!(filter["filtered"], data["roles_of_account"], "{filter}");
    assert_eq!(filter["counted"], data["roles_of_account"], "{filter}");
    assert_eq!(filter["all_match"], true);
    assert_eq!(filter["restored"], filter["rows"]);
    assert!(filter["filtered"].as_i64() < filter["rows"].as_i64());
    // Sorting by score: highest first, then lowest first.
    let sort = &page["sort"];
    assert_eq!(sort["descending"], data["top_role"]["score"], "{sort}");
    assert!(
        sort["ascending"].as_i64() < sort["descending"].as_i64(),
        "{sort}"
    );
    assert_eq!(sort["aria"], "ascending");
    assert_eq!(page["copy"], "copied");
    let png = std::fs::read(&screenshot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG"),
        "a screenshot for a person to look at"
    );
    eprintln!("report screenshot: {}", screenshot.display());
}

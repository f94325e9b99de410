//! Tidy: ARCHITECTURE.md's invariants checked mechanically over the source tree.
//!
//! - Only the collector knows the AWS SDK (`aws-sdk-*`, `aws-config`, `aws-smithy-*`).
//! - policy, analysis, model and pipeline are synchronous: no tokio. The exporter's one use of
//!   tokio is the current-thread runtime inside its S3 destination (`destination.rs`), which
//!   its callers never see.
//! - Library crates report errors with `thiserror`; `anyhow` is for the binary and xtask.
//! - Every module starts with a `//!` doc.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under a folder.
fn sources(dir: &Path) -> Vec<PathBuf> {
    crate::moto::files(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect()
}

/// The crates under `crates/`, by folder name.
fn crates() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(workspace().join("crates"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            workspace()
                .join("crates")
                .join(n)
                .join("Cargo.toml")
                .exists()
        })
        .collect();
    names.sort();
    names
}

/// Dependency names of the `[dependencies]` table of a crate's manifest.
fn dependencies(krate: &str) -> Vec<String> {
    let text =
        std::fs::read_to_string(workspace().join("crates").join(krate).join("Cargo.toml")).unwrap();
    let mut deps = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == "[dependencies]";
            continue;
        }
        if inside && !line.is_empty() && !line.starts_with('#') {
            let name = line.split(['=', '.', ' ']).next().unwrap_or_default();
            deps.push(name.to_string());
        }
    }
    deps
}

fn is_sdk(dep: &str) -> bool {
    dep.starts_with("aws-sdk-")
        || dep.starts_with("aws-smithy")
        || matches!(
            dep,
            "aws-config" | "aws-types" | "aws-credential-types" | "aws-sigv4"
        )
}

/// Lines of a file that use a path, outside comments.
fn uses(path: &Path, needle: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//") && l.contains(needle))
        .map(|(n, l)| format!("{}:{}: {}", path.display(), n + 1, l.trim()))
        .collect()
}

#[test]
fn only_the_collector_knows_the_aws_sdk() {
    let mut wrong = Vec::new();
    for krate in crates().iter().filter(|k| *k != "collector") {
        for dep in dependencies(krate).iter().filter(|d| is_sdk(d)) {
            wrong.push(format!("crates/{krate}/Cargo.toml depends on {dep}"));
        }
        for file in sources(&workspace().join("crates").join(krate).join("src")) {
            for needle in ["aws_sdk_", "aws_config::", "aws_smithy_", "aws_types::"] {
                wrong.extend(uses(&file, needle));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "SDK types outside the collector:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_engine_the_analysis_and_the_pipeline_are_synchronous() {
    let mut wrong = Vec::new();
    for krate in [
        "policy", "analysis", "model", "pipeline", "exporter", "report",
    ] {
        if krate != "exporter" && dependencies(krate).iter().any(|d| d == "tokio") {
            wrong.push(format!("crates/{krate}/Cargo.toml depends on tokio"));
        }
        for file in sources(&workspace().join("crates").join(krate).join("src")) {
            let allowed = krate == "exporter" && file.ends_with("destination.rs");
            if !allowed {
                wrong.extend(uses(&file, "tokio::"));
                wrong.extend(uses(&file, "async fn"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "async code where none belongs:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn libraries_report_errors_with_thiserror_not_anyhow() {
    let wrong: Vec<String> = crates()
        .iter()
        .filter(|k| *k != "cli")
        .filter(|k| dependencies(k).iter().any(|d| d == "anyhow"))
        .map(|k| format!("crates/{k}/Cargo.toml depends on anyhow"))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_module_says_what_it_is_for() {
    let mut missing = Vec::new();
    for krate in crates() {
        for file in sources(&workspace().join("crates").join(&krate).join("src")) {
            let text = std::fs::read_to_string(&file).unwrap();
            if !text.trim_start().starts_with("//!") {
                missing.push(file.display().to_string());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "modules without a //! doc:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_checks_of_the_tidy_test_can_fail() {
    // The helpers find what they look for: a dependency the collector has, and a use of it.
    assert!(dependencies("collector").iter().any(|d| d == "aws-sdk-iam"));
    let collector = sources(&workspace().join("crates/collector/src"));
    assert!(collector.iter().any(|f| !uses(f, "aws_sdk_").is_empty()));
    assert!(dependencies("cli").iter().any(|d| d == "anyhow"));
}

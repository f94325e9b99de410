//! Tidy: ARCHITECTURE.md's invariants checked mechanically over the source tree.
//!
//! - Only the collector knows the AWS SDK (`aws-sdk-*`, `aws-config`, `aws-smithy-*`).
//! - policy, analysis, model and pipeline are synchronous: no tokio. The exporter's one use of
//!   tokio is the current-thread runtime inside its S3 destination (`destination.rs`), which
//!   its callers never see.
//! - Library crates report errors with `thiserror`; `anyhow` is for the binary and xtask.
//! - Every module starts with a `//!` doc.
//! - An error names its cause once: a `thiserror` message never prints the field that is also
//!   its `source` (the binary prints the chain with `{:#}`, which would say it twice).
//! - Sizes one can hold in one's head: no source file over 800 lines and no function over 120,
//!   tests aside (`tests.rs` files and what follows a file's first `#[cfg(test)]`).

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

/// Every `.rs` file of every crate's `src`, with its text.
fn crate_sources() -> Vec<(PathBuf, String)> {
    crates()
        .iter()
        .flat_map(|krate| sources(&workspace().join("crates").join(krate).join("src")))
        .map(|file| {
            let text = std::fs::read_to_string(&file).unwrap();
            (file, text)
        })
        .collect()
}

#[test]
fn every_module_says_what_it_is_for() {
    let missing: Vec<String> = crate_sources()
        .into_iter()
        .filter(|(_, text)| !text.trim_start().starts_with("//!"))
        .map(|(file, _)| file.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "modules without a //! doc:\n{}",
        missing.join("\n")
    );
}

/// `thiserror` messages that print their own cause: the format string of an `#[error(..)]`
/// names a field that is the error's source (a field called `source`, or one marked `#[source]`
/// or `#[from]`).
fn causes_printed_twice(file: &str, text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut wrong = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if !line.starts_with("#[error(") || line.starts_with("#[error(transparent") {
            i += 1;
            continue;
        }
        let at = i + 1;
        // The attribute, possibly over several lines.
        let mut format = String::from(line);
        while !format.trim_end().ends_with(")]") && i + 1 < lines.len() {
            i += 1;
            format.push_str(lines[i].trim());
        }
        i += 1;
        // Skip doc comments and other attributes up to the item.
        while i < lines.len() && {
            let l = lines[i].trim();
            l.starts_with("///") || (l.starts_with("#[") && !l.starts_with("#[error("))
        } {
            i += 1;
        }
        let Some(item) = lines.get(i).map(|l| l.trim()) else {
            break;
        };
        // The item's fields: its own line for a tuple variant, up to the closing brace otherwise.
        let mut body = vec![item];
        if item.ends_with('{') {
            i += 1;
            while i < lines.len() && !lines[i].trim().starts_with('}') {
                body.push(lines[i].trim());
                i += 1;
            }
        }
        let mut causes = Vec::new();
        let mut marked = false;
        for l in &body {
            if item.contains('(') && (l.contains("#[from]") || l.contains("#[source]")) {
                causes.push("0".to_string());
            }
            if *l == "#[source]" || *l == "#[from]" {
                marked = true;
                continue;
            }
            if l.starts_with("///") || l.starts_with("#[") {
                continue;
            }
            if let Some((name, _)) = l.trim_start_matches("pub ").split_once(':') {
                let name = name.trim();
                let inline = l.contains("#[source]") || l.contains("#[from]");
                if (name == "source" || marked || inline)
                    && name.chars().all(|c| c.is_alphanumeric() || c == '_')
                {
                    causes.push(name.to_string());
                }
            }
            marked = false;
        }
        for cause in causes {
            if format.contains(&format!("{{{cause}}}")) || format.contains(&format!("{{{cause}:")) {
                wrong.push(format!("{file}:{at}: {format} prints its source `{cause}`"));
            }
        }
    }
    wrong
}

#[test]
fn an_error_names_its_cause_once() {
    let wrong: Vec<String> = crate_sources()
        .iter()
        .flat_map(|(file, text)| causes_printed_twice(&file.display().to_string(), text))
        .collect();
    assert!(
        wrong.is_empty(),
        "error messages that repeat their cause:\n{}",
        wrong.join("\n")
    );
}

/// The longest source file, in lines.
const FILE_LINES: usize = 800;
/// The longest function, in lines from its signature to its closing brace.
const FUNCTION_LINES: usize = 120;

/// A source file's code without its tests, and how many lines that code is: each top-level
/// item marked `#[cfg(test)]` is blanked, from the attribute to the item's end, so the lines
/// keep their numbers and the code after it is still measured. The code is rustfmt-formatted,
/// so an item that starts in the first column ends on the first line there that is `}` or ends
/// with `;` or `{}` (`mod tests { .. }`, `mod tests;`, `fn f() {}`).
fn without_tests(text: &str) -> (Vec<&str>, usize) {
    let mut lines: Vec<&str> = text.lines().collect();
    let mut blanked = 0;
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].starts_with("#[cfg(test)]") {
            i += 1;
            continue;
        }
        while i < lines.len() {
            let item = std::mem::take(&mut lines[i]);
            blanked += 1;
            i += 1;
            let top = !item.starts_with(char::is_whitespace) && !item.starts_with('#');
            if top && (item == "}" || item.ends_with(';') || item.ends_with("{}")) {
                break;
            }
        }
    }
    let kept = lines.len() - blanked;
    (lines, kept)
}

/// Functions longer than `limit` lines, as `file:line: name (N lines)`. The code is
/// rustfmt-formatted, so a body ends at the first line that is its signature's indentation and
/// `}`; a declaration without a body (a signature ending in `;`) and an empty body are skipped.
fn long_functions(file: &str, lines: &[&str], limit: usize) -> Vec<String> {
    let mut found = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let code = line.trim_start();
        let indent = &line[..line.len() - code.len()];
        let mut words = code
            .split_whitespace()
            .skip_while(|w| w.starts_with("pub") || matches!(*w, "const" | "async" | "unsafe"));
        if words.next() != Some("fn") {
            continue;
        }
        let name: String = words
            .next()
            .unwrap_or("")
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let Some(open) = (start..lines.len()).find(|&i| {
            let l = lines[i].trim_end();
            l.ends_with('{') || l.ends_with(';') || l.ends_with('}')
        }) else {
            continue;
        };
        if !lines[open].trim_end().ends_with('{') {
            continue;
        }
        let close = format!("{indent}}}");
        let end = (open + 1..lines.len())
            .find(|&i| lines[i] == close)
            .unwrap_or(lines.len() - 1);
        let length = end - start + 1;
        if length > limit {
            found.push(format!("{file}:{}: {name} ({length} lines)", start + 1));
        }
    }
    found
}

#[test]
fn files_and_functions_stay_small_enough_to_read() {
    let mut wrong = Vec::new();
    for (file, text) in crate_sources() {
        if file.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let name = file.display().to_string();
        let (lines, kept) = without_tests(&text);
        if kept > FILE_LINES {
            wrong.push(format!("{name}: {kept} lines"));
        }
        wrong.extend(long_functions(&name, &lines, FUNCTION_LINES));
    }
    assert!(
        wrong.is_empty(),
        "over {FILE_LINES} lines a file or {FUNCTION_LINES} a function:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_checks_of_the_tidy_test_can_fail() {
    // Each way of marking a cause, printed in the message, is caught; the sound forms are not.
    let twice = r#"
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("embedded: {0}")]
    Gz(#[from] std::io::Error),
    #[error("reading {what}: {inner}")]
    Read {
        what: String,
        #[source]
        inner: std::io::Error,
    },
    #[error("reading {what}")]
    Fine {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {error}")]
    AlsoFine { path: String, error: std::io::Error },
    #[error(transparent)]
    Through(#[from] Other),
"#;
    let found = causes_printed_twice("x.rs", twice);
    assert_eq!(found.len(), 3, "{found:#?}");
    for (n, cause) in [(2, "source"), (8, "0"), (10, "inner")] {
        assert!(
            found.iter().any(|f| f.starts_with(&format!("x.rs:{n}:")) && f.ends_with(&format!("`{cause}`"))),
            "{found:#?}"
        );
    }

    // The helpers find what they look for: a dependency the collector has, and a use of it.
    assert!(dependencies("collector").iter().any(|d| d == "aws-sdk-iam"));
    let collector = sources(&workspace().join("crates/collector/src"));
    assert!(collector.iter().any(|f| !uses(f, "aws_sdk_").is_empty()));
    assert!(dependencies("cli").iter().any(|d| d == "anyhow"));

    // The size check measures a function from its signature to its own closing brace, a nested
    // function separately, and skips declarations; an item marked `#[cfg(test)]` is not counted,
    // the code after it is.
    let code = "\
pub(crate) async fn outer(
    x: u32,
) -> u32 {
    fn inner() {
        let _ = 1;
    }
    x
}
trait T {
    fn declared(&self);
    fn empty(&self) {}
}
#[cfg(test)]
fn ignored() {
}
#[cfg(test)]
#[path = \"t.rs\"]
mod out_of_line;
fn after() {
    let _ = 2;
}";
    let (lines, kept) = without_tests(code);
    assert_eq!(kept, 15);
    assert_eq!(lines[18], "fn after() {");
    assert!(lines[12..18].iter().all(|l| l.is_empty()), "{lines:#?}");
    assert_eq!(
        long_functions("y.rs", &lines, 3),
        ["y.rs:1: outer (8 lines)"]
    );
    assert_eq!(
        long_functions("y.rs", &lines, 2),
        [
            "y.rs:1: outer (8 lines)",
            "y.rs:4: inner (3 lines)",
            "y.rs:19: after (3 lines)"
        ]
    );
    assert!(long_functions("y.rs", &lines, 8).is_empty());
}

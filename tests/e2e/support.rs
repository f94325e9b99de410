//! Shared helpers: locating the installed peers, a deterministic random generator.

use std::path::PathBuf;

/// The folder `cargo xtask tools` installs peers into.
pub fn tools_dir() -> PathBuf {
    match std::env::var_os("ROLESCOPE_TOOLS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools"),
    }
}

/// A peer's path, or a panic that says how to install it.
pub fn require_tool(relative: &str) -> PathBuf {
    let path = tools_dir().join(relative);
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask tools` (or `cargo xtask ci`) to install the test peers",
        path.display()
    );
    path
}

/// Test-case variation on the simulator's SplitMix64 generator (one implementation in the repo).
#[derive(Debug, Clone)]
pub struct Rng(rolescope_simulator::world::Rng);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(rolescope_simulator::world::Rng::new(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Run a Python script of `tests/` with the pinned venv, require success, and parse its stdout
/// as JSON (the scripts print one JSON document).
pub fn python_json(script: &str, args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let out = std::process::Command::new(require_tool("venv/bin/python"))
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {script}: {e}"));
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{script} printed no JSON: {e}"))
}

/// The rows of one result of `duckdb/sql.py` as text (a value that is no string is empty).
pub fn text_rows(result: &serde_json::Value) -> Vec<Vec<String>> {
    result
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap_or("").to_string())
                .collect()
        })
        .collect()
}

/// Require cfn-lint (PyPI) to pass these templates.
pub fn cfn_lint(templates: &[&std::path::Path]) {
    let out = std::process::Command::new(require_tool("venv/bin/cfn-lint"))
        .args(templates)
        .output()
        .expect("running cfn-lint");
    assert!(
        out.status.success(),
        "cfn-lint: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

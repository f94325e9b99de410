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

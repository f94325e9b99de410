//! One integration-test binary for tests that run against real peers.
//!
//! Peers are installed by `cargo xtask tools` (and `cargo xtask ci`) into `.tools/`; the tests
//! find them through `ROLESCOPE_TOOLS` (defaulting to `<workspace>/.tools`) and fail with a hint
//! when they are missing rather than silently passing.

mod athena;
mod casegen;
mod cloudsplaining;
mod deploy;
mod fidelity;
mod golden;
mod iam_oracle;
mod interrupted;
mod least;
mod moto;
mod partitions;
mod permissions;
mod report;
mod secrets;
mod shards;
mod simulator;
mod standalone;
mod support;
mod tidy;
mod usage;

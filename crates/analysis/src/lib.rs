//! Analysis of collected snapshots: checks, privilege escalation, scores, suggestions.
//!
//! Invariant: pure, synchronous and deterministic (no tokio, no I/O); parallelism with rayon only.
//!
//! Status: only [`privesc`] exists so far; the checks, scores and suggestions of issue 4 follow.

pub mod privesc;

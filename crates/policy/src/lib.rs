//! The IAM policy language for rolescope.
//!
//! * [`document`]: the policy model and a parser whose errors name JSON paths.
//! * [`decode`]: URL-decoding of documents returned by the IAM API.
//! * [`catalog`]: the embedded action catalog (services, actions, access levels, resource types).
//! * [`managed`]: the embedded AWS managed policies.
//! * [`wildcard`], [`context`], [`condition`]: matching, policy variables, condition operators.
//! * [`eval`]: request evaluation with AWS's logic (deny wins, boundaries, SCP chains,
//!   resource policies same- and cross-account).
//! * [`summary`]: the static mode: effective permissions of a principal over the whole catalog.
//!
//! Invariant: pure and synchronous; no I/O beyond reading the embedded data.

pub mod catalog;
pub mod condition;
pub mod context;
pub mod decode;
pub mod document;
pub mod eval;
pub mod managed;
pub mod simulate;
pub mod summary;
pub mod wildcard;

pub use catalog::{AccessLevel, ActionId, Catalog, catalog};
pub use context::Context;
pub use document::{Effect, ParseError, Policy, Statement};
pub use eval::{Decision, Evaluation, PolicySet, Request};

//! Progress events sent on a channel while a scan runs; the binary renders them.

use rolescope_model::{AccountId, CollectionError};

/// One thing that happened during a scan.
#[derive(Debug, Clone)]
pub enum Progress {
    /// This many accounts are planned so far (it grows while the organization walk lists them).
    AccountsPlanned(usize),
    /// An account's collection started.
    AccountStarted(AccountId),
    /// An account's collection finished (successfully or with errors).
    AccountFinished(AccountId),
    /// One API call was sent.
    ApiCall {
        /// Operation name, e.g. `ListFunctions`.
        operation: &'static str,
    },
    /// A collection error was recorded.
    Error(CollectionError),
}

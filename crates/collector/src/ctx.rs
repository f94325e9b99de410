//! Shared scan state: the in-flight cap, token buckets, progress, call counters, and the one place
//! where SDK errors become [`CollectionError`] rows.

use crate::limiter::{Limiters, RateClass};
use crate::progress::Progress;
use crate::slots::{OwnedSlotPermit, Slots};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use rolescope_model::{AccountId, CollectionError};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// The backlog of a lane whose work is not known yet: the highest priority.
pub(crate) const DISCOVERY: u64 = u64::MAX;

/// Where a call goes: the account and region whose quota it spends.
#[derive(Debug)]
pub(crate) struct Lane {
    pub account: AccountId,
    /// `None` for global services.
    pub region: Option<String>,
    /// Calls the lane still has to make, as far as it knows: its calls' priority for in-flight
    /// slots (see [`crate::slots`]).
    backlog: AtomicU64,
}

impl Lane {
    pub(crate) fn global(account: &AccountId) -> Self {
        Self {
            account: account.clone(),
            region: None,
            backlog: AtomicU64::new(0),
        }
    }

    pub(crate) fn regional(account: &AccountId, region: &str) -> Self {
        Self {
            account: account.clone(),
            region: Some(region.to_string()),
            backlog: AtomicU64::new(0),
        }
    }

    /// A global lane whose calls find work (the organization walk, AssumeRole, the enabled
    /// regions): served before every lane whose work is known, since the largest lane may be
    /// behind any of them.
    pub(crate) fn discovery(account: &AccountId) -> Self {
        let lane = Self::global(account);
        lane.set_backlog(DISCOVERY);
        lane
    }

    /// How many calls the lane still has to make, as far as it knows.
    pub(crate) fn backlog(&self) -> u64 {
        self.backlog.load(Ordering::Relaxed)
    }

    /// Record how many calls the lane still has to make ([`DISCOVERY`] while unknown).
    pub(crate) fn set_backlog(&self, calls: u64) {
        self.backlog.store(calls, Ordering::Relaxed);
    }
}

#[derive(Debug)]
pub(crate) struct Ctx {
    limiters: Limiters,
    in_flight: Slots,
    /// Permits a per-function call needs before it may take an in-flight slot: three quarters
    /// of them, so a quarter always stays free for the calls that chain (pagination, AssumeRole,
    /// IAM, the organization walk). Without it a 10,000-function lane's ListFunctions pages
    /// each waited behind thousands of other lanes' GetPolicy calls in the one FIFO queue.
    fan_out: Slots,
    /// Functions whose per-function calls may be under way at once, over all lanes: twice the
    /// in-flight cap. A function's task is spawned only with one in hand (largest backlog
    /// first), so the calls waiting for a slot stay a few hundred, not 8 for every lane listed
    /// so far (at 2,000 accounts × 17 regions every lane is listed within seconds).
    functions: Arc<Slots>,
    progress: Option<mpsc::UnboundedSender<Progress>>,
    calls: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

impl Ctx {
    pub(crate) fn new(
        config: &crate::CollectorConfig,
        progress: Option<mpsc::UnboundedSender<Progress>>,
    ) -> Self {
        Self {
            limiters: Limiters::new(config.rates),
            in_flight: Slots::new(config.concurrency.max(1)),
            fan_out: Slots::new((config.concurrency - config.concurrency / 4).max(1)),
            functions: Arc::new(Slots::new(2 * config.concurrency.max(8))),
            progress,
            calls: Mutex::new(BTreeMap::new()),
        }
    }

    pub(crate) fn emit(&self, event: Progress) {
        if let Some(tx) = &self.progress {
            // The receiver going away (the binary stopped rendering) must not stop the scan.
            let _ = tx.send(event);
        }
    }

    /// Wait for the right to start one function's calls, ranked `rank` (a lane's backlog; see
    /// the `functions` field). The future owns what it needs, so a lane can go on taking its
    /// listing pages while it waits, and ask again when its backlog has grown.
    pub(crate) fn function_ticket(
        &self,
        rank: u64,
    ) -> impl Future<Output = OwnedSlotPermit> + Send + 'static {
        self.functions.clone().acquire_owned(rank)
    }

    /// API calls made so far, keyed `service:Operation` (e.g. `lambda:GetPolicy`).
    pub(crate) fn calls(&self) -> BTreeMap<String, u64> {
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|((service, op), n)| (format!("{service}:{op}"), *n))
            .collect()
    }

    /// Run one SDK call: wait for a token of the lane's bucket, then for an in-flight slot (lanes
    /// with the largest backlog first), then build the request with `request` and send it.
    /// Failures come back as a ready-made [`CollectionError`]; the caller decides whether it is
    /// one (GetPolicy's ResourceNotFound is not).
    pub(crate) fn call<T, E, F>(
        &self,
        lane: &Lane,
        class: RateClass,
        service: &'static str,
        operation: &'static str,
        request: impl FnOnce() -> F,
    ) -> impl Future<Output = Result<T, CollectionError>>
    where
        F: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        self.call_with(lane, class, service, operation, Slot::Chain, request)
    }

    /// Like [`Ctx::call`], for the many independent calls of a fan-out (one per function): they
    /// never take the in-flight slots kept for chained calls.
    pub(crate) fn call_fan_out<T, E, F>(
        &self,
        lane: &Lane,
        class: RateClass,
        service: &'static str,
        operation: &'static str,
        request: impl FnOnce() -> F,
    ) -> impl Future<Output = Result<T, CollectionError>>
    where
        F: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        self.call_with(lane, class, service, operation, Slot::FanOut, request)
    }

    /// Like [`Ctx::call`], without taking an in-flight slot: for credential refreshes, which run
    /// inside another call that already holds one (taking a second would deadlock once every slot
    /// is held by a call waiting for its credentials).
    pub(crate) fn call_for_credentials<T, E, F>(
        &self,
        lane: &Lane,
        class: RateClass,
        service: &'static str,
        operation: &'static str,
        request: impl FnOnce() -> F,
    ) -> impl Future<Output = Result<T, CollectionError>>
    where
        F: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        self.call_with(lane, class, service, operation, Slot::None, request)
    }

    async fn call_with<T, E, F>(
        &self,
        lane: &Lane,
        class: RateClass,
        service: &'static str,
        operation: &'static str,
        slot: Slot,
        request: impl FnOnce() -> F,
    ) -> Result<T, CollectionError>
    where
        F: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let region = lane.region.as_deref().unwrap_or("global");
        self.limiters
            .bucket(lane.account.as_str(), region, class)
            .acquire()
            .await;
        let priority = lane.backlog.load(Ordering::Relaxed);
        let _fan_out = match slot {
            Slot::FanOut => Some(self.fan_out.acquire(priority).await),
            Slot::Chain | Slot::None => None,
        };
        let _permit = match slot {
            Slot::FanOut | Slot::Chain => Some(self.in_flight.acquire(priority).await),
            Slot::None => None,
        };
        *self
            .calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((service, operation))
            .or_default() += 1;
        self.emit(Progress::ApiCall { operation });
        // The SDK request (~5 KB of future, plus its input) is built only now, with a token and a
        // slot in hand, and boxed: a call that waits holds its small closure, not the request.
        Box::pin(request()).await.map_err(|err| {
            let (error_code, message) = classify(&err);
            tracing::debug!(account = %lane.account, region, service, operation, error_code, "call failed");
            CollectionError { resource_arn: None,
                account_id: Some(lane.account.clone()),
                region: lane.region.clone(),
                service: service.to_string(),
                operation: operation.to_string(),
                error_code,
                message,
            }
        })
    }
}

/// Which in-flight slots a call takes.
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// None (credential refreshes, which run inside a call holding one).
    None,
    /// Any slot.
    Chain,
    /// A slot, within the fan-out share.
    FanOut,
}

/// The error code recorded for an API the endpoint does not implement (emulators, partitions
/// where a service is missing).
pub const UNSUPPORTED: &str = "Unsupported";

/// The credentials failure at the bottom of an error, if that is what it is.
fn credentials_error<'e>(
    err: &'e (dyn std::error::Error + 'static),
) -> Option<&'e aws_credential_types::provider::error::CredentialsError> {
    let mut at: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = at {
        if let Some(c) = e.downcast_ref() {
            return Some(c);
        }
        at = e.source();
    }
    None
}

/// One line a person can act on for a credentials failure: no SDK internals.
pub(crate) fn credentials_message(
    e: &aws_credential_types::provider::error::CredentialsError,
) -> String {
    use aws_credential_types::provider::error::CredentialsError as C;
    match e {
        C::CredentialsNotLoaded(_) => "no AWS credentials were found (environment, shared config and credentials files, SSO, web identity, container, instance metadata): pass --profile or set AWS_PROFILE, run `aws sso login` for an SSO profile, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into(),
        C::ProviderTimedOut(_) => "the AWS credentials provider timed out (instance metadata or a credential process): check the network, or pass --profile".into(),
        C::InvalidConfiguration(_) => format!("the AWS credentials configuration is invalid: {}", cause(e)),
        C::ProviderError(_) => format!("the AWS credentials provider failed: {} (an expired SSO session needs `aws sso login`)", cause(e)),
        _ => format!("the AWS credentials could not be loaded: {}", first_line(&e.to_string())),
    }
}

/// The first line of what caused a credentials error, without the SDK's debug dump.
fn cause(e: &aws_credential_types::provider::error::CredentialsError) -> String {
    std::error::Error::source(e)
        .map(|s| first_line(&s.to_string()).to_string())
        .unwrap_or_else(|| "no detail".into())
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

/// Turn an SDK error into (error code, message). AWS error codes are kept as AWS sends them;
/// transport failures get a rolescope classification.
pub(crate) fn classify<E>(err: &SdkError<E, HttpResponse>) -> (String, String)
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status_class = |status: u16, body: &[u8]| -> Option<(String, String)> {
        // An endpoint that does not know the operation answers 404/405/501 (or, like moto, a
        // 500 HTML page) without an AWS error code.
        let aws_shaped =
            body.starts_with(b"{") || body.starts_with(b"<?xml") || body.starts_with(b"<Error");
        matches!(status, 404 | 405 | 500 | 501).then(|| {
            (
                UNSUPPORTED.to_string(),
                format!(
                    "HTTP {status} without an AWS error code{}: the endpoint does not implement this operation",
                    if aws_shaped { "" } else { " (non-AWS body)" }
                ),
            )
        })
    };
    match err {
        SdkError::TimeoutError(_) => ("Timeout".into(), "the operation timed out".into()),
        SdkError::DispatchFailure(_)
            if credentials_error(err as &(dyn std::error::Error + 'static)).is_some() =>
        {
            (
                "NoCredentials".into(),
                credentials_message(
                    credentials_error(err as &(dyn std::error::Error + 'static)).expect("checked"),
                ),
            )
        }
        SdkError::DispatchFailure(failure) => {
            let code = if failure.is_timeout() {
                "Timeout"
            } else if failure.is_io() {
                "ConnectionError"
            } else {
                "DispatchFailure"
            };
            (code.into(), format!("{}", DisplayErrorContext(err)))
        }
        SdkError::ResponseError(response) => {
            let raw = response.raw();
            let body = raw.body().bytes().unwrap_or_default();
            status_class(raw.status().as_u16(), body).unwrap_or_else(|| {
                (
                    format!("HTTP{}", raw.status().as_u16()),
                    format!("unreadable response: {}", DisplayErrorContext(err)),
                )
            })
        }
        SdkError::ServiceError(service) => {
            let inner = service.err();
            match inner.code() {
                Some(code) => (
                    code.to_string(),
                    inner.message().unwrap_or("no message").to_string(),
                ),
                None => {
                    let raw = service.raw();
                    let body = raw.body().bytes().unwrap_or_default();
                    status_class(raw.status().as_u16(), body).unwrap_or_else(|| {
                        (
                            format!("HTTP{}", raw.status().as_u16()),
                            format!("{}", DisplayErrorContext(err)),
                        )
                    })
                }
            }
        }
        _ => (
            "ClientError".into(),
            format!("{}", DisplayErrorContext(err)),
        ),
    }
}

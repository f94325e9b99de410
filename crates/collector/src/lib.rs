//! The rolescope collector: walks an AWS Organization through the AWS SDK and returns a
//! [`Snapshot`] of plain model types.
//!
//! Invariants:
//! * This is the only crate that knows aws-sdk types; everything leaves it as `rolescope_model`.
//! * One failing account, region or call never aborts a scan: it becomes a [`CollectionError`].
//! * Lambda environment-variable values never leave the SDK response they arrived in.
//! * Member accounts are only read: no operation that writes is ever called (IAM last-accessed
//!   jobs are read-side reports).

mod analyzer;
pub mod cloudtrail;
mod config;
mod credentials;
mod ctx;
mod iam;
pub mod import;
mod lambda;
mod limiter;
mod org;
pub mod permissions;
mod progress;
mod regions;
pub mod secrets;
mod slots;
#[cfg(test)]
mod tests;

pub use config::{CollectorConfig, Rates, StaticCredentials};
pub use ctx::UNSUPPORTED;
pub use progress::Progress;
pub use regions::DEFAULT_ENABLED_REGIONS;

use aws_config::{BehaviorVersion, Region, SdkConfig, retry::RetryConfig, timeout::TimeoutConfig};
use aws_smithy_runtime::client::retries::RetryPartition;
use ctx::Ctx;
use rolescope_model::snapshot::Snapshot;
use rolescope_model::{Account, AccountId, AccountStatus, CollectionError, ScanInfo, Timestamp};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

#[cfg(test)]
#[test]
fn the_global_region_follows_the_callers_partition() {
    for (partition, region) in [
        ("aws", "us-east-1"),
        ("aws-cn", "cn-north-1"),
        ("aws-us-gov", "us-gov-west-1"),
        ("aws-eusc", "eusc-de-east-1"),
        ("aws-iso", "home-1"),
    ] {
        assert_eq!(global_region(partition, "home-1"), region, "{partition}");
    }
}

/// What Organizations answers an account that belongs to no organization.
const ORG_NOT_IN_USE: &str = "AWSOrganizationsNotInUseException";

/// Failures that stop a scan before it starts. Everything later is a [`CollectionError`].
#[derive(Debug, thiserror::Error)]
pub enum CollectorError {
    /// No usable credentials, or GetCallerIdentity failed.
    #[error(
        "cannot establish the caller identity (operation sts:GetCallerIdentity): {code}: {message}"
    )]
    CallerIdentity {
        /// AWS error code or classification.
        code: String,
        /// Message.
        message: String,
    },
    /// An account id given in the configuration is not 12 digits.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// `--ou` or `--accounts` names what the organization does not have: the scan would
    /// silently cover less than asked.
    #[error("{0}")]
    UnknownSelection(String),
}

/// What a scan returns: the snapshot and call statistics.
#[derive(Debug)]
pub struct Collected {
    /// Everything collected, deterministic in order.
    pub snapshot: Snapshot,
    /// API calls sent, keyed `service:Operation` (e.g. `lambda:GetPolicy`).
    pub calls: BTreeMap<String, u64>,
}

/// One shared HTTP client (rustls with ring) for every SDK client of the scan.
fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls;
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// Transport overrides for tests: a fake HTTP peer and static credentials.
#[derive(Debug, Default)]
pub(crate) struct Overrides {
    pub http: Option<aws_smithy_runtime_api::client::http::SharedHttpClient>,
    pub credentials: Option<aws_credential_types::Credentials>,
}

async fn base_config(config: &CollectorConfig, overrides: Overrides) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(overrides.http.unwrap_or_else(http_client))
        .retry_config(RetryConfig::standard().with_max_attempts(config.max_attempts.max(1)))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_secs(5))
                .operation_attempt_timeout(config.attempt_timeout)
                .operation_timeout(config.operation_timeout)
                .build(),
        );
    if let Some(profile) = &config.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &config.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(region) = &config.home_region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(credentials) = overrides.credentials.or_else(|| {
        config.static_credentials.as_ref().map(|c| {
            aws_credential_types::Credentials::new(
                &c.access_key_id,
                &c.secret_access_key,
                None,
                None,
                "rolescope-static",
            )
        })
    }) {
        loader = loader.credentials_provider(credentials);
    }
    let loaded = loader.load().await;
    if loaded.region().is_none() {
        loaded.to_builder().region(Region::new("us-east-1")).build()
    } else {
        loaded
    }
}

/// Whether a named profile is in the shared config or credentials file (`AWS_CONFIG_FILE`,
/// `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/config` and `~/.aws/credentials`). The SDK would
/// otherwise fall through its whole chain and report every provider it tried.
fn profile_known(name: &str) -> (bool, Vec<String>) {
    let home = std::env::var("HOME").unwrap_or_default();
    let file = |var: &str, default: &str| {
        std::env::var(var).unwrap_or_else(|_| format!("{home}/.aws/{default}"))
    };
    let (config, credentials) = (
        file("AWS_CONFIG_FILE", "config"),
        file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
    );
    let headers = |path: &str| -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                l.trim()
                    .strip_prefix('[')?
                    .strip_suffix(']')
                    .map(|h| h.trim().to_string())
            })
            .collect()
    };
    let in_config = headers(&config).iter().any(|h| {
        h.strip_prefix("profile")
            .map(str::trim)
            .is_some_and(|p| p == name)
            || (h == "default" && name == "default")
    });
    let in_credentials = headers(&credentials).iter().any(|h| h == name);
    (in_config || in_credentials, vec![config, credentials])
}

/// Region of the global services' endpoints (IAM, Organizations, STS) in a partition, as
/// `aws` has us-east-1 (AWS General Reference, "Service endpoints"; the partition comes from
/// the caller's identity). A partition this table does not know keeps the home region.
fn global_region<'a>(partition: &str, home: &'a str) -> &'a str {
    match partition {
        "aws" => "us-east-1",
        "aws-cn" => "cn-north-1",
        "aws-us-gov" => "us-gov-west-1",
        "aws-eusc" => "eusc-de-east-1",
        _ => home,
    }
}

/// Client configuration for one service in one lane: its own retry partition, so a throttled
/// account does not slow down every other account's retries.
macro_rules! client {
    ($sdk:ident, $config:expr, $service:literal, $account:expr, $region:expr) => {{
        let conf = $sdk::config::Builder::from($config)
            .region(Region::new($region.to_string()))
            .retry_partition(RetryPartition::new(format!(
                "{}-{}-{}",
                $service, $account, $region
            )))
            .build();
        $sdk::Client::from_conf(conf)
    }};
}

/// Per-call configuration for one lane of a client shared by an account's regions: the region
/// and the lane's own retry partition. One SDK client costs ~16 KiB; one per service, account and
/// region was 1 GiB at 2,000 accounts × 17 regions, so regional services get one client per
/// account and each call names its lane.
macro_rules! lane_override {
    ($sdk:ident, $service:literal, $account:expr, $region:expr) => {{
        $sdk::config::Builder::default()
            .region(aws_config::Region::new($region.to_string()))
            .retry_partition(aws_smithy_runtime::client::retries::RetryPartition::new(
                format!("{}-{}-{}", $service, $account, $region),
            ))
    }};
}
pub(crate) use lane_override;

/// Run a scan. Progress events go to `progress` when given.
pub async fn collect(
    config: CollectorConfig,
    progress: Option<mpsc::UnboundedSender<Progress>>,
) -> Result<Collected, CollectorError> {
    collect_with(config, progress, Overrides::default()).await
}

pub(crate) async fn collect_with(
    config: CollectorConfig,
    progress: Option<mpsc::UnboundedSender<Progress>>,
    overrides: Overrides,
) -> Result<Collected, CollectorError> {
    let started_at = Timestamp::now();
    let scan_id = config
        .scan_id
        .clone()
        .unwrap_or_else(|| rolescope_model::valid::new_scan_id(started_at));
    if let Some(profile) = config.profile.as_deref()
        && overrides.credentials.is_none()
    {
        let (known, files) = profile_known(profile);
        if !known {
            return Err(CollectorError::Config(format!(
                "--profile {profile}: no such profile in {} or {}",
                files[0], files[1]
            )));
        }
    }
    let ctx = Arc::new(Ctx::new(&config, progress));
    let base = base_config(&config, overrides).await;
    let home = base
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".into());
    let (caller, partition) = caller_identity(&base, &home).await?;
    let global = global_region(&partition, &home);

    let mut errors = Vec::new();
    let orgs = client!(
        aws_sdk_organizations,
        &base,
        "organizations",
        caller,
        global
    );
    let shared = Arc::new(Shared {
        config,
        sts: aws_sdk_sts::Client::new(&base),
        base,
        caller: caller.clone(),
        partition,
        global: global.to_string(),
    });
    // Accounts are scanned as the walk lists them; the walk goes on meanwhile.
    let (found_tx, found_rx) = mpsc::unbounded_channel();
    let (walked, mut plan) = tokio::join!(
        org::walk(&ctx, &orgs, &caller, &mut errors, found_tx),
        plan(&ctx, &shared, found_rx),
    );
    let view = match walked {
        Ok(view) => view,
        Err(e) => {
            // Not an organization's management or delegated-admin account: scan the caller's own.
            // An account in no organization at all is a fact, not a failure: nothing about it
            // is unread, so it is no collection error (the history would otherwise hold the whole
            // account unread on every scan and never resolve a finding).
            if e.error_code == ORG_NOT_IN_USE {
                tracing::info!("the caller's account is in no organization; scanning it alone");
            } else {
                tracing::warn!(code = %e.error_code, "organization not readable; scanning the caller's account only");
                errors.push(e);
            }
            let own = Account {
                account_id: caller.clone(),
                name: caller.to_string(),
                status: AccountStatus::Active,
                parent_id: String::new(),
                ou_path: String::new(),
                scanned: false,
            };
            plan.offer(&ctx, &shared, &own);
            org::OrgView {
                accounts: vec![own],
                ..org::OrgView::default()
            }
        }
    };
    if let Some(missing) = unknown_selection(&shared.config, &view, errors.is_empty()) {
        plan.tasks.abort_all();
        return Err(CollectorError::UnknownSelection(missing));
    }
    for e in &errors {
        ctx.emit(Progress::Error(e.clone()));
    }
    errors.append(&mut plan.errors);
    let mut accounts = view.accounts;
    let (mut snapshot, regions_seen) = join_accounts(plan.tasks, &mut accounts, &mut errors).await;

    snapshot.accounts = accounts;
    snapshot.org_units = view.units;
    snapshot.control_policies = view.policies;
    snapshot.collection_errors = errors;
    // Deterministic order, whatever the task scheduling was.
    snapshot.canonical_order();
    snapshot.scan = Some(ScanInfo {
        scan_id,
        started_at,
        finished_at: Timestamp::now(),
        org_id: view.org_id,
        regions: regions_seen.into_iter().collect(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    });
    Ok(Collected {
        snapshot,
        calls: ctx.calls(),
    })
}

/// The calling account and its partition (GetCallerIdentity, outside `Ctx::call`: it is not an
/// inventory call, and without it nothing can start).
async fn caller_identity(
    base: &SdkConfig,
    home: &str,
) -> Result<(AccountId, String), CollectorError> {
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(base)
            .region(Region::new(home.to_string()))
            .build(),
    );
    let identity = sts.get_caller_identity().send().await.map_err(|e| {
        let (code, message) = ctx::classify(&e);
        CollectorError::CallerIdentity { code, message }
    })?;
    let caller = AccountId::new(identity.account().unwrap_or_default()).map_err(|e| {
        CollectorError::CallerIdentity {
            code: "InvalidAccountId".into(),
            message: e.to_string(),
        }
    })?;
    let partition = identity
        .arn()
        .and_then(|arn| arn.split(':').nth(1))
        .unwrap_or("aws")
        .to_string();
    Ok((caller, partition))
}

/// What `--ou` and `--accounts` name that the organization walk did not find, as one message;
/// `None` when everything was found, or when the walk had errors (then absence is not known).
fn unknown_selection(
    config: &CollectorConfig,
    view: &org::OrgView,
    walked_whole: bool,
) -> Option<String> {
    if !walked_whole {
        return None;
    }
    let mut missing = Vec::new();
    for ou in config.ous.iter().flatten() {
        if !view.units.iter().any(|u| &u.id == ou) {
            missing.push(format!(
                "--ou {ou}: the organization has no such OU or root"
            ));
        }
    }
    for a in config.accounts.iter().flatten() {
        if !view.accounts.iter().any(|x| &x.account_id == a) {
            missing.push(format!(
                "--accounts {a}: the organization has no such account"
            ));
        }
    }
    (!missing.is_empty()).then(|| missing.join("; "))
}

/// Wait for every account's scan, marking the accounts whose audit role was assumed: their
/// records in one snapshot, and the regions seen.
async fn join_accounts(
    mut tasks: JoinSet<(AccountId, AccountResult)>,
    accounts: &mut [Account],
    errors: &mut Vec<CollectionError>,
) -> (Snapshot, BTreeSet<String>) {
    let mut snapshot = Snapshot::default();
    let mut regions_seen = BTreeSet::new();
    let index: std::collections::HashMap<AccountId, usize> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| (a.account_id.clone(), i))
        .collect();
    while let Some(joined) = tasks.join_next().await {
        let Ok((account_id, result)) = joined else {
            errors.push(CollectionError {
                resource_arn: None,
                account_id: None,
                region: None,
                service: "rolescope".into(),
                operation: "ScanAccount".into(),
                error_code: "InternalError".into(),
                message: "an account task panicked".into(),
            });
            continue;
        };
        if result.assumed
            && let Some(i) = index.get(&account_id)
        {
            accounts[*i].scanned = true;
        }
        regions_seen.extend(result.regions);
        snapshot.roles.extend(result.roles);
        snapshot.managed_policies.extend(result.managed);
        snapshot.functions.extend(result.functions);
        snapshot.last_accessed.extend(result.last_accessed);
        snapshot.access_findings.extend(result.findings);
        errors.extend(result.errors);
    }

    (snapshot, regions_seen)
}

/// The accounts to scan, chosen as the organization walk finds them: the OU filter (recursive),
/// the account filter and the exclusions. Each chosen account's scan starts at once.
struct Plan {
    /// Units under a selected OU (the selected ones included); units arrive parents first.
    in_scope: BTreeSet<String>,
    planned: usize,
    tasks: JoinSet<(AccountId, AccountResult)>,
    errors: Vec<CollectionError>,
}

impl Plan {
    fn unit(&mut self, config: &CollectorConfig, unit: &rolescope_model::OrgUnit) {
        let selected = config
            .ous
            .as_ref()
            .is_some_and(|ous| ous.contains(&unit.id));
        let under_selected = unit
            .parent_id
            .as_ref()
            .is_some_and(|parent| self.in_scope.contains(parent));
        if selected || under_selected {
            self.in_scope.insert(unit.id.clone());
        }
    }

    fn selects(&self, config: &CollectorConfig, account: &Account) -> bool {
        (config.ous.is_none() || self.in_scope.contains(&account.parent_id))
            && config
                .accounts
                .as_ref()
                .is_none_or(|list| list.contains(&account.account_id))
            && !config.exclude_accounts.contains(&account.account_id)
            && config
                .shard
                .as_ref()
                .is_none_or(|s| s.owns(account.account_id.as_str()))
    }

    /// Start scanning `account` if the configuration selects it and it is active.
    fn offer(&mut self, ctx: &Arc<Ctx>, shared: &Arc<Shared>, account: &Account) {
        if !self.selects(&shared.config, account) {
            return;
        }
        if account.status != AccountStatus::Active {
            let e = CollectionError {
                resource_arn: None,
                account_id: Some(account.account_id.clone()),
                region: None,
                service: "organizations".into(),
                operation: "ScanAccount".into(),
                error_code: "AccountSuspended".into(),
                message: format!("account status {:?}: skipped", account.status),
            };
            ctx.emit(Progress::Error(e.clone()));
            self.errors.push(e);
            return;
        }
        self.planned += 1;
        ctx.emit(Progress::AccountsPlanned(self.planned));
        let ctx = ctx.clone();
        let shared = shared.clone();
        let account = account.account_id.clone();
        self.tasks.spawn(async move {
            ctx.emit(Progress::AccountStarted(account.clone()));
            let result = scan_account(&ctx, &shared, &account).await;
            ctx.emit(Progress::AccountFinished(account.clone()));
            (account, result)
        });
    }
}

/// Plan the scan from what the organization walk sends, until it has sent everything.
async fn plan(
    ctx: &Arc<Ctx>,
    shared: &Arc<Shared>,
    mut found: mpsc::UnboundedReceiver<org::Found>,
) -> Plan {
    let mut plan = Plan {
        in_scope: BTreeSet::new(),
        planned: 0,
        tasks: JoinSet::new(),
        errors: Vec::new(),
    };
    while let Some(item) = found.recv().await {
        match item {
            org::Found::Unit(unit) => plan.unit(&shared.config, &unit),
            org::Found::Account(account) => plan.offer(ctx, shared, &account),
        }
    }
    plan
}

#[derive(Debug)]
struct Shared {
    config: CollectorConfig,
    base: SdkConfig,
    /// The STS client every account's AssumeRole (and refresh) goes through: the calls are the
    /// caller's own, so one client serves all accounts (one each was ~14 KiB per account, held
    /// for the whole scan by the account's credential provider).
    sts: aws_sdk_sts::Client,
    caller: AccountId,
    partition: String,
    global: String,
}

#[derive(Debug, Default)]
struct AccountResult {
    assumed: bool,
    regions: Vec<String>,
    roles: Vec<rolescope_model::Role>,
    managed: Vec<rolescope_model::ManagedPolicy>,
    functions: Vec<rolescope_model::Function>,
    last_accessed: Vec<rolescope_model::LastAccessed>,
    findings: Vec<rolescope_model::AccessFinding>,
    errors: Vec<CollectionError>,
}

#[tracing::instrument(skip_all, fields(account_id = %account))]
async fn scan_account(ctx: &Arc<Ctx>, shared: &Shared, account: &AccountId) -> AccountResult {
    let mut out = AccountResult::default();
    let config = &shared.config;
    let sdk = if *account == shared.caller {
        shared.base.clone()
    } else {
        let role_arn = format!(
            "arn:{}:iam::{}:role/{}",
            shared.partition, account, config.role_name
        );
        match credentials::assume(ctx, shared, account, &role_arn).await {
            Ok(sdk) => sdk,
            Err(e) => {
                ctx.emit(Progress::Error(e.clone()));
                out.errors.push(e);
                return out;
            }
        }
    };
    out.assumed = true;

    let regions = match &config.regions {
        Some(list) => list.clone(),
        None => {
            let client = client!(aws_sdk_account, &sdk, "account", account, shared.global);
            regions::discover(ctx, &client, account, &mut out.errors).await
        }
    };

    // IAM is global: once per account. Lambda and Access Analyzer run per region, concurrently.
    let iam_client = client!(aws_sdk_iam, &sdk, "iam", account, shared.global);
    let mut region_tasks = JoinSet::new();
    // One client per regional service for the account; each call names its region.
    let lambda_client = client!(aws_sdk_lambda, &sdk, "lambda", account, shared.global);
    let wants_findings = config.access_analyzer
        && config
            .analyzer_account
            .as_ref()
            .is_none_or(|delegated| delegated == account);
    let aa_client = wants_findings.then(|| {
        client!(
            aws_sdk_accessanalyzer,
            &sdk,
            "access-analyzer",
            account,
            shared.global
        )
    });
    for region in &regions {
        let ctx = ctx.clone();
        let lambda_client = lambda_client.clone();
        let aa_client = aa_client.clone();
        let account = account.clone();
        let region = region.clone();
        region_tasks.spawn(async move {
            let mut errors = Vec::new();
            let functions = lambda::collect(
                ctx.clone(),
                lambda_client,
                account.clone(),
                region.clone(),
                &mut errors,
            )
            .await;
            let findings = match aa_client {
                Some(client) => {
                    analyzer::collect(&ctx, &client, &account, &region, &mut errors).await
                }
                None => Vec::new(),
            };
            (functions, findings, errors)
        });
    }
    let iam_view = iam::collect(ctx, &iam_client, account, &mut out.errors).await;
    while let Some(joined) = region_tasks.join_next().await {
        match joined {
            Ok((functions, findings, errors)) => {
                out.functions.extend(functions);
                out.findings.extend(findings);
                out.errors.extend(errors);
            }
            Err(e) => out.errors.push(CollectionError {
                resource_arn: None,
                account_id: Some(account.clone()),
                region: None,
                service: "lambda".into(),
                operation: "ScanRegion".into(),
                error_code: "InternalError".into(),
                message: format!("region task failed: {e}"),
            }),
        }
    }

    if config.last_accessed {
        let lambda_roles = lambda_role_arns(&iam_view.roles, &out.functions);
        out.last_accessed = iam::last_accessed(
            ctx,
            &iam_client,
            account,
            &lambda_roles,
            config.last_accessed_timeout,
            &mut out.errors,
        )
        .await;
    }
    for e in &out.errors {
        ctx.emit(Progress::Error(e.clone()));
    }
    out.roles = iam_view.roles;
    out.managed = iam_view.managed;
    out.regions = regions;
    out
}

/// Roles used by a collected function, or trusting `lambda.amazonaws.com`.
fn lambda_role_arns(
    roles: &[rolescope_model::Role],
    functions: &[rolescope_model::Function],
) -> Vec<String> {
    let used: BTreeSet<&str> = functions.iter().map(|f| f.role_arn.as_str()).collect();
    let mut out: Vec<String> = roles
        .iter()
        .filter(|r| {
            used.contains(r.arn.as_str()) || r.trust_policy.contains("lambda.amazonaws.com")
        })
        .map(|r| r.arn.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Credentials and region from the standard AWS chain, as plain values, for writers outside this
/// crate (the exporter's S3 output).
#[derive(Clone)]
pub struct ResolvedCredentials {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token.
    pub session_token: Option<String>,
    /// The chain's region, if any.
    pub region: Option<String>,
}

impl std::fmt::Debug for ResolvedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// Resolve the caller's credentials through the standard chain (environment, profile, SSO,
/// web identity, container, instance), honouring `profile`.
pub async fn resolve_credentials(
    profile: Option<&str>,
) -> Result<ResolvedCredentials, CollectionError> {
    use aws_credential_types::provider::ProvideCredentials;
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client());
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    let config = loader.load().await;
    let fail = |message: String| CollectionError {
        resource_arn: None,
        account_id: None,
        region: None,
        service: "sts".into(),
        operation: "ResolveCredentials".into(),
        error_code: "NoCredentials".into(),
        message,
    };
    let provider = config
        .credentials_provider()
        .ok_or_else(|| fail("no credentials provider in the AWS chain".into()))?;
    let c = provider.provide_credentials().await.map_err(|e| {
        fail(format!(
            "{}",
            aws_smithy_types::error::display::DisplayErrorContext(e)
        ))
    })?;
    Ok(ResolvedCredentials {
        access_key_id: c.access_key_id().to_string(),
        secret_access_key: c.secret_access_key().to_string(),
        session_token: c.session_token().map(str::to_string),
        region: config.region().map(|r| r.to_string()),
    })
}

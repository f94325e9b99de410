//! Collector configuration: plain types the binary fills from its arguments.

use rolescope_model::AccountId;
use std::time::Duration;

/// Everything a scan needs to know. Built by the binary; the collector never sees clap.
#[derive(Debug, Clone)]
pub struct CollectorConfig {
    /// Name of the audit role assumed in every member account.
    pub role_name: String,
    /// ExternalId passed to AssumeRole, when the audit role's trust policy requires one.
    pub external_id: Option<String>,
    /// Session name of the assumed-role sessions (shows up in CloudTrail).
    pub session_name: String,
    /// Session duration of the assumed-role credentials (refreshed automatically).
    pub session_duration: Duration,
    /// Regions to scan; `None` discovers the enabled regions of every account.
    pub regions: Option<Vec<String>>,
    /// Only these accounts (after the OU filter).
    pub accounts: Option<Vec<AccountId>>,
    /// Only accounts under these OUs (recursively), by `ou-…` or `r-…` id.
    pub ous: Option<Vec<String>>,
    /// Accounts never scanned.
    pub exclude_accounts: Vec<AccountId>,
    /// Only the accounts this shard owns (`scan --shard K/N`); the organization is still
    /// walked whole, so every shard's part lists every account.
    pub shard: Option<rolescope_model::shard::Shard>,
    /// Endpoint override for every service (tests, emulators); `AWS_ENDPOINT_URL` is honoured too.
    pub endpoint_url: Option<String>,
    /// Named profile of the shared config files.
    pub profile: Option<String>,
    /// Region for global services (IAM, Organizations, STS) when none is configured.
    pub home_region: Option<String>,
    /// Maximum API calls in flight across the whole scan.
    pub concurrency: usize,
    /// Collect service/action last-accessed data for Lambda execution roles.
    pub last_accessed: bool,
    /// Upper bound on waiting for last-accessed jobs, per account.
    pub last_accessed_timeout: Duration,
    /// Collect Access Analyzer findings.
    pub access_analyzer: bool,
    /// Read Access Analyzer findings only from this account (the analyzer's delegated
    /// administrator, whose organization analyzers cover every member), instead of from every
    /// scanned account.
    pub analyzer_account: Option<AccountId>,
    /// SDK attempts per call (standard retry mode, exponential backoff with jitter).
    pub max_attempts: u32,
    /// Upper bound on one API call including its retries.
    pub operation_timeout: Duration,
    /// Upper bound on one attempt.
    pub attempt_timeout: Duration,
    /// Client-side request rates.
    pub rates: Rates,
    /// Scan id written into the snapshot (a new one when `None`).
    pub scan_id: Option<String>,
    /// Static credentials for the calling account instead of the standard chain (the built-in
    /// simulated organization of `rolescope demo`, tests).
    pub static_credentials: Option<StaticCredentials>,
}

/// An access key pair.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticCredentials {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
}

impl std::fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl Default for CollectorConfig {
    fn default() -> Self {
        Self {
            role_name: "RolescopeAudit".into(),
            external_id: None,
            session_name: "rolescope".into(),
            session_duration: Duration::from_secs(3600),
            regions: None,
            accounts: None,
            ous: None,
            exclude_accounts: Vec::new(),
            endpoint_url: None,
            profile: None,
            home_region: None,
            concurrency: 64,
            last_accessed: true,
            last_accessed_timeout: Duration::from_secs(120),
            access_analyzer: true,
            analyzer_account: None,
            shard: None,
            max_attempts: 5,
            operation_timeout: Duration::from_secs(120),
            attempt_timeout: Duration::from_secs(30),
            rates: Rates::default(),
            scan_id: None,
            static_credentials: None,
        }
    }
}

/// Client-side token-bucket rates in requests per second, per (account, region, service).
///
/// The Lambda numbers are AWS's documented per-account, per-region quotas; IAM, Organizations and
/// Access Analyzer publish no fixed number, so the defaults stay well below what they tolerate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// Lambda control plane (ListFunctions, ListFunctionUrlConfigs, …): 15 req/s.
    pub lambda_control: f64,
    /// Lambda GetPolicy: 15 req/s (its own quota).
    pub lambda_get_policy: f64,
    /// IAM, per account.
    pub iam: f64,
    /// Organizations, for the management account.
    pub organizations: f64,
    /// Access Analyzer, per account and region.
    pub access_analyzer: f64,
    /// STS and Account, per account.
    pub other: f64,
    /// STS AssumeRole, for the calling account: every member's AssumeRole counts against the
    /// hub's quota, not the member's.
    pub sts: f64,
}

impl Default for Rates {
    fn default() -> Self {
        Self {
            lambda_control: 15.0,
            lambda_get_policy: 15.0,
            iam: 10.0,
            organizations: 10.0,
            access_analyzer: 10.0,
            other: 10.0,
            sts: 50.0,
        }
    }
}

impl Rates {
    /// Every rate multiplied by `k` (the simulator's time-scale knob).
    pub fn scaled(self, k: f64) -> Self {
        Self {
            lambda_control: self.lambda_control * k,
            lambda_get_policy: self.lambda_get_policy * k,
            iam: self.iam * k,
            organizations: self.organizations * k,
            access_analyzer: self.access_analyzer * k,
            other: self.other * k,
            sts: self.sts * k,
        }
    }
}

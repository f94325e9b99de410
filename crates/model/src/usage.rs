//! What each role really did: aggregated CloudTrail calls (`role_activity`) and how much of the
//! usage window the trail could see (`usage_coverage`). docs/usage.md explains both.

use crate::{AccountId, Timestamp};
use serde::{Deserialize, Serialize};

/// Where an activity row comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivitySource {
    /// CloudTrail log files read by rolescope (`--cloudtrail-logs`).
    CloudtrailLogs,
    /// An aggregate query over the trail's Athena table (`--cloudtrail-athena`).
    CloudtrailAthena,
    /// What the function's configuration needs (event sources, dead-letter queue, logs, VPC…).
    Configuration,
}

impl ActivitySource {
    /// The value in the datasets.
    pub fn as_str(self) -> &'static str {
        match self {
            ActivitySource::CloudtrailLogs => "cloudtrail_logs",
            ActivitySource::CloudtrailAthena => "cloudtrail_athena",
            ActivitySource::Configuration => "configuration",
        }
    }
}

/// Successful calls of one role session name on one (action, resource), aggregated over the
/// usage window. Only calls by an assumed-role session of a scanned account's role count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    /// The role whose session made the calls (the session issuer).
    pub role_arn: String,
    /// The role's account.
    pub account_id: AccountId,
    /// The region the calls were made in.
    pub region: String,
    /// The session name: for a Lambda function, the function's name.
    pub session_name: String,
    /// The IAM action (`s3:GetObject`).
    pub action: String,
    /// The resource acted on, when the record names one.
    pub resource_arn: Option<String>,
    /// The first call.
    pub first_seen: Timestamp,
    /// The last call.
    pub last_seen: Timestamp,
    /// How many calls.
    pub calls: u64,
    /// Where the row comes from.
    pub source: ActivitySource,
}

/// How much of the usage window one source covered in one account. An action the trail could
/// not log there (a data event it does not select), or any action when the window is not
/// covered, is unobservable, never unused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageCoverage {
    /// The account whose calls the source holds.
    pub account_id: AccountId,
    /// The source.
    pub source: ActivitySource,
    /// The window asked for (`--usage-days` before the scan).
    pub window_start: Timestamp,
    /// Its end.
    pub window_end: Timestamp,
    /// The first day the source had logs for inside the window (None: no logs at all).
    pub covered_from: Option<Timestamp>,
    /// The end of the last day the source had logs for inside the window.
    pub covered_to: Option<Timestamp>,
    /// The regions with logs.
    pub regions: Vec<String>,
    /// Services whose data events the trail logs (`s3`, `dynamodb`, `lambda`…): their data
    /// calls are observable. Management events are always observable.
    pub data_events: Vec<String>,
    /// Log files read.
    pub files: u64,
    /// Records read (every record of the files, counted or not).
    pub records: u64,
}

impl UsageCoverage {
    /// Whether the source saw the whole window (a day of slack at either end: files are
    /// delivered by day, and the last hours may not be delivered yet).
    pub fn covers_window(&self) -> bool {
        const DAY: i64 = 86_400_000;
        match (self.covered_from, self.covered_to) {
            (Some(from), Some(to)) => {
                from.millis <= self.window_start.millis + DAY
                    && to.millis >= self.window_end.millis - DAY
            }
            _ => false,
        }
    }
}

/// What a function's configuration makes it need, read with the function (ListFunctions'
/// configuration, ListEventSourceMappings). Empty fields were not configured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionConfig {
    /// The dead-letter queue or topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_arn: Option<String>,
    /// The customer-managed key of the environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<String>,
    /// X-Ray tracing mode (`Active`, `PassThrough`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing_mode: Option<String>,
    /// The VPC subnets (a VPC function needs the ENI actions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnet_ids: Vec<String>,
    /// EFS access point ARNs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub file_systems: Vec<String>,
    /// The log group, when it is not `/aws/lambda/<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_group: Option<String>,
    /// Event source mappings: the queue, stream or table ARNs the function polls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub event_sources: Vec<String>,
    /// Asynchronous invocation destinations (on success, on failure).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destinations: Vec<String>,
}

impl FunctionConfig {
    /// Nothing configured.
    pub fn is_empty(&self) -> bool {
        self == &FunctionConfig::default()
    }
}

/// `service:Action`: a lowercase service prefix and an action name of letters and digits.
pub fn plausible_action(action: &str) -> bool {
    action.split_once(':').is_some_and(|(service, name)| {
        !service.is_empty()
            && service
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

//! Plain domain types shared by every rolescope stage, and the snapshot format.
//!
//! Invariant: no AWS SDK types, no I/O beyond the snapshot reader/writer in [`snapshot`].
//! Account ids are 12-character strings; timestamps are UTC with millisecond precision.
//! Lambda environment variables are represented by their names only: there is no field that
//! could hold a value.

pub mod ids;
pub mod shard;
pub mod snapshot;
pub mod text;
pub mod tree;
pub mod usage;
pub mod valid;

pub use ids::{AccountId, Timestamp};
use serde::{Deserialize, Serialize};
pub use text::Shared;
pub use usage::{Activity, ActivitySource, FunctionConfig, UsageCoverage};

/// Account membership status in the organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountStatus {
    /// Active member.
    Active,
    /// Suspended (closed) account: skipped by scans and recorded.
    Suspended,
    /// Pending closure.
    PendingClosure,
}

/// A member account. The account e-mail address is deliberately not part of the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Account id.
    pub account_id: AccountId,
    /// Account name.
    pub name: String,
    /// Membership status.
    pub status: AccountStatus,
    /// Id of the parent (root or OU).
    pub parent_id: String,
    /// Path of OU names from the root, e.g. `Root/Workloads/Prod`.
    pub ou_path: String,
    /// Whether the scan could read the account (its audit role was assumed).
    #[serde(default)]
    pub scanned: bool,
}

/// A root or organizational unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgUnit {
    /// `r-…` for the root, `ou-…` otherwise.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Parent id (`None` for the root).
    pub parent_id: Option<String>,
    /// Path of names from the root.
    pub path: String,
}

/// Organization policy types rolescope reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ControlPolicyType {
    /// Service control policy.
    ServiceControlPolicy,
    /// Resource control policy.
    ResourceControlPolicy,
}

/// An SCP or RCP with its document and targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlPolicy {
    /// `p-…` id.
    pub id: String,
    /// Name.
    pub name: String,
    /// SCP or RCP.
    pub policy_type: ControlPolicyType,
    /// The JSON document (decoded).
    pub document: String,
    /// Ids of the roots, OUs and accounts it is attached to.
    pub targets: Vec<String>,
}

/// An inline policy of a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlinePolicy {
    /// Policy name.
    pub name: String,
    /// The JSON document (decoded).
    pub document: String,
}

/// An IAM role with everything the analysis needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// Owning account.
    pub account_id: AccountId,
    /// Role name.
    pub name: String,
    /// Role ARN.
    pub arn: String,
    /// Path, e.g. `/service-role/`.
    pub path: String,
    /// The trust policy (decoded JSON).
    pub trust_policy: String,
    /// Inline policies.
    pub inline_policies: Vec<InlinePolicy>,
    /// ARNs of attached managed policies (AWS-managed or customer-managed).
    pub attached_policy_arns: Vec<String>,
    /// ARN of the permission boundary policy.
    pub boundary_arn: Option<String>,
    /// Tags as (key, value).
    pub tags: Vec<(String, String)>,
    /// When the role was last used, per RoleLastUsed.
    pub last_used_at: Option<Timestamp>,
    /// Region of the last use.
    pub last_used_region: Option<String>,
    /// Creation time.
    pub created_at: Option<Timestamp>,
}

/// A customer-managed policy (its default version), as collected from an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedPolicy {
    /// Owning account (`None` for AWS-managed policies collected from an account).
    pub account_id: Option<AccountId>,
    /// Policy ARN.
    pub arn: String,
    /// Policy name.
    pub name: String,
    /// Default version id.
    pub default_version: String,
    /// The JSON document of the default version (decoded).
    pub document: String,
}

/// A function URL configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionUrl {
    /// The URL.
    pub url: String,
    /// `NONE` (public) or `AWS_IAM`.
    pub auth_type: String,
    /// The alias the URL invokes (`None`: the unqualified function, i.e. `$LATEST`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualifier: Option<String>,
}

/// A published version or an alias of a function. A version's configuration, execution role
/// included, is frozen when it is published; an alias invokes one or two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Qualifier {
    /// The version number (`1`) or alias name (`prod`).
    pub name: String,
    /// Version or alias.
    pub kind: QualifierKind,
    /// A version's execution role (`None` for an alias: it runs as its versions' roles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// An alias's versions with the share of invocations each gets, in parts per million
    /// (primary first; AWS's `AdditionalVersionWeights` are the others).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routing: Vec<(String, u32)>,
    /// The resource policy of this qualifier (GetPolicy with the qualifier), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<String>,
    /// Parts that could not be read (`resource_policy`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unread: Vec<String>,
}

/// What a qualifier names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualifierKind {
    /// A published version.
    Version,
    /// An alias.
    Alias,
}

/// An environment variable whose value looks like a secret: its name and the kind of match.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SecretLike {
    /// The variable's name.
    pub variable: String,
    /// What the value looked like.
    pub kind: SecretKind,
}

/// The kinds of secret-like value recognised at the SDK edge (collector `secrets`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    /// An AWS access key id (`AKIA…`, `ASIA…`).
    AwsAccessKeyId,
    /// An AWS secret access key under a secret name.
    AwsSecretAccessKey,
    /// A PEM private key block.
    PrivateKey,
    /// A GitHub token (`ghp_…`, `github_pat_…`).
    GithubToken,
    /// A GitLab personal access token (`glpat-…`).
    GitlabToken,
    /// A Slack token or webhook URL.
    SlackToken,
    /// A Stripe secret or restricted key.
    StripeKey,
    /// An npm access token.
    NpmToken,
    /// A Google API key (`AIza…`).
    GoogleApiKey,
    /// A JSON Web Token.
    Jwt,
    /// A URL or connection string with a password in it.
    ConnectionStringPassword,
    /// A password under a password-named variable.
    Password,
    /// A high-entropy value under a secret-named variable.
    HighEntropy,
}

impl SecretKind {
    /// The snake_case name used in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::AwsAccessKeyId => "aws_access_key_id",
            SecretKind::AwsSecretAccessKey => "aws_secret_access_key",
            SecretKind::PrivateKey => "private_key",
            SecretKind::GithubToken => "github_token",
            SecretKind::GitlabToken => "gitlab_token",
            SecretKind::SlackToken => "slack_token",
            SecretKind::StripeKey => "stripe_key",
            SecretKind::NpmToken => "npm_token",
            SecretKind::GoogleApiKey => "google_api_key",
            SecretKind::Jwt => "jwt",
            SecretKind::ConnectionStringPassword => "connection_string_password",
            SecretKind::Password => "password",
            SecretKind::HighEntropy => "high_entropy",
        }
    }
}

/// A Lambda function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    /// Owning account.
    pub account_id: AccountId,
    /// Region.
    pub region: Shared,
    /// Function name.
    pub name: String,
    /// Function ARN.
    pub arn: String,
    /// Execution role ARN.
    pub role_arn: Shared,
    /// Runtime (absent for container images).
    pub runtime: Option<Shared>,
    /// `x86_64` and/or `arm64`.
    pub architectures: Vec<Shared>,
    /// `Zip` or `Image`.
    pub package_type: Option<Shared>,
    /// Last modification time.
    pub last_modified: Option<Timestamp>,
    /// Layer ARNs.
    pub layers: Vec<Shared>,
    /// Environment variable NAMES only. Values are dropped at the SDK edge.
    pub env_var_names: Vec<Shared>,
    /// Variables whose value looked like a secret at the SDK edge, with the kind of match. The
    /// value itself (any part, hash or length of it) is never kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_like_env: Vec<SecretLike>,
    /// The function's resource policy (decoded JSON), if any.
    pub resource_policy: Option<String>,
    /// Function URL configurations.
    pub urls: Vec<FunctionUrl>,
    /// Parts that could not be read (`resource_policy`, `urls`): a collection error says why.
    /// Unknown is not absent: such a part is neither "no policy" nor "no URL".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unread: Vec<String>,
    /// Published versions and aliases (`$LATEST` is the function itself), sorted versions first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub qualifiers: Vec<Qualifier>,
    /// What its configuration makes it need (event sources, dead-letter target, VPC…).
    #[serde(default, skip_serializing_if = "FunctionConfig::is_empty")]
    pub config: Box<FunctionConfig>,
}

/// The name a model enum has on the wire (`ACTIVE`, `SERVICE_CONTROL_POLICY`): the snapshot,
/// the datasets and the scan history spell values the same way.
pub fn wire_name(value: impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Whether a character must not reach a reader as it is: a control character (a line break in
/// a name would start a Markdown heading or a shell command) or a bidirectional formatting
/// character (U+202E reverses the rest of a line as it is displayed).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Untrusted text (names from member accounts) made safe to show: every character
/// [`is_unsafe_char`] names becomes U+FFFD, and text past `max` characters is cut with `…`.
pub fn shown(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    let long = text.chars().nth(max).is_some();
    if !long && !text.chars().any(is_unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| if is_unsafe_char(c) { '\u{FFFD}' } else { c })
        .collect();
    if long {
        out.push('…');
    }
    std::borrow::Cow::Owned(out)
}

/// A rendered page or document whose own markup holds no control characters but line breaks
/// and tabs: every other unsafe character (from names inside it) becomes U+FFFD.
pub fn neutralised(document: String) -> String {
    if !document
        .chars()
        .any(|c| is_unsafe_char(c) && !matches!(c, '\n' | '\t'))
    {
        return document;
    }
    document
        .chars()
        .map(|c| {
            if is_unsafe_char(c) && !matches!(c, '\n' | '\t') {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// The partition of an ARN (`arn:aws-cn:iam::…` → `aws-cn`); `aws` for text that is no ARN.
pub fn arn_partition(arn: &str) -> &str {
    let mut parts = arn.splitn(3, ':');
    match (parts.next(), parts.next()) {
        (Some("arn"), Some(p)) if !p.is_empty() => p,
        _ => "aws",
    }
}

/// An ARN moved to another partition (`arn:aws:…` → `arn:aws-cn:…`); text that is no ARN is
/// returned as it is.
pub fn in_partition(arn: &str, partition: &str) -> String {
    match arn.strip_prefix("arn:").and_then(|r| r.split_once(':')) {
        Some((_, rest)) => format!("arn:{partition}:{rest}"),
        None => arn.to_string(),
    }
}

/// A function ARN without its qualifier (`…:function:name:prod` → `…:function:name`); any
/// other text is returned as it is.
pub fn unqualified_function_arn(arn: &str) -> &str {
    match arn.match_indices(':').nth(6) {
        Some((i, _)) if arn.contains(":function:") => &arn[..i],
        _ => arn,
    }
}

impl Function {
    /// The roles a qualifier runs as: `$LATEST` (or `None`, the unqualified function) its own
    /// role, a version the role frozen into it, an alias the roles of its versions. Unknown
    /// qualifiers run as nothing known.
    pub fn roles_of(&self, qualifier: Option<&str>) -> Vec<&str> {
        let version_role = |v: &str| -> Option<&str> {
            if v == "$LATEST" {
                return Some(&self.role_arn);
            }
            self.qualifiers
                .iter()
                .find(|q| q.kind == QualifierKind::Version && q.name == v)
                .and_then(|q| q.role_arn.as_deref())
        };
        let mut roles: Vec<&str> = match qualifier {
            None | Some("$LATEST") => vec![&self.role_arn],
            Some(name) => match self.qualifiers.iter().find(|q| q.name == name) {
                Some(q) if q.kind == QualifierKind::Alias => q
                    .routing
                    .iter()
                    .filter_map(|(v, _)| version_role(v))
                    .collect(),
                Some(q) => q.role_arn.as_deref().into_iter().collect(),
                None => Vec::new(),
            },
        };
        roles.sort_unstable();
        roles.dedup();
        roles
    }

    /// The URL that invokes a qualifier: for `$LATEST` the unqualified function's (or one
    /// naming `$LATEST`), for a version or alias the one naming it. The one rule the
    /// `function_versions` table and the scan history read a qualifier's URL by.
    pub fn url_of(&self, qualifier: &str) -> Option<&FunctionUrl> {
        self.urls.iter().find(|u| match &u.qualifier {
            None => qualifier == "$LATEST",
            Some(q) => q == qualifier,
        })
    }

    /// The auth type the `functions` table gives the function: a public (`NONE`) URL's if it
    /// has one, else its first URL's.
    pub fn url_auth_type(&self) -> Option<&str> {
        self.urls
            .iter()
            .find(|u| u.auth_type == "NONE")
            .or(self.urls.first())
            .map(|u| u.auth_type.as_str())
    }

    /// Every role the function runs as under any qualifier, `$LATEST`'s first.
    pub fn all_roles(&self) -> Vec<&str> {
        let mut roles = vec![self.role_arn.as_str()];
        for q in &self.qualifiers {
            if let Some(r) = q.role_arn.as_deref()
                && !roles.contains(&r)
            {
                roles.push(r);
            }
        }
        roles
    }

    /// The qualifier named at the end of a qualified function ARN (`…:function:name:prod`), or
    /// `None` for the function's own ARN.
    pub fn qualifier_of<'a>(&self, arn: &'a str) -> Option<&'a str> {
        arn.strip_prefix(self.arn.as_str())?.strip_prefix(':')
    }
}

/// Service- (and, where available, action-) level last-accessed data of a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastAccessed {
    /// The role.
    pub role_arn: String,
    /// Service namespace, e.g. `s3`.
    pub service: String,
    /// Last authenticated use of the service.
    pub last_accessed_at: Option<Timestamp>,
    /// Action-level data: (action, last accessed).
    pub actions: Vec<(String, Option<Timestamp>)>,
}

/// An IAM Access Analyzer finding about a function or role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessFinding {
    /// Account of the resource.
    pub account_id: AccountId,
    /// Region of the analyzer.
    pub region: String,
    /// Finding id.
    pub id: String,
    /// Resource ARN.
    pub resource_arn: String,
    /// Finding type (e.g. `ExternalAccess`, `UnusedIAMRole`).
    pub finding_type: String,
    /// Status (ACTIVE, ARCHIVED, RESOLVED).
    pub status: String,
    /// Details as JSON.
    pub detail: String,
}

/// A failed collection step: one account, region or API call that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionError {
    /// Account, when the failure concerns one.
    pub account_id: Option<AccountId>,
    /// Region, when the failure concerns one.
    pub region: Option<String>,
    /// Service, e.g. `lambda`.
    pub service: String,
    /// Operation, e.g. `GetPolicy`.
    pub operation: String,
    /// AWS error code or a rolescope classification (`Unsupported`, `Timeout`).
    pub error_code: String,
    /// Message.
    pub message: String,
    /// The resource the failure is about (a function or role ARN), when it concerns one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_arn: Option<String>,
}

/// Summary of a scan; written last, so a snapshot without it is incomplete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanInfo {
    /// Scan id.
    pub scan_id: String,
    /// Start time.
    pub started_at: Timestamp,
    /// End time.
    pub finished_at: Timestamp,
    /// Organization id, if known.
    pub org_id: Option<String>,
    /// Regions scanned.
    pub regions: Vec<String>,
    /// rolescope version that wrote the snapshot.
    pub tool_version: String,
}

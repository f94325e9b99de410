//! The finding vocabulary: categories, severities, check definitions, stable ids.

use rolescope_model::AccountId;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Risk categories; a fixed vocabulary shared with the Parquet output and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Category {
    AdminAccess,
    ServiceWildcard,
    PrivilegeEscalation,
    DataExfiltration,
    ResourceExposure,
    CredentialsExposure,
    InfrastructureModification,
    TrustPolicy,
    PublicAccess,
    PermissionBoundary,
    UnusedAccess,
    PolicyValidation,
    AccessAnalyzer,
    SecretsInEnvironment,
}

impl Category {
    /// The snake_case name used in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::AdminAccess => "admin_access",
            Category::ServiceWildcard => "service_wildcard",
            Category::PrivilegeEscalation => "privilege_escalation",
            Category::DataExfiltration => "data_exfiltration",
            Category::ResourceExposure => "resource_exposure",
            Category::CredentialsExposure => "credentials_exposure",
            Category::InfrastructureModification => "infrastructure_modification",
            Category::TrustPolicy => "trust_policy",
            Category::PublicAccess => "public_access",
            Category::PermissionBoundary => "permission_boundary",
            Category::UnusedAccess => "unused_access",
            Category::PolicyValidation => "policy_validation",
            Category::AccessAnalyzer => "access_analyzer",
            Category::SecretsInEnvironment => "secrets_in_environment",
        }
    }
}

/// Severity, most severe first in sort order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Info,
}

impl Severity {
    /// The lower-case name used in outputs and `--fail-on`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }

    /// Parse a `--fail-on` value.
    pub fn parse(text: &str) -> Option<Severity> {
        Some(match text.to_ascii_lowercase().as_str() {
            "critical" => Severity::Critical,
            "high" => Severity::High,
            "medium" => Severity::Medium,
            "low" => Severity::Low,
            "info" => Severity::Info,
            _ => return None,
        })
    }
}

/// What a check reads beyond the listing of its resource (a role's or function's account and
/// region being scanned at all). The history carries a finding whose resource is still there
/// only when one of *its* inputs was unread; any other finding of a scanned resource that is
/// gone is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    /// Identity policies' documents (managed policy versions, the boundary).
    IdentityPolicies = 1,
    /// Function resource policies (GetResourcePolicy / GetPolicy).
    ResourcePolicy = 2,
    /// Function URLs.
    Urls = 4,
    /// Versions and aliases (which role each runs as).
    Qualifiers = 8,
    /// IAM last-accessed data.
    LastAccessed = 16,
    /// IAM Access Analyzer findings.
    AccessAnalyzer = 32,
}

impl Input {
    /// Every input, as a mask.
    pub const ALL: u8 = 63;

    /// The input a failed operation leaves unread; `None` for operations that are not a
    /// detail (a listing, assuming the audit role): those leave everything unread.
    pub fn of_operation(op: &str) -> Option<Input> {
        Some(match op {
            "GetPolicyVersion" => Input::IdentityPolicies,
            "GetPolicy" | "GetResourcePolicy" => Input::ResourcePolicy,
            "ListFunctionUrlConfigs" | "GetFunctionUrlConfig" => Input::Urls,
            "ListAliases" => Input::Qualifiers,
            "GenerateServiceLastAccessedDetails" | "GetServiceLastAccessedDetails" => {
                Input::LastAccessed
            }
            "ListAnalyzers" | "ListFindings" | "ListFindingsV2" => Input::AccessAnalyzer,
            _ => return None,
        })
    }

    /// The name docs/checks.md gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            Input::IdentityPolicies => "identity policies",
            Input::ResourcePolicy => "resource policy",
            Input::Urls => "URLs",
            Input::Qualifiers => "versions and aliases",
            Input::LastAccessed => "last accessed",
            Input::AccessAnalyzer => "Access Analyzer",
        }
    }
}

/// A check: its stable id and what it means.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Check {
    /// Stable id, e.g. `RS-ADMIN-001`.
    pub id: &'static str,
    /// Category.
    pub category: Category,
    /// Default severity (a mitigated finding is reported as `info`).
    pub severity: Severity,
    /// One-line title.
    pub title: &'static str,
    /// What to do about it.
    pub remediation: &'static str,
    /// Where to read more.
    pub references: &'static [&'static str],
    /// What it reads beyond the listing of its resource.
    pub reads: &'static [Input],
}

impl Check {
    /// [`Check::reads`] as a mask of [`Input`] bits.
    pub fn reads_mask(&self) -> u8 {
        self.reads.iter().fold(0, |m, i| m | *i as u8)
    }
}

/// One finding about one resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable across scans: a hash of the check, the resource and the finding's key.
    pub finding_id: String,
    /// The check.
    pub check_id: &'static str,
    /// Its category.
    pub category: Category,
    /// Severity (`info` when mitigated).
    pub severity: Severity,
    /// Account of the resource.
    pub account_id: AccountId,
    /// Region, for regional resources.
    pub region: Option<rolescope_model::Shared>,
    /// The role, function or policy concerned.
    pub resource_arn: String,
    /// Human-readable one-liner (shared: many findings have the same).
    pub title: rolescope_model::Shared,
    /// Evidence as JSON.
    pub detail: Evidence,
    /// For a risk that a boundary, SCP or deny blocks: which gate.
    pub mitigated_by: Option<String>,
}

/// A stable 32-hex-digit id: the first 16 bytes of SHA-256 over the NUL-terminated parts.
pub fn stable_id(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Finding {
    /// Whether this live finding says its function can be invoked by anyone (a public resource
    /// policy or an unauthenticated URL): the one definition of a public function.
    pub fn makes_public(&self) -> bool {
        matches!(self.check_id, "RS-PUBLIC-001" | "RS-PUBLIC-003") && self.mitigated_by.is_none()
    }

    /// Build a finding; `key` distinguishes several findings of one check on one resource.
    // Every argument is a distinct field of the finding; a builder would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        check: &Check,
        account_id: &AccountId,
        region: Option<&str>,
        resource_arn: &str,
        key: &str,
        title: String,
        detail: serde_json::Value,
        mitigated_by: Option<String>,
    ) -> Finding {
        let finding_id = stable_id(&[check.id, resource_arn, key]);
        Finding {
            finding_id,
            check_id: check.id,
            category: check.category,
            severity: if mitigated_by.is_some() {
                Severity::Info
            } else {
                check.severity
            },
            account_id: account_id.clone(),
            region: region.map(Into::into),
            resource_arn: resource_arn.to_string(),
            title: title.into(),
            detail: Evidence::new(&detail),
            mitigated_by,
        }
    }
}

/// A finding's evidence, kept as compact JSON text. A parsed tree costs several times its text,
/// and an organization-scale scan holds 100,000 findings. The text is shared: many findings carry
/// the same evidence (every administrator role's unused services, say), and at scenario L the
/// 82 MB of evidence text is 24 MB of distinct texts. Serialises as the JSON itself, not as a
/// string.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence(rolescope_model::Shared);

impl Evidence {
    /// Store a JSON value.
    pub fn new(value: &serde_json::Value) -> Self {
        Evidence(value.to_string().into())
    }

    /// Evidence as a table stored it: untrusted until [`Evidence::checked`].
    pub fn stored(text: rolescope_model::Shared) -> Self {
        Evidence(text)
    }

    /// This evidence if its text is JSON, else `null` (a stored table is untrusted input).
    pub fn checked(self) -> Self {
        if serde_json::from_str::<&serde_json::value::RawValue>(self.as_str()).is_ok() {
            self
        } else {
            Evidence("null".into())
        }
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The JSON text, shared with the findings of the same evidence.
    pub fn shared(&self) -> &rolescope_model::Shared {
        &self.0
    }

    /// The evidence parsed, for reading fields.
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(self.as_str()).unwrap_or_default()
    }
}

impl Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The text came from a JSON value: borrowing it as raw JSON only checks it again.
        let raw: &serde_json::value::RawValue =
            serde_json::from_str(self.as_str()).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

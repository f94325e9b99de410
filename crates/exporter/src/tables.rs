//! The tables of the dataset: each row type next to its definition.

use crate::table::{Column, Kind, Row, TableDef, Value};

macro_rules! col {
    ($name:literal, $kind:ident, $nullable:literal, $doc:literal) => {
        Column {
            name: $name,
            kind: Kind::$kind,
            nullable: $nullable,
            doc: $doc,
        }
    };
}

const SCAN_ID: Column = col!("scan_id", String, false, "Scan that produced the row");

/// `scan_runs`: one row per scan.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct ScanRun {
    pub scan_id: String,
    pub started_at: i64,
    pub finished_at: i64,
    pub org_id: Option<String>,
    pub accounts: i64,
    pub accounts_scanned: i64,
    pub regions: Vec<String>,
    pub functions: i64,
    pub roles: i64,
    pub findings: i64,
    pub collection_errors: i64,
    pub tool_version: String,
}

impl Row for ScanRun {
    const TABLE: TableDef = TableDef {
        name: "scan_runs",
        doc: "One row per scan.",
        columns: &[
            SCAN_ID,
            col!(
                "started_at",
                TimestampMs,
                false,
                "When the scan started (UTC)"
            ),
            col!(
                "finished_at",
                TimestampMs,
                false,
                "When collection finished (UTC)"
            ),
            col!(
                "org_id",
                String,
                true,
                "Organization id (o-…), null for a single-account scan"
            ),
            col!("accounts", Int64, false, "Accounts in the organization"),
            col!(
                "accounts_scanned",
                Int64,
                false,
                "Accounts whose audit role could be assumed"
            ),
            col!("regions", StringList, false, "Regions scanned"),
            col!("functions", Int64, false, "Lambda functions collected"),
            col!("roles", Int64, false, "IAM roles collected"),
            col!(
                "findings",
                Int64,
                false,
                "Findings, mitigated ones included"
            ),
            col!(
                "collection_errors",
                Int64,
                false,
                "Rows in collection_errors"
            ),
            col!("tool_version", String, false, "rolescope version"),
        ],
    };
    fn values(&self) -> Vec<Value> {
        vec![
            self.scan_id.clone().into(),
            Value::Ts(Some(self.started_at)),
            Value::Ts(Some(self.finished_at)),
            self.org_id.clone().into(),
            self.accounts.into(),
            self.accounts_scanned.into(),
            self.regions.clone().into(),
            self.functions.into(),
            self.roles.into(),
            self.findings.into(),
            self.collection_errors.into(),
            self.tool_version.clone().into(),
        ]
    }
}

/// `accounts`: one row per account of the organization.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct AccountRow {
    pub scan_id: String,
    pub account_id: String,
    pub account_name: String,
    pub ou_path: String,
    pub status: String,
    pub scanned: bool,
    pub risk_score: i64,
    pub risk_level: String,
}

impl Row for AccountRow {
    const TABLE: TableDef = TableDef {
        name: "accounts",
        doc: "One row per account of the organization (e-mail addresses are not stored).",
        columns: &[
            SCAN_ID,
            col!(
                "account_id",
                String,
                false,
                "12-digit account id, as a string"
            ),
            col!("account_name", String, false, "Account name"),
            col!(
                "ou_path",
                String,
                false,
                "OU names from the root, e.g. Root/Workloads/Prod"
            ),
            col!(
                "status",
                String,
                false,
                "ACTIVE, SUSPENDED or PENDING_CLOSURE"
            ),
            col!(
                "scanned",
                Bool,
                false,
                "The audit role could be assumed and the account was read"
            ),
            col!(
                "risk_score",
                Int64,
                false,
                "Highest role or function score in the account (0-100)"
            ),
            col!(
                "risk_level",
                String,
                false,
                "critical, high, medium, low or none"
            ),
        ],
    };
    fn values(&self) -> Vec<Value> {
        vec![
            self.scan_id.clone().into(),
            self.account_id.clone().into(),
            self.account_name.clone().into(),
            self.ou_path.clone().into(),
            self.status.clone().into(),
            self.scanned.into(),
            self.risk_score.into(),
            self.risk_level.clone().into(),
        ]
    }
}

/// `org_units`: one row per root or OU.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct OrgUnitRow {
    pub scan_id: String,
    pub ou_id: String,
    pub name: String,
    pub parent_id: Option<String>,
    pub path: String,
    pub risk_score: i64,
    pub risk_level: String,
}

impl Row for OrgUnitRow {
    const TABLE: TableDef = TableDef {
        name: "org_units",
        doc: "One row per root or organizational unit.",
        columns: &[
            SCAN_ID,
            col!("ou_id", String, false, "r-… for the root, ou-… otherwise"),
            col!("name", String, false, "Name"),
            col!("parent_id", String, true, "Parent id; null for the root"),
            col!(
                "path",
                String,
                false,
                "Names from the root, e.g. Root/Workloads"
            ),
            col!(
                "risk_score",
                Int64,
                false,
                "Highest account score below it (0-100)"
            ),
            col!(
                "risk_level",
                String,
                false,
                "critical, high, medium, low or none"
            ),
        ],
    };
    fn values(&self) -> Vec<Value> {
        vec![
            self.scan_id.clone().into(),
            self.ou_id.clone().into(),
            self.name.clone().into(),
            self.parent_id.clone().into(),
            self.path.clone().into(),
            self.risk_score.into(),
            self.risk_level.clone().into(),
        ]
    }
}

/// `scps`: one row per (control policy, target).
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct ScpRow {
    pub scan_id: String,
    pub policy_id: String,
    pub name: String,
    pub policy_type: String,
    pub target_id: String,
    pub content: String,
}

impl Row for ScpRow {
    const TABLE: TableDef = TableDef {
        name: "scps",
        doc: "One row per service (or resource) control policy and target it is attached to.",
        columns: &[
            SCAN_ID,
            col!("policy_id", String, false, "p-… id"),
            col!("name", String, false, "Policy name"),
            col!(
                "policy_type",
                String,
                false,
                "SERVICE_CONTROL_POLICY or RESOURCE_CONTROL_POLICY"
            ),
            col!(
                "target_id",
                String,
                false,
                "Root, OU or account the policy is attached to"
            ),
            col!("content", String, false, "Policy document (JSON)"),
        ],
    };
    fn values(&self) -> Vec<Value> {
        vec![
            self.scan_id.clone().into(),
            self.policy_id.clone().into(),
            self.name.clone().into(),
            self.policy_type.clone().into(),
            self.target_id.clone().into(),
            self.content.clone().into(),
        ]
    }
}

/// `role_policies`: one row per policy attached to a role.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct RolePolicyRow {
    pub scan_id: String,
    pub account_id: String,
    pub role_arn: String,
    pub kind: String,
    pub name: String,
    pub policy_arn: Option<String>,
    pub document: Option<String>,
}

impl Row for RolePolicyRow {
    const TABLE: TableDef = TableDef {
        name: "role_policies",
        doc: "One row per policy of a role: inline, managed (customer or AWS) and permission boundary.",
        columns: &[
            SCAN_ID,
            col!("account_id", String, false, "Account of the role"),
            col!("role_arn", String, false, "Role ARN"),
            col!("kind", String, false, "inline, managed or boundary"),
            col!("name", String, false, "Policy name"),
            col!(
                "policy_arn",
                String,
                true,
                "Managed policy ARN; null for inline policies"
            ),
            col!(
                "document",
                String,
                true,
                "Policy document (JSON); null when it could not be collected"
            ),
        ],
    };
    fn values(&self) -> Vec<Value> {
        vec![
            self.scan_id.clone().into(),
            self.account_id.clone().into(),
            self.role_arn.clone().into(),
            self.kind.clone().into(),
            self.name.clone().into(),
            self.policy_arn.clone().into(),
            self.document.clone().into(),
        ]
    }
}

/// `functions`: one row per Lambda function.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct FunctionRow {
    pub scan_id: String,
    pub account_id: String,
    pub region: String,
    pub function_name: String,
    pub function_arn: String,
    pub role_arn: String,
    pub runtime: Option<String>,
    pub architectures: Vec<String>,
    pub package_type: Option<String>,
    pub last_modified: Option<i64>,
    pub layers: Vec<String>,
    pub env_var_names: Vec<String>,
    pub url_auth_type: Option<String>,
    pub resource_policy: Option<String>,
    pub public_access: bool,
    pub risk_score: i64,
    pub risk_level: String,
}

impl Row for FunctionRow {
    const TABLE: TableDef = TableDef {
        name: "functions",
        doc: "One row per Lambda function. Environment variables: names only, never values.",
        columns: &[
            SCAN_ID,
            col!("account_id", String, false, "Owning account"),
            col!("region", String, false, "Region"),
            col!("function_name", String, false, "Function name"),
            col!("function_arn", String, false, "Function ARN"),
            col!("role_arn", String, false, "Execution role ARN"),
            col!(
                "runtime",
                String,
                true,
                "Runtime; null for container images"
            ),
            col!("architectures", StringList, false, "x86_64 and/or arm64"),
            col!("package_type", String, true, "Zip or Image"),
            col!(
                "last_modified",
                TimestampMs,
                true,
                "Last modification (UTC)"
            ),
            col!("layers", StringList, false, "Layer version ARNs"),
            col!(
                "env_var_names",
                StringList,
                false,
                "Environment variable names (values are never collected)"
            ),
            col!(
                "url_auth_type",
                String,
                true,
                "Function URL auth type: NONE (public) or AWS_IAM; null without URL"
            ),
            col!(
                "resource_policy",
                String,
                true,
                "Resource-based policy (JSON)"
            ),
            col!(
                "public_access",
                Bool,
                false,
                "Invocable by anyone: Principal * without conditions, or a URL with AuthType NONE"
            ),
            col!(
                "risk_score",
                Int64,
                false,
                "Role score combined with the function's own findings (0-100)"
            ),
            col!(
                "risk_level",
                String,
                false,
                "critical, high, medium, low or none"
            ),
        ],
    };
    fn values(&self) -> Vec<Value> {
        vec![
            self.scan_id.clone().into(),
            self.account_id.clone().into(),
            self.region.clone().into(),
            self.function_name.clone().into(),
            self.function_arn.clone().into(),
            self.role_arn.clone().into(),
            self.runtime.clone().into(),
            self.architectures.clone().into(),
            self.package_type.clone().into(),
            Value::Ts(self.last_modified),
            self.layers.clone().into(),
            self.env_var_names.clone().into(),
            self.url_auth_type.clone().into(),
            self.resource_policy.clone().into(),
            self.public_access.into(),
            self.risk_score.into(),
            self.risk_level.clone().into(),
        ]
    }
}

/// `roles`: one row per IAM role.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct RoleRow {
    pub scan_id: String,
    pub account_id: String,
    pub role_name: String,
    pub role_arn: String,
    pub path: String,
    pub trust_policy: String,
    pub boundary_arn: Option<String>,
    pub last_used_at: Option<i64>,
    pub function_count: i64,
    pub is_lambda_role: bool,
    pub allowed_actions: i64,
    pub risk_score: i64,
    pub risk_level: String,
    pub score_explanation: String,
    pub unused_services: Vec<String>,
    pub suggested_policy: Option<String>,
}

impl Row for RoleRow {
    const TABLE: TableDef = TableDef {
        name: "roles",
        doc: "One row per IAM role, Lambda execution roles and others.",
        columns: &[
            SCAN_ID,
            col!("account_id", String, false, "Owning account"),
            col!("role_name", String, false, "Role name"),
            col!("role_arn", String, false, "Role ARN"),
            col!("path", String, false, "Role path"),
            col!("trust_policy", String, false, "Trust policy (JSON)"),
            col!("boundary_arn", String, true, "Permission boundary ARN"),
            col!("last_used_at", TimestampMs, true, "RoleLastUsed (UTC)"),
            col!("function_count", Int64, false, "Functions using the role"),
            col!(
                "is_lambda_role",
                Bool,
                false,
                "Trusted by lambda.amazonaws.com or used by a function"
            ),
            col!(
                "allowed_actions",
                Int64,
                false,
                "Actions effectively allowed (with or without conditions)"
            ),
            col!(
                "risk_score",
                Int64,
                false,
                "Risk score 0-100 (docs/scoring.md)"
            ),
            col!(
                "risk_level",
                String,
                false,
                "critical, high, medium, low or none"
            ),
            col!(
                "score_explanation",
                String,
                false,
                "The score's factors and weights (JSON)"
            ),
            col!(
                "unused_services",
                StringList,
                false,
                "Granted services not used within the window (empty without last-accessed data)"
            ),
            col!(
                "suggested_policy",
                String,
                true,
                "Least-privilege replacement policy (JSON)"
            ),
        ],
    };
    fn values(&self) -> Vec<Value> {
        vec![
            self.scan_id.clone().into(),
            self.account_id.clone().into(),
            self.role_name.clone().into(),
            self.role_arn.clone().into(),
            self.path.clone().into(),
            self.trust_policy.clone().into(),
            self.boundary_arn.clone().into(),
            Value::Ts(self.last_used_at),
            self.function_count.into(),
            self.is_lambda_role.into(),
            self.allowed_actions.into(),
            self.risk_score.into(),
            self.risk_level.clone().into(),
            self.score_explanation.clone().into(),
            self.unused_services.clone().into(),
            self.suggested_policy.clone().into(),
        ]
    }
}

/// `findings`: one row per finding.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct FindingRow {
    pub scan_id: String,
    pub finding_id: String,
    pub check_id: String,
    pub category: String,
    pub severity: String,
    pub account_id: String,
    pub region: Option<String>,
    pub resource_arn: String,
    pub title: String,
    pub detail: String,
    pub mitigated_by: Option<String>,
}

impl Row for FindingRow {
    const TABLE: TableDef = TableDef {
        name: "findings",
        doc: "One row per finding (docs/checks.md).",
        columns: &[
            SCAN_ID,
            col!(
                "finding_id",
                String,
                false,
                "Stable across scans: hash of check, resource and key"
            ),
            col!("check_id", String, false, "Check, e.g. RS-PRIVESC-001"),
            col!(
                "category",
                String,
                false,
                "Fixed vocabulary: admin_access, privilege_escalation, …"
            ),
            col!(
                "severity",
                String,
                false,
                "critical, high, medium, low or info (info when mitigated)"
            ),
            col!("account_id", String, false, "Account of the resource"),
            col!("region", String, true, "Region, for regional resources"),
            col!(
                "resource_arn",
                String,
                false,
                "Role, function or policy concerned"
            ),
            col!("title", String, false, "One-line description"),
            col!("detail", String, false, "Evidence (JSON)"),
            col!(
                "mitigated_by",
                String,
                true,
                "permission_boundary, scp or explicit_deny when a gate blocks the risk"
            ),
        ],
    };
    fn values(&self) -> Vec<Value> {
        vec![
            self.scan_id.clone().into(),
            self.finding_id.clone().into(),
            self.check_id.clone().into(),
            self.category.clone().into(),
            self.severity.clone().into(),
            self.account_id.clone().into(),
            self.region.clone().into(),
            self.resource_arn.clone().into(),
            self.title.clone().into(),
            self.detail.clone().into(),
            self.mitigated_by.clone().into(),
        ]
    }
}

/// `collection_errors`: one row per gap in the collected data.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct CollectionErrorRow {
    pub scan_id: String,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub service: String,
    pub operation: String,
    pub error_code: String,
    pub message: String,
}

impl Row for CollectionErrorRow {
    const TABLE: TableDef = TableDef {
        name: "collection_errors",
        doc: "One row per account, region or API call that could not be read.",
        columns: &[
            SCAN_ID,
            col!("account_id", String, true, "Account concerned"),
            col!("region", String, true, "Region concerned"),
            col!("service", String, false, "Service, e.g. lambda"),
            col!("operation", String, false, "API operation, e.g. GetPolicy"),
            col!(
                "error_code",
                String,
                false,
                "AWS error code, or Unsupported / Timeout / AccountSuspended / …"
            ),
            col!("message", String, false, "Message"),
        ],
    };
    fn values(&self) -> Vec<Value> {
        vec![
            self.scan_id.clone().into(),
            self.account_id.clone().into(),
            self.region.clone().into(),
            self.service.clone().into(),
            self.operation.clone().into(),
            self.error_code.clone().into(),
            self.message.clone().into(),
        ]
    }
}

/// Every table definition, in documentation order.
pub const TABLES: &[TableDef] = &[
    ScanRun::TABLE,
    AccountRow::TABLE,
    OrgUnitRow::TABLE,
    ScpRow::TABLE,
    FunctionRow::TABLE,
    RoleRow::TABLE,
    RolePolicyRow::TABLE,
    FindingRow::TABLE,
    CollectionErrorRow::TABLE,
];

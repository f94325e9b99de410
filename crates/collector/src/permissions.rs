//! The IAM permissions the collector needs, derived from the calls it makes. docs/permissions.md
//! and the CloudFormation template of the audit role are checked against these lists by tests.

/// Actions the audit role in every member account needs (all List/Read).
pub const MEMBER_ACTIONS: &[&str] = &[
    "access-analyzer:ListAnalyzers",
    "access-analyzer:ListFindings",
    "account:ListRegions",
    "iam:GenerateServiceLastAccessedDetails",
    "iam:GetAccountAuthorizationDetails",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:GetServiceLastAccessedDetails",
    "lambda:GetFunctionUrlConfig",
    "lambda:GetPolicy",
    "lambda:GetResourcePolicy",
    "lambda:ListAliases",
    "lambda:ListEventSourceMappings",
    "lambda:ListFunctionUrlConfigs",
    "lambda:ListFunctions",
];

/// Actions the scanning principal needs in the management (or delegated-admin) account, on top
/// of [`MEMBER_ACTIONS`] for scanning that account itself and `sts:AssumeRole` on the audit roles.
pub const MANAGEMENT_ACTIONS: &[&str] = &[
    "organizations:DescribeOrganization",
    "organizations:DescribePolicy",
    "organizations:ListAccountsForParent",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListPolicies",
    "organizations:ListRoots",
    "organizations:ListTargetsForPolicy",
];

/// The IAM action authorizing a call, given as `service:Operation` (the collector's call
/// counter keys). `Some("")` for calls that need no permission.
pub fn iam_action(call: &str) -> Option<&'static str> {
    match call {
        "sts:GetCallerIdentity" => Some(""),
        "sts:AssumeRole" => Some("sts:AssumeRole"),
        // ListFindingsV2 is authorized by access-analyzer:ListFindings (Access Analyzer API
        // reference).
        "access-analyzer:ListFindingsV2" => Some("access-analyzer:ListFindings"),
        other => MEMBER_ACTIONS
            .iter()
            .chain(MANAGEMENT_ACTIONS)
            .find(|a| **a == other)
            .copied(),
    }
}

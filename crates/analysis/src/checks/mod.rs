//! The checks. Each is a row of [`CHECKS`]; [`role`] produces the findings about roles (one
//! function per concern: administrator access, wildcards, escalation, category lists, trust,
//! boundary, unused, validation), [`resource`] those about functions and Access Analyzer findings.

pub mod exposure;
mod resource;
mod role;

pub use resource::{analyzer_findings, function_findings};
pub use role::role_findings;

use crate::findings::{Category as C, Check, Input as I, Severity as S};
use crate::inputs::RolePolicies;
use crate::privesc::Mitigation;
use rolescope_model::{Function, LastAccessed, Role, Timestamp};
use rolescope_policy::document::{PrincipalKind, PrincipalSpec, Statement};
use rolescope_policy::summary::{GrantStatus, Summary};

const AWS_PRIVESC: &str =
    "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/";
const IAM_BP: &str = "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html";
const BOUNDARIES: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html";
const LAMBDA_RBP: &str =
    "https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html";
const CONFUSED: &str = "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html";
const URL_AUTH: &str = "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html";
const LAST_ACCESSED: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_last-accessed.html";
const GRAMMAR: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html";
const LAMBDA_SECRETS: &str =
    "https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_lambda.html";
const ANALYZER: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/what-is-access-analyzer.html";

/// Declares [`CheckId`] and [`CHECKS`] from one list, so the two can never disagree: the table
/// is indexed by the enum, and no look-up by string can fail.
macro_rules! checks {
    ($($variant:ident = $id:literal, $cat:expr, $sev:expr, $title:literal, $fix:literal, [$($r:expr),*], reads [$($i:expr),*];)*) => {
        /// Every check, by name; `CHECKS[id as usize]` is its row.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(missing_docs)]
        pub enum CheckId { $($variant),* }

        /// Every check rolescope runs.
        pub static CHECKS: &[Check] = &[
            $(Check { id: $id, category: $cat, severity: $sev, title: $title, remediation: $fix, references: &[$($r),*], reads: &[$($i),*] }),*
        ];
    };
}

checks! {
    Admin001 = "RS-ADMIN-001",
        C::AdminAccess,
        S::Critical,
        "Administrator-level AWS managed policy attached",
        "Replace AdministratorAccess / PowerUserAccess / IAMFullAccess with a policy scoped to what the function uses.",
        [IAM_BP], reads [I::IdentityPolicies];

    Admin002 = "RS-ADMIN-002",
        C::AdminAccess,
        S::Critical,
        "Full administrator access (*:* on *) is effective",
        "Remove the Allow * statement; grant only the actions and resources the function needs.",
        [IAM_BP], reads [I::IdentityPolicies];

    Wildcard001 = "RS-WILDCARD-001",
        C::ServiceWildcard,
        S::Medium,
        "All actions of a service allowed (service:*)",
        "List the actions the function calls instead of service:*.",
        [IAM_BP], reads [I::IdentityPolicies];

    Privesc001 = "RS-PRIVESC-001",
        C::PrivilegeEscalation,
        S::High,
        "Privilege escalation path",
        "Remove one of the path's actions, or scope iam:PassRole and the IAM write actions to specific resources; a permission boundary that denies them mitigates the path.",
        [AWS_PRIVESC, BOUNDARIES], reads [I::IdentityPolicies];

    Exfil001 = "RS-EXFIL-001",
        C::DataExfiltration,
        S::Medium,
        "Object, secret or parameter reads on all resources",
        "Scope s3:GetObject, secretsmanager:GetSecretValue and ssm:GetParameter* to the objects, secrets and parameters the function owns.",
        [IAM_BP], reads [I::IdentityPolicies];

    Exfil002 = "RS-EXFIL-002",
        C::DataExfiltration,
        S::Low,
        "Bulk data reads on all resources (decrypt, table reads, snapshots)",
        "Scope kms:Decrypt to the function's keys, DynamoDB reads to its tables, and remove database snapshot actions.",
        [IAM_BP], reads [I::IdentityPolicies];

    Expose001 = "RS-EXPOSE-001",
        C::ResourceExposure,
        S::High,
        "Permissions-management actions on all resources",
        "Actions such as s3:PutBucketPolicy, lambda:AddPermission or kms:PutKeyPolicy can expose resources publicly; remove them or scope them.",
        [IAM_BP], reads [I::IdentityPolicies];

    Creds001 = "RS-CREDS-001",
        C::CredentialsExposure,
        S::High,
        "Actions that return credentials on all resources",
        "Remove actions that mint or return credentials (iam:CreateAccessKey, sts:AssumeRole on *, ecr:GetAuthorizationToken, …) or scope them.",
        [IAM_BP], reads [I::IdentityPolicies];

    Infra001 = "RS-INFRA-001",
        C::InfrastructureModification,
        S::Low,
        "Write actions on all resources",
        "Scope write actions to the resources the function manages.",
        [IAM_BP], reads [I::IdentityPolicies];

    Trust001 = "RS-TRUST-001",
        C::TrustPolicy,
        S::Critical,
        "Role assumable by any principal",
        "Replace Principal * in the trust policy with the principals that need the role.",
        [CONFUSED], reads [];

    Trust002 = "RS-TRUST-002",
        C::TrustPolicy,
        S::Medium,
        "Role assumable from another account without a guarding condition",
        "Add sts:ExternalId, aws:PrincipalOrgID or aws:PrincipalArn conditions, or remove the cross-account principal.",
        [CONFUSED], reads [];

    Trust003 = "RS-TRUST-003",
        C::TrustPolicy,
        S::Low,
        "Lambda execution role also trusted by other services",
        "Give each service its own role; a shared role widens the blast radius of every function that uses it.",
        [IAM_BP], reads [];

    Trust004 = "RS-TRUST-004",
        C::TrustPolicy,
        S::Low,
        "Service trust without aws:SourceAccount or aws:SourceArn",
        "Add an aws:SourceAccount (or aws:SourceArn) condition to the service principal's statement to prevent the confused deputy problem.",
        [CONFUSED], reads [];

    Trust005 = "RS-TRUST-005",
        C::TrustPolicy,
        S::Low,
        "Lambda execution role used by no function",
        "Delete the role, or confirm which workload uses it.",
        [IAM_BP], reads [I::Qualifiers];

    Trust006 = "RS-TRUST-006",
        C::TrustPolicy,
        S::Medium,
        "Execution role shared by many functions",
        "Give functions their own roles so each holds only what it needs.",
        [IAM_BP], reads [I::Qualifiers];

    Public001 = "RS-PUBLIC-001",
        C::PublicAccess,
        S::Critical,
        "Function callable by any AWS account (resource policy, by evaluation)",
        "Remove the statement, or add aws:SourceAccount / aws:SourceArn / aws:PrincipalOrgID conditions.",
        [LAMBDA_RBP], reads [I::ResourcePolicy, I::Qualifiers];

    Public002 = "RS-PUBLIC-002",
        C::PublicAccess,
        S::Medium,
        "Function callable by another account (resource policy, by evaluation)",
        "Add aws:SourceArn / aws:PrincipalOrgID conditions or remove the grant.",
        [LAMBDA_RBP], reads [I::ResourcePolicy, I::Qualifiers];

    Public003 = "RS-PUBLIC-003",
        C::PublicAccess,
        S::High,
        "Function URL without authentication (AuthType NONE) that anyone can invoke",
        "Use AuthType AWS_IAM, or authenticate in the function and document why the URL is public.",
        [URL_AUTH], reads [I::ResourcePolicy, I::Urls, I::Qualifiers];

    Public004 = "RS-PUBLIC-004",
        C::PublicAccess,
        S::Info,
        "Function URL with AuthType NONE that no one can invoke",
        "The policy lacks lambda:InvokeFunctionUrl or lambda:InvokeFunction (with lambda:InvokedViaFunctionUrl), both needed since November 2026: delete the URL, or grant both if it is meant to be public.",
        [URL_AUTH], reads [I::ResourcePolicy, I::Urls, I::Qualifiers];

    Layer001 = "RS-LAYER-001",
        C::PublicAccess,
        S::Low,
        "Function uses a layer from another account",
        "Vendor the layer into your own account or pin and review it: its code runs with the function's role.",
        [LAMBDA_RBP], reads [];

    Boundary001 = "RS-BOUNDARY-001",
        C::PermissionBoundary,
        S::Low,
        "Lambda execution role without a permission boundary",
        "Attach the organization's Lambda permission boundary.",
        [BOUNDARIES], reads [];

    Boundary002 = "RS-BOUNDARY-002",
        C::PermissionBoundary,
        S::High,
        "Permission boundary does not constrain the role",
        "The boundary allows *:* or leaves a privilege-escalation path open; narrow it.",
        [BOUNDARIES], reads [I::IdentityPolicies];

    Unused001 = "RS-UNUSED-001",
        C::UnusedAccess,
        S::Low,
        "Role not used recently",
        "Delete roles that are not used, or confirm their owner.",
        [LAST_ACCESSED], reads [I::IdentityPolicies, I::LastAccessed];

    Unused002 = "RS-UNUSED-002",
        C::UnusedAccess,
        S::Low,
        "Services granted but not used",
        "Remove the unused services from the role's policies (see the least-privilege suggestion).",
        [LAST_ACCESSED], reads [I::IdentityPolicies, I::LastAccessed];

    Unused003 = "RS-UNUSED-003",
        C::UnusedAccess,
        S::Medium,
        "Grants far wider than observed use",
        "Apply the least-privilege suggestion: remediation/<account>/<role-name>/ holds its policies, an apply.sh and a CloudFormation snippet (docs/least-privilege.md).",
        [LAST_ACCESSED], reads [I::IdentityPolicies, I::LastAccessed];

    Valid001 = "RS-VALID-001",
        C::PolicyValidation,
        S::Medium,
        "Policy document cannot be evaluated",
        "Fix the document; rolescope judged the role without it, so its permissions may be understated.",
        [GRAMMAR], reads [I::IdentityPolicies, I::ResourcePolicy];

    Valid002 = "RS-VALID-002",
        C::PolicyValidation,
        S::Low,
        "Action matches nothing in the action catalog",
        "Fix the typo or remove the action; an action that matches nothing grants nothing.",
        [GRAMMAR], reads [I::IdentityPolicies, I::ResourcePolicy];

    Valid003 = "RS-VALID-003",
        C::PolicyValidation,
        S::Info,
        "Policy without Version 2012-10-17",
        "Add \"Version\": \"2012-10-17\"; without it policy variables are not substituted.",
        [GRAMMAR], reads [I::IdentityPolicies, I::ResourcePolicy];

    Valid004 = "RS-VALID-004",
        C::PolicyValidation,
        S::Low,
        "Resource ARN matches no resource type of the statement's actions",
        "Use the ARN format of the resources the actions work on (see the Service Authorization Reference); as written, the statement grants nothing on that resource.",
        [GRAMMAR], reads [I::IdentityPolicies, I::ResourcePolicy];

    Valid005 = "RS-VALID-005",
        C::PolicyValidation,
        S::Medium,
        "Condition value its operator cannot read",
        "Fix the value (an IP address or CIDR block, an ISO 8601 date, a finite number): as written the condition matches nothing, so a Deny carrying it never applies and an Allow grants nothing.",
        [GRAMMAR], reads [I::IdentityPolicies, I::ResourcePolicy];

    Secret001 = "RS-SECRET-001",
        C::SecretsInEnvironment,
        S::High,
        "Environment variable value looks like a secret",
        "Move the value to Secrets Manager or SSM Parameter Store (SecureString) and read it at run time, then rotate it: anyone allowed lambda:GetFunctionConfiguration has been able to read it. rolescope saw the value only at the API edge and kept none of it.",
        [LAMBDA_SECRETS], reads [];

    Aa001 = "RS-AA-001",
        C::AccessAnalyzer,
        S::High,
        "Active IAM Access Analyzer finding",
        "Review the finding in IAM Access Analyzer and archive or fix it.",
        [ANALYZER], reads [I::AccessAnalyzer];
}

/// Below this share of its grant supported by evidence, a role's grant is far wider than its use
/// (RS-UNUSED-003), when the suggestion also removes at least [`WIDER_MIN_REMOVED`] actions.
pub const WIDER_SHARE: f64 = 0.5;
/// See [`WIDER_SHARE`].
pub const WIDER_MIN_REMOVED: usize = 10;

/// RS-UNUSED-003: a role the trail covered whose resource-scoped suggestion removes most of
/// what it is granted.
pub fn wider_than_used(role: &Role, s: &crate::least::Suggestion) -> Option<crate::Finding> {
    let e = &s.evidence;
    let far = s.status == crate::least::Status::Suggested
        && s.basis == Some(crate::least::Basis::Cloudtrail)
        && e.share() < WIDER_SHARE
        && e.removed_actions() >= WIDER_MIN_REMOVED;
    far.then(|| {
        crate::Finding::new(
            check(CheckId::Unused003),
            &role.account_id,
            None,
            &role.arn,
            "",
            format!(
                "{}: the trail supports {} of {} granted actions ({:.0}%); the suggestion removes {}",
                role.name,
                e.supported_actions,
                e.allowed_actions,
                e.share() * 100.0,
                e.removed_actions()
            ),
            serde_json::json!({
                "supported_actions": e.supported_actions,
                "allowed_actions": e.allowed_actions,
                "removed_services": e.removed.iter().map(|(s, n, _)| serde_json::json!({"service": s, "actions": n})).collect::<Vec<_>>(),
                "unobservable_actions": e.unobservable.len(),
            }),
            None,
        )
    })
}

/// The row of a check.
pub fn check(id: CheckId) -> &'static Check {
    &CHECKS[id as usize]
}

/// AWS managed policies that grant administrator-level access.
pub const ADMIN_POLICIES: [&str; 3] = [
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/PowerUserAccess",
    "arn:aws:iam::aws:policy/IAMFullAccess",
];

/// Reads of objects, secrets and parameters: the classic exfiltration actions (RS-EXFIL-001).
pub const DATA_EXFILTRATION_ACTIONS: &[&str] = &[
    "s3:GetObject",
    "secretsmanager:GetSecretValue",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
];

/// Bulk data reads (RS-EXFIL-002): decrypting, reading whole tables, copying databases.
pub const BULK_READ_ACTIONS: &[&str] = &[
    "dynamodb:BatchGetItem",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "kms:Decrypt",
    "rds:CopyDBSnapshot",
    "rds:CreateDBSnapshot",
];

/// Actions whose responses carry credentials, tokens or passwords (from the AWS API references).
pub const CREDENTIAL_ACTIONS: &[&str] = &[
    "airflow:CreateCliToken",
    "airflow:CreateWebLoginToken",
    "appsync:CreateApiKey",
    "chime:CreateApiKey",
    "cloud9:CreateEnvironmentToken",
    "codeartifact:GetAuthorizationToken",
    "codepipeline:PollForJobs",
    "cognito-identity:GetCredentialsForIdentity",
    "cognito-identity:GetOpenIdToken",
    "cognito-identity:GetOpenIdTokenForDeveloperIdentity",
    "connect:GetFederationToken",
    "ec2:GetPasswordData",
    "ecr-public:GetAuthorizationToken",
    "ecr:GetAuthorizationToken",
    "emr-containers:GetManagedEndpointSessionCredentials",
    "finspace-api:GetProgrammaticAccessCredentials",
    "gamelift:GetComputeAccess",
    "gamelift:GetComputeAuthToken",
    "gamelift:GetInstanceAccess",
    "gamelift:RequestUploadCredentials",
    "grafana:CreateWorkspaceApiKey",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:CreateServiceSpecificCredential",
    "iam:ResetServiceSpecificCredential",
    "iam:UpdateAccessKey",
    "license-manager:GetAccessToken",
    "lightsail:CreateBucketAccessKey",
    "lightsail:DownloadDefaultKeyPair",
    "lightsail:GetInstanceAccessDetails",
    "lightsail:GetRelationalDatabaseMasterUserPassword",
    "mediapackage:RotateChannelCredentials",
    "mediapackage:RotateIngestEndpointCredentials",
    "rds-db:connect",
    "redshift-serverless:GetCredentials",
    "redshift:GetClusterCredentials",
    "redshift:GetClusterCredentialsWithIAM",
    "sts:AssumeRole",
    "sts:AssumeRoleWithSAML",
    "sts:AssumeRoleWithWebIdentity",
    "sts:GetFederationToken",
    "sts:GetSessionToken",
];

/// Settings of the analysis.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Roles unused this long are reported.
    pub unused_days: i64,
    /// A role shared by more functions than this is reported.
    pub shared_role_threshold: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            unused_days: 90,
            shared_role_threshold: 5,
        }
    }
}

/// What the checks need to know about one role.
#[derive(Debug)]
pub struct RoleFacts<'a> {
    /// The role.
    pub role: &'a Role,
    /// Its parsed policies.
    pub policies: &'a RolePolicies,
    /// Effective permissions.
    pub summary: &'a Summary,
    /// Functions using it.
    pub functions: &'a [&'a Function],
    /// Last-accessed rows, if collected.
    pub last_accessed: &'a [&'a LastAccessed],
    /// A Lambda execution role ([`crate::evaluate::is_lambda_role`]).
    pub is_lambda: bool,
    /// Granted services unused within the window, when last-accessed data exists.
    pub unused_services: Option<&'a [&'a str]>,
    /// Reference time (the scan's end) for "recently".
    pub now: Timestamp,
}

impl<'a> RoleFacts<'a> {
    /// The facts of an evaluated role.
    pub fn of(r: &'a crate::EvaluatedRole<'a>, now: Timestamp) -> Self {
        RoleFacts {
            role: r.role,
            policies: &r.policies,
            summary: &r.summary,
            functions: &r.functions,
            last_accessed: &r.last_accessed,
            is_lambda: r.is_lambda,
            unused_services: r.unused_services.as_deref(),
            now,
        }
    }
}

fn unrestricted(stmt: &Statement) -> bool {
    stmt.is_unconditional()
        && stmt
            .resources
            .as_ref()
            .is_some_and(|r| !r.negated && r.patterns.iter().any(|p| p == "*"))
}

/// Actions effectively allowed through at least one unconditional statement on `Resource: *`,
/// with how they end up.
fn unrestricted_grants<'s>(
    facts: &'s RoleFacts<'_>,
) -> impl Iterator<Item = &'s rolescope_policy::summary::Grant> + 's {
    // Each identity statement judged once, not once for every action it grants (an
    // administrator role's one statement grants ~22,000).
    let open: Vec<Vec<bool>> = facts
        .policies
        .identity
        .iter()
        .map(|(_, p)| p.statements.iter().map(unrestricted).collect())
        .collect();
    facts.summary.grants.iter().filter(move |g| {
        g.granted_by.iter().any(|(pi, si)| {
            open.get(*pi as usize)
                .and_then(|p| p.get(*si as usize))
                .is_some_and(|open| *open)
        })
    })
}

fn mitigation_str(m: Mitigation) -> &'static str {
    match m {
        Mitigation::PermissionBoundary => "permission_boundary",
        Mitigation::Scp => "scp",
        Mitigation::ExplicitDeny => "explicit_deny",
    }
}

fn mitigation_name(status: GrantStatus) -> Option<String> {
    match status {
        GrantStatus::Allowed | GrantStatus::AllowedUnderConditions => None,
        GrantStatus::BlockedByBoundary => Some("permission_boundary".into()),
        GrantStatus::BlockedByScp => Some("scp".into()),
        GrantStatus::ExplicitlyDenied => Some("explicit_deny".into()),
    }
}

fn principals(s: &Statement) -> Vec<(PrincipalKind, &str)> {
    match &s.principal {
        Some(PrincipalSpec::Any) => vec![(PrincipalKind::Aws, "*")],
        Some(PrincipalSpec::Map(m)) => m
            .iter()
            .flat_map(|(k, ids)| ids.iter().map(move |id| (k.clone(), id.as_str())))
            .collect(),
        None => vec![],
    }
}

fn has_condition(s: &Statement, keys: &[&str]) -> bool {
    s.conditions
        .iter()
        .any(|c| keys.iter().any(|k| c.key.eq_ignore_ascii_case(k)))
}

/// The account id in a principal (`123456789012`, `arn:aws:iam::123456789012:root`, role ARNs).
fn principal_account(id: &str) -> Option<&str> {
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        return Some(id);
    }
    id.split(':').nth(4).filter(|a| a.len() == 12)
}

/// The check of an id, if rolescope has it.
pub fn check_by_id(id: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.id == id)
}

/// docs/checks.md, generated from [`CHECKS`].
pub fn checks_markdown() -> String {
    let mut out = String::from(
        "# Checks\n\n<!-- Generated from crates/analysis/src/checks.rs by the `checks_doc_is_current` test;\n     regenerate with `UPDATE_DOCS=1 cargo test -p rolescope-analysis checks_doc`. -->\n\n\
         Every finding names its check. A finding whose risk a permission boundary, an SCP or an explicit\n\
         deny blocks is reported with severity `info` and `mitigated_by` set to the gate that blocks it.\n\n\
         The *reads* column names what a check reads beyond the listing of its resource. The scan\n\
         history carries a finding forward unresolved only when one of those inputs could not be read\n\
         (docs/history.md).\n\n\
         | id | category | severity | title | reads | remediation |\n|---|---|---|---|---|---|\n",
    );
    for c in CHECKS {
        let reads: Vec<&str> = c.reads.iter().map(|i| i.as_str()).collect();
        out.push_str(&format!(
            "| `{}` | `{}` | {} | {} | {} | {} |\n",
            c.id,
            c.category.as_str(),
            c.severity.as_str(),
            c.title,
            if reads.is_empty() {
                "listing only".to_string()
            } else {
                reads.join(", ")
            },
            c.remediation.replace('|', "\\|")
        ));
    }
    let list = |actions: &[&str]| {
        actions
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    out.push_str("\n## Action lists\n\n");
    out.push_str(&format!(
        "RS-EXFIL-001, data exfiltration (on `Resource: *`): {}.\n\n",
        list(DATA_EXFILTRATION_ACTIONS)
    ));
    out.push_str(&format!(
        "RS-EXFIL-002, bulk reads (on `Resource: *`): {}.\n\n",
        list(BULK_READ_ACTIONS)
    ));
    out.push_str(&format!(
        "RS-CREDS-001, credentials exposure (on `Resource: *`): {}.\n\n",
        list(CREDENTIAL_ACTIONS)
    ));
    out.push_str(
        "RS-EXPOSE-001, resource exposure: every Permissions-management action that supports resource \
         types, granted on `Resource: *` without conditions.\n\n\
         RS-INFRA-001, infrastructure modification: every Write action that supports resource types, \
         granted on `Resource: *` without conditions.\n",
    );
    out.push_str(&format!(
        "\n## How exposure is decided (RS-PUBLIC-001 to 004)\n\n\
         rolescope decides who can call a function as IAM Access Analyzer does: it evaluates requests \
         with its policy engine. It never judges a statement by its shape.\n\n\
         Each resource policy is evaluated on its own: the function's (`$LATEST`), and each version's \
         and alias's. The caller side is granted everything, so the resource policy alone decides. \
         Its Deny statements, `NotPrincipal` and conditions count as AWS counts them. A policy read \
         with GetResourcePolicy can be any document, not only what AddPermission writes.\n\n\
         - **RS-PUBLIC-001**: a principal of an account outside the organization can call the \
         function. Two such callers are tried: one in no organization, one in a foreign one. \
         Their requests carry `aws:PrincipalAccount`, `aws:PrincipalArn`, `aws:SourceIp` \
         (203.0.113.10) and `aws:SecureTransport`. They carry no `aws:SourceAccount`, \
         `aws:SourceArn` or `aws:SourceVpc`, as a direct call does not. The actions tried: {}; \
         with an `AWS_IAM` URL, also the URL pair below (`url` in the finding).\n\
         - **RS-PUBLIC-002**: each account the policy names (as a principal or in \
         `aws:PrincipalAccount`) is tried as a principal of that account. An account of the \
         organization carries its `aws:PrincipalOrgID` and `aws:PrincipalOrgPaths`. Severity \
         high outside the organization, medium inside. Not reported when RS-PUBLIC-001 is.\n\
         - **RS-PUBLIC-003**: a URL with `AuthType NONE` whose policy lets an anonymous caller \
         through. That takes both `lambda:InvokeFunctionUrl` (with `lambda:FunctionUrlAuthType` \
         `NONE`) and `lambda:InvokeFunction` (with `lambda:InvokedViaFunctionUrl` `true`). The \
         exception for URLs created before October 2025 ended on 1 November 2026 (AWS Lambda \
         developer guide, \"Control access to Lambda function URLs\").\n\
         - **RS-PUBLIC-004** (info): a URL with `AuthType NONE` that no one can invoke: no policy, or \
         one that lacks either action. It is broken or half-migrated, not exposed.\n\n\
         A policy that could not be read gives no verdict: the function's `public_access` is null, \
         not false. moto writes the unqualified function's policy on `…:function:name:$LATEST`; \
         rolescope reads that form as the unqualified function.\n",
        exposure::FUNCTION_ACTIONS
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    out
}

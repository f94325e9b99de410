//! The checks. Each is a row of [`CHECKS`]; the functions below produce their findings.

use crate::findings::{Category as C, Check, Finding, Severity as S};
use crate::inputs::{RolePolicies, Source};
use crate::privesc::{Mitigation, escalation_paths};
use rolescope_model::{AccessFinding, Function, LastAccessed, Role, Timestamp};
use rolescope_policy::document::{PolicyVersion, PrincipalKind, PrincipalSpec, Statement};
use rolescope_policy::summary::{GrantStatus, Summary};
use rolescope_policy::{AccessLevel, Catalog, Effect, Policy};
use serde_json::json;
use std::collections::BTreeSet;

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
const ANALYZER: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/what-is-access-analyzer.html";

macro_rules! check {
    ($id:literal, $cat:expr, $sev:expr, $title:literal, $fix:literal, [$($r:expr),*]) => {
        Check { id: $id, category: $cat, severity: $sev, title: $title, remediation: $fix, references: &[$($r),*] }
    };
}

/// Every check rolescope runs.
pub static CHECKS: &[Check] = &[
    check!(
        "RS-ADMIN-001",
        C::AdminAccess,
        S::Critical,
        "Administrator-level AWS managed policy attached",
        "Replace AdministratorAccess / PowerUserAccess / IAMFullAccess with a policy scoped to what the function uses.",
        [IAM_BP]
    ),
    check!(
        "RS-ADMIN-002",
        C::AdminAccess,
        S::Critical,
        "Full administrator access (*:* on *) is effective",
        "Remove the Allow * statement; grant only the actions and resources the function needs.",
        [IAM_BP]
    ),
    check!(
        "RS-WILDCARD-001",
        C::ServiceWildcard,
        S::Medium,
        "All actions of a service allowed (service:*)",
        "List the actions the function calls instead of service:*.",
        [IAM_BP]
    ),
    check!(
        "RS-PRIVESC-001",
        C::PrivilegeEscalation,
        S::High,
        "Privilege escalation path",
        "Remove one of the path's actions, or scope iam:PassRole and the IAM write actions to specific resources; a permission boundary that denies them mitigates the path.",
        [AWS_PRIVESC, BOUNDARIES]
    ),
    check!(
        "RS-EXFIL-001",
        C::DataExfiltration,
        S::Medium,
        "Object, secret or parameter reads on all resources",
        "Scope s3:GetObject, secretsmanager:GetSecretValue and ssm:GetParameter* to the objects, secrets and parameters the function owns.",
        [IAM_BP]
    ),
    check!(
        "RS-EXFIL-002",
        C::DataExfiltration,
        S::Low,
        "Bulk data reads on all resources (decrypt, table reads, snapshots)",
        "Scope kms:Decrypt to the function's keys, DynamoDB reads to its tables, and remove database snapshot actions.",
        [IAM_BP]
    ),
    check!(
        "RS-EXPOSE-001",
        C::ResourceExposure,
        S::High,
        "Permissions-management actions on all resources",
        "Actions such as s3:PutBucketPolicy, lambda:AddPermission or kms:PutKeyPolicy can expose resources publicly; remove them or scope them.",
        [IAM_BP]
    ),
    check!(
        "RS-CREDS-001",
        C::CredentialsExposure,
        S::High,
        "Actions that return credentials on all resources",
        "Remove actions that mint or return credentials (iam:CreateAccessKey, sts:AssumeRole on *, ecr:GetAuthorizationToken, …) or scope them.",
        [IAM_BP]
    ),
    check!(
        "RS-INFRA-001",
        C::InfrastructureModification,
        S::Low,
        "Write actions on all resources",
        "Scope write actions to the resources the function manages.",
        [IAM_BP]
    ),
    check!(
        "RS-TRUST-001",
        C::TrustPolicy,
        S::Critical,
        "Role assumable by any principal",
        "Replace Principal * in the trust policy with the principals that need the role.",
        [CONFUSED]
    ),
    check!(
        "RS-TRUST-002",
        C::TrustPolicy,
        S::Medium,
        "Role assumable from another account without a guarding condition",
        "Add sts:ExternalId, aws:PrincipalOrgID or aws:PrincipalArn conditions, or remove the cross-account principal.",
        [CONFUSED]
    ),
    check!(
        "RS-TRUST-003",
        C::TrustPolicy,
        S::Low,
        "Lambda execution role also trusted by other services",
        "Give each service its own role; a shared role widens the blast radius of every function that uses it.",
        [IAM_BP]
    ),
    check!(
        "RS-TRUST-004",
        C::TrustPolicy,
        S::Low,
        "Service trust without aws:SourceAccount or aws:SourceArn",
        "Add an aws:SourceAccount (or aws:SourceArn) condition to the service principal's statement to prevent the confused deputy problem.",
        [CONFUSED]
    ),
    check!(
        "RS-TRUST-005",
        C::TrustPolicy,
        S::Low,
        "Lambda execution role used by no function",
        "Delete the role, or confirm which workload uses it.",
        [IAM_BP]
    ),
    check!(
        "RS-TRUST-006",
        C::TrustPolicy,
        S::Medium,
        "Execution role shared by many functions",
        "Give functions their own roles so each holds only what it needs.",
        [IAM_BP]
    ),
    check!(
        "RS-PUBLIC-001",
        C::PublicAccess,
        S::Critical,
        "Function invocable by anyone (resource policy Principal *)",
        "Remove the statement, or add aws:SourceAccount / aws:SourceArn / aws:PrincipalOrgID conditions.",
        [LAMBDA_RBP]
    ),
    check!(
        "RS-PUBLIC-002",
        C::PublicAccess,
        S::Medium,
        "Function policy grants another account without conditions",
        "Add aws:SourceArn / aws:PrincipalOrgID conditions or remove the grant.",
        [LAMBDA_RBP]
    ),
    check!(
        "RS-PUBLIC-003",
        C::PublicAccess,
        S::High,
        "Function URL without authentication (AuthType NONE)",
        "Use AuthType AWS_IAM, or authenticate in the function and document why the URL is public.",
        [URL_AUTH]
    ),
    check!(
        "RS-LAYER-001",
        C::PublicAccess,
        S::Low,
        "Function uses a layer from another account",
        "Vendor the layer into your own account or pin and review it: its code runs with the function's role.",
        [LAMBDA_RBP]
    ),
    check!(
        "RS-BOUNDARY-001",
        C::PermissionBoundary,
        S::Low,
        "Lambda execution role without a permission boundary",
        "Attach the organization's Lambda permission boundary.",
        [BOUNDARIES]
    ),
    check!(
        "RS-BOUNDARY-002",
        C::PermissionBoundary,
        S::High,
        "Permission boundary does not constrain the role",
        "The boundary allows *:* or leaves a privilege-escalation path open; narrow it.",
        [BOUNDARIES]
    ),
    check!(
        "RS-UNUSED-001",
        C::UnusedAccess,
        S::Low,
        "Role not used recently",
        "Delete roles that are not used, or confirm their owner.",
        [LAST_ACCESSED]
    ),
    check!(
        "RS-UNUSED-002",
        C::UnusedAccess,
        S::Low,
        "Services granted but not used",
        "Remove the unused services from the role's policies (see the least-privilege suggestion).",
        [LAST_ACCESSED]
    ),
    check!(
        "RS-VALID-001",
        C::PolicyValidation,
        S::Medium,
        "Policy document cannot be evaluated",
        "Fix the document; rolescope judged the role without it, so its permissions may be understated.",
        [GRAMMAR]
    ),
    check!(
        "RS-VALID-002",
        C::PolicyValidation,
        S::Low,
        "Action matches nothing in the action catalog",
        "Fix the typo or remove the action; an action that matches nothing grants nothing.",
        [GRAMMAR]
    ),
    check!(
        "RS-VALID-003",
        C::PolicyValidation,
        S::Info,
        "Policy without Version 2012-10-17",
        "Add \"Version\": \"2012-10-17\"; without it policy variables are not substituted.",
        [GRAMMAR]
    ),
    check!(
        "RS-VALID-004",
        C::PolicyValidation,
        S::Low,
        "Resource ARN matches no resource type of the statement's actions",
        "Use the ARN format of the resources the actions work on (see the Service Authorization Reference); as written, the statement grants nothing on that resource.",
        [GRAMMAR]
    ),
    check!(
        "RS-AA-001",
        C::AccessAnalyzer,
        S::High,
        "Active IAM Access Analyzer finding",
        "Review the finding in IAM Access Analyzer and archive or fix it.",
        [ANALYZER]
    ),
];

/// The check with this id.
pub fn check(id: &str) -> &'static Check {
    CHECKS
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("unknown check {id}"))
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
    facts.summary.grants.iter().filter(move |g| {
        g.granted_by.iter().any(|(pi, si)| {
            facts
                .policies
                .identity
                .get(*pi as usize)
                .and_then(|(_, p)| p.statements.get(*si as usize))
                .is_some_and(unrestricted)
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

/// Every role-level finding.
pub fn role_findings(cat: &Catalog, facts: &RoleFacts<'_>, settings: &Settings) -> Vec<Finding> {
    let role = facts.role;
    let acct = &role.account_id;
    let arn = role.arn.as_str();
    let mut out = Vec::new();
    let is_lambda_role = facts.is_lambda;

    // Admin policies attached.
    for admin in ADMIN_POLICIES {
        if role.attached_policy_arns.iter().any(|a| a == admin) {
            let name = admin.rsplit('/').next().unwrap_or(admin);
            out.push(Finding::new(
                check("RS-ADMIN-001"),
                acct,
                None,
                arn,
                admin,
                format!("{} has {name} attached", role.name),
                json!({"policy_arn": admin}),
                None,
            ));
        }
    }

    // Effective *:*.
    let star = facts.policies.identity.iter().find_map(|(src, p)| {
        p.statements
            .iter()
            .position(|s| {
                s.effect == Effect::Allow
                    && !s.actions.negated
                    && s.actions.patterns.iter().any(|a| a == "*")
                    && unrestricted(s)
            })
            .map(|i| (src, i))
    });
    if let Some((src, stmt)) = star {
        let allowed = facts.summary.allowed().count();
        let share = allowed as f64 / cat.len().max(1) as f64;
        let mitigated = (share < 0.9).then(|| {
            if facts.policies.boundary.is_some() {
                "permission_boundary".to_string()
            } else {
                "scp".to_string()
            }
        });
        out.push(Finding::new(check("RS-ADMIN-002"), acct, None, arn, "*",
            format!("{} allows *:* ({} of {} actions effectively allowed)", role.name, allowed, cat.len()),
            json!({"policy": src.label(), "statement": stmt, "allowed_actions": allowed, "catalog_actions": cat.len()}),
            mitigated));
    }

    // service:* wildcards.
    let mut wildcard_services = BTreeSet::new();
    for (src, p) in &facts.policies.identity {
        for s in p
            .statements
            .iter()
            .filter(|s| s.effect == Effect::Allow && !s.actions.negated && s.is_unconditional())
        {
            for pat in &s.actions.patterns {
                if let Some(service) = pat.strip_suffix(":*") {
                    wildcard_services
                        .insert((service.to_ascii_lowercase(), src.label().to_string()));
                }
            }
        }
    }
    for (service, src) in wildcard_services {
        out.push(Finding::new(
            check("RS-WILDCARD-001"),
            acct,
            None,
            arn,
            &service,
            format!("{} allows {service}:*", role.name),
            json!({"service": service, "policy": src}),
            None,
        ));
    }

    // Privilege escalation, judged on effective permissions: one finding for the live paths,
    // one (info) for the paths a gate blocks, each listing the methods and their actions.
    let paths = escalation_paths(cat, facts.summary);
    let (live, blocked): (Vec<_>, Vec<_>) = paths.iter().partition(|p| p.live);
    let describe = |p: &crate::privesc::Path| {
        json!({
            "method": p.method,
            "actions": p.actions,
            "conditional": p.conditional,
            "mitigated_by": p.mitigated_by.map(mitigation_str),
        })
    };
    if !live.is_empty() {
        let names: Vec<&str> = live.iter().map(|p| p.method.as_str()).collect();
        let mut f = Finding::new(
            check("RS-PRIVESC-001"),
            acct,
            None,
            arn,
            "live",
            format!(
                "{}: {} privilege escalation path(s), e.g. {}",
                role.name,
                live.len(),
                names.iter().take(3).copied().collect::<Vec<_>>().join(", ")
            ),
            json!({"paths": live.iter().map(|p| describe(p)).collect::<Vec<_>>()}),
            None,
        );
        // Paths that need no condition and no particular resource are the ones an attacker walks
        // today; paths that only work on some resources or under conditions rank lower.
        let unconditional = live.iter().filter(|p| !p.conditional).count();
        if unconditional >= 5 {
            f.severity = S::Critical;
        } else if unconditional == 0 {
            f.severity = S::Medium;
        }
        out.push(f);
    }
    if !blocked.is_empty() {
        let gate = blocked[0]
            .mitigated_by
            .map(mitigation_str)
            .unwrap_or("explicit_deny");
        out.push(Finding::new(
            check("RS-PRIVESC-001"),
            acct,
            None,
            arn,
            "mitigated",
            format!(
                "{}: {} privilege escalation path(s) blocked by {gate}",
                role.name,
                blocked.len()
            ),
            json!({"paths": blocked.iter().map(|p| describe(p)).collect::<Vec<_>>()}),
            Some(gate.to_string()),
        ));
    }

    // Category lists over unrestricted grants.
    let listed =
        |list: &[&str]| -> BTreeSet<u32> { list.iter().filter_map(|a| cat.action_id(a)).collect() };
    let exfil = listed(DATA_EXFILTRATION_ACTIONS);
    let bulk = listed(BULK_READ_ACTIONS);
    let creds = listed(CREDENTIAL_ACTIONS);
    let mut buckets: [(&str, Vec<(String, GrantStatus)>); 5] = [
        ("RS-EXFIL-001", vec![]),
        ("RS-EXFIL-002", vec![]),
        ("RS-EXPOSE-001", vec![]),
        ("RS-CREDS-001", vec![]),
        ("RS-INFRA-001", vec![]),
    ];
    for g in unrestricted_grants(facts) {
        let action = &cat.actions[g.action as usize];
        let name = action.full_name.clone();
        // Actions that support no resource type can only ever be granted on `*`: that is not a
        // missing constraint, so the access-level categories skip them.
        let restrictable = !action.resource_types.is_empty();
        if exfil.contains(&g.action) {
            buckets[0].1.push((name.clone(), g.status));
        }
        if bulk.contains(&g.action) {
            buckets[1].1.push((name.clone(), g.status));
        }
        // Credential-returning actions are reported as credentials exposure, not twice.
        if restrictable
            && action.level() == AccessLevel::PermissionsManagement
            && !creds.contains(&g.action)
        {
            buckets[2].1.push((name.clone(), g.status));
        }
        if creds.contains(&g.action) {
            buckets[3].1.push((name.clone(), g.status));
        }
        if restrictable && action.level() == AccessLevel::Write {
            buckets[4].1.push((name, g.status));
        }
    }
    for (id, actions) in buckets {
        if actions.is_empty() {
            continue;
        }
        // Live: allowed on every resource with no condition left. Narrowed: still allowed, but a
        // deny on some resources, a condition or a partial gate limits it.
        let live: Vec<&str> = actions
            .iter()
            .filter(|(_, s)| *s == GrantStatus::Allowed)
            .map(|(a, _)| a.as_str())
            .collect();
        let narrowed: Vec<&str> = actions
            .iter()
            .filter(|(_, s)| *s == GrantStatus::AllowedUnderConditions)
            .map(|(a, _)| a.as_str())
            .collect();
        let mitigated = (live.is_empty() && narrowed.is_empty())
            .then(|| mitigation_name(actions[0].1))
            .flatten();
        let shown: Vec<&str> = if !live.is_empty() {
            live.clone()
        } else if !narrowed.is_empty() {
            narrowed.clone()
        } else {
            actions.iter().map(|(a, _)| a.as_str()).collect()
        };
        let c = check(id);
        let lower = live.is_empty() && !narrowed.is_empty() && c.severity < S::Low;
        out.push(Finding::new(
            c,
            acct,
            None,
            arn,
            "",
            format!(
                "{}: {} ({} actions)",
                role.name,
                c.title.to_lowercase(),
                shown.len()
            ),
            json!({
                "actions": shown.iter().take(50).collect::<Vec<_>>(),
                "count": shown.len(),
                "narrowed": live.is_empty() && !narrowed.is_empty(),
            }),
            mitigated,
        ));
        if lower && let Some(last) = out.last_mut() {
            last.severity = S::Low;
        }
    }

    // Trust policy.
    if let Some(trust) = &facts.policies.trust {
        trust_findings(facts, trust, is_lambda_role, &mut out);
    }
    if is_lambda_role && facts.functions.is_empty() {
        out.push(Finding::new(
            check("RS-TRUST-005"),
            acct,
            None,
            arn,
            "",
            format!(
                "{} trusts Lambda but no scanned function uses it",
                role.name
            ),
            json!({}),
            None,
        ));
    }
    if facts.functions.len() > settings.shared_role_threshold {
        let names: Vec<&str> = facts.functions.iter().map(|f| f.arn.as_str()).collect();
        out.push(Finding::new(
            check("RS-TRUST-006"),
            acct,
            None,
            arn,
            "",
            format!("{} is shared by {} functions", role.name, names.len()),
            json!({"functions": names}),
            None,
        ));
    }

    // Boundary.
    if is_lambda_role {
        match &facts.policies.boundary {
            None => out.push(Finding::new(
                check("RS-BOUNDARY-001"),
                acct,
                None,
                arn,
                "",
                format!("{} has no permission boundary", role.name),
                json!({}),
                None,
            )),
            Some(b) => {
                let allows_all = b.statements.iter().any(|s| {
                    s.effect == Effect::Allow
                        && !s.actions.negated
                        && s.actions.patterns.iter().any(|a| a == "*")
                        && unrestricted(s)
                });
                let live_paths: Vec<&str> = paths
                    .iter()
                    .filter(|p| p.live)
                    .map(|p| p.method.as_str())
                    .collect();
                if allows_all || !live_paths.is_empty() {
                    out.push(Finding::new(check("RS-BOUNDARY-002"), acct, None, arn, "",
                        format!("{}'s boundary {} does not constrain it", role.name, role.boundary_arn.as_deref().unwrap_or("")),
                        json!({"boundary_arn": role.boundary_arn, "allows_all": allows_all, "live_escalation_paths": live_paths}), None));
                }
            }
        }
    }

    // Unused.
    let horizon = settings.unused_days * 86_400_000;
    let idle_since = role.last_used_at.or(role.created_at);
    if let Some(since) = idle_since
        && facts.now.millis - since.millis > horizon
    {
        out.push(Finding::new(check("RS-UNUSED-001"), acct, None, arn, "",
            format!("{} not used for {} days", role.name, (facts.now.millis - since.millis) / 86_400_000),
            json!({"last_used_at": role.last_used_at.map(|t| t.to_rfc3339()), "created_at": role.created_at.map(|t| t.to_rfc3339())}), None));
    }
    if let Some(unused) = facts.unused_services
        && !unused.is_empty()
    {
        {
            out.push(Finding::new(
                check("RS-UNUSED-002"),
                acct,
                None,
                arn,
                "",
                format!(
                    "{}: {} granted services unused for {} days",
                    role.name,
                    unused.len(),
                    settings.unused_days
                ),
                json!({"services": unused}),
                None,
            ));
        }
    }

    // Validation.
    for u in &facts.policies.unusable {
        out.push(Finding::new(
            check("RS-VALID-001"),
            acct,
            None,
            arn,
            &u.what,
            format!("{}: {} cannot be evaluated", role.name, u.what),
            json!({"policy": u.what, "reason": u.reason}),
            None,
        ));
    }
    for (src, p) in &facts.policies.identity {
        validation_findings(cat, role, src, p, &mut out);
    }
    out
}

fn validation_findings(
    cat: &Catalog,
    role: &Role,
    src: &Source,
    p: &Policy,
    out: &mut Vec<Finding>,
) {
    // AWS managed policies are AWS's to fix: validation covers the policies users write.
    if let Source::Managed(arn) = src
        && arn.contains(":iam::aws:policy/")
    {
        return;
    }
    let acct = &role.account_id;
    for (i, s) in p.statements.iter().enumerate() {
        for pat in &s.actions.patterns {
            if pat != "*" && cat.expand(pat).is_empty() {
                out.push(Finding::new(
                    check("RS-VALID-002"),
                    acct,
                    None,
                    &role.arn,
                    &format!("{}#{i}#{pat}", src.label()),
                    format!(
                        "{}: {pat} in {} matches no known action",
                        role.name,
                        src.label()
                    ),
                    json!({"policy": src.label(), "statement": i, "action": pat}),
                    None,
                ));
            }
        }
    }
    for (i, stmt) in p.statements.iter().enumerate() {
        for pattern in resource_type_mismatches(cat, stmt) {
            out.push(Finding::new(
                check("RS-VALID-004"),
                acct,
                None,
                &role.arn,
                &format!("{}#{i}#{pattern}", src.label()),
                format!(
                    "{}: {pattern} in {} fits none of the statement's actions",
                    role.name,
                    src.label()
                ),
                json!({"policy": src.label(), "statement": i, "resource": pattern}),
                None,
            ));
        }
    }
    if p.version != PolicyVersion::V2012_10_17 {
        out.push(Finding::new(
            check("RS-VALID-003"),
            acct,
            None,
            &role.arn,
            src.label(),
            format!("{}: {} has no Version 2012-10-17", role.name, src.label()),
            json!({"policy": src.label()}),
            None,
        ));
    }
}

/// Resource ARNs of an Allow statement whose service segment matches no resource type of any
/// of the statement's actions (for example an S3 ARN with `sts:AssumeRole`). Such a resource can
/// never match a request for those actions.
fn resource_type_mismatches<'s>(cat: &Catalog, stmt: &'s Statement) -> Vec<&'s str> {
    let Some(resources) = stmt.resources.as_ref().filter(|r| !r.negated) else {
        return vec![];
    };
    if stmt.effect != Effect::Allow || stmt.actions.negated {
        return vec![];
    }
    let actions = rolescope_policy::summary::expand_spec(cat, &stmt.actions);
    // Statements over whole swaths of the catalog fit nearly any ARN; not worth checking.
    if actions.is_empty() || actions.len() > 2_000 {
        return vec![];
    }
    let mut services: BTreeSet<&str> = BTreeSet::new();
    for id in actions.iter() {
        let action = &cat.actions[id as usize];
        let service = &cat.services[action.service as usize];
        // The reference lists no resource type for some actions that AWS's own policies scope to
        // ARNs anyway (ram:CreateResourceShare): no opinion on those.
        if action.resource_types.is_empty() {
            return vec![];
        }
        services.insert(service.prefix.as_str());
        for (rt, _) in &action.resource_types {
            if let Some(segment) = service
                .resource_types
                .get(*rt as usize)
                .and_then(|t| t.arn.split(':').nth(2))
            {
                services.insert(segment);
            }
        }
    }
    resources
        .patterns
        .iter()
        .filter(|p| p.starts_with("arn:"))
        .filter(|p| {
            let segment = p.split(':').nth(2).unwrap_or("");
            !segment.is_empty()
                && !segment.contains(['*', '?', '$'])
                && !services
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(segment) || s.contains('$'))
        })
        .map(String::as_str)
        .collect()
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

fn trust_findings(
    facts: &RoleFacts<'_>,
    trust: &Policy,
    is_lambda_role: bool,
    out: &mut Vec<Finding>,
) {
    let role = facts.role;
    let acct = &role.account_id;
    let arn = role.arn.as_str();
    let mut other_services = BTreeSet::new();
    for (i, s) in trust
        .statements
        .iter()
        .enumerate()
        .filter(|(_, s)| s.effect == Effect::Allow && !s.not_principal)
    {
        for (kind, id) in principals(s) {
            match kind {
                PrincipalKind::Aws if id == "*" => {
                    let guarded = has_condition(
                        s,
                        &[
                            "aws:PrincipalOrgID",
                            "aws:PrincipalAccount",
                            "aws:PrincipalArn",
                            "sts:ExternalId",
                            "aws:SourceAccount",
                        ],
                    );
                    let mut f = Finding::new(
                        check("RS-TRUST-001"),
                        acct,
                        None,
                        arn,
                        &format!("{i}"),
                        format!(
                            "{} can be assumed by any principal{}",
                            role.name,
                            if guarded { " (with conditions)" } else { "" }
                        ),
                        json!({"statement": i, "conditions": s.conditions.len()}),
                        None,
                    );
                    if guarded {
                        f.severity = S::Medium;
                    }
                    out.push(f);
                }
                PrincipalKind::Aws
                    if principal_account(id).is_some_and(|a| a != acct.as_str())
                        && !has_condition(
                            s,
                            &["sts:ExternalId", "aws:PrincipalOrgID", "aws:PrincipalArn"],
                        ) =>
                {
                    out.push(Finding::new(check("RS-TRUST-002"), acct, None, arn, id,
                        format!("{} can be assumed from {id} without ExternalId or organization condition", role.name),
                        json!({"principal": id, "statement": i}), None));
                }
                PrincipalKind::Service => {
                    if id != "lambda.amazonaws.com" && is_lambda_role {
                        other_services.insert(id.to_string());
                    }
                    if !has_condition(
                        s,
                        &["aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID"],
                    ) && id != "lambda.amazonaws.com"
                    {
                        out.push(Finding::new(
                            check("RS-TRUST-004"),
                            acct,
                            None,
                            arn,
                            id,
                            format!(
                                "{} trusts {id} without aws:SourceAccount/aws:SourceArn",
                                role.name
                            ),
                            json!({"service": id, "statement": i}),
                            None,
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    if !other_services.is_empty() {
        out.push(Finding::new(
            check("RS-TRUST-003"),
            acct,
            None,
            arn,
            "",
            format!(
                "{} is also trusted by {}",
                role.name,
                other_services
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            json!({"services": other_services}),
            None,
        ));
    }
}

/// Findings about one function: its resource policy, URLs and layers.
pub fn function_findings(f: &Function, org_accounts: &BTreeSet<&str>) -> Vec<Finding> {
    let mut out = Vec::new();
    let acct = &f.account_id;
    let region = Some(f.region.as_str());
    if let Some(doc) = &f.resource_policy {
        match Policy::parse(doc) {
            Ok(p) => {
                for (i, s) in p
                    .statements
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.effect == Effect::Allow)
                {
                    let guarded = has_condition(
                        s,
                        &[
                            "aws:SourceAccount",
                            "aws:SourceArn",
                            "aws:PrincipalOrgID",
                            "aws:SourceOrgID",
                            "aws:PrincipalAccount",
                        ],
                    );
                    // moto writes an account principal as a bare id; AWS as an ARN. Both count.
                    for (kind, id) in principals(s) {
                        if kind == PrincipalKind::Aws && id == "*" && !guarded {
                            out.push(Finding::new(check("RS-PUBLIC-001"), acct, region, &f.arn, &format!("{i}"),
                                format!("{} can be invoked by anyone", f.name),
                                json!({"statement": i, "sid": s.sid, "actions": s.actions.patterns}), None));
                        } else if kind == PrincipalKind::Aws
                            && let Some(other) =
                                principal_account(id).filter(|a| *a != acct.as_str())
                            && !guarded
                        {
                            let mut finding = Finding::new(
                                check("RS-PUBLIC-002"),
                                acct,
                                region,
                                &f.arn,
                                id,
                                format!(
                                    "{} grants {other}{}",
                                    f.name,
                                    if org_accounts.contains(other) {
                                        " (in the organization)"
                                    } else {
                                        " (outside the organization)"
                                    }
                                ),
                                json!({"principal": id, "statement": i, "in_organization": org_accounts.contains(other)}),
                                None,
                            );
                            if !org_accounts.contains(other) {
                                finding.severity = S::High;
                            }
                            out.push(finding);
                        }
                    }
                }
            }
            Err(e) => out.push(Finding::new(
                check("RS-VALID-001"),
                acct,
                region,
                &f.arn,
                "resource policy",
                format!("{}: resource policy cannot be evaluated", f.name),
                json!({"reason": e.to_string()}),
                None,
            )),
        }
    }
    for url in f.urls.iter().filter(|u| u.auth_type == "NONE") {
        out.push(Finding::new(
            check("RS-PUBLIC-003"),
            acct,
            region,
            &f.arn,
            &url.url,
            format!("{} has a public function URL", f.name),
            json!({"url": url.url}),
            None,
        ));
    }
    for layer in &f.layers {
        if let Some(owner) = layer.split(':').nth(4).filter(|o| *o != acct.as_str()) {
            out.push(Finding::new(check("RS-LAYER-001"), acct, region, &f.arn, layer,
                format!("{} uses layer {layer} from account {owner}", f.name),
                json!({"layer": layer, "owner": owner, "in_organization": org_accounts.contains(owner)}), None));
        }
    }
    out
}

/// One finding per active Access Analyzer finding.
pub fn analyzer_findings(findings: &[AccessFinding]) -> Vec<Finding> {
    findings
        .iter()
        .filter(|f| f.status == "ACTIVE")
        .map(|f| {
            let mut out = Finding::new(check("RS-AA-001"), &f.account_id, Some(&f.region), &f.resource_arn, &f.id,
                format!("Access Analyzer: {} on {}", f.finding_type, f.resource_arn),
                json!({"analyzer_finding_id": f.id, "finding_type": f.finding_type, "detail": serde_json::from_str::<serde_json::Value>(&f.detail).unwrap_or_default()}),
                None);
            if f.finding_type.starts_with("Unused") {
                out.severity = S::Low;
            }
            out
        })
        .collect()
}

/// docs/checks.md, generated from [`CHECKS`].
pub fn checks_markdown() -> String {
    let mut out = String::from(
        "# Checks\n\n<!-- Generated from crates/analysis/src/checks.rs by the `checks_doc_is_current` test;\n     regenerate with `UPDATE_DOCS=1 cargo test -p rolescope-analysis checks_doc`. -->\n\n\
         Every finding names its check. A finding whose risk a permission boundary, an SCP or an explicit\n\
         deny blocks is reported with severity `info` and `mitigated_by` set to the gate that blocks it.\n\n\
         | id | category | severity | title | remediation |\n|---|---|---|---|---|\n",
    );
    for c in CHECKS {
        out.push_str(&format!(
            "| `{}` | `{}` | {} | {} | {} |\n",
            c.id,
            c.category.as_str(),
            c.severity.as_str(),
            c.title,
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
    out
}

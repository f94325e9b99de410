//! The five guardrails, one function each: given what the scan saw at a target, a candidate
//! SCP with its rationale and evidence, or the reason it is not needed.

use super::lint::{DocumentKind, minify};
use super::usage::Observed;
use super::{
    BoundaryPolicy, GLOBAL_ACTIONS, Guardrail, PRIVILEGED_MANAGED, PROBE_REGIONS, ScpSettings,
    Target, distinct,
};
use crate::Finding;
use crate::evaluate::LAMBDA_SERVICE;
use rolescope_model::Role;
use rolescope_policy::context::Context;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::collections::HashMap;

/// A guardrail's statements with its evidence, before packing.
pub(super) struct Candidate {
    pub guardrail: Guardrail,
    pub statements: Vec<Value>,
    pub rationale: String,
    pub evidence: Value,
    /// Functions that rely on what the guardrail blocks (reported, never silently blocked).
    pub relies: BTreeSet<String>,
    /// The IAM policy the guardrail needs in each account (the approved boundary).
    pub boundary: Option<BoundaryPolicy>,
}

/// What every guardrail reads about one target.
pub(super) struct At<'x, 'a> {
    pub observed: &'x Observed<'a>,
    pub settings: &'x ScpSettings,
    pub target: &'x Target<'a>,
    /// The Lambda execution roles of the target's accounts.
    pub lambda_roles: Vec<&'a Role>,
    /// Their ARN patterns (`arn:<partition>:iam::*:role/…`).
    pub patterns: Vec<String>,
    /// Regions the target's functions run in.
    pub regions: BTreeSet<&'a str>,
    /// Live findings by account (every account of the organization).
    pub live: &'x HashMap<&'a str, Vec<(usize, &'x Finding)>>,
    /// Role analyses by account (every account of the organization).
    pub role_analyses: &'x HashMap<&'a str, Vec<&'x crate::RoleAnalysis>>,
}

/// A guardrail's verdict at a target: a candidate, or why it is not needed.
pub(super) type Verdict = Result<Candidate, String>;

impl At<'_, '_> {
    /// A condition that leaves the exempt principals alone.
    fn with_exempt(&self, mut condition: Value) -> Value {
        if !self.settings.exempt_principals.is_empty() {
            // An exempt principal given in another partition (the default names `aws`) is moved
            // to the organization's: AWS refuses a policy naming a foreign partition.
            let partition = self.observed.ev.snapshot.partition();
            let exempt: Vec<String> = self
                .settings
                .exempt_principals
                .iter()
                .map(|p| rolescope_model::in_partition(p, partition))
                .collect();
            condition["ArnNotLike"] = json!({"aws:PrincipalArn": exempt});
        }
        condition
    }

    /// Live findings of a check in the target's accounts.
    fn live(&self, check: &str) -> Vec<&Finding> {
        let mut found: Vec<(usize, &Finding)> = self
            .target
            .accounts
            .iter()
            .filter_map(|a| self.live.get(a))
            .flatten()
            .filter(|(_, f)| f.check_id == check)
            .copied()
            .collect();
        // In the analysis's order, as if filtered from it.
        found.sort_unstable_by_key(|(i, _)| *i);
        found.into_iter().map(|(_, f)| f).collect()
    }

    fn already_denied(&self, action: &str, ctx: &Context) -> bool {
        self.observed
            .already_denied(&self.target.accounts, action, ctx, &self.regions)
    }

    fn candidate(
        &self,
        guardrail: Guardrail,
        statements: Vec<Value>,
        rationale: String,
        evidence: Value,
    ) -> Candidate {
        Candidate {
            guardrail,
            statements,
            rationale,
            evidence,
            relies: BTreeSet::new(),
            boundary: None,
        }
    }
}

/// One guardrail's judge: which guardrail, and its verdict at a target.
pub(super) type Judge = fn(&At<'_, '_>) -> (Guardrail, Verdict);

/// The guardrails in the order they are judged.
pub(super) const GUARDRAILS: [Judge; 5] = [
    |at| (Guardrail::RequireBoundary, require_boundary(at)),
    |at| {
        (
            Guardrail::DenyPrivilegedLambdaRoles,
            deny_privileged_lambda_roles(at),
        )
    },
    |at| (Guardrail::DenyPublicFunctions, deny_public_functions(at)),
    |at| (Guardrail::RestrictRegions, restrict_regions(at)),
    |at| (Guardrail::DenyUnusedServices, deny_unused_services(at)),
];

/// 1. Require the approved boundary on new or changed Lambda roles.
fn require_boundary(at: &At<'_, '_>) -> Verdict {
    let without: Vec<&str> = at
        .lambda_roles
        .iter()
        .filter(|r| r.boundary_arn.is_none())
        .map(|r| r.arn.as_str())
        .collect();
    if without.is_empty() {
        return Err("every Lambda execution role already has a permission boundary".into());
    }
    if at.already_denied("iam:PutRolePermissionsBoundary", &Context::new()) {
        return Err("the existing SCPs already control permission boundaries".into());
    }
    let settings = at.settings;
    let boundary_arn = format!(
        "arn:{}:iam::*:policy/{}",
        at.observed.ev.snapshot.partition(),
        settings.boundary_name
    );
    let patterns = &at.patterns;
    let mut c = at.candidate(
        Guardrail::RequireBoundary,
        vec![
            json!({
                "Sid": "RolescopeRequireLambdaBoundary",
                "Effect": "Deny",
                "Action": ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
                "Resource": patterns,
                "Condition": at.with_exempt(json!({"StringNotLike": {"iam:PermissionsBoundary": boundary_arn}})),
            }),
            json!({
                "Sid": "RolescopeKeepLambdaBoundary",
                "Effect": "Deny",
                "Action": "iam:DeleteRolePermissionsBoundary",
                "Resource": patterns,
                "Condition": at.with_exempt(json!({})),
            }),
        ],
        format!(
            "{} of {} Lambda execution roles have no permission boundary. New or changed roles with the observed names must carry {}, which caps what any function can be granted later.",
            without.len(),
            at.lambda_roles.len(),
            settings.boundary_name
        ),
        json!({"roles_without_boundary": without, "role_patterns": patterns.len()}),
    );
    c.boundary = Some(BoundaryPolicy {
        target_id: at.target.id.clone(),
        name: settings.boundary_name.clone(),
        document: minify(&boundary_document(at.observed, &at.lambda_roles)),
    });
    Ok(c)
}

/// 2. No privileged managed policies on Lambda roles; no passing privileged roles to Lambda.
fn deny_privileged_lambda_roles(at: &At<'_, '_>) -> Verdict {
    let observed = at.observed;
    let admin: Vec<&Finding> = at
        .live("RS-ADMIN-001")
        .into_iter()
        .chain(at.live("RS-ADMIN-002"))
        .filter(|f| observed.lambda_roles.contains(f.resource_arn.as_str()))
        .collect();
    let privileged: BTreeSet<&str> = admin.iter().map(|f| f.resource_arn.as_str()).collect();
    let attached: Vec<&str> = at
        .lambda_roles
        .iter()
        .filter(|r| {
            r.attached_policy_arns.iter().any(|a| {
                PRIVILEGED_MANAGED.contains(&rolescope_model::in_partition(a, "aws").as_str())
            })
        })
        .map(|r| r.arn.as_str())
        .collect();
    if privileged.is_empty() && attached.is_empty() {
        return Err("no Lambda execution role has administrator access".into());
    }
    let mut statements = vec![json!({
        "Sid": "RolescopeDenyPrivilegedPoliciesOnLambdaRoles",
        "Effect": "Deny",
        "Action": "iam:AttachRolePolicy",
        "Resource": at.patterns,
        "Condition": at.with_exempt(json!({"ArnLike": {"iam:PolicyARN": PRIVILEGED_MANAGED
            .iter()
            .map(|a| rolescope_model::in_partition(a, at.observed.ev.snapshot.partition()))
            .collect::<Vec<_>>()}})),
    })];
    if !privileged.is_empty() {
        statements.push(json!({
            "Sid": "RolescopeDenyPassingPrivilegedRolesToLambda",
            "Effect": "Deny",
            "Action": "iam:PassRole",
            "Resource": privileged.iter().collect::<Vec<_>>(),
            "Condition": at.with_exempt(json!({"StringEquals": {"iam:PassedToService": LAMBDA_SERVICE}})),
        }));
    }
    let relies: BTreeSet<String> = privileged
        .iter()
        .flat_map(|arn| observed.ev.functions_of(arn))
        .map(|f| f.arn.clone())
        .collect();
    let mut c = at.candidate(
        Guardrail::DenyPrivilegedLambdaRoles,
        statements,
        format!(
            "{} Lambda execution roles have administrator-level access ({} with a privileged AWS managed policy attached). Attaching AdministratorAccess, PowerUserAccess or IAMFullAccess to Lambda roles is denied, and so is passing the privileged roles to Lambda; the {} functions that run as them today need a narrower role before they can be updated.",
            privileged.len().max(attached.len()),
            attached.len(),
            relies.len()
        ),
        json!({
            "privileged_roles": privileged,
            "roles_with_privileged_managed_policy": attached,
            "finding_ids": admin.iter().map(|f| &f.finding_id).collect::<Vec<_>>(),
        }),
    );
    c.relies = relies;
    Ok(c)
}

/// 3. No public function URLs or resource policies.
fn deny_public_functions(at: &At<'_, '_>) -> Verdict {
    let public: Vec<&Finding> = at
        .live("RS-PUBLIC-001")
        .into_iter()
        .chain(at.live("RS-PUBLIC-003"))
        .collect();
    let probe = Context::new().with("lambda:FunctionUrlAuthType", "NONE");
    if at.already_denied("lambda:CreateFunctionUrlConfig", &probe)
        && at.already_denied(
            "lambda:AddPermission",
            &Context::new().with("lambda:Principal", "*"),
        )
    {
        return Err("the existing SCPs already deny public function URLs and policies".into());
    }
    let relies: BTreeSet<String> = public.iter().map(|f| f.resource_arn.clone()).collect();
    let mut c = at.candidate(
        Guardrail::DenyPublicFunctions,
        vec![
            json!({
                "Sid": "RolescopeDenyPublicFunctionUrls",
                "Effect": "Deny",
                "Action": ["lambda:CreateFunctionUrlConfig", "lambda:UpdateFunctionUrlConfig"],
                "Resource": "*",
                "Condition": at.with_exempt(json!({"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}})),
            }),
            json!({
                "Sid": "RolescopeDenyPublicFunctionPolicies",
                "Effect": "Deny",
                "Action": "lambda:AddPermission",
                "Resource": "*",
                "Condition": at.with_exempt(json!({"StringEquals": {"lambda:Principal": "*"}})),
            }),
        ],
        if relies.is_empty() {
            "No function under this target is public, and the existing SCPs do not prevent it: deny creating public function URLs (AuthType NONE) and resource policies for Principal \"*\".".to_string()
        } else {
            format!(
                "{} functions are public today and rely on it: the SCP does not remove their access, but it blocks changing or re-creating it. Review them before attaching.",
                relies.len()
            )
        },
        json!({
            "public_functions": relies,
            "finding_ids": public.iter().map(|f| &f.finding_id).collect::<Vec<_>>(),
        }),
    );
    c.relies = relies;
    Ok(c)
}

/// 4. Lambda roles act only where the target runs functions.
fn restrict_regions(at: &At<'_, '_>) -> Verdict {
    let regions = &at.regions;
    let listed = || regions.iter().copied().collect::<Vec<_>>().join(", ");
    let elsewhere: BTreeSet<&str> = PROBE_REGIONS
        .iter()
        .copied()
        .filter(|r| !regions.contains(r))
        .take(1)
        .collect();
    if at.observed.already_denied(
        &at.target.accounts,
        "lambda:CreateFunction",
        &Context::new(),
        &elsewhere,
    ) {
        return Err(format!(
            "the existing SCPs already deny regional services outside {}",
            listed()
        ));
    }
    Ok(at.candidate(
        Guardrail::RestrictRegions,
        vec![json!({
            "Sid": "RolescopeLambdaRolesInTheirRegions",
            "Effect": "Deny",
            "NotAction": GLOBAL_ACTIONS,
            "Resource": "*",
            "Condition": at.with_exempt(json!({
                "StringNotEquals": {"aws:RequestedRegion": regions},
                "ArnLike": {"aws:PrincipalArn": at.patterns},
            })),
        })],
        format!(
            "Functions under this target run only in {}. Their execution roles are denied regional services elsewhere (global services exempt), so leaked function credentials cannot build in an unwatched region.",
            listed()
        ),
        json!({"function_regions": regions, "lambda_roles": at.lambda_roles.len()}),
    ))
}

/// 5. Lambda roles cannot call services none of them used.
fn deny_unused_services(at: &At<'_, '_>) -> Verdict {
    let usage = &at.observed.usage;
    let known: Vec<&&Role> = at
        .lambda_roles
        .iter()
        .filter(|r| usage.get(r.arn.as_str()).is_some_and(|u| u.known))
        .collect();
    if known.is_empty() {
        return Err("no last-accessed data for the Lambda roles under this target".into());
    }
    let mut used = distinct(
        known
            .iter()
            .flat_map(|r| usage[r.arn.as_str()].services.iter().map(String::as_str)),
    );
    // Every function writes its logs.
    used.insert("logs");
    let granted = distinct(
        at.target
            .accounts
            .iter()
            .filter_map(|a| at.role_analyses.get(a))
            .flatten()
            .filter(|r| r.is_lambda_role)
            .flat_map(|r| r.granted_services.iter().map(|s| s.as_ref())),
    );
    let unused: Vec<&str> = granted.difference(&used).copied().collect();
    if unused.is_empty() {
        return Err("the Lambda roles are granted only services they use".into());
    }
    let allowed: Vec<String> = used.iter().map(|s| format!("{s}:*")).collect();
    let window_days = at.settings.window_days;
    Ok(at.candidate(
        Guardrail::DenyUnusedServices,
        vec![json!({
            "Sid": "RolescopeLambdaRolesOnlyUsedServices",
            "Effect": "Deny",
            "NotAction": allowed,
            "Resource": "*",
            "Condition": at.with_exempt(json!({"ArnLike": {"aws:PrincipalArn": at.patterns}})),
        })],
        format!(
            "In the last {window_days} days the Lambda roles under this target used only {}; they are granted {} more services ({}). Everything else is denied to them.",
            used.iter().copied().collect::<Vec<_>>().join(", "),
            unused.len(),
            unused.iter().take(8).copied().collect::<Vec<_>>().join(", ")
        ),
        json!({
            "services_used": used,
            "services_granted_unused": unused,
            "roles_with_usage_data": known.len(),
            "roles_without_usage_data": at.lambda_roles.len() - known.len(),
            "window_days": window_days,
        }),
    ))
}

/// The approved boundary, an IAM managed policy (6,144 characters, whitespace not counted).
/// With last-accessed data for every role: the services they used (and logs), no IAM or
/// Organizations. Without it, or when the used services do not fit: everything but what no
/// Lambda function should do, a cap in the spirit of a Lambda boundary: no privilege escalation
/// (IAM writes, passing roles, assuming roles), no credential minting, no organization or
/// account changes. Never "every service" listed one by one.
fn boundary_document(observed: &Observed<'_>, roles: &[&Role]) -> Value {
    let deny = json!({
        "Sid": "NoEscalationCredentialsOrOrganizationChanges",
        "Effect": "Deny",
        "Action": [
            "iam:Add*", "iam:Attach*", "iam:Create*", "iam:Delete*", "iam:Detach*", "iam:Pass*",
            "iam:Put*", "iam:Remove*", "iam:Set*", "iam:Update*", "iam:Upload*",
            "sts:AssumeRole", "sts:GetFederationToken",
            "organizations:*", "account:*",
        ],
        "Resource": "*",
    });
    let known = roles
        .iter()
        .all(|r| observed.usage.get(r.arn.as_str()).is_some_and(|u| u.known));
    if known {
        let mut services: BTreeSet<String> = distinct(
            roles
                .iter()
                .flat_map(|r| observed.usage[r.arn.as_str()].services.iter()),
        )
        .into_iter()
        .cloned()
        .collect();
        services.insert("logs".into());
        services.remove("iam");
        services.remove("organizations");
        services.remove("account");
        let actions: Vec<String> = services.iter().map(|s| format!("{s}:*")).collect();
        let used = json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "ServicesTheFunctionsUse", "Effect": "Allow", "Action": actions, "Resource": "*"},
                deny.clone(),
            ]
        });
        let kind = DocumentKind::ManagedPolicy;
        if kind.size(&minify(&used)) <= kind.max_chars() {
            return used;
        }
    }
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "EverythingElse", "Effect": "Allow", "Action": "*", "Resource": "*"},
            deny,
        ]
    })
}

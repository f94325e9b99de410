//! Who can call a function, decided as IAM Access Analyzer decides it: by evaluating requests
//! with the policy engine, never by the shape of a statement.
//!
//! Each resource policy (`$LATEST`'s, a version's, an alias's) is asked the same questions:
//! - can a principal of an account outside the organization call the function directly
//!   (`aws:SourceAccount` and `aws:SourceArn` absent, as on a direct call)? Two such callers are
//!   tried, one in no organization and one in a foreign organization;
//! - can each account the policy names call it, as a principal of that account (with its
//!   organization id and path when it is one of ours)?
//! - for each URL: with `AuthType NONE`, can an anonymous caller reach it? That takes both
//!   `lambda:InvokeFunctionUrl` (`lambda:FunctionUrlAuthType` = `NONE`) and, since the
//!   exception for older URLs ended on 1 November 2026, `lambda:InvokeFunction` with
//!   `lambda:InvokedViaFunctionUrl` = `true`. With `AWS_IAM`, the same pair is asked for the
//!   outside callers.
//!
//! The caller side is granted everything (an attacker writes their own identity policy), so
//! the resource policy alone decides: its Deny statements, `NotPrincipal` and conditions
//! count as AWS counts them.

use rolescope_model::Function;
use rolescope_policy::context::Context;
use rolescope_policy::document::{PrincipalKind, PrincipalSpec};
use rolescope_policy::eval::{Decision, PolicySet, Request, evaluate};
use rolescope_policy::{Effect, Policy};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

/// The Lambda actions on a function that the probes ask about, besides the URL pair. These
/// are the function-level actions a resource policy can grant (AWS Lambda API reference,
/// "Actions, resources, and condition keys for AWS Lambda", resource type `function`).
pub const FUNCTION_ACTIONS: &[&str] = &[
    "lambda:InvokeFunction",
    "lambda:GetFunction",
    "lambda:GetFunctionConfiguration",
    "lambda:GetPolicy",
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
    "lambda:AddPermission",
    "lambda:RemovePermission",
    "lambda:PutResourcePolicy",
    "lambda:DeleteFunction",
    "lambda:PublishVersion",
    "lambda:CreateAlias",
    "lambda:UpdateAlias",
];

/// The address outside callers come from (TEST-NET-3, RFC 5737: no one's network).
const PROBE_IP: &str = "203.0.113.10";
/// The organization id of the foreign-organization caller.
const FOREIGN_ORG: &str = "o-rolescopeprobe";

/// What the analysis knows of the organization for the probes.
#[derive(Debug, Default)]
pub struct OrgView<'a> {
    /// The organization id, when the scan ran in an organization.
    pub org_id: Option<&'a str>,
    /// The organization's accounts.
    pub accounts: BTreeSet<&'a str>,
    /// Each account's `aws:PrincipalOrgPaths` value (`o-…/r-…/ou-…/`), where known.
    pub paths: HashMap<&'a str, String>,
}

impl<'a> OrgView<'a> {
    /// From a snapshot's accounts, OUs and scan record.
    pub fn new(snapshot: &'a rolescope_model::snapshot::Snapshot) -> Self {
        let org_id = snapshot.scan.as_ref().and_then(|s| s.org_id.as_deref());
        let parents: HashMap<&str, Option<&str>> = snapshot
            .org_units
            .iter()
            .map(|o| (o.id.as_str(), o.parent_id.as_deref()))
            .collect();
        let mut paths = HashMap::new();
        if let Some(org) = org_id {
            for a in &snapshot.accounts {
                let mut chain = Vec::new();
                let mut at = Some(a.parent_id.as_str());
                while let Some(id) = at.filter(|id| !id.is_empty() && chain.len() < 32) {
                    chain.push(id);
                    at = parents.get(id).copied().flatten();
                }
                chain.reverse();
                let mut path = format!("{org}/");
                for id in chain {
                    path.push_str(id);
                    path.push('/');
                }
                paths.insert(a.account_id.as_str(), path);
            }
        }
        OrgView {
            org_id,
            accounts: snapshot
                .accounts
                .iter()
                .map(|a| a.account_id.as_str())
                .collect(),
            paths,
        }
    }
}

/// One caller the probes try.
#[derive(Debug)]
struct Caller {
    principal: String,
    ctx: Context,
}

/// How one URL can be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlReach {
    /// `AuthType NONE` and the policy lets an anonymous caller through: public.
    Public,
    /// `AuthType NONE`, but the policy lacks what an anonymous call needs: the URL serves
    /// nothing (broken, or half-migrated to the two-permission rule). The actions missing.
    Unreachable(Vec<&'static str>),
    /// `AuthType AWS_IAM`: signed callers only; whether outside ones may is in [`Access`].
    Iam,
}

/// What one resource policy lets others do.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Access {
    /// What a principal of any account outside the organization may call: the actions, and
    /// `url` when it may invoke through an `AWS_IAM` URL.
    pub anyone: Vec<&'static str>,
    /// Per account the policy names (other than the owner), what a principal of it may call.
    pub accounts: BTreeMap<String, Vec<&'static str>>,
}

fn allow_all() -> &'static [Policy] {
    static ALL: OnceLock<Vec<Policy>> = OnceLock::new();
    ALL.get_or_init(|| {
        vec![
            Policy::parse(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#)
                .expect("a fixed policy parses"),
        ]
    })
}

/// The ARNs a request for `arn` may be written against: the ARN itself and, for `$LATEST`
/// (an unqualified function ARN) whose policy `doc` names it so, the `:$LATEST` form moto
/// writes where AWS writes the unqualified ARN. A policy naming either is read as naming the
/// unqualified function; a policy that never says `:$LATEST` is evaluated once per request.
pub fn resources(arn: &str, qualified: bool, doc: Option<&str>) -> Vec<String> {
    if qualified || !doc.is_some_and(|d| d.contains(":$LATEST")) {
        vec![arn.to_string()]
    } else {
        vec![arn.to_string(), format!("{arn}:$LATEST")]
    }
}

fn allowed(
    policy: Option<&Policy>,
    resources: &[String],
    owner: &str,
    caller: &Caller,
    action: &str,
    extra: &[(&str, &str)],
) -> bool {
    let Some(policy) = policy else {
        return false;
    };
    // The caller's context as it is, or a copy with the request's own keys: most requests
    // carry none, and this runs for every action of every policy of the organization.
    let ctx = if extra.is_empty() {
        std::borrow::Cow::Borrowed(&caller.ctx)
    } else {
        let mut ctx = caller.ctx.clone();
        for (k, v) in extra {
            ctx.insert(k, vec![(*v).to_string()]);
        }
        std::borrow::Cow::Owned(ctx)
    };
    let set = PolicySet {
        identity: allow_all(),
        boundary: None,
        scps: &[],
        resource_policy: Some(policy),
    };
    resources.iter().any(|resource| {
        let req = Request {
            principal: &caller.principal,
            action,
            resource,
            resource_account: Some(owner),
            context: ctx.as_ref(),
        };
        evaluate(&req, &set).decision == Decision::Allowed
    })
}

/// The keys every authenticated outside request carries.
fn signed_caller(partition: &str, account: &str, principal: Option<&str>) -> Caller {
    let principal = principal
        .map(str::to_string)
        .unwrap_or_else(|| format!("arn:{partition}:iam::{account}:role/rolescope-probe"));
    let mut ctx = Context::new();
    ctx.insert("aws:PrincipalAccount", vec![account.to_string()]);
    ctx.insert("aws:PrincipalArn", vec![principal.clone()]);
    ctx.insert("aws:SourceIp", vec![PROBE_IP.to_string()]);
    ctx.insert("aws:SecureTransport", vec!["true".into()]);
    ctx.insert("aws:PrincipalIsAWSService", vec!["false".into()]);
    ctx.insert("aws:ViaAWSService", vec!["false".into()]);
    ctx.insert("aws:PrincipalType", vec!["AssumedRole".into()]);
    Caller { principal, ctx }
}

/// An unsigned caller: what a function URL with `AuthType NONE` receives.
fn anonymous() -> Caller {
    let mut ctx = Context::new();
    ctx.insert("aws:SourceIp", vec![PROBE_IP.to_string()]);
    ctx.insert("aws:SecureTransport", vec!["true".into()]);
    Caller {
        principal: "anonymous".into(),
        ctx,
    }
}

/// An account id no one in the organization has and the policy does not name.
fn outside_account(org: &OrgView<'_>, owner: &str, doc: &str) -> String {
    (0..)
        .map(|n: u64| format!("{:012}", 100_000_000_000u64 + n * 7_919))
        .find(|a| a != owner && !org.accounts.contains(a.as_str()) && !doc.contains(a.as_str()))
        .expect("an unused account id exists")
}

/// The accounts an Allow statement names as principals (bare ids, ARNs) or in
/// `aws:PrincipalAccount` conditions, with the principal ARN when one is named.
fn named_accounts(policy: &Policy) -> BTreeMap<String, Option<String>> {
    let mut out: BTreeMap<String, Option<String>> = BTreeMap::new();
    for s in policy
        .statements
        .iter()
        .filter(|s| s.effect == Effect::Allow && !s.not_principal)
    {
        if let Some(PrincipalSpec::Map(m)) = &s.principal {
            for (kind, ids) in m {
                if *kind != PrincipalKind::Aws {
                    continue;
                }
                for id in ids {
                    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
                        out.entry(id.clone()).or_default();
                    } else if let Some(acct) = id
                        .split(':')
                        .nth(4)
                        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
                    {
                        let arn = (!id.ends_with(":root") && !id.contains('*')).then(|| id.clone());
                        let slot = out.entry(acct.to_string()).or_default();
                        if slot.is_none() {
                            *slot = arn;
                        }
                    }
                }
            }
        }
        for c in &s.conditions {
            if c.key.eq_ignore_ascii_case("aws:PrincipalAccount") {
                for v in &c.values {
                    if v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit()) {
                        out.entry(v.clone()).or_default();
                    }
                }
            }
        }
    }
    out
}

/// What the callers may do through one policy. `iam_url`: the qualifier has an `AWS_IAM` URL.
fn calls(
    policy: &Policy,
    resource: &[String],
    owner: &str,
    caller: &Caller,
    iam_url: bool,
) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = FUNCTION_ACTIONS
        .iter()
        .copied()
        .filter(|a| allowed(Some(policy), resource, owner, caller, a, &[]))
        .collect();
    if iam_url && url_pair_missing(Some(policy), resource, owner, caller, "AWS_IAM").is_empty() {
        out.push("url");
    }
    out
}

/// The actions of the URL pair a caller lacks (empty: it may invoke through the URL).
fn url_pair_missing(
    policy: Option<&Policy>,
    resource: &[String],
    owner: &str,
    caller: &Caller,
    auth: &str,
) -> Vec<&'static str> {
    let mut missing = Vec::new();
    if !allowed(
        policy,
        resource,
        owner,
        caller,
        "lambda:InvokeFunctionUrl",
        &[("lambda:FunctionUrlAuthType", auth)],
    ) {
        missing.push("lambda:InvokeFunctionUrl");
    }
    if !allowed(
        policy,
        resource,
        owner,
        caller,
        "lambda:InvokeFunction",
        &[
            ("lambda:InvokedViaFunctionUrl", "true"),
            ("lambda:FunctionUrlAuthType", auth),
        ],
    ) {
        missing.push("lambda:InvokeFunction");
    }
    missing
}

/// What one resource policy lets others do. `resource` is the ARN it guards (qualified for a
/// version or alias; [`resources`] gives its forms); `iam_url` says the qualifier has an `AWS_IAM` URL.
pub fn access(
    f: &Function,
    resource: &[String],
    policy: &Policy,
    doc: &str,
    org: &OrgView<'_>,
    iam_url: bool,
) -> Access {
    let owner = f.account_id.as_str();
    let partition = f.arn.split(':').nth(1).unwrap_or("aws");
    let outside = outside_account(org, owner, doc);
    let lone = signed_caller(partition, &outside, None);
    let mut foreign = signed_caller(partition, &outside, None);
    foreign
        .ctx
        .insert("aws:PrincipalOrgID", vec![FOREIGN_ORG.into()]);
    foreign.ctx.insert(
        "aws:PrincipalOrgPaths",
        vec![format!("{FOREIGN_ORG}/r-probe/")],
    );
    let mut anyone = calls(policy, resource, owner, &lone, iam_url);
    for a in calls(policy, resource, owner, &foreign, iam_url) {
        if !anyone.contains(&a) {
            anyone.push(a);
        }
    }
    let mut accounts = BTreeMap::new();
    if anyone.is_empty() {
        for (acct, principal) in named_accounts(policy) {
            if acct == owner {
                continue;
            }
            let mut caller = signed_caller(partition, &acct, principal.as_deref());
            if org.accounts.contains(acct.as_str()) {
                if let Some(id) = org.org_id {
                    caller
                        .ctx
                        .insert("aws:PrincipalOrgID", vec![id.to_string()]);
                }
                if let Some(path) = org.paths.get(acct.as_str()) {
                    caller
                        .ctx
                        .insert("aws:PrincipalOrgPaths", vec![path.clone()]);
                }
            }
            let can = calls(policy, resource, owner, &caller, iam_url);
            if !can.is_empty() {
                accounts.insert(acct, can);
            }
        }
    }
    Access { anyone, accounts }
}

/// How a URL with this auth type can be reached through its qualifier's policy (`None`: the
/// qualifier has no policy, which AWS treats as granting nothing).
pub fn url_reach(
    auth_type: &str,
    resource: &[String],
    owner: &str,
    policy: Option<&Policy>,
) -> UrlReach {
    if auth_type != "NONE" {
        return UrlReach::Iam;
    }
    let missing = url_pair_missing(policy, resource, owner, &anonymous(), "NONE");
    if missing.is_empty() {
        UrlReach::Public
    } else {
        UrlReach::Unreachable(missing)
    }
}

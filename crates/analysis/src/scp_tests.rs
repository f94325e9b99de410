//! SCP recommendations on seeded scenarios: zero-impact service deny, the same SCP with impact,
//! public access in use reported, packing under the limits.

use crate::Settings;
use crate::scp::{DocumentKind, Guardrail, ScpSettings, lint, recommend, simulate_policy};
use rolescope_model::snapshot::Snapshot;
use rolescope_model::{
    Account, AccountId, AccountStatus, ControlPolicy, ControlPolicyType, Function, FunctionUrl,
    InlinePolicy, LastAccessed, OrgUnit, Role, ScanInfo, Timestamp,
};
use rolescope_policy::catalog;

const ACCT: &str = "010000000001";
const NOW: i64 = 1_800_000_000_000;
const DAY: i64 = 86_400_000;
const WIDE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","dynamodb:*","sqs:*","ec2:*","logs:*"],"Resource":"*"}]}"#;

fn acct() -> AccountId {
    AccountId::new(ACCT).unwrap()
}

fn role(name: &str) -> Role {
    Role {
        account_id: acct(),
        name: name.into(),
        arn: format!("arn:aws:iam::{ACCT}:role/{name}"),
        path: "/".into(),
        trust_policy: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#.into(),
        inline_policies: vec![InlinePolicy {
            name: "wide".into(),
            document: WIDE.into(),
        }],
        attached_policy_arns: vec![],
        boundary_arn: None,
        tags: vec![],
        last_used_at: Some(Timestamp::from_millis(NOW - DAY)),
        last_used_region: Some("eu-west-1".into()),
        created_at: None,
    }
}

fn function(name: &str, role: &str) -> Function {
    Function {
        config: Default::default(),
        unread: Vec::new(),
        account_id: acct(),
        region: "eu-west-1".into(),
        name: name.into(),
        arn: format!("arn:aws:lambda:eu-west-1:{ACCT}:function:{name}"),
        role_arn: format!("arn:aws:iam::{ACCT}:role/{role}").into(),
        runtime: Some("python3.12".into()),
        architectures: vec!["arm64".into()],
        package_type: Some("Zip".into()),
        last_modified: None,
        layers: vec![],
        env_var_names: vec![],
        secret_like_env: vec![],
        qualifiers: vec![],
        resource_policy: None,
        urls: vec![],
    }
}

/// Used `service` (with these actions) `days` ago.
fn used(role: &str, service: &str, actions: &[&str], days: i64) -> LastAccessed {
    let t = Some(Timestamp::from_millis(NOW - days * DAY));
    LastAccessed {
        role_arn: format!("arn:aws:iam::{ACCT}:role/{role}"),
        service: service.into(),
        last_accessed_at: t,
        actions: actions.iter().map(|a| (a.to_string(), t)).collect(),
    }
}

/// An OU `ou-apps` under the root with one account whose two functions use only S3 and DynamoDB.
fn org() -> Snapshot {
    let mut s = Snapshot::default();
    s.org_units.push(OrgUnit {
        id: "r-root".into(),
        name: "Root".into(),
        parent_id: None,
        path: "Root".into(),
    });
    s.org_units.push(OrgUnit {
        id: "ou-apps".into(),
        name: "Apps".into(),
        parent_id: Some("r-root".into()),
        path: "Root/Apps".into(),
    });
    s.accounts.push(Account {
        account_id: acct(),
        name: "apps".into(),
        status: AccountStatus::Active,
        parent_id: "ou-apps".into(),
        ou_path: "Root/Apps".into(),
        scanned: true,
    });
    s.control_policies.push(ControlPolicy {
        id: "p-FullAWSAccess".into(),
        name: "FullAWSAccess".into(),
        policy_type: ControlPolicyType::ServiceControlPolicy,
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#.into(),
        targets: vec!["r-root".into(), "ou-apps".into(), ACCT.into()],
    });
    s.roles = vec![role("orders-fn"), role("billing-fn")];
    s.functions = vec![
        function("orders", "orders-fn"),
        function("billing", "billing-fn"),
    ];
    s.last_accessed = vec![
        used("orders-fn", "s3", &["s3:GetObject", "s3:PutObject"], 3),
        used("orders-fn", "dynamodb", &["dynamodb:PutItem"], 3),
        used("orders-fn", "logs", &["logs:PutLogEvents"], 1),
        used("billing-fn", "s3", &["s3:GetObject"], 10),
        used(
            "billing-fn",
            "dynamodb",
            &["dynamodb:GetItem", "dynamodb:Query"],
            2,
        ),
        // Used long ago: outside the 90-day window.
        used("billing-fn", "ec2", &["ec2:DescribeInstances"], 200),
    ];
    s.scan = Some(ScanInfo {
        scan_id: "scp".into(),
        started_at: Timestamp::from_millis(NOW),
        finished_at: Timestamp::from_millis(NOW),
        org_id: Some("o-test".into()),
        regions: vec!["eu-west-1".into()],
        tool_version: "test".into(),
    });
    s
}

fn plan(s: &Snapshot, settings: &ScpSettings) -> crate::scp::ScpPlan {
    let ev = crate::Evaluated::new(catalog(), s, Settings::default().unused_days);
    let a = crate::analyze_evaluated(&ev, &Settings::default());
    recommend(&ev, &a, settings)
}

fn with(plan: &crate::scp::ScpPlan, g: Guardrail) -> &crate::scp::Recommendation {
    plan.recommendations
        .iter()
        .find(|r| r.guardrails.contains(&g))
        .unwrap_or_else(|| panic!("no recommendation with {g:?}: {:#?}", plan.skipped))
}

#[test]
fn an_ou_using_only_s3_and_dynamodb_gets_a_zero_impact_service_deny() {
    let s = org();
    let p = plan(&s, &ScpSettings::default());
    let r = with(&p, Guardrail::DenyUnusedServices);
    assert_eq!((r.target_id.as_str(), r.target_type), ("ou-apps", "ou"));
    assert!(r.impact.denied.is_empty(), "{:?}", r.impact);
    assert!(r.safe, "{}", r.rationale);
    let used = &r.evidence["deny-unused-services"]["services_used"];
    assert_eq!(used, &serde_json::json!(["dynamodb", "logs", "s3"]));
    let unused = &r.evidence["deny-unused-services"]["services_granted_unused"];
    assert_eq!(
        unused,
        &serde_json::json!(["ec2", "sqs"]),
        "ec2 use is older than 90 days"
    );
    // The policy denies sqs and ec2 to the Lambda roles, and only to them.
    let doc: serde_json::Value = serde_json::from_str(&r.policy_json).unwrap();
    let stmt = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "RolescopeLambdaRolesOnlyUsedServices")
        .unwrap();
    assert_eq!(
        stmt["NotAction"],
        serde_json::json!(["dynamodb:*", "logs:*", "s3:*"])
    );
    assert_eq!(
        stmt["Condition"]["ArnLike"]["aws:PrincipalArn"],
        serde_json::json!([
            "arn:aws:iam::*:role/billing-fn",
            "arn:aws:iam::*:role/orders-fn"
        ])
    );
    assert_eq!(
        stmt["Condition"]["ArnNotLike"]["aws:PrincipalArn"],
        serde_json::json!(["arn:aws:iam::*:role/OrganizationAccountAccessRole"])
    );
}

#[test]
fn the_same_scp_has_impact_once_a_function_uses_sqs_and_is_not_safe() {
    let a = org();
    let p = plan(&a, &ScpSettings::default());
    let scp = &with(&p, Guardrail::DenyUnusedServices).policy_json;

    // The same organization plus a function whose role (same naming) used SQS last week.
    let mut b = org();
    b.roles.push(role("queue-fn"));
    b.functions.push(function("queue", "queue-fn"));
    b.last_accessed
        .push(used("queue-fn", "sqs", &["sqs:SendMessage"], 7));
    let ev = crate::Evaluated::new(catalog(), &b, Settings::default().unused_days);
    // The SCP from scenario A names its roles; widen it to the new one as a reviewer would.
    let scp = scp.replace(
        "\"arn:aws:iam::*:role/orders-fn\"",
        "\"arn:aws:iam::*:role/orders-fn\",\"arn:aws:iam::*:role/queue-fn\"",
    );
    let impact = simulate_policy(&ev, "ou-apps", &scp, &ScpSettings::default()).unwrap();
    assert_eq!(
        impact.roles(),
        vec![format!("arn:aws:iam::{ACCT}:role/queue-fn")]
    );
    assert_eq!(impact.denied.values().next().unwrap().len(), 1);
    assert!(
        impact
            .denied
            .values()
            .next()
            .unwrap()
            .iter()
            .next()
            .unwrap()
            .starts_with("sqs:SendMessage@")
    );
    assert_eq!(impact.functions.len(), 1);
    assert!(!impact.is_safe());

    // And the recommender itself, on scenario B, keeps sqs allowed and still has zero impact.
    let p = plan(&b, &ScpSettings::default());
    let r = with(&p, Guardrail::DenyUnusedServices);
    assert!(r.impact.denied.is_empty());
    assert!(r.policy_json.contains("\"sqs:*\""), "{}", r.policy_json);
}

#[test]
fn a_public_url_in_use_is_reported_not_silently_blocked() {
    let mut s = org();
    s.functions[0].resource_policy = Some(crate::tests::URL_PAIR.into());
    s.functions[0].urls.push(FunctionUrl {
        url: "https://x.lambda-url.eu-west-1.on.aws/".into(),
        auth_type: "NONE".into(),
        qualifier: None,
    });
    let p = plan(&s, &ScpSettings::default());
    let r = with(&p, Guardrail::DenyPublicFunctions);
    assert!(!r.safe);
    assert_eq!(
        r.guardrails,
        vec![Guardrail::DenyPublicFunctions],
        "kept on its own"
    );
    assert!(r.impact.functions.contains(&s.functions[0].arn));
    assert!(r.rationale.contains("rely on it"), "{}", r.rationale);
    // Without the URL the same guardrail is preventive and safe, merged with the others.
    let p = plan(&org(), &ScpSettings::default());
    assert!(with(&p, Guardrail::DenyPublicFunctions).safe);
}

#[test]
fn roles_without_usage_data_make_a_guardrail_unsafe() {
    let mut s = org();
    s.roles.push(role("mystery-fn"));
    s.functions.push(function("mystery", "mystery-fn"));
    let p = plan(&s, &ScpSettings::default());
    let r = with(&p, Guardrail::DenyUnusedServices);
    assert!(!r.safe);
    assert!(
        r.impact
            .roles_without_usage
            .contains(&format!("arn:aws:iam::{ACCT}:role/mystery-fn"))
    );
}

#[test]
fn a_guardrail_the_existing_scps_already_enforce_is_skipped() {
    let mut s = org();
    s.control_policies.push(ControlPolicy {
        id: "p-nopublic".into(),
        name: "no-public-lambda".into(),
        policy_type: ControlPolicyType::ServiceControlPolicy,
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["lambda:CreateFunctionUrlConfig","lambda:AddPermission"],"Resource":"*"}]}"#.into(),
        targets: vec!["r-root".into()],
    });
    let p = plan(&s, &ScpSettings::default());
    assert!(
        p.recommendations
            .iter()
            .all(|r| !r.guardrails.contains(&Guardrail::DenyPublicFunctions))
    );
    assert!(
        p.skipped
            .iter()
            .any(|k| k.guardrail == Guardrail::DenyPublicFunctions && k.reason.contains("already"))
    );
}

#[test]
fn policies_are_packed_under_the_size_limit_and_counted_against_the_quota() {
    let mut s = org();
    for i in 0..60 {
        let name = format!("worker-{i:02}-with-a-rather-long-role-name-fn");
        s.roles.push(role(&name));
        s.functions.push(function(&format!("w{i}"), &name));
        s.last_accessed
            .push(used(&name, "s3", &["s3:GetObject"], 1));
    }
    // Small limits, so that both the size and the count limit are reached.
    let settings = ScpSettings {
        max_chars: 2_000,
        max_per_target: 5,
        ..ScpSettings::default()
    };
    let p = plan(&s, &settings);
    assert!(p.recommendations.len() > 2, "split into several policies");
    for r in &p.recommendations {
        assert!(
            r.size_chars <= 2_000,
            "{} is {} chars",
            r.name,
            r.size_chars
        );
        assert!(
            lint(catalog(), &r.policy_json, DocumentKind::Scp, 2_000).is_empty(),
            "{:?}",
            r.lint
        );
    }
    // Every Lambda role is still named by the split principal lists.
    let all: String = p
        .recommendations
        .iter()
        .map(|r| r.policy_json.clone())
        .collect();
    for i in 0..60 {
        assert!(
            all.contains(&format!("role/worker-{i:02}-")),
            "worker {i} lost"
        );
    }
    // FullAWSAccess is attached at the OU: only four more fit; the rest say so and are not safe.
    let at_ou: Vec<_> = p
        .recommendations
        .iter()
        .filter(|r| r.target_id == "ou-apps")
        .collect();
    assert!(at_ou.len() > 4);
    assert!(at_ou[..4].iter().all(|r| r.fits_quota));
    assert!(at_ou[4..].iter().all(|r| !r.fits_quota && !r.safe));
    let names: std::collections::BTreeSet<_> = at_ou.iter().map(|r| &r.name).collect();
    assert_eq!(names.len(), at_ou.len(), "unique names per target");
}

#[test]
fn every_recommendation_lints_clean_and_the_linter_catches_bad_policies() {
    let p = plan(&org(), &ScpSettings::default());
    assert!(!p.recommendations.is_empty());
    for r in &p.recommendations {
        assert!(r.lint.is_empty(), "{}: {:?}", r.name, r.lint);
        assert!(r.size_chars <= DocumentKind::Scp.max_chars());
        assert!(
            !r.policy_json.contains(' ') || r.policy_json.contains("\" "),
            "minified"
        );
    }
    assert_eq!(p.boundaries.len(), 1, "the boundary the guardrail requires");
    let boundary = &p.boundaries[0].document;
    let kind = DocumentKind::ManagedPolicy;
    assert!(
        lint(catalog(), boundary, kind, kind.max_chars()).is_empty(),
        "{boundary}"
    );

    let bad = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"lambda:NoSuchThing","Resource":"*","Condition":{"StringEquals":{"lambda:NoSuchKey":"x"}}}]}"#;
    let problems = lint(catalog(), bad, DocumentKind::Scp, 100);
    assert!(
        problems.iter().any(|p| p.contains("over the 100 limit")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("Principal")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("lambda:NoSuchThing")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("lambda:NoSuchKey")),
        "{problems:?}"
    );
    assert!(lint(catalog(), "{not json", DocumentKind::Scp, 5_120)[0].contains("does not parse"));
    // A managed policy's size leaves whitespace out; an SCP's counts it.
    let spaced = r#"{ "Version": "2012-10-17", "Statement": [ { "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*" } ] }"#;
    let compact = spaced.chars().filter(|c| !c.is_whitespace()).count();
    assert!(lint(catalog(), spaced, DocumentKind::ManagedPolicy, compact).is_empty());
    assert!(!lint(catalog(), spaced, DocumentKind::Scp, compact).is_empty());
}

#[test]
fn the_quotas_are_those_aws_enforces_today() {
    let s = ScpSettings::default();
    assert_eq!((s.max_chars, s.max_per_target), (10_240, 10));
    assert_eq!(DocumentKind::Rcp.max_chars(), 5_120);
    assert_eq!(DocumentKind::ManagedPolicy.max_chars(), 6_144);
}

#[test]
fn the_boundary_caps_without_usage_data_and_lists_what_was_used_with_it() {
    let kind = DocumentKind::ManagedPolicy;
    let boundary_of = |s: &Snapshot| {
        let p = plan(s, &ScpSettings::default());
        let doc: serde_json::Value =
            serde_json::from_str(&p.boundaries.first().expect("a boundary").document).unwrap();
        let text = doc.to_string();
        assert!(kind.size(&text) <= kind.max_chars(), "{text}");
        assert!(
            lint(catalog(), &text, kind, kind.max_chars()).is_empty(),
            "{text}"
        );
        doc
    };
    // Without last-accessed data: everything but escalation, credentials and organization
    // changes, never a list of every service.
    let mut unknown = org();
    unknown.last_accessed.clear();
    let doc = boundary_of(&unknown);
    assert_eq!(doc["Statement"][0]["Action"], "*", "{doc}");
    let denied: Vec<&str> = doc["Statement"][1]["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    for needed in [
        "iam:Pass*",
        "iam:Attach*",
        "sts:AssumeRole",
        "organizations:*",
        "account:*",
    ] {
        assert!(denied.contains(&needed), "{needed} missing: {doc}");
    }
    // With it: the used services, and the same denials.
    let doc = boundary_of(&org());
    let allowed = doc["Statement"][0]["Action"]
        .as_array()
        .expect("a list of services");
    assert!(allowed.iter().any(|a| a == "logs:*"), "{doc}");
    assert!(
        allowed.len() < 20,
        "the used services, not every one: {doc}"
    );
    assert_eq!(
        doc["Statement"][1]["Action"].as_array().unwrap().len(),
        denied.len()
    );
}

#[test]
fn recommendations_are_deterministic() {
    let a = plan(&org(), &ScpSettings::default());
    let b = plan(&org(), &ScpSettings::default());
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
}

#[test]
fn privileged_lambda_roles_get_a_deny_that_lists_the_functions_running_as_them() {
    let mut s = org();
    s.roles[0]
        .attached_policy_arns
        .push("arn:aws:iam::aws:policy/AdministratorAccess".into());
    let p = plan(&s, &ScpSettings::default());
    let r = with(&p, Guardrail::DenyPrivilegedLambdaRoles);
    assert!(!r.safe);
    assert!(r.impact.functions.contains(&s.functions[0].arn));
    let doc: serde_json::Value = serde_json::from_str(&r.policy_json).unwrap();
    let pass = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "RolescopeDenyPassingPrivilegedRolesToLambda")
        .unwrap();
    assert_eq!(pass["Resource"], serde_json::json!([s.roles[0].arn]));
    assert_eq!(
        pass["Condition"]["StringEquals"]["iam:PassedToService"],
        "lambda.amazonaws.com"
    );
    // Without the admin policy the guardrail is not recommended, and the plan says why.
    let p = plan(&org(), &ScpSettings::default());
    assert!(
        p.skipped
            .iter()
            .any(|k| k.guardrail == Guardrail::DenyPrivilegedLambdaRoles)
    );
}

#[test]
fn an_existing_region_scp_covers_region_restriction_but_not_public_access() {
    let mut s = org();
    s.control_policies.push(ControlPolicy {
        id: "p-regions".into(),
        name: "regions".into(),
        policy_type: ControlPolicyType::ServiceControlPolicy,
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotAction":["iam:*","sts:*"],"Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-west-1"]}}}]}"#.into(),
        targets: vec!["ou-apps".into()],
    });
    let p = plan(&s, &ScpSettings::default());
    assert!(
        p.skipped
            .iter()
            .any(|k| k.guardrail == Guardrail::RestrictRegions && k.reason.contains("eu-west-1"))
    );
    // Public access inside the allowed region is still open: recommended.
    with(&p, Guardrail::DenyPublicFunctions);
    // Without that SCP, region restriction is recommended to the functions' region.
    let p = plan(&org(), &ScpSettings::default());
    let r = with(&p, Guardrail::RestrictRegions);
    assert!(
        r.policy_json
            .contains(r#""aws:RequestedRegion":["eu-west-1"]"#),
        "{}",
        r.policy_json
    );
}

#[test]
fn roles_of_one_usage_shape_are_still_told_apart_by_their_arn_and_account() {
    // Four roles with the same use; one exempt by name, one in a second account.
    let mut s = org();
    let other = AccountId::new("010000000002").unwrap();
    s.accounts.push(Account {
        account_id: other.clone(),
        name: "apps-2".into(),
        ..s.accounts[0].clone()
    });
    s.control_policies[0].targets.push(other.to_string());
    s.roles = ["orders-fn", "billing-fn", "admin-fn"]
        .into_iter()
        .map(role)
        .collect();
    let mut elsewhere = role("queue-fn");
    elsewhere.account_id = other.clone();
    elsewhere.arn = format!("arn:aws:iam::{other}:role/queue-fn");
    s.roles.push(elsewhere);
    s.functions.clear();
    s.last_accessed = s
        .roles
        .iter()
        .map(|r| LastAccessed {
            role_arn: r.arn.clone(),
            ..used("x", "sqs", &["sqs:SendMessage"], 2)
        })
        .collect();
    let ev = crate::Evaluated::new(catalog(), &s, Settings::default().unused_days);
    let denied = |scp: &str| {
        let impact = simulate_policy(&ev, "ou-apps", scp, &ScpSettings::default()).unwrap();
        let mut names: Vec<String> = impact
            .roles()
            .iter()
            .map(|a| a.rsplit('/').next().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    let by_name = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sqs:*","Resource":"*","Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/admin-*"}}}]}"#;
    assert_eq!(denied(by_name), ["billing-fn", "orders-fn", "queue-fn"]);
    let by_account = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sqs:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"010000000002"}}}]}"#;
    assert_eq!(denied(by_account), ["queue-fn"]);
    let by_variable = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sqs:*","Resource":"*","Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::${aws:PrincipalAccount}:role/o*"}}}]}"#;
    assert_eq!(denied(by_variable), ["orders-fn"]);
    // Only the resource with each caller's own account filled in matches.
    let own_queues = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sqs:*","Resource":"arn:aws:sqs:*:*:*","Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/b*"}}}]}"#;
    assert_eq!(denied(own_queues), ["admin-fn", "orders-fn", "queue-fn"]);
}

/// The same organization in another partition: every ARN rolescope writes (role patterns,
/// exempt principals, the boundary, the boundary policy) is in that partition, and the verdicts
/// are the same as in `aws`.
#[test]
fn an_organization_in_aws_cn_or_aws_us_gov_gets_no_arn_of_another_partition() {
    let aws = org();
    let in_aws = plan(&aws, &ScpSettings::default());
    for partition in ["aws-cn", "aws-us-gov", "aws-eusc"] {
        let mut text = Vec::new();
        aws.write_to(&mut text).unwrap();
        let text = String::from_utf8(text)
            .unwrap()
            .replace("arn:aws:", &format!("arn:{partition}:"));
        let s = Snapshot::read_from(text.as_bytes(), std::path::Path::new(partition)).unwrap();
        assert_eq!(s.partition(), partition);
        let p = plan(&s, &ScpSettings::default());
        assert_eq!(p.recommendations.len(), in_aws.recommendations.len());
        assert!(!p.recommendations.is_empty());
        for r in &p.recommendations {
            assert!(!r.policy_json.contains("arn:aws:"), "{}", r.policy_json);
            assert!(
                r.policy_json.contains(&format!("arn:{partition}:")),
                "{}",
                r.policy_json
            );
        }
        for b in &p.boundaries {
            let text = serde_json::to_string(b).unwrap();
            assert!(!text.contains("arn:aws:"), "{text}");
        }
    }
}

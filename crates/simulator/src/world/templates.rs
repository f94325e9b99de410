//! What the simulated organization is made of: the role templates (every risky pattern the
//! analysis checks, and healthy roles), the customer-managed policies every account has, and
//! the environment values that must never reach rolescope's output.

use super::{SimRole, Spec};
use rolescope_model::{InlinePolicy, Timestamp};

/// The value planted in every function's environment; it must never reach rolescope's output.
pub const SECRET_CANARY: &str = "sim-canary-4f1d-never-store-me";

/// The secret-like environment values some functions carry: (variable, value). Like the
/// canary, none of these values may reach rolescope's output; each is a different kind of match.
/// Built at run time so that no complete credential shape sits in the source.
pub fn planted_secrets() -> Vec<(String, String)> {
    vec![
        ("DB_PASSWORD".into(), SECRET_CANARY.into()),
        (
            "AWS_ACCESS_KEY_ID".into(),
            format!("AKIA{}", "SIMCANARY4F7DQ7X"),
        ),
        (
            "DATABASE_URL".into(),
            format!("postgres://app:{SECRET_CANARY}@db.internal:5432/app"),
        ),
        (
            "GITHUB_TOKEN".into(),
            format!("ghp_{}", "sim4f1dCanary0never0store0me000000001"),
        ),
    ]
}

/// Customer-managed policies every account has: (name, path, document).
pub const LOCAL_POLICIES: &[(&str, &str, &str)] = &[
    (
        "LambdaBoundary",
        "/",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:*","s3:GetObject","s3:PutObject","dynamodb:*","sqs:*"],"Resource":"*"}]}"#,
    ),
    (
        "AllowEverythingBoundary",
        "/",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    ),
    (
        "OrdersTables",
        "/app/",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:PutItem","dynamodb:Query"],"Resource":"arn:aws:dynamodb:*:*:table/orders*"}]}"#,
    ),
];

pub(super) const LAMBDA_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// A role template: name, trust, inline documents, attached (`local:` = this account's policy),
/// boundary, days since last use (None: never), used services with tracked actions.
pub(super) struct Template {
    pub(super) name: &'static str,
    pub(super) path: &'static str,
    pub(super) trust: &'static str,
    pub(super) inline: &'static [&'static str],
    pub(super) attached: &'static [&'static str],
    pub(super) boundary: Option<&'static str>,
    pub(super) last_used_days: Option<i64>,
    pub(super) usage: &'static [(&'static str, &'static [&'static str])],
}

/// Role patterns: every risky pattern the analysis checks, and some healthy roles.
pub(super) const TEMPLATES: &[Template] = &[
    Template {
        name: "orders-fn",
        path: "/service-role/",
        trust: LAMBDA_TRUST,
        inline: &[
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::orders-bucket/*"},{"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}"#,
        ],
        attached: &["local:/app/OrdersTables"],
        boundary: Some("local:/LambdaBoundary"),
        last_used_days: Some(1),
        usage: &[
            ("s3", &["s3:GetObject", "s3:PutObject"]),
            ("dynamodb", &["dynamodb:GetItem", "dynamodb:PutItem"]),
            ("logs", &["logs:PutLogEvents"]),
        ],
    },
    Template {
        name: "admin-fn",
        path: "/",
        trust: LAMBDA_TRUST,
        inline: &[],
        attached: &["arn:aws:iam::aws:policy/AdministratorAccess"],
        boundary: None,
        last_used_days: Some(2),
        usage: &[("s3", &["s3:ListBucket"]), ("logs", &["logs:PutLogEvents"])],
    },
    Template {
        name: "reports-fn",
        path: "/",
        trust: LAMBDA_TRUST,
        inline: &[
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Allow","Action":["dynamodb:Scan","secretsmanager:GetSecretValue","ecr:GetAuthorizationToken"],"Resource":"*"}]}"#,
        ],
        attached: &[],
        boundary: None,
        last_used_days: Some(3),
        usage: &[("s3", &["s3:GetObject"]), ("logs", &["logs:PutLogEvents"])],
    },
    Template {
        name: "deployer-fn",
        path: "/",
        trust: LAMBDA_TRUST,
        inline: &[
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:PassRole","lambda:CreateFunction","lambda:InvokeFunction","iam:PutRolePolicy","ec2:RunInstances"],"Resource":"*"}]}"#,
        ],
        attached: &[],
        boundary: Some("local:/AllowEverythingBoundary"),
        last_used_days: Some(5),
        usage: &[
            ("lambda", &["lambda:CreateFunction"]),
            ("iam", &["iam:PassRole"]),
        ],
    },
    Template {
        name: "shared-fn",
        path: "/",
        trust: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com","ec2.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#,
        inline: &[
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:SendMessage","sqs:ReceiveMessage"],"Resource":"arn:aws:sqs:*:*:jobs"}]}"#,
        ],
        attached: &[],
        boundary: Some("local:/LambdaBoundary"),
        last_used_days: Some(1),
        usage: &[("sqs", &["sqs:SendMessage", "sqs:ReceiveMessage"])],
    },
    Template {
        name: "partner-fn",
        path: "/",
        trust: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"sts:AssumeRole"}]}"#,
        inline: &[
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssm:GetParameter"],"Resource":"*"}]}"#,
        ],
        attached: &[],
        boundary: None,
        last_used_days: Some(10),
        usage: &[("ssm", &["ssm:GetParameter"])],
    },
    Template {
        name: "open-fn",
        path: "/",
        trust: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#,
        inline: &[
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Decrypt"],"Resource":"*"}]}"#,
        ],
        attached: &[],
        boundary: None,
        last_used_days: Some(20),
        usage: &[("kms", &["kms:Decrypt"])],
    },
    Template {
        name: "legacy-fn",
        path: "/",
        trust: LAMBDA_TRUST,
        inline: &[
            r#"{"Statement":[{"Effect":"Allow","Action":["s3:GetObjekt","s3:GetObject"],"Resource":"arn:aws:dynamodb:us-east-1:111122223333:table/t"}]}"#,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Perhaps","Action":"s3:ListBucket","Resource":"*"}]}"#,
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"OfficeOnly","Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"300.1.1.1/24"}}}]}"#,
        ],
        attached: &[],
        boundary: None,
        last_used_days: Some(200),
        usage: &[],
    },
    Template {
        name: "orphan-fn",
        path: "/",
        trust: LAMBDA_TRUST,
        inline: &[
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sns:Publish"],"Resource":"*"}]}"#,
        ],
        attached: &[],
        boundary: None,
        last_used_days: None,
        usage: &[],
    },
];

/// Roles that run no function (the orphan template).
pub(super) fn runs_functions(template: usize) -> bool {
    TEMPLATES[template].name != "orphan-fn"
}

/// Role `copy` of a template, with its policies and usage dated from the spec's `now`.
pub(super) fn role(spec: &Spec, template: usize, copy: usize) -> SimRole {
    let t = &TEMPLATES[template];
    let day = 86_400_000;
    let suffix = if copy == 0 {
        String::new()
    } else {
        format!("-{copy}")
    };
    SimRole {
        name: format!("{}{suffix}", t.name),
        path: t.path.into(),
        trust: t.trust.into(),
        inline: t
            .inline
            .iter()
            .enumerate()
            .map(|(i, d)| InlinePolicy {
                name: format!("{}-policy-{i}", t.name),
                document: d.to_string(),
            })
            .collect(),
        attached: t.attached.iter().map(|s| s.to_string()).collect(),
        boundary: t.boundary.map(str::to_string),
        last_used: t
            .last_used_days
            .map(|d| Timestamp::from_millis(spec.now.millis - d * day)),
        usage: t
            .usage
            .iter()
            .map(|(service, actions)| {
                (
                    service.to_string(),
                    Timestamp::from_millis(spec.now.millis - t.last_used_days.unwrap_or(1) * day),
                    actions.iter().map(|a| a.to_string()).collect(),
                )
            })
            .collect(),
        template,
    }
}

//! A generator of varied, valid simulate cases for the differential test.
//!
//! Every case names a real action with a resource ARN of one of its resource types, so the
//! oracle's validation accepts it; variety comes from wildcards, NotAction/NotResource, every
//! condition-operator family (with IfExists and set qualifiers), policy variables, boundaries,
//! SCP chains of 1–4 levels and resource policies same- and cross-account.

use crate::support::Rng;
use serde_json::{Value, json};

pub const ACCOUNT: &str = "111111111111";
pub const OTHER: &str = "222222222222";
const THIRD: &str = "333333333333";

/// (action, resource template with `{acct}`, alternative patterns that may or may not match).
struct Target {
    action: &'static str,
    resource: &'static str,
    action_patterns: &'static [&'static str],
    resource_patterns: &'static [&'static str],
}

const TARGETS: &[Target] = &[
    Target {
        action: "lambda:InvokeFunction",
        resource: "arn:aws:lambda:us-east-1:{acct}:function:orders-api",
        action_patterns: &[
            "lambda:*",
            "lambda:Invoke*",
            "lambda:invokefunction",
            "lambda:Get*",
            "lambda:?nvokeFunction",
            "*:Invoke*",
        ],
        resource_patterns: &[
            "arn:aws:lambda:us-east-1:{acct}:function:orders-*",
            "arn:aws:lambda:*:*:function:*",
            "arn:aws:lambda:us-west-2:{acct}:function:*",
            "arn:aws:lambda:us-east-1:{acct}:function:orders-api",
            "arn:aws:lambda:us-east-1:{acct}:function:billing",
        ],
    },
    Target {
        action: "lambda:UpdateFunctionCode",
        resource: "arn:aws:lambda:eu-west-1:{acct}:function:billing-worker",
        action_patterns: &[
            "lambda:Update*",
            "lambda:*Code",
            "lambda:UpdateFunctionConfiguration",
            "lambda:*",
        ],
        resource_patterns: &[
            "arn:aws:lambda:eu-west-1:{acct}:function:billing-*",
            "arn:aws:lambda:eu-west-1:{acct}:function:b?lling-worker",
            "arn:aws:lambda:*:{acct}:function:other",
        ],
    },
    Target {
        action: "dynamodb:GetItem",
        resource: "arn:aws:dynamodb:us-east-1:{acct}:table/orders",
        action_patterns: &[
            "dynamodb:*",
            "dynamodb:Get*",
            "dynamodb:BatchGetItem",
            "dynamodb:*Item",
        ],
        resource_patterns: &[
            "arn:aws:dynamodb:us-east-1:{acct}:table/orders",
            "arn:aws:dynamodb:*:*:table/*",
            "arn:aws:dynamodb:us-east-1:{acct}:table/ord*",
            "arn:aws:dynamodb:us-east-1:{acct}:table/users",
        ],
    },
    Target {
        action: "sqs:SendMessage",
        resource: "arn:aws:sqs:us-east-1:{acct}:jobs-queue",
        action_patterns: &[
            "sqs:*",
            "sqs:Send*",
            "sqs:ReceiveMessage",
            "sqs:sendmessage",
        ],
        resource_patterns: &[
            "arn:aws:sqs:us-east-1:{acct}:jobs-*",
            "arn:aws:sqs:*:{acct}:*",
            "arn:aws:sqs:us-east-1:{acct}:other-queue",
        ],
    },
    Target {
        action: "secretsmanager:GetSecretValue",
        resource: "arn:aws:secretsmanager:us-east-1:{acct}:secret:prod/db-AbCdEf",
        action_patterns: &[
            "secretsmanager:*",
            "secretsmanager:Get*",
            "secretsmanager:DescribeSecret",
            "secretsmanager:*Value",
        ],
        resource_patterns: &[
            "arn:aws:secretsmanager:us-east-1:{acct}:secret:prod/*",
            "arn:aws:secretsmanager:*:*:secret:*",
            "arn:aws:secretsmanager:us-east-1:{acct}:secret:dev/*",
        ],
    },
    Target {
        action: "ssm:GetParameter",
        resource: "arn:aws:ssm:us-east-1:{acct}:parameter/app/db-password",
        action_patterns: &[
            "ssm:*",
            "ssm:GetParameter*",
            "ssm:GetParameters",
            "ssm:Put*",
        ],
        resource_patterns: &[
            "arn:aws:ssm:us-east-1:{acct}:parameter/app/*",
            "arn:aws:ssm:us-east-1:{acct}:parameter/other/*",
            "arn:aws:ssm:*:{acct}:parameter/*",
        ],
    },
    Target {
        action: "sns:Publish",
        resource: "arn:aws:sns:us-east-1:{acct}:alerts",
        action_patterns: &["sns:*", "sns:Pub*", "sns:Subscribe"],
        resource_patterns: &[
            "arn:aws:sns:us-east-1:{acct}:alerts",
            "arn:aws:sns:us-east-1:{acct}:*",
            "arn:aws:sns:us-east-1:{acct}:other",
        ],
    },
    Target {
        action: "ec2:TerminateInstances",
        resource: "arn:aws:ec2:us-east-1:{acct}:instance/i-0abc1234",
        action_patterns: &[
            "ec2:*",
            "ec2:Terminate*",
            "ec2:StopInstances",
            "ec2:*Instances",
        ],
        resource_patterns: &[
            "arn:aws:ec2:us-east-1:{acct}:instance/*",
            "arn:aws:ec2:*:*:instance/i-0abc*",
            "arn:aws:ec2:us-east-1:{acct}:volume/*",
        ],
    },
    Target {
        action: "logs:PutLogEvents",
        resource: "arn:aws:logs:us-east-1:{acct}:log-group:/aws/lambda/orders-api:log-stream:2026/11/28",
        action_patterns: &["logs:*", "logs:Put*", "logs:CreateLogStream"],
        resource_patterns: &[
            "arn:aws:logs:us-east-1:{acct}:log-group:/aws/lambda/*",
            "arn:aws:logs:us-east-1:{acct}:log-group:/aws/lambda/orders-api:*",
            "arn:aws:logs:us-east-1:{acct}:log-group:/other/*",
        ],
    },
    // Resources whose own policy is required even in the same account: the key policy of a KMS
    // key, the trust policy of a role being assumed.
    Target {
        action: "kms:Decrypt",
        resource: "arn:aws:kms:us-east-1:{acct}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        action_patterns: &[
            "kms:*",
            "kms:De*",
            "kms:Encrypt",
            "kms:GenerateDataKey*",
            "kms:decrypt",
        ],
        resource_patterns: &[
            "arn:aws:kms:us-east-1:{acct}:key/*",
            "arn:aws:kms:*:*:key/1234abcd-*",
            "arn:aws:kms:us-east-1:{acct}:key/ffff0000-*",
            "arn:aws:kms:us-east-1:{acct}:alias/app",
        ],
    },
    Target {
        action: "sts:AssumeRole",
        resource: "arn:aws:iam::{acct}:role/deploy-role",
        action_patterns: &[
            "sts:*",
            "sts:Assume*",
            "sts:AssumeRoleWithWebIdentity",
            "sts:assumerole",
        ],
        resource_patterns: &[
            "arn:aws:iam::{acct}:role/deploy-*",
            "arn:aws:iam::*:role/*",
            "arn:aws:iam::{acct}:role/other-role",
        ],
    },
    Target {
        action: "s3:GetObject",
        resource: "arn:aws:s3:::data-bucket/reports/2026/q4.csv",
        action_patterns: &[
            "s3:*",
            "s3:Get*",
            "s3:GetObjectVersion",
            "s3:*Object",
            "s3:List*",
        ],
        resource_patterns: &[
            "arn:aws:s3:::data-bucket/*",
            "arn:aws:s3:::data-bucket/reports/*",
            "arn:aws:s3:::data-bucket",
            "arn:aws:s3:::other-bucket/*",
            "arn:aws:s3:::data-*/reports/????/*",
        ],
    },
];

/// Condition keys the generator uses, with the request values it may set.
struct Key {
    name: &'static str,
    values: &'static [&'static str],
}

const TEAM: Key = Key {
    name: "aws:PrincipalTag/team",
    values: &["red", "blue", "Red"],
};
const MFA_AGE: Key = Key {
    name: "aws:MultiFactorAuthAge",
    values: &["30", "300", "3600"],
};
const TIME: Key = Key {
    name: "aws:CurrentTime",
    values: &[
        "2026-06-01T00:00:00Z",
        "2025-01-15T12:30:00Z",
        "2027-03-01T08:00:00Z",
    ],
};
const SECURE: Key = Key {
    name: "aws:SecureTransport",
    values: &["true", "false"],
};
const SOURCE_IP: Key = Key {
    name: "aws:SourceIp",
    values: &["203.0.113.10", "10.1.2.3", "2001:db8::5"],
};
const SOURCE_ARN: Key = Key {
    name: "aws:SourceArn",
    values: &[
        "arn:aws:s3:::src-bucket",
        "arn:aws:sns:us-east-1:111111111111:topic",
        "arn:aws:s3:::other",
    ],
};
const SOURCE_ACCOUNT: Key = Key {
    name: "aws:SourceAccount",
    values: &["111111111111", "222222222222"],
};
const ORG: Key = Key {
    name: "aws:PrincipalOrgID",
    values: &["o-abc123", "o-zzz999"],
};
const USERNAME: Key = Key {
    name: "aws:username",
    values: &["alice", "bob"],
};
const CALLED_VIA: Key = Key {
    name: "aws:CalledVia",
    values: &[
        "athena.amazonaws.com",
        "cloudformation.amazonaws.com",
        "dynamodb.amazonaws.com",
    ],
};
const REGION: Key = Key {
    name: "aws:RequestedRegion",
    values: &["us-east-1", "eu-west-1", "ap-south-1"],
};

const SINGLE_KEYS: &[&Key] = &[
    &TEAM,
    &MFA_AGE,
    &TIME,
    &SECURE,
    &SOURCE_IP,
    &SOURCE_ARN,
    &SOURCE_ACCOUNT,
    &ORG,
    &USERNAME,
    &REGION,
];

pub struct Generator {
    rng: Rng,
}

fn fill(template: &str, acct: &str) -> String {
    template.replace("{acct}", acct)
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        Generator {
            rng: Rng::new(seed),
        }
    }

    fn context(&mut self) -> Value {
        let mut ctx = serde_json::Map::new();
        for key in SINGLE_KEYS {
            if self.rng.chance(60) {
                ctx.insert(key.name.into(), json!(*self.rng.pick(key.values)));
            }
        }
        if self.rng.chance(50) {
            let n = 1 + self.rng.below(2);
            let vals: Vec<&str> = (0..n).map(|_| *self.rng.pick(CALLED_VIA.values)).collect();
            ctx.insert(CALLED_VIA.name.into(), json!(vals));
        }
        Value::Object(ctx)
    }

    /// One condition block entry: (operator, key, values).
    fn condition(&mut self) -> (String, &'static str, Value) {
        let suffix = |rng: &mut Rng| if rng.chance(20) { "IfExists" } else { "" };
        match self.rng.below(12) {
            0 => {
                let op = *self.rng.pick(&[
                    "StringEquals",
                    "StringNotEquals",
                    "StringEqualsIgnoreCase",
                    "StringNotEqualsIgnoreCase",
                ]);
                let vals = self
                    .rng
                    .pick(&[
                        json!("red"),
                        json!(["blue", "red"]),
                        json!("RED"),
                        json!("green"),
                    ])
                    .clone();
                (format!("{op}{}", suffix(&mut self.rng)), TEAM.name, vals)
            }
            1 => {
                let op = *self.rng.pick(&["StringLike", "StringNotLike"]);
                let vals = self
                    .rng
                    .pick(&[
                        json!("r*"),
                        json!("b?ue"),
                        json!(["x*", "*d"]),
                        json!("${aws:username}"),
                    ])
                    .clone();
                let key = if self.rng.chance(70) {
                    TEAM.name
                } else {
                    USERNAME.name
                };
                (format!("{op}{}", suffix(&mut self.rng)), key, vals)
            }
            2 => {
                let op = *self.rng.pick(&[
                    "NumericEquals",
                    "NumericNotEquals",
                    "NumericLessThan",
                    "NumericLessThanEquals",
                    "NumericGreaterThan",
                    "NumericGreaterThanEquals",
                ]);
                let vals = self
                    .rng
                    .pick(&[json!("300"), json!("100"), json!(["30", "3600"])])
                    .clone();
                (format!("{op}{}", suffix(&mut self.rng)), MFA_AGE.name, vals)
            }
            3 => {
                let op = *self.rng.pick(&[
                    "DateEquals",
                    "DateNotEquals",
                    "DateLessThan",
                    "DateLessThanEquals",
                    "DateGreaterThan",
                    "DateGreaterThanEquals",
                ]);
                let vals = self
                    .rng
                    .pick(&[
                        json!("2026-06-01T00:00:00Z"),
                        json!("2026-01-01T00:00:00Z"),
                        json!("2027-01-01T00:00:00Z"),
                    ])
                    .clone();
                (format!("{op}{}", suffix(&mut self.rng)), TIME.name, vals)
            }
            4 => {
                let vals = self
                    .rng
                    .pick(&[json!("true"), json!("false"), json!(true)])
                    .clone();
                (format!("Bool{}", suffix(&mut self.rng)), SECURE.name, vals)
            }
            5 => {
                let op = *self.rng.pick(&["IpAddress", "NotIpAddress"]);
                let vals = self
                    .rng
                    .pick(&[
                        json!("203.0.113.0/24"),
                        json!("10.0.0.0/8"),
                        json!(["192.0.2.0/24", "203.0.113.0/24"]),
                        json!("2001:db8::/32"),
                    ])
                    .clone();
                (
                    format!("{op}{}", suffix(&mut self.rng)),
                    SOURCE_IP.name,
                    vals,
                )
            }
            6 => {
                let op = *self
                    .rng
                    .pick(&["ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"]);
                let vals = self
                    .rng
                    .pick(&[
                        json!("arn:aws:s3:::src-*"),
                        json!("arn:aws:s3:::src-bucket"),
                        json!(["arn:aws:sns:*:111111111111:*", "arn:aws:s3:::x"]),
                    ])
                    .clone();
                (
                    format!("{op}{}", suffix(&mut self.rng)),
                    SOURCE_ARN.name,
                    vals,
                )
            }
            7 => {
                let key = *self
                    .rng
                    .pick(&[SOURCE_ARN.name, SOURCE_ACCOUNT.name, TEAM.name]);
                (
                    "Null".into(),
                    key,
                    self.rng.pick(&[json!("true"), json!("false")]).clone(),
                )
            }
            8 => {
                let op = *self.rng.pick(&[
                    "ForAnyValue:StringEquals",
                    "ForAllValues:StringEquals",
                    "ForAnyValue:StringLike",
                    "ForAllValues:StringNotEquals",
                    "ForAnyValue:StringNotEquals",
                ]);
                let vals = self
                    .rng
                    .pick(&[
                        json!(["athena.amazonaws.com"]),
                        json!(["athena.amazonaws.com", "cloudformation.amazonaws.com"]),
                        json!("*.amazonaws.com"),
                        json!("dynamodb.amazonaws.com"),
                    ])
                    .clone();
                (op.into(), CALLED_VIA.name, vals)
            }
            9 => {
                let op = *self.rng.pick(&["StringEquals", "StringNotEquals"]);
                (
                    format!("{op}{}", suffix(&mut self.rng)),
                    SOURCE_ACCOUNT.name,
                    json!(*self.rng.pick(SOURCE_ACCOUNT.values)),
                )
            }
            10 => {
                let op = *self.rng.pick(&["StringEquals", "StringNotEquals"]);
                (op.into(), ORG.name, json!("o-abc123"))
            }
            _ => {
                let op = *self
                    .rng
                    .pick(&["StringEquals", "StringNotEquals", "StringLike"]);
                let vals = self
                    .rng
                    .pick(&[
                        json!("us-east-1"),
                        json!(["us-east-1", "eu-west-1"]),
                        json!("eu-*"),
                    ])
                    .clone();
                (op.into(), REGION.name, vals)
            }
        }
    }

    fn conditions(&mut self, percent: u64) -> Option<Value> {
        if !self.rng.chance(percent) {
            return None;
        }
        let mut block = serde_json::Map::new();
        for _ in 0..1 + self.rng.below(2) {
            let (op, key, vals) = self.condition();
            let entry = block.entry(op).or_insert_with(|| json!({}));
            entry[key] = vals;
        }
        Some(Value::Object(block))
    }

    fn action_element(&mut self, t: &Target) -> (&'static str, Value) {
        let other = self.rng.pick(TARGETS).action;
        let pick = match self.rng.below(6) {
            0 => json!(t.action),
            1 => json!(*self.rng.pick(t.action_patterns)),
            2 => json!([*self.rng.pick(t.action_patterns), other]),
            3 => json!("*"),
            4 => json!(other),
            _ => json!([
                *self.rng.pick(t.action_patterns),
                *self.rng.pick(t.action_patterns)
            ]),
        };
        let key = if self.rng.chance(15) {
            "NotAction"
        } else {
            "Action"
        };
        (key, pick)
    }

    fn resource_element(&mut self, t: &Target, acct: &str) -> (&'static str, Value) {
        let pattern = |g: &mut Self| {
            let p: &&str = g.rng.pick(t.resource_patterns);
            fill(p, acct)
        };
        let pick = match self.rng.below(7) {
            0 | 1 => json!("*"),
            2 => json!(fill(t.resource, acct)),
            3 => json!(pattern(self)),
            4 => json!([pattern(self), pattern(self)]),
            5 => {
                // A policy variable in the resource.
                let base = fill(t.resource, acct);
                let prefix = base
                    .rsplit_once('/')
                    .map_or(base.as_str(), |(a, _)| a)
                    .to_string();
                json!(format!("{prefix}/${{aws:username}}/*"))
            }
            _ => json!(pattern(self)),
        };
        let key = if self.rng.chance(12) {
            "NotResource"
        } else {
            "Resource"
        };
        (key, pick)
    }

    fn statement(&mut self, t: &Target, acct: &str, deny_percent: u64, cond_percent: u64) -> Value {
        let mut s = serde_json::Map::new();
        if self.rng.chance(30) {
            s.insert("Sid".into(), json!(format!("S{}", self.rng.below(1000))));
        }
        s.insert(
            "Effect".into(),
            json!(if self.rng.chance(deny_percent) {
                "Deny"
            } else {
                "Allow"
            }),
        );
        let (k, v) = self.action_element(t);
        s.insert(k.into(), v);
        let (k, v) = self.resource_element(t, acct);
        s.insert(k.into(), v);
        if let Some(c) = self.conditions(cond_percent) {
            s.insert("Condition".into(), c);
        }
        Value::Object(s)
    }

    fn policy(&mut self, t: &Target, acct: &str, deny_percent: u64, cond_percent: u64) -> Value {
        let n = 1 + self.rng.below(3);
        let statements: Vec<Value> = (0..n)
            .map(|_| self.statement(t, acct, deny_percent, cond_percent))
            .collect();
        if n == 1 && self.rng.chance(20) {
            return json!({"Version": "2012-10-17", "Statement": statements[0]});
        }
        json!({"Version": "2012-10-17", "Statement": statements})
    }

    fn scp_level(&mut self, t: &Target, acct: &str) -> Vec<Value> {
        let full = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
        let mut docs = Vec::new();
        match self.rng.below(4) {
            0 | 1 => docs.push(full),
            2 => docs.push(self.policy(t, acct, 0, 15)),
            _ => {
                docs.push(full);
                docs.push(self.policy(t, acct, 100, 40));
            }
        }
        docs
    }

    fn resource_policy(
        &mut self,
        t: &Target,
        acct: &str,
        principal: &str,
        role_arn: &str,
        caller_acct: &str,
    ) -> Value {
        let n = 1 + self.rng.below(2);
        let statements: Vec<Value> = (0..n)
            .map(|_| {
                let who = match self.rng.below(8) {
                    0 => json!("*"),
                    1 => json!({"AWS": "*"}),
                    2 => json!({"AWS": principal}),
                    3 => json!({"AWS": role_arn}),
                    4 => json!({"AWS": format!("arn:aws:iam::{caller_acct}:root")}),
                    5 => json!({"AWS": caller_acct}),
                    6 => json!({"AWS": format!("arn:aws:iam::{THIRD}:root")}),
                    _ => json!({"Service": "events.amazonaws.com"}),
                };
                let mut s = self.statement(t, acct, 20, 25);
                s["Principal"] = who;
                if self.rng.chance(5) {
                    // NotPrincipal with Deny: everyone but the listed principals.
                    let p = s
                        .as_object_mut()
                        .and_then(|m| m.remove("Principal"))
                        .unwrap_or(json!("*"));
                    if p != json!("*") {
                        s["NotPrincipal"] = p;
                        s["Effect"] = json!("Deny");
                    } else {
                        s["Principal"] = p;
                    }
                }
                s
            })
            .collect();
        json!({"Version": "2012-10-17", "Statement": statements})
    }

    /// Generate one case.
    pub fn case(&mut self, id: usize) -> Value {
        let t = self.rng.pick(TARGETS);
        let cross = self.rng.chance(25);
        let resource_acct = if cross { OTHER } else { ACCOUNT };
        let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/app/fn-role");
        let principal = match self.rng.below(4) {
            0 => role_arn.clone(),
            1 => format!("arn:aws:iam::{ACCOUNT}:user/alice"),
            _ => format!("arn:aws:sts::{ACCOUNT}:assumed-role/fn-role/session-1"),
        };
        let resource = if t.resource.contains("{acct}") {
            fill(t.resource, resource_acct)
        } else {
            t.resource.to_string()
        };
        let identity: Vec<Value> = (0..self.rng.below(4))
            .map(|_| self.policy(t, resource_acct, 20, 30))
            .collect();
        let mut case = json!({
            "id": format!("case-{id}"),
            "principal": principal,
            "action": t.action,
            "resource": resource,
            "resourceAccount": resource_acct,
            "context": self.context(),
            "identity": identity,
        });
        if self.rng.chance(30) {
            case["boundary"] = self.policy(t, resource_acct, 10, 20);
        }
        if self.rng.chance(45) {
            let levels = 1 + self.rng.below(4);
            case["scps"] = json!(
                (0..levels)
                    .map(|_| self.scp_level(t, resource_acct))
                    .collect::<Vec<_>>()
            );
        }
        // A role always has a trust policy, and a trust policy has no Resource element. (With no
        // trust policy at all the oracle lets same-account identity policies decide; AWS has no
        // such role, and rolescope denies: the generator never asks.)
        // Likewise every KMS key has a key policy, half the time with the default statement that
        // delegates the key to its account's IAM policies.
        let assume = t.action.starts_with("sts:");
        let key = t.action.starts_with("kms:");
        if assume || key || self.rng.chance(if cross { 80 } else { 35 }) {
            let mut policy = self.resource_policy(t, resource_acct, &principal, &role_arn, ACCOUNT);
            if key && self.rng.chance(50) {
                let default = json!({"Sid": "EnableIamPolicies", "Effect": "Allow",
                    "Principal": {"AWS": format!("arn:aws:iam::{resource_acct}:root")},
                    "Action": "kms:*", "Resource": "*"});
                if let Some(list) = policy["Statement"].as_array_mut() {
                    list.push(default);
                }
            }
            if assume {
                for stmt in policy["Statement"].as_array_mut().into_iter().flatten() {
                    if let Some(m) = stmt.as_object_mut() {
                        m.remove("Resource");
                        m.remove("NotResource");
                    }
                }
            }
            case["resourcePolicy"] = policy;
        }
        case
    }
}

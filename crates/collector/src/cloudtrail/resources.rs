//! The resources a call acted on: the record's `resources` element when it has one, else its
//! `requestParameters`, read for the services Lambda functions use most. Each rule names the
//! parameter the service's CloudTrail page shows and builds the ARN the Service Authorization
//! Reference gives for the resource type.

use super::events::PASSED_ROLES;
use serde_json::Value;

/// Where a call was made: what an ARN built from a name needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place<'a> {
    pub(crate) partition: &'a str,
    pub(crate) region: &'a str,
    pub(crate) account: &'a str,
}

impl Place<'_> {
    /// `value` when it is an ARN already, else the ARN of the `service` resource it names in
    /// this region and account (`resource` makes the ARN's last part from the name).
    fn named(&self, service: &str, value: &str, resource: impl Fn(&str) -> String) -> String {
        if value.starts_with("arn:") {
            value.to_string()
        } else {
            let Place {
                partition,
                region,
                account,
            } = self;
            format!(
                "arn:{partition}:{service}:{region}:{account}:{}",
                resource(value)
            )
        }
    }
}

/// One entry of a record's `resources` element.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Listed<'a> {
    #[serde(rename = "ARN", alias = "arn", borrow, default)]
    pub(crate) arn: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "type", borrow, default)]
    pub(crate) kind: Option<std::borrow::Cow<'a, str>>,
}

/// Whether an S3 action is authorised on the object (else on the bucket).
fn s3_object_action(name: &str) -> bool {
    name.contains("Object") || matches!(name, "AbortMultipartUpload" | "ListMultipartUploadParts")
}

/// The resources of one call of `action` (`prefix:Name`), pushed to `out`.
pub(crate) fn resources_of(
    action: &str,
    listed: &[Listed<'_>],
    params: Option<&Value>,
    at: Place<'_>,
    out: &mut Vec<String>,
) {
    let (prefix, name) = action.split_once(':').unwrap_or((action, ""));
    from_listed(prefix, name, listed, out);
    if !out.is_empty() {
        return;
    }
    let Some(p) = params.filter(|p| p.is_object()) else {
        return;
    };
    if !from_params(prefix, name, p, at, out) {
        from_more_params(prefix, name, p, at, out);
    }
}

/// The record's own `resources`: those the action is authorised on.
fn from_listed(prefix: &str, name: &str, listed: &[Listed<'_>], out: &mut Vec<String>) {
    {
        for r in listed {
            let (Some(arn), kind) = (r.arn.as_deref(), r.kind.as_deref().unwrap_or("")) else {
                continue;
            };
            // An access key is how the call was signed, not what it acted on.
            if kind == "AWS::IAM::AccessKey" || !arn.starts_with("arn:") {
                continue;
            }
            if prefix == "s3" && kind.starts_with("AWS::S3::") {
                let object = kind == "AWS::S3::Object";
                if object != s3_object_action(name) {
                    continue;
                }
            }
            out.push(arn.to_string());
        }
    }
}

/// A non-empty text parameter.
fn text<'v>(p: &'v Value, key: &str) -> Option<&'v str> {
    p.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Resources from the request parameters of S3, DynamoDB, SQS, SNS, KMS and Secrets Manager;
/// false for another service.
fn from_params(prefix: &str, name: &str, p: &Value, at: Place<'_>, out: &mut Vec<String>) -> bool {
    let text = |key: &str| text(p, key);
    let Place {
        partition, region, ..
    } = at;
    match prefix {
        "s3" => {
            let Some(bucket) = text("bucketName") else {
                return true;
            };
            match text("key") {
                Some(key) if s3_object_action(name) => {
                    out.push(format!("arn:{partition}:s3:::{bucket}/{key}"))
                }
                _ if s3_object_action(name) => {}
                _ => out.push(format!("arn:{partition}:s3:::{bucket}")),
            }
        }
        "dynamodb" => {
            if let Some(table) = text("tableName") {
                out.push(at.named("dynamodb", table, |t| format!("table/{t}")));
            }
        }
        "sqs" => {
            // https://sqs.<region>.amazonaws.com/<account>/<name>
            if let Some(url) = text("queueUrl") {
                let mut parts = url.trim_end_matches('/').rsplit('/');
                if let (Some(name), Some(owner)) = (parts.next(), parts.next()) {
                    out.push(format!("arn:{partition}:sqs:{region}:{owner}:{name}"));
                }
            }
        }
        "sns" => {
            if let Some(topic) = text("topicArn").or_else(|| text("targetArn")) {
                out.push(topic.to_string());
            }
        }
        "kms" => {
            if let Some(key) = text("keyId") {
                out.push(at.named("kms", key, |k| {
                    if k.starts_with("alias/") {
                        k.to_string()
                    } else {
                        format!("key/{k}")
                    }
                }));
            }
        }
        "secretsmanager" => {
            // A name stands for the secret's ARN, which ends in a dash and six random
            // characters.
            if let Some(secret) = text("secretId") {
                out.push(at.named("secretsmanager", secret, |s| format!("secret:{s}-??????")));
            }
        }
        _ => return false,
    }
    true
}

/// Resources from the request parameters of SSM, Lambda, Kinesis, Step Functions, EventBridge
/// and CloudWatch Logs.
fn from_more_params(prefix: &str, name: &str, p: &Value, at: Place<'_>, out: &mut Vec<String>) {
    let text = |key: &str| text(p, key);
    let Place {
        partition,
        region,
        account,
    } = at;
    match prefix {
        "ssm" => {
            let mut push = |name: &str| {
                let parameter = |n: &str| format!("parameter/{}", n.trim_start_matches('/'));
                out.push(at.named("ssm", name, parameter))
            };
            if let Some(n) = text("name") {
                push(n);
            }
            for n in p
                .get("names")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(n) = n.as_str() {
                    push(n);
                }
            }
        }
        "lambda" => {
            if let Some(f) = text("functionName") {
                out.push(at.named("lambda", f, |f| format!("function:{f}")));
            }
        }
        "kinesis" => {
            if let Some(arn) = text("streamARN") {
                out.push(arn.to_string());
            } else if let Some(s) = text("streamName") {
                out.push(format!(
                    "arn:{partition}:kinesis:{region}:{account}:stream/{s}"
                ));
            }
        }
        "states" => {
            if let Some(arn) = text("stateMachineArn").or_else(|| text("executionArn")) {
                out.push(arn.to_string());
            }
        }
        "events" => {
            let bus = p
                .get("entries")
                .and_then(Value::as_array)
                .and_then(|e| e.first())
                .and_then(|e| e.get("eventBusName"))
                .and_then(Value::as_str)
                .or_else(|| text("eventBusName"));
            if name == "PutEvents" {
                out.push(at.named("events", bus.unwrap_or("default"), |b| {
                    format!("event-bus/{b}")
                }));
            } else if let Some(rule) = text("rule").or_else(|| text("name")) {
                out.push(format!(
                    "arn:{partition}:events:{region}:{account}:rule/{rule}"
                ));
            }
        }
        "logs" => {
            if let Some(group) = text("logGroupName") {
                let base = format!("arn:{partition}:logs:{region}:{account}:log-group:{group}");
                match text("logStreamName") {
                    Some(stream) => out.push(format!("{base}:log-stream:{stream}")),
                    None => out.push(base),
                }
            }
        }
        _ => {}
    }
}

/// Whether a call of `action` hands a role to a service ([`PASSED_ROLES`]).
pub(crate) fn passes_role(action: &str) -> bool {
    let (prefix, name) = action.split_once(':').unwrap_or(("", ""));
    PASSED_ROLES
        .iter()
        .any(|(p, e, _)| *p == prefix && *e == name)
}

/// The roles a call of `action` with these request parameters passed (`iam:PassRole` is never
/// logged: the call that hands a role to a service shows it).
pub(crate) fn passed_roles<'v>(action: &str, params: &'v Value, out: &mut Vec<&'v str>) {
    let (prefix, name) = action.split_once(':').unwrap_or(("", ""));
    for (p, event, path) in PASSED_ROLES {
        if *p == prefix && *event == name {
            values_at(params, path, out);
        }
    }
}

/// The value at a dotted path of the request parameters (`overrides.taskRoleArn`, or
/// `targets[].roleArn` for every element of a list).
fn values_at<'v>(params: &'v Value, path: &str, out: &mut Vec<&'v str>) {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    let (key, each) = match head.strip_suffix("[]") {
        Some(k) => (k, true),
        None => (head, false),
    };
    let Some(v) = params.get(key) else {
        return;
    };
    let items: Vec<&Value> = if each {
        v.as_array().map(|a| a.iter().collect()).unwrap_or_default()
    } else {
        vec![v]
    };
    for item in items {
        match rest {
            Some(rest) => values_at(item, rest, out),
            None => out.extend(item.as_str().filter(|s| s.starts_with("arn:"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: Place<'static> = Place {
        partition: "aws",
        region: "eu-west-1",
        account: "111122223333",
    };

    fn of(action: &str, params: &str) -> Vec<String> {
        let params: Value = serde_json::from_str(params).unwrap();
        let mut out = Vec::new();
        resources_of(action, &[], Some(&params), AT, &mut out);
        out
    }

    #[test]
    fn request_parameters_become_arns() {
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "s3:GetObject",
                r#"{"bucketName":"b","key":"in/a.csv"}"#,
                &["arn:aws:s3:::b/in/a.csv"],
            ),
            (
                "s3:ListBucket",
                r#"{"bucketName":"b","prefix":"in/"}"#,
                &["arn:aws:s3:::b"],
            ),
            (
                "dynamodb:PutItem",
                r#"{"tableName":"orders"}"#,
                &["arn:aws:dynamodb:eu-west-1:111122223333:table/orders"],
            ),
            (
                "sqs:SendMessage",
                r#"{"queueUrl":"https://sqs.eu-west-1.amazonaws.com/444455556666/jobs"}"#,
                &["arn:aws:sqs:eu-west-1:444455556666:jobs"],
            ),
            (
                "kms:Decrypt",
                r#"{"keyId":"alias/app"}"#,
                &["arn:aws:kms:eu-west-1:111122223333:alias/app"],
            ),
            (
                "kms:Encrypt",
                r#"{"keyId":"1234abcd-12ab-34cd-56ef-1234567890ab"}"#,
                &["arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"],
            ),
            (
                "secretsmanager:GetSecretValue",
                r#"{"secretId":"prod/db"}"#,
                &["arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-??????"],
            ),
            (
                "ssm:GetParameters",
                r#"{"names":["/app/a","b"]}"#,
                &[
                    "arn:aws:ssm:eu-west-1:111122223333:parameter/app/a",
                    "arn:aws:ssm:eu-west-1:111122223333:parameter/b",
                ],
            ),
            (
                "lambda:InvokeFunction",
                r#"{"functionName":"worker"}"#,
                &["arn:aws:lambda:eu-west-1:111122223333:function:worker"],
            ),
            (
                "events:PutEvents",
                r#"{"entries":[{"source":"app"}]}"#,
                &["arn:aws:events:eu-west-1:111122223333:event-bus/default"],
            ),
            (
                "logs:PutLogEvents",
                r#"{"logGroupName":"/aws/lambda/f","logStreamName":"2026/12/01/[$LATEST]ab"}"#,
                &[
                    "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/f:log-stream:2026/12/01/[$LATEST]ab",
                ],
            ),
            // Wrong shapes give nothing rather than a wrong ARN.
            ("s3:GetObject", r#"{"bucketName":"b"}"#, &[]),
            ("dynamodb:GetItem", r#"{"tableName":7}"#, &[]),
            ("sqs:SendMessage", r#"[1,2]"#, &[]),
        ];
        for (action, params, want) in cases {
            assert_eq!(of(action, params), *want, "{action} {params}");
        }
    }

    #[test]
    fn listed_resources_win_and_s3_picks_object_or_bucket() {
        let listed: Vec<Listed> = serde_json::from_str(
            r#"[{"ARN":"arn:aws:s3:::b/k","type":"AWS::S3::Object"},
                {"ARN":"arn:aws:s3:::b","type":"AWS::S3::Bucket"},
                {"ARN":"arn:aws:iam::111122223333:accessKey/ASIAEXAMPLE","type":"AWS::IAM::AccessKey"}]"#,
        )
        .unwrap();
        let mut out = Vec::new();
        resources_of("s3:GetObject", &listed, None, AT, &mut out);
        assert_eq!(out, ["arn:aws:s3:::b/k"]);
        out.clear();
        resources_of("s3:ListBucket", &listed, None, AT, &mut out);
        assert_eq!(out, ["arn:aws:s3:::b"]);
    }

    #[test]
    fn values_at_follows_paths_and_lists() {
        let p: Value = serde_json::from_str(
            r#"{"targets":[{"roleArn":"arn:aws:iam::1:role/a"},{"id":"x"},{"roleArn":"arn:aws:iam::1:role/b"}],
                "overrides":{"taskRoleArn":"arn:aws:iam::1:role/t"},"role":"not-an-arn"}"#,
        )
        .unwrap();
        let mut out = Vec::new();
        values_at(&p, "targets[].roleArn", &mut out);
        values_at(&p, "overrides.taskRoleArn", &mut out);
        values_at(&p, "role", &mut out);
        assert_eq!(
            out,
            [
                "arn:aws:iam::1:role/a",
                "arn:aws:iam::1:role/b",
                "arn:aws:iam::1:role/t"
            ]
        );
    }
}

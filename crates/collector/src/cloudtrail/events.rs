//! From a CloudTrail event to the IAM action it needed.
//!
//! The rule: the service prefix is the event source's host (`s3.amazonaws.com` → `s3`), the
//! action is the event name, and Lambda's API-version suffixes are dropped
//! (`UpdateFunctionCode20150331v2` → `UpdateFunctionCode`). The tables below are the exceptions.
//!
//! Sources: the Service Authorization Reference (the actions each API needs, e.g. "Amazon S3:
//! actions, resources and condition keys" maps ListObjectsV2 to `s3:ListBucket`), the CloudTrail
//! user guide's per-service "Logging … API calls with AWS CloudTrail" pages (event sources and
//! names), and the Lambda API reference (the versioned operation names). A test checks that every
//! action these tables produce exists in the embedded catalog.

/// Event sources whose host is not the IAM service prefix.
pub(crate) const SOURCE_PREFIXES: &[(&str, &str)] = &[
    ("monitoring.amazonaws.com", "cloudwatch"),
    ("email.amazonaws.com", "ses"),
    ("elasticfilesystem.amazonaws.com", "elasticfilesystem"),
    ("sso.amazonaws.com", "sso"),
    ("api.ecr.amazonaws.com", "ecr"),
    ("bedrock-runtime.amazonaws.com", "bedrock"),
    ("execute-api.amazonaws.com", "execute-api"),
    ("es.amazonaws.com", "es"),
    ("logs.amazonaws.com", "logs"),
];

/// Event names whose action differs from the name: (prefix, event name, action name).
pub(crate) const NAME_EXCEPTIONS: &[(&str, &str, &str)] = &[
    // Amazon S3: list and head operations are authorised by the bucket or object action.
    ("s3", "ListObjects", "ListBucket"),
    ("s3", "ListObjectsV2", "ListBucket"),
    ("s3", "HeadBucket", "ListBucket"),
    ("s3", "ListObjectVersions", "ListBucketVersions"),
    ("s3", "ListMultipartUploads", "ListBucketMultipartUploads"),
    ("s3", "ListParts", "ListMultipartUploadParts"),
    ("s3", "ListBuckets", "ListAllMyBuckets"),
    ("s3", "HeadObject", "GetObject"),
    ("s3", "SelectObjectContent", "GetObject"),
    ("s3", "CopyObject", "PutObject"),
    ("s3", "CreateMultipartUpload", "PutObject"),
    ("s3", "UploadPart", "PutObject"),
    ("s3", "UploadPartCopy", "PutObject"),
    ("s3", "CompleteMultipartUpload", "PutObject"),
    ("s3", "DeleteObjects", "DeleteObject"),
    // AWS KMS: ReEncrypt needs both halves; the key in `resources` is the source key.
    ("kms", "ReEncrypt", "ReEncryptFrom"),
    // AWS Lambda: Invoke is the data event of lambda:InvokeFunction.
    ("lambda", "Invoke", "InvokeFunction"),
    // Amazon SQS and Amazon SNS: batch calls are authorised as their single forms.
    ("sqs", "SendMessageBatch", "SendMessage"),
    ("sqs", "DeleteMessageBatch", "DeleteMessage"),
    (
        "sqs",
        "ChangeMessageVisibilityBatch",
        "ChangeMessageVisibility",
    ),
    ("sns", "PublishBatch", "Publish"),
    // Amazon DynamoDB: transactional reads are authorised per item as GetItem.
    ("dynamodb", "TransactGetItems", "GetItem"),
];

/// The IAM action an event needed, as `prefix:Name` (the name's casing as logged); None when
/// the event source is not an AWS service host.
pub(crate) fn action_of(event_source: &str, event_name: &str) -> Option<String> {
    let prefix = SOURCE_PREFIXES
        .iter()
        .find(|(source, _)| *source == event_source)
        .map(|(_, prefix)| *prefix)
        .or_else(|| {
            let host = event_source.strip_suffix(".amazonaws.com")?;
            (!host.is_empty() && !host.contains('.')).then_some(host)
        })?;
    let name = if prefix == "lambda" {
        strip_api_version(event_name)
    } else {
        event_name
    };
    let name = NAME_EXCEPTIONS
        .iter()
        .find(|(p, event, _)| *p == prefix && *event == name)
        .map_or(name, |(_, _, action)| action);
    Some(format!("{prefix}:{name}"))
}

/// `CreateFunction20150331` → `CreateFunction`, `UpdateFunctionCode20150331v2` →
/// `UpdateFunctionCode`: an 8-digit date, optionally `v` and digits, at the end.
fn strip_api_version(name: &str) -> &str {
    let base = match name.rfind('v') {
        Some(v) if v + 1 < name.len() && name[v + 1..].bytes().all(|b| b.is_ascii_digit()) => {
            &name[..v]
        }
        _ => name,
    };
    let digits = base.bytes().rev().take_while(u8::is_ascii_digit).count();
    if digits == 8 && base.len() > 8 {
        &base[..base.len() - 8]
    } else {
        name
    }
}

/// The roles an event passed (`iam:PassRole` is never logged): the request parameters that name
/// a role handed to a service, by event.
pub(crate) const PASSED_ROLES: &[(&str, &str, &str)] = &[
    ("lambda", "CreateFunction", "role"),
    ("lambda", "UpdateFunctionConfiguration", "role"),
    ("states", "CreateStateMachine", "roleArn"),
    ("states", "UpdateStateMachine", "roleArn"),
    ("cloudformation", "CreateStack", "roleARN"),
    ("cloudformation", "UpdateStack", "roleARN"),
    ("ecs", "RegisterTaskDefinition", "taskRoleArn"),
    ("ecs", "RegisterTaskDefinition", "executionRoleArn"),
    ("ecs", "RunTask", "overrides.taskRoleArn"),
    ("ecs", "RunTask", "overrides.executionRoleArn"),
    ("events", "PutTargets", "targets[].roleArn"),
    ("glue", "CreateJob", "role"),
    ("codebuild", "CreateProject", "serviceRole"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_hosts_exceptions_and_versions() {
        let cases = [
            ("s3.amazonaws.com", "ListObjectsV2", "s3:ListBucket"),
            ("s3.amazonaws.com", "HeadObject", "s3:GetObject"),
            ("s3.amazonaws.com", "GetObject", "s3:GetObject"),
            (
                "lambda.amazonaws.com",
                "CreateFunction20150331",
                "lambda:CreateFunction",
            ),
            (
                "lambda.amazonaws.com",
                "UpdateFunctionCode20150331v2",
                "lambda:UpdateFunctionCode",
            ),
            ("lambda.amazonaws.com", "Invoke", "lambda:InvokeFunction"),
            (
                "lambda.amazonaws.com",
                "ListFunctions20150331",
                "lambda:ListFunctions",
            ),
            (
                "monitoring.amazonaws.com",
                "PutMetricData",
                "cloudwatch:PutMetricData",
            ),
            ("sqs.amazonaws.com", "SendMessageBatch", "sqs:SendMessage"),
            ("kms.amazonaws.com", "Decrypt", "kms:Decrypt"),
            ("dynamodb.amazonaws.com", "Query", "dynamodb:Query"),
        ];
        for (source, name, want) in cases {
            assert_eq!(
                action_of(source, name).as_deref(),
                Some(want),
                "{source} {name}"
            );
        }
        // Not a service host: no action.
        assert_eq!(action_of("signin.aws.example", "ConsoleLogin"), None);
        assert_eq!(action_of(".amazonaws.com", "X"), None);
        // A name that only looks versioned keeps its digits.
        assert_eq!(strip_api_version("Get2"), "Get2");
        assert_eq!(strip_api_version("v2"), "v2");
    }

    /// Every action the exception tables produce is an IAM action of the embedded catalog, and
    /// so is every action of the events the tests' corpora carry.
    #[test]
    fn every_mapped_action_is_in_the_catalog() {
        let catalog = rolescope_policy::catalog::catalog();
        for (prefix, event, action) in NAME_EXCEPTIONS {
            let full = format!("{prefix}:{action}");
            assert!(catalog.action(&full).is_some(), "{event} → {full}");
        }
        for (source, prefix) in SOURCE_PREFIXES {
            assert!(catalog.service(prefix).is_some(), "{source} → {prefix}");
        }
        for (prefix, event, _) in PASSED_ROLES {
            let source = format!("{prefix}.amazonaws.com");
            let action = action_of(&source, event).expect("a service host");
            assert!(catalog.action(&action).is_some(), "{action}");
        }
        assert!(catalog.action("iam:PassRole").is_some());
    }
}

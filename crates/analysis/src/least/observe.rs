//! Which calls a trail can show: management events always, data events only when the trail's
//! event selectors ask for their service, and a few calls never.
//!
//! Sources: CloudTrail user guide, "Logging data events" (the data-event resource types: S3
//! objects and object listings, DynamoDB items and streams, Lambda invocations, SQS messages,
//! SNS publishes, Kinesis records); the X-Ray developer guide, "Logging X-Ray API calls" (the
//! trace and sampling calls are not logged); the CloudWatch Logs user guide (`PutLogEvents` and
//! `GetLogEvents` are not logged as management events). CloudWatch's metric data calls are
//! treated as data events of `cloudwatch` [not confirmed by a primary source; the safe side:
//! a data event that is not selected keeps its grant].

use rolescope_policy::Catalog;
use rolescope_policy::catalog::Action;

/// How a trail can show an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observability {
    /// A management event: every trail logs it.
    Management,
    /// A data event of this service (as `usage_coverage.data_events` names it): logged only
    /// when the trail selects that service.
    Data(&'static str),
    /// Never logged as the role's call.
    Never,
}

/// Data events by service: the actions, or `OBJECT` for every action on S3 objects.
const DATA_EVENTS: &[(&str, &[&str])] = &[
    (
        "s3",
        &[
            "ListBucket",
            "ListBucketVersions",
            "ListBucketMultipartUploads",
            "ListMultipartUploadParts",
        ],
    ),
    (
        "dynamodb",
        &[
            "GetItem",
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "BatchGetItem",
            "BatchWriteItem",
            "Query",
            "Scan",
            "ConditionCheckItem",
            "PartiQLSelect",
            "PartiQLInsert",
            "PartiQLUpdate",
            "PartiQLDelete",
            "GetRecords",
            "GetShardIterator",
            "DescribeStream",
        ],
    ),
    (
        "lambda",
        &["InvokeFunction", "InvokeAsync", "InvokeFunctionUrl"],
    ),
    (
        "sqs",
        &[
            "SendMessage",
            "ReceiveMessage",
            "DeleteMessage",
            "ChangeMessageVisibility",
        ],
    ),
    ("sns", &["Publish"]),
    (
        "kinesis",
        &[
            "GetRecords",
            "GetShardIterator",
            "PutRecord",
            "PutRecords",
            "SubscribeToShard",
        ],
    ),
    (
        "cloudwatch",
        &[
            "PutMetricData",
            "GetMetricData",
            "GetMetricStatistics",
            "ListMetrics",
        ],
    ),
];

/// Calls no trail shows as the role's.
const NEVER: &[&str] = &[
    "logs:PutLogEvents",
    "logs:GetLogEvents",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
];

/// How a trail can show `action`.
pub fn observability(cat: &Catalog, action: &Action) -> Observability {
    let name = action.full_name.as_str();
    if NEVER.iter().any(|n| n.eq_ignore_ascii_case(name)) {
        return Observability::Never;
    }
    let Some((prefix, short)) = name.split_once(':') else {
        return Observability::Management;
    };
    let Some((service, actions)) = DATA_EVENTS.iter().find(|(s, _)| *s == prefix) else {
        return Observability::Management;
    };
    let on_objects = *service == "s3"
        && action.resource_types.iter().any(|(i, _)| {
            cat.service_of(action)
                .resource_types
                .get(*i as usize)
                .is_some_and(|t| t.name == "object")
        });
    if on_objects || actions.iter().any(|a| a.eq_ignore_ascii_case(short)) {
        Observability::Data(service)
    } else {
        Observability::Management
    }
}

/// [`observability`] of every action of `cat`, by action id: computed once for the embedded
/// catalog (the suggestion asks for each action a role is allowed, 22,000 for an administrator).
pub fn table(cat: &Catalog) -> std::borrow::Cow<'static, [Observability]> {
    static EMBEDDED: std::sync::OnceLock<Vec<Observability>> = std::sync::OnceLock::new();
    let all = |cat: &Catalog| -> Vec<Observability> {
        cat.actions.iter().map(|a| observability(cat, a)).collect()
    };
    if std::ptr::eq(cat, rolescope_policy::catalog()) {
        std::borrow::Cow::Borrowed(EMBEDDED.get_or_init(|| all(cat)).as_slice())
    } else {
        std::borrow::Cow::Owned(all(cat))
    }
}

/// Whether a trail that selects the data events of `data_events` can show `action`.
pub fn observable(cat: &Catalog, action: &Action, data_events: &[String]) -> bool {
    match observability(cat, action) {
        Observability::Management => true,
        Observability::Data(service) => data_events.iter().any(|d| d == service),
        Observability::Never => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn management_data_and_never_logged_calls_are_told_apart() {
        let cat = rolescope_policy::catalog();
        let of = |name: &str| observability(cat, cat.action(name).unwrap());
        assert_eq!(of("s3:GetObject"), Observability::Data("s3"));
        assert_eq!(of("s3:PutObjectTagging"), Observability::Data("s3"));
        assert_eq!(of("s3:ListBucket"), Observability::Data("s3"));
        assert_eq!(of("s3:GetBucketPolicy"), Observability::Management);
        assert_eq!(of("dynamodb:GetItem"), Observability::Data("dynamodb"));
        assert_eq!(of("dynamodb:CreateTable"), Observability::Management);
        assert_eq!(of("lambda:InvokeFunction"), Observability::Data("lambda"));
        assert_eq!(of("sqs:SendMessage"), Observability::Data("sqs"));
        assert_eq!(of("sqs:CreateQueue"), Observability::Management);
        assert_eq!(of("logs:PutLogEvents"), Observability::Never);
        assert_eq!(of("logs:CreateLogStream"), Observability::Management);
        assert_eq!(of("kms:Decrypt"), Observability::Management);
        let selected = ["s3".to_string()];
        assert!(observable(
            cat,
            cat.action("s3:GetObject").unwrap(),
            &selected
        ));
        assert!(!observable(
            cat,
            cat.action("sqs:SendMessage").unwrap(),
            &selected
        ));
        assert!(!observable(
            cat,
            cat.action("xray:PutTraceSegments").unwrap(),
            &selected
        ));
        // Every action the table names exists in the catalog.
        for (service, actions) in DATA_EVENTS {
            for a in *actions {
                assert!(
                    cat.action(&format!("{service}:{a}")).is_some(),
                    "{service}:{a}"
                );
            }
        }
        for a in NEVER {
            assert!(cat.action(a).is_some(), "{a}");
        }
    }
}

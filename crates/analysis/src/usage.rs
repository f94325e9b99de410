//! What each function's configuration needs its role to allow, whether or not CloudTrail ever
//! shows the call: Lambda itself makes most of these calls with the execution role (polling an
//! event source, writing logs, sending to a dead-letter queue, creating VPC network
//! interfaces). The actions are those of the AWS managed execution-role policies
//! (AWSLambdaBasicExecutionRole, AWSLambdaSQSQueueExecutionRole, AWSLambdaKinesisExecutionRole,
//! AWSLambdaDynamoDBExecutionRole, AWSLambdaVPCAccessExecutionRole, AWSXRayDaemonWriteAccess)
//! and of the Lambda developer guide's pages on dead-letter queues, destinations, environment
//! encryption and file systems.

use rolescope_model::Function;

/// One need: an action and the resource it is needed on (None: the action takes no resource,
/// or the resource is not known from the configuration).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Need {
    /// The IAM action.
    pub action: &'static str,
    /// The resource.
    pub resource: Option<String>,
    /// Which part of the configuration needs it (`logs`, `event_source`, `dead_letter`…).
    pub because: &'static str,
}

/// The actions a target of asynchronous delivery (dead-letter queue, destination) needs.
fn send_to(arn: &str) -> Option<&'static str> {
    match arn.split(':').nth(2)? {
        "sqs" => Some("sqs:SendMessage"),
        "sns" => Some("sns:Publish"),
        "lambda" => Some("lambda:InvokeFunction"),
        "events" => Some("events:PutEvents"),
        "s3" => Some("s3:PutObject"),
        _ => None,
    }
}

/// What polling an event source needs.
fn poll(arn: &str) -> &'static [&'static str] {
    match arn.split(':').nth(2) {
        Some("sqs") => &[
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
        ],
        Some("kinesis") => &[
            "kinesis:GetRecords",
            "kinesis:GetShardIterator",
            "kinesis:DescribeStream",
            "kinesis:DescribeStreamSummary",
            "kinesis:ListShards",
        ],
        Some("dynamodb") => &[
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
            "dynamodb:DescribeStream",
            "dynamodb:ListStreams",
        ],
        _ => &[],
    }
}

/// Everything `f`'s configuration needs, in a stable order.
pub fn configuration_needs(f: &Function) -> Vec<Need> {
    let c = &f.config;
    let mut needs = Vec::new();
    let mut add = |action: &'static str, resource: Option<String>, because: &'static str| {
        needs.push(Need {
            action,
            resource,
            because,
        })
    };
    // Logs: the function's log group (the default one unless configured), its streams.
    let mut parts = f.arn.split(':');
    let (partition, region, account) = (parts.nth(1), parts.nth(1), parts.next());
    if let (Some(partition), Some(region), Some(account)) = (partition, region, account) {
        let group = c
            .log_group
            .clone()
            .unwrap_or_else(|| format!("/aws/lambda/{}", f.name));
        let streams = format!("arn:{partition}:logs:{region}:{account}:log-group:{group}:*");
        add("logs:CreateLogStream", Some(streams.clone()), "logs");
        add("logs:PutLogEvents", Some(streams), "logs");
    }
    for source in &c.event_sources {
        for action in poll(source) {
            add(action, Some(source.clone()), "event_source");
        }
    }
    for (target, because) in c
        .dead_letter_arn
        .iter()
        .map(|t| (t, "dead_letter"))
        .chain(c.destinations.iter().map(|t| (t, "destination")))
    {
        if let Some(action) = send_to(target) {
            add(action, Some(target.clone()), because);
        }
    }
    if !c.subnet_ids.is_empty() {
        for action in [
            "ec2:CreateNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
        ] {
            add(action, None, "vpc");
        }
    }
    if c.tracing_mode.as_deref() == Some("Active") {
        add("xray:PutTraceSegments", None, "tracing");
        add("xray:PutTelemetryRecords", None, "tracing");
    }
    if let Some(key) = &c.kms_key_arn {
        add("kms:Decrypt", Some(key.clone()), "kms");
    }
    // An access point names the file system only through EFS: the resource stays unknown.
    if !c.file_systems.is_empty() {
        add("elasticfilesystem:ClientMount", None, "file_system");
        add("elasticfilesystem:ClientWrite", None, "file_system");
    }
    needs.sort();
    needs.dedup();
    needs
}

#[cfg(test)]
mod tests {
    use super::*;
    use rolescope_model::FunctionConfig;

    fn function(config: FunctionConfig) -> Function {
        let json = r#"{"account_id":"111122223333","region":"eu-west-1","name":"worker",
            "arn":"arn:aws-cn:lambda:eu-west-1:111122223333:function:worker",
            "role_arn":"arn:aws-cn:iam::111122223333:role/r","runtime":null,"architectures":[],
            "package_type":null,"last_modified":null,"layers":[],"env_var_names":[],
            "resource_policy":null,"urls":[]}"#;
        let mut f: Function = serde_json::from_str(json).unwrap();
        f.config = Box::new(config);
        f
    }

    #[test]
    fn every_configured_part_has_its_needs() {
        let bare = configuration_needs(&function(FunctionConfig::default()));
        let logs = "arn:aws-cn:logs:eu-west-1:111122223333:log-group:/aws/lambda/worker:*";
        assert_eq!(
            bare.iter()
                .map(|n| (n.action, n.resource.as_deref()))
                .collect::<Vec<_>>(),
            [
                ("logs:CreateLogStream", Some(logs)),
                ("logs:PutLogEvents", Some(logs))
            ]
        );
        let queue = "arn:aws-cn:sqs:eu-west-1:111122223333:jobs";
        let topic = "arn:aws-cn:sns:eu-west-1:111122223333:dlq";
        let full = configuration_needs(&function(FunctionConfig {
            dead_letter_arn: Some(topic.into()),
            kms_key_arn: Some("arn:aws-cn:kms:eu-west-1:111122223333:key/k".into()),
            tracing_mode: Some("Active".into()),
            subnet_ids: vec!["subnet-1".into()],
            file_systems: vec![
                "arn:aws-cn:elasticfilesystem:eu-west-1:111122223333:access-point/fsap-1".into(),
            ],
            log_group: Some("/shared/app".into()),
            event_sources: vec![queue.into()],
            destinations: vec!["arn:aws-cn:lambda:eu-west-1:111122223333:function:next".into()],
        }));
        let has = |action: &str, resource: Option<&str>| {
            full.iter()
                .any(|n| n.action == action && n.resource.as_deref() == resource)
        };
        assert!(has("sqs:ReceiveMessage", Some(queue)));
        assert!(has("sqs:DeleteMessage", Some(queue)));
        assert!(has("sns:Publish", Some(topic)));
        assert!(has(
            "lambda:InvokeFunction",
            Some("arn:aws-cn:lambda:eu-west-1:111122223333:function:next")
        ));
        assert!(has("ec2:CreateNetworkInterface", None));
        assert!(has("xray:PutTraceSegments", None));
        assert!(has(
            "kms:Decrypt",
            Some("arn:aws-cn:kms:eu-west-1:111122223333:key/k")
        ));
        assert!(has("elasticfilesystem:ClientMount", None));
        assert!(has(
            "logs:PutLogEvents",
            Some("arn:aws-cn:logs:eu-west-1:111122223333:log-group:/shared/app:*")
        ));
        // Every action named is one of the embedded catalog's.
        let catalog = rolescope_policy::catalog::catalog();
        for n in &full {
            assert!(catalog.action(n.action).is_some(), "{}", n.action);
        }
    }
}

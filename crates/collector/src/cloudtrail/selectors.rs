//! Which data events the trail logs, from its event selectors (DescribeTrails, then
//! GetEventSelectors per trail in its home region): what `scan` uses when
//! `--cloudtrail-data-events` is not given. An organization trail, when there is one, is the
//! trail; else every trail the caller sees counts.

use aws_sdk_cloudtrail as cloudtrail;
use rolescope_model::CollectionError;

/// Data-event resource types and the service whose calls they log (CloudTrail user guide,
/// "Logging data events": the resource types of basic and advanced event selectors).
const DATA_RESOURCE_TYPES: &[(&str, &str)] = &[
    ("AWS::S3::Object", "s3"),
    ("AWS::S3::AccessPoint", "s3"),
    ("AWS::S3Express::Object", "s3express"),
    ("AWS::DynamoDB::Table", "dynamodb"),
    ("AWS::DynamoDB::Stream", "dynamodb"),
    ("AWS::Lambda::Function", "lambda"),
    ("AWS::SQS::Queue", "sqs"),
    ("AWS::SNS::Topic", "sns"),
    ("AWS::SNS::PlatformEndpoint", "sns"),
    ("AWS::Kinesis::Stream", "kinesis"),
    ("AWS::Kinesis::StreamConsumer", "kinesis"),
    ("AWS::StepFunctions::StateMachine", "states"),
];

fn service_of(resource_type: &str) -> Option<&'static str> {
    DATA_RESOURCE_TYPES
        .iter()
        .find(|(t, _)| *t == resource_type)
        .map(|(_, s)| *s)
}

fn failed<E: std::error::Error + 'static>(operation: &str, e: E) -> CollectionError {
    CollectionError {
        account_id: None,
        region: None,
        service: "cloudtrail".into(),
        operation: operation.into(),
        error_code: "CloudTrailError".into(),
        message: format!(
            "{}",
            aws_smithy_types::error::display::DisplayErrorContext(&e)
        ),
        resource_arn: None,
    }
}

/// The services whose data events the trail logs, sorted. A selector that names some
/// resources of a service (some buckets) counts the service: docs/usage.md says so.
pub(crate) async fn data_events(
    sdk: &aws_config::SdkConfig,
) -> Result<Vec<String>, CollectionError> {
    let client = cloudtrail::Client::new(sdk);
    let trails = client
        .describe_trails()
        .include_shadow_trails(true)
        .send()
        .await
        .map_err(|e| failed("DescribeTrails", e))?;
    let trails = trails.trail_list();
    let org: Vec<_> = trails
        .iter()
        .filter(|t| t.is_organization_trail() == Some(true))
        .collect();
    let chosen = if org.is_empty() {
        trails.iter().collect()
    } else {
        org
    };
    let mut services = std::collections::BTreeSet::new();
    for trail in chosen {
        let Some(arn) = trail.trail_arn() else {
            continue;
        };
        // A trail's selectors are read in its home region.
        let mut config = cloudtrail::config::Builder::from(sdk);
        if let Some(home) = trail.home_region() {
            config = config.region(aws_config::Region::new(home.to_string()));
        }
        let selectors = cloudtrail::Client::from_conf(config.build())
            .get_event_selectors()
            .trail_name(arn)
            .send()
            .await
            .map_err(|e| failed("GetEventSelectors", e))?;
        for s in selectors.event_selectors() {
            for r in s.data_resources() {
                services.extend(r.r#type().and_then(service_of));
            }
        }
        for s in selectors.advanced_event_selectors() {
            let equals = |field: &str| -> Vec<&str> {
                s.field_selectors()
                    .iter()
                    .filter(|f| f.field() == field)
                    .flat_map(|f| f.equals().iter().map(String::as_str))
                    .collect()
            };
            if equals("eventCategory").contains(&"Data") {
                services.extend(equals("resources.type").into_iter().filter_map(service_of));
            }
        }
    }
    Ok(services.into_iter().map(String::from).collect())
}

/// [`data_events`] with the caller's credentials, endpoint and region.
pub fn trail_data_events(
    config: &crate::CollectorConfig,
) -> Result<Vec<String>, Box<CollectionError>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Box::new(failed("DescribeTrails", e)))?;
    runtime.block_on(async {
        let sdk = crate::base_config(config, crate::Overrides::default()).await;
        data_events(&sdk).await.map_err(Box::new)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_types_name_services_of_the_catalog() {
        let catalog = rolescope_policy::catalog::catalog();
        for (kind, service) in DATA_RESOURCE_TYPES {
            assert!(catalog.service(service).is_some(), "{kind} → {service}");
        }
        assert_eq!(service_of("AWS::S3::Object"), Some("s3"));
        assert_eq!(service_of("AWS::Nothing::Here"), None);
    }
}

//! The collector's SDK edge against replayed responses (aws-smithy-mocks): pagination, error
//! classification, and the APIs moto does not implement.

use crate::ctx::Ctx;
use crate::{CollectorConfig, iam, lambda};
use aws_config::Region;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::DateTime;
use aws_smithy_types::body::SdkBody;
use rolescope_model::AccountId;
use std::sync::Arc;

const SECRET: &str = "hunter2-never-stored";

fn account() -> AccountId {
    AccountId::new("012345678901").unwrap()
}

fn ctx() -> Arc<Ctx> {
    Arc::new(Ctx::new(&CollectorConfig::default(), None))
}

/// A restJson1 error response as Lambda sends it.
fn json_error(status: u16, code: &'static str) -> Response<SdkBody> {
    let mut response = Response::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(format!(r#"{{"Type":"User","Message":"{code} for test"}}"#)),
    );
    response.headers_mut().insert("x-amzn-errortype", code);
    response
        .headers_mut()
        .insert("content-type", "application/json");
    response
}

/// What an endpoint that lacks an operation answers (moto: an HTML page).
fn html(status: u16) -> Response<SdkBody> {
    Response::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from("<!doctype html><title>Not Found</title>"),
    )
}

mod lambda_edge {
    use super::*;
    use aws_sdk_lambda::Client;
    use aws_sdk_lambda::operation::get_policy::GetPolicyOutput;
    use aws_sdk_lambda::operation::get_resource_policy::GetResourcePolicyOutput;
    use aws_sdk_lambda::operation::list_event_source_mappings::ListEventSourceMappingsOutput;
    use aws_sdk_lambda::operation::list_function_url_configs::ListFunctionUrlConfigsOutput;
    use aws_sdk_lambda::operation::list_functions::ListFunctionsOutput;
    use aws_sdk_lambda::types::{
        Architecture, DeadLetterConfig, EnvironmentResponse, EventSourceMappingConfiguration,
        FunctionConfiguration, FunctionUrlAuthType, FunctionUrlConfig, Layer, LoggingConfig,
        Runtime, TracingConfigResponse, TracingMode,
    };

    fn function(name: &str) -> FunctionConfiguration {
        FunctionConfiguration::builder()
            .function_name(name)
            .function_arn(format!(
                "arn:aws:lambda:eu-west-1:012345678901:function:{name}"
            ))
            .role("arn:aws:iam::012345678901:role/app")
            .dead_letter_config(
                DeadLetterConfig::builder()
                    .target_arn("arn:aws:sqs:eu-west-1:012345678901:dlq")
                    .build(),
            )
            .tracing_config(
                TracingConfigResponse::builder()
                    .mode(TracingMode::Active)
                    .build(),
            )
            .logging_config(
                LoggingConfig::builder()
                    .log_group(format!("/aws/lambda/{name}"))
                    .build(),
            )
            .runtime(Runtime::Python312)
            .architectures(Architecture::Arm64)
            .last_modified("2026-11-01T10:00:00.000+0000")
            .layers(
                Layer::builder()
                    .arn("arn:aws:lambda:eu-west-1:999999999999:layer:x:3")
                    .build(),
            )
            .environment(
                EnvironmentResponse::builder()
                    .variables("DB_PASSWORD", SECRET)
                    .variables("STAGE", "prod")
                    .build(),
            )
            .build()
    }

    /// Every function without a URL (ListFunctionUrlConfigs answers an empty list).
    /// ListEventSourceMappings: one mapping, for `function` (qualified by an alias, as a
    /// mapping may be), from the `jobs` queue.
    fn mapping(function: &str) -> aws_smithy_mocks::Rule {
        let arn = format!("arn:aws:lambda:eu-west-1:012345678901:function:{function}:live");
        mock!(Client::list_event_source_mappings).then_output(move || {
            ListEventSourceMappingsOutput::builder()
                .event_source_mappings(
                    EventSourceMappingConfiguration::builder()
                        .function_arn(&arn)
                        .event_source_arn("arn:aws:sqs:eu-west-1:012345678901:jobs")
                        .build(),
                )
                .build()
        })
    }

    fn no_urls() -> aws_smithy_mocks::Rule {
        mock!(Client::list_function_url_configs).then_output(|| {
            ListFunctionUrlConfigsOutput::builder()
                .set_function_url_configs(Some(vec![]))
                .build()
                .unwrap()
        })
    }

    /// An endpoint without GetResourcePolicy (moto, older endpoints): the lane falls back to
    /// GetPolicy.
    fn no_resource_policy_api() -> aws_smithy_mocks::Rule {
        mock!(Client::get_resource_policy).then_http_response(|| html(404))
    }

    /// Every GetPolicy not matched by an earlier rule: no resource policy.
    fn no_policy() -> aws_smithy_mocks::Rule {
        mock!(Client::get_policy)
            .then_http_response(|| json_error(404, "ResourceNotFoundException"))
    }

    #[tokio::test]
    async fn pages_policies_urls_and_env_names_only() {
        let page1 = mock!(Client::list_functions)
            .match_requests(|r| r.marker().is_none())
            .then_output(|| {
                ListFunctionsOutput::builder()
                    .functions(function("alpha"))
                    .functions(function("bravo"))
                    .next_marker("m1")
                    .build()
            });
        let page2 = mock!(Client::list_functions)
            .match_requests(|r| r.marker() == Some("m1"))
            .then_output(|| {
                ListFunctionsOutput::builder()
                    .functions(function("charlie"))
                    .build()
            });
        // GetResourcePolicy, by the function's ARN: any document, here a Deny with NotPrincipal
        // that AddPermission could never have written.
        let arn = |name: &str| format!("arn:aws:lambda:eu-west-1:012345678901:function:{name}");
        let policy = mock!(Client::get_resource_policy)
            .match_requests(move |r| r.resource_arn() == Some(arn("alpha").as_str()))
            .then_output(|| {
                GetResourcePolicyOutput::builder()
                    .policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"*"},{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::012345678901:root"},"Action":"lambda:UpdateFunctionCode","Resource":"*"}]}"#)
                    .revision_id("r1")
                    .build()
            });
        let no_policy = mock!(Client::get_resource_policy)
            .match_requests(move |r| r.resource_arn() == Some(arn("bravo").as_str()))
            .then_http_response(|| json_error(404, "ResourceNotFoundException"));
        let throttled = mock!(Client::get_resource_policy)
            .match_requests(move |r| r.resource_arn() == Some(arn("charlie").as_str()))
            .then_http_response(|| json_error(429, "TooManyRequestsException"));
        let urls = mock!(Client::list_function_url_configs)
            .match_requests(|r| r.function_name() == Some("alpha"))
            .then_output(|| {
                ListFunctionUrlConfigsOutput::builder()
                    .function_url_configs(
                        FunctionUrlConfig::builder()
                            .function_url("https://abc.lambda-url.eu-west-1.on.aws/")
                            .function_arn("arn:aws:lambda:eu-west-1:012345678901:function:alpha")
                            .auth_type(FunctionUrlAuthType::None)
                            .creation_time("2026-11-01T10:00:00.000+0000")
                            .last_modified_time("2026-11-01T10:00:00.000+0000")
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap()
            });
        let no_urls = no_urls();
        let mappings = mapping("alpha");
        let client = mock_client!(
            aws_sdk_lambda,
            RuleMode::MatchAny,
            &[
                &page1, &page2, &policy, &no_policy, &throttled, &urls, &no_urls, &mappings
            ]
        );
        let ctx = ctx();
        let mut errors = Vec::new();
        let functions = lambda::collect(
            ctx.clone(),
            client,
            account(),
            "eu-west-1".into(),
            &mut errors,
        )
        .await;

        let names: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["alpha", "bravo", "charlie"]);
        assert_eq!(page1.num_calls() + page2.num_calls(), 2);
        let alpha = &functions[0];
        assert!(
            alpha
                .resource_policy
                .as_deref()
                .unwrap()
                .contains(r#""Principal":"*""#)
        );
        // The whole document PutResourcePolicy stored, Deny and NotPrincipal included.
        assert!(
            alpha
                .resource_policy
                .as_deref()
                .unwrap()
                .contains("NotPrincipal")
        );
        assert_eq!(policy.num_calls(), 1);
        assert_eq!(alpha.urls.len(), 1);
        assert_eq!(alpha.urls[0].auth_type, "NONE");
        assert_eq!(alpha.architectures, ["arm64"]);
        // The mapping of alias live lands on its function; the others poll nothing.
        assert_eq!(
            alpha.config.event_sources,
            ["arn:aws:sqs:eu-west-1:012345678901:jobs"]
        );
        assert_eq!(mappings.num_calls(), 1);
        // The configuration ListFunctions carries: the default log group is not repeated.
        assert_eq!(
            alpha.config.dead_letter_arn.as_deref(),
            Some("arn:aws:sqs:eu-west-1:012345678901:dlq")
        );
        assert_eq!(alpha.config.tracing_mode.as_deref(), Some("Active"));
        assert_eq!(alpha.config.log_group, None);
        assert!(functions[1].config.event_sources.is_empty());
        assert_eq!(
            alpha.layers,
            ["arn:aws:lambda:eu-west-1:999999999999:layer:x:3"]
        );
        assert_eq!(
            alpha.last_modified.unwrap().to_rfc3339(),
            "2026-11-01T10:00:00.000Z"
        );
        // No policy is not an error; throttling beyond retries is, naming where it happened.
        assert!(functions[1].resource_policy.is_none());
        assert_eq!(errors.len(), 1, "{errors:#?}");
        let e = &errors[0];
        assert_eq!(
            (
                e.service.as_str(),
                e.operation.as_str(),
                e.error_code.as_str()
            ),
            ("lambda", "GetResourcePolicy", "TooManyRequestsException")
        );
        assert_eq!(e.region.as_deref(), Some("eu-west-1"));
        assert_eq!(e.account_id, Some(account()));
        // Unknown is not absent: the function whose policy could not be read says so, and the
        // error names it; the others were read whole.
        let unread: Vec<&rolescope_model::Function> =
            functions.iter().filter(|f| !f.unread.is_empty()).collect();
        assert_eq!(unread.len(), 1, "{functions:#?}");
        assert_eq!(unread[0].unread, ["resource_policy"]);
        assert_eq!(e.resource_arn.as_deref(), Some(unread[0].arn.as_str()));
        // Names only: the value is in no field of what the collector keeps.
        for f in &functions {
            assert_eq!(f.env_var_names, ["DB_PASSWORD", "STAGE"]);
            let kept = format!("{f:?}") + &serde_json::to_string(f).unwrap();
            assert!(!kept.contains(SECRET));
        }
        assert_eq!(ctx.calls().get("lambda:ListFunctions"), Some(&2));
    }

    #[tokio::test]
    async fn missing_url_listing_falls_back_to_get_function_url_config() {
        use aws_sdk_lambda::operation::get_function_url_config::GetFunctionUrlConfigOutput;
        let list = mock!(Client::list_functions).then_output(|| {
            ListFunctionsOutput::builder()
                .functions(function("alpha"))
                .functions(function("bravo"))
                .build()
        });
        let no_policy = no_policy();
        let unsupported = mock!(Client::list_function_url_configs).then_http_response(|| html(404));
        let url = mock!(Client::get_function_url_config)
            .match_requests(|r| r.function_name() == Some("bravo"))
            .then_output(|| {
                GetFunctionUrlConfigOutput::builder()
                    .function_url("https://b.lambda-url.eu-west-1.on.aws/")
                    .function_arn("arn:aws:lambda:eu-west-1:012345678901:function:bravo")
                    .auth_type(FunctionUrlAuthType::AwsIam)
                    .creation_time("2026-11-01T10:00:00.000+0000")
                    .last_modified_time("2026-11-01T10:00:00.000+0000")
                    .build()
                    .unwrap()
            });
        let no_url = mock!(Client::get_function_url_config)
            .then_http_response(|| json_error(404, "ResourceNotFoundException"));
        let legacy = no_resource_policy_api();
        let client = mock_client!(
            aws_sdk_lambda,
            RuleMode::MatchAny,
            &[
                &list,
                &legacy,
                &no_policy,
                &unsupported,
                &url,
                &no_url,
                &mapping("nobody")
            ]
        );
        let mut errors = Vec::new();
        let functions =
            lambda::collect(ctx(), client, account(), "eu-west-1".into(), &mut errors).await;
        assert_eq!(functions.len(), 2);
        assert!(functions[0].urls.is_empty());
        assert_eq!(functions[1].urls[0].auth_type, "AWS_IAM");
        // The gap is recorded once for the region, not once per function.
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert_eq!(errors[0].error_code, crate::UNSUPPORTED);
        assert_eq!(errors[0].operation, "ListFunctionUrlConfigs");
        assert_eq!(unsupported.num_calls(), 1);
        // Without GetResourcePolicy the lane reads policies with GetPolicy, and that is no
        // error: both functions' policies were read (none here).
        assert!(legacy.num_calls() >= 1);
        assert_eq!(no_policy.num_calls(), 2);
        assert!(functions.iter().all(|f| f.unread.is_empty()));
    }

    fn version(name: &str, v: &str, role: &str) -> FunctionConfiguration {
        FunctionConfiguration::builder()
            .function_name(name)
            .function_arn(format!(
                "arn:aws:lambda:eu-west-1:012345678901:function:{name}:{v}"
            ))
            .version(v)
            .role(format!("arn:aws:iam::012345678901:role/{role}"))
            .build()
    }

    /// Versions and aliases are fetched as the listing shows them, in any order: a version listed
    /// a page before its function still lands on it, and a qualifier that could not be read
    /// says so, with an error naming it.
    #[tokio::test]
    async fn versions_and_aliases_land_on_their_function_whatever_the_page_order() {
        use aws_sdk_lambda::operation::list_aliases::ListAliasesOutput;
        use aws_sdk_lambda::types::AliasConfiguration;
        let page1 = mock!(Client::list_functions)
            .match_requests(|r| r.marker().is_none())
            .then_output(|| {
                ListFunctionsOutput::builder()
                    .functions(function("alpha"))
                    .functions(version("alpha", "1", "old"))
                    .functions(version("bravo", "2", "b2"))
                    .next_marker("m1")
                    .build()
            });
        let page2 = mock!(Client::list_functions)
            .match_requests(|r| r.marker() == Some("m1"))
            .then_output(|| {
                ListFunctionsOutput::builder()
                    .functions(version("bravo", "10", "b10"))
                    .functions(function("bravo"))
                    .functions(function("charlie"))
                    .build()
            });
        let denied_aliases = mock!(Client::list_aliases)
            .match_requests(|r| r.function_name() == Some("alpha"))
            .then_http_response(|| json_error(403, "AccessDeniedException"));
        let bravo_aliases = mock!(Client::list_aliases)
            .match_requests(|r| r.function_name() == Some("bravo"))
            .then_output(|| {
                ListAliasesOutput::builder()
                    .aliases(
                        AliasConfiguration::builder()
                            .name("live")
                            .function_version("10")
                            .build(),
                    )
                    .aliases(
                        AliasConfiguration::builder()
                            .name("beta")
                            .function_version("2")
                            .build(),
                    )
                    .build()
            });
        let live_policy = mock!(Client::get_policy)
            .match_requests(|r| r.function_name() == Some("bravo") && r.qualifier() == Some("live"))
            .then_output(|| {
                GetPolicyOutput::builder()
                    .policy(r#"{"Statement":[]}"#)
                    .build()
            });
        let denied_version = mock!(Client::get_policy)
            .match_requests(|r| r.function_name() == Some("alpha") && r.qualifier() == Some("1"))
            .then_http_response(|| json_error(403, "AccessDeniedException"));
        let no_policy = no_policy();
        let no_urls = no_urls();
        let client = mock_client!(
            aws_sdk_lambda,
            RuleMode::MatchAny,
            &[
                &mapping("nobody"),
                &no_resource_policy_api(),
                &page1,
                &page2,
                &denied_aliases,
                &bravo_aliases,
                &live_policy,
                &denied_version,
                &no_policy,
                &no_urls
            ]
        );
        let ctx = ctx();
        let mut errors = Vec::new();
        let functions = lambda::collect(
            ctx.clone(),
            client,
            account(),
            "eu-west-1".into(),
            &mut errors,
        )
        .await;

        let names: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["alpha", "bravo", "charlie"]);
        let qualifiers = |f: &rolescope_model::Function| -> Vec<(String, Option<String>, bool)> {
            f.qualifiers
                .iter()
                .map(|q| {
                    (
                        q.name.clone(),
                        q.role_arn.clone(),
                        q.resource_policy.is_some(),
                    )
                })
                .collect()
        };
        let role = |r: &str| Some(format!("arn:aws:iam::012345678901:role/{r}"));
        // Versions by number (10 after 2), then aliases by name; only `live` has a policy.
        assert_eq!(
            qualifiers(&functions[1]),
            [
                ("2".to_string(), role("b2"), false),
                ("10".to_string(), role("b10"), false),
                ("beta".to_string(), None, false),
                ("live".to_string(), None, true),
            ]
        );
        assert_eq!(
            functions[1].qualifiers[3].routing,
            [("10".to_string(), 1_000_000)]
        );
        assert!(functions[1].unread.is_empty());
        // alpha: its aliases could not be listed and its version's policy not read.
        assert_eq!(functions[0].unread, ["aliases"]);
        assert_eq!(functions[0].qualifiers.len(), 1);
        assert_eq!(functions[0].qualifiers[0].unread, ["resource_policy"]);
        let mut failed: Vec<(&str, Option<&str>)> = errors
            .iter()
            .map(|e| (e.operation.as_str(), e.resource_arn.as_deref()))
            .collect();
        failed.sort();
        assert_eq!(
            failed,
            [
                (
                    "GetPolicy",
                    Some("arn:aws:lambda:eu-west-1:012345678901:function:alpha:1")
                ),
                (
                    "ListAliases",
                    Some("arn:aws:lambda:eu-west-1:012345678901:function:alpha")
                ),
            ]
        );
        // A function without versions costs no alias call; each versioned function one.
        assert!(functions[2].qualifiers.is_empty());
        assert_eq!(ctx.calls().get("lambda:ListAliases"), Some(&2));
        // GetPolicy for three functions, three versions and two aliases.
        assert_eq!(ctx.calls().get("lambda:GetPolicy"), Some(&8));
    }

    /// A lane waiting for a function ticket keeps taking its listing pages, and asks again at
    /// the rank of what it has listed. Before, the lane stopped listing until it had a ticket,
    /// so it looked like two pages, and a rival lane with a smaller backlog was served first
    /// (the largest lane of an xl scan lost a minute that way: docs/benchmarks.md, thirteenth
    /// pass).
    #[tokio::test(start_paused = true)]
    async fn a_lane_waiting_for_a_ticket_keeps_listing_and_asks_at_its_backlog() {
        const PAGES: usize = 6;
        const PER_PAGE: usize = 50;
        let marker = |p: usize| (p > 0).then(|| format!("m{p}"));
        let pages: Vec<_> = (0..PAGES)
            .map(|p| {
                let asked = marker(p);
                let next = marker(p + 1).filter(|_| p + 1 < PAGES);
                mock!(Client::list_functions)
                    .match_requests(move |r| r.marker() == asked.as_deref())
                    .then_output(move || {
                        let mut page = ListFunctionsOutput::builder().set_next_marker(next.clone());
                        for i in 0..PER_PAGE {
                            page = page.functions(function(&format!("f{p}-{i}")));
                        }
                        page.build()
                    })
            })
            .collect();
        let no_policy = no_policy();
        let no_urls = no_urls();
        let no_mappings = mapping("nobody");
        let mut rules: Vec<&aws_smithy_mocks::Rule> = pages.iter().collect();
        rules.push(&no_mappings);
        let legacy = no_resource_policy_api();
        rules.extend([&legacy, &no_policy, &no_urls]);
        let client = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, &rules);
        let ctx = Arc::new(Ctx::new(
            &CollectorConfig {
                concurrency: 8,
                ..CollectorConfig::default()
            },
            None,
        ));
        // Every function ticket of the scan (twice the in-flight cap) is held elsewhere.
        let mut held = Vec::new();
        for _ in 0..16 {
            held.push(ctx.function_ticket(u64::MAX).await);
        }
        let mut blocked = tokio::spawn(ctx.function_ticket(u64::MAX));
        tokio::task::yield_now().await;
        assert!(!blocked.is_finished(), "the test holds every ticket");
        blocked.abort();
        let _ = (&mut blocked).await;

        let lane = tokio::spawn({
            let ctx = ctx.clone();
            async move {
                let mut errors = Vec::new();
                let functions =
                    lambda::collect(ctx, client, account(), "eu-west-1".into(), &mut errors).await;
                (functions, errors)
            }
        });
        let listed = || pages.iter().map(|p| p.num_calls()).sum::<usize>();
        for _ in 0..10_000 {
            if listed() == PAGES {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(
            listed(),
            PAGES,
            "the lane listed while it waited for a ticket"
        );
        assert_eq!(no_policy.num_calls(), 0);

        // A rival lane with 400 calls to make asks now. The lane first asked at about 200 (its
        // first page and one more), and asked again when it had listed more than twice that:
        // the next free ticket is the lane's.
        let rival = tokio::spawn(ctx.function_ticket(400));
        tokio::task::yield_now().await;
        drop(held.pop());
        for _ in 0..10_000 {
            if no_policy.num_calls() > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        assert!(
            no_policy.num_calls() > 0,
            "the freed ticket went to the rival"
        );
        assert!(!rival.is_finished());

        drop(held);
        let (functions, errors) = lane.await.unwrap();
        assert!(errors.is_empty(), "{errors:#?}");
        assert_eq!(functions.len(), PAGES * PER_PAGE);
        assert_eq!(no_policy.num_calls(), PAGES * PER_PAGE);
        assert_eq!(no_urls.num_calls(), PAGES * PER_PAGE);
        drop(rival.await.unwrap());
    }
}

mod iam_edge {
    use super::*;
    use aws_sdk_iam::Client;
    use aws_sdk_iam::operation::generate_service_last_accessed_details::GenerateServiceLastAccessedDetailsOutput;
    use aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsOutput;
    use aws_sdk_iam::operation::get_policy::GetPolicyOutput;
    use aws_sdk_iam::operation::get_policy_version::GetPolicyVersionOutput;
    use aws_sdk_iam::operation::get_service_last_accessed_details::GetServiceLastAccessedDetailsOutput;
    use aws_sdk_iam::types::{
        AttachedPermissionsBoundary, AttachedPolicy, JobStatusType, ManagedPolicyDetail, Policy,
        PolicyDetail, PolicyVersion, RoleDetail, RoleLastUsed, ServiceLastAccessed,
        TrackedActionLastAccessed,
    };
    use std::time::Duration;

    const TRUST_ENCODED: &str = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22lambda.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
    const NEW_AWS_POLICY: &str = "arn:aws:iam::aws:policy/RolescopeTestPolicyFromTheFuture";

    fn role(name: &str) -> RoleDetail {
        RoleDetail::builder()
            .role_name(name)
            .arn(format!("arn:aws:iam::012345678901:role/{name}"))
            .path("/")
            .assume_role_policy_document(TRUST_ENCODED)
            .role_policy_list(
                PolicyDetail::builder()
                    .policy_name("inline")
                    .policy_document(
                        "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D",
                    )
                    .build(),
            )
            .attached_managed_policies(AttachedPolicy::builder().policy_arn(NEW_AWS_POLICY).build())
            .permissions_boundary(
                AttachedPermissionsBoundary::builder()
                    .permissions_boundary_arn("arn:aws:iam::012345678901:policy/boundary")
                    .build(),
            )
            .role_last_used(
                RoleLastUsed::builder()
                    .last_used_date(DateTime::from_millis(1_790_000_000_123))
                    .region("eu-west-1")
                    .build(),
            )
            .build()
    }

    #[tokio::test]
    async fn gaad_pages_are_followed_and_documents_decoded() {
        let page1 = mock!(Client::get_account_authorization_details)
            .match_requests(|r| r.marker().is_none() && r.max_items() == Some(1000))
            .then_output(|| {
                GetAccountAuthorizationDetailsOutput::builder()
                    .role_detail_list(role("one"))
                    .is_truncated(true)
                    .marker("page-2")
                    .build()
            });
        let page2 = mock!(Client::get_account_authorization_details)
            .match_requests(|r| r.marker() == Some("page-2"))
            .then_output(|| {
                GetAccountAuthorizationDetailsOutput::builder()
                    .role_detail_list(role("two"))
                    .policies(
                        ManagedPolicyDetail::builder()
                            .arn("arn:aws:iam::012345678901:policy/boundary")
                            .default_version_id("v2")
                            .policy_version_list(PolicyVersion::builder().version_id("v1").document("%7B%7D").is_default_version(false).build())
                            .policy_version_list(
                                PolicyVersion::builder()
                                    .version_id("v2")
                                    .document("%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D")
                                    .is_default_version(true)
                                    .build(),
                            )
                            .build(),
                    )
                    .is_truncated(false)
                    .build()
            });
        let get_policy = mock!(Client::get_policy)
            .match_requests(|r| r.policy_arn() == Some(NEW_AWS_POLICY))
            .then_output(|| {
                GetPolicyOutput::builder()
                    .policy(
                        Policy::builder()
                            .policy_name("RolescopeTestPolicyFromTheFuture")
                            .default_version_id("v4")
                            .build(),
                    )
                    .build()
            });
        let get_version = mock!(Client::get_policy_version)
            .match_requests(|r| r.version_id() == Some("v4"))
            .then_output(|| {
                GetPolicyVersionOutput::builder()
                    .policy_version(PolicyVersion::builder().document("%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3A%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D").build())
                    .build()
            });
        let client = mock_client!(
            aws_sdk_iam,
            RuleMode::MatchAny,
            &[&page1, &page2, &get_policy, &get_version]
        );
        let mut errors = Vec::new();
        let view = iam::collect(&ctx(), &client, &account(), &mut errors).await;
        assert!(errors.is_empty(), "{errors:#?}");
        assert_eq!(view.roles.len(), 2);
        let one = &view.roles[0];
        assert_eq!(one.name, "one");
        assert!(one.trust_policy.starts_with("{\"Version\":\"2012-10-17\""));
        rolescope_policy::Policy::parse(&one.trust_policy).unwrap();
        rolescope_policy::Policy::parse(&one.inline_policies[0].document).unwrap();
        assert_eq!(
            one.last_used_at.unwrap().to_rfc3339(),
            "2026-09-21T14:13:20.123Z"
        );
        assert_eq!(one.last_used_region.as_deref(), Some("eu-west-1"));
        // The default version, not the first one; the name from the ARN when GAAD omits it.
        let boundary = view
            .managed
            .iter()
            .find(|m| m.arn.ends_with("policy/boundary"))
            .unwrap();
        assert_eq!(boundary.default_version, "v2");
        assert_eq!(boundary.name, "boundary");
        assert!(boundary.document.contains("Statement"));
        // The AWS managed policy unknown to the embedded copy is fetched once, not per role.
        let fetched = view
            .managed
            .iter()
            .find(|m| m.arn == NEW_AWS_POLICY)
            .unwrap();
        assert_eq!(fetched.account_id, None);
        assert!(fetched.document.contains("\"s3:*\""));
        assert_eq!(get_policy.num_calls(), 1);
    }

    /// A last-accessed job still running.
    fn in_progress() -> GetServiceLastAccessedDetailsOutput {
        GetServiceLastAccessedDetailsOutput::builder()
            .job_status(JobStatusType::InProgress)
            .job_creation_date(DateTime::from_millis(0))
            .job_completion_date(DateTime::from_millis(0))
            .set_services_last_accessed(Some(vec![]))
            .build()
            .unwrap()
    }

    fn completed(with_actions: bool) -> GetServiceLastAccessedDetailsOutput {
        let mut s3 = ServiceLastAccessed::builder()
            .service_name("Amazon S3")
            .service_namespace("s3")
            .last_authenticated(DateTime::from_millis(1_790_000_000_000));
        if with_actions {
            s3 = s3
                .tracked_actions_last_accessed(
                    TrackedActionLastAccessed::builder()
                        .action_name("GetObject")
                        .last_accessed_time(DateTime::from_millis(1_790_000_000_000))
                        .build(),
                )
                .tracked_actions_last_accessed(
                    TrackedActionLastAccessed::builder()
                        .action_name("PutObject")
                        .build(),
                );
        }
        GetServiceLastAccessedDetailsOutput::builder()
            .job_status(JobStatusType::Completed)
            .job_creation_date(DateTime::from_millis(0))
            .job_completion_date(DateTime::from_millis(0))
            .services_last_accessed(s3.build().unwrap())
            .services_last_accessed(
                ServiceLastAccessed::builder()
                    .service_name("Amazon DynamoDB")
                    .service_namespace("dynamodb")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn last_accessed_jobs_are_polled_until_complete() {
        let generate = mock!(Client::generate_service_last_accessed_details).then_output(|| {
            GenerateServiceLastAccessedDetailsOutput::builder()
                .job_id("job-1")
                .build()
        });
        let poll = mock!(Client::get_service_last_accessed_details)
            .sequence()
            .output(in_progress)
            .times(2)
            .output(|| completed(true))
            .build();
        let client = mock_client!(aws_sdk_iam, RuleMode::Sequential, &[&generate, &poll]);
        let mut errors = Vec::new();
        let rows = iam::last_accessed(
            &ctx(),
            &client,
            &account(),
            &["arn:aws:iam::012345678901:role/app".to_string()],
            Duration::from_secs(60),
            &mut errors,
        )
        .await;
        assert!(errors.is_empty(), "{errors:#?}");
        assert_eq!(poll.num_calls(), 3);
        assert_eq!(rows.len(), 2);
        let s3 = rows.iter().find(|r| r.service == "s3").unwrap();
        assert_eq!(
            s3.last_accessed_at.unwrap().to_rfc3339(),
            "2026-09-21T14:13:20.000Z"
        );
        assert_eq!(s3.actions.len(), 2);
        assert_eq!(s3.actions[0].0, "s3:GetObject");
        assert!(s3.actions[0].1.is_some() && s3.actions[1].1.is_none());
        let ddb = rows.iter().find(|r| r.service == "dynamodb").unwrap();
        assert!(ddb.last_accessed_at.is_none() && ddb.actions.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn last_accessed_gives_up_at_the_deadline_and_says_so() {
        let generate = mock!(Client::generate_service_last_accessed_details).then_output(|| {
            GenerateServiceLastAccessedDetailsOutput::builder()
                .job_id("job-1")
                .build()
        });
        let poll = mock!(Client::get_service_last_accessed_details).then_output(in_progress);
        let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, &[&generate, &poll]);
        let mut errors = Vec::new();
        let rows = iam::last_accessed(
            &ctx(),
            &client,
            &account(),
            &["arn:aws:iam::012345678901:role/app".to_string()],
            Duration::from_secs(10),
            &mut errors,
        )
        .await;
        assert!(rows.is_empty());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].error_code, "Timeout");
        assert!(errors[0].message.contains("role/app"));
    }

    #[tokio::test]
    async fn missing_last_accessed_api_is_recorded_once_per_account() {
        let generate =
            mock!(Client::generate_service_last_accessed_details).then_http_response(|| html(500));
        let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, &[&generate]);
        let roles: Vec<String> = (0..3)
            .map(|i| format!("arn:aws:iam::012345678901:role/r{i}"))
            .collect();
        let mut errors = Vec::new();
        let ctx = ctx();
        let rows = iam::last_accessed(
            &ctx,
            &client,
            &account(),
            &roles,
            Duration::from_secs(5),
            &mut errors,
        )
        .await;
        assert!(rows.is_empty());
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert_eq!(errors[0].error_code, crate::UNSUPPORTED);
        assert_eq!(errors[0].service, "iam");
        // One role tried (its attempts included), the other two not at all.
        assert_eq!(
            ctx.calls().get("iam:GenerateServiceLastAccessedDetails"),
            Some(&1)
        );
    }
}

mod analyzer_edge {
    use super::*;
    use aws_sdk_accessanalyzer::Client;
    use aws_sdk_accessanalyzer::operation::list_analyzers::ListAnalyzersOutput;
    use aws_sdk_accessanalyzer::operation::list_findings_v2::ListFindingsV2Output;
    use aws_sdk_accessanalyzer::types::{
        AnalyzerStatus, AnalyzerSummary, FindingStatus, FindingSummaryV2, FindingType,
        ResourceType, Type,
    };

    fn analyzer(name: &str, status: AnalyzerStatus, kind: Type) -> AnalyzerSummary {
        AnalyzerSummary::builder()
            .arn(format!(
                "arn:aws:access-analyzer:eu-west-1:012345678901:analyzer/{name}"
            ))
            .name(name)
            .r#type(kind)
            .created_at(DateTime::from_millis(0))
            .status(status)
            .build()
            .unwrap()
    }

    fn finding(
        id: &str,
        resource: &str,
        kind: ResourceType,
        ftype: FindingType,
    ) -> FindingSummaryV2 {
        FindingSummaryV2::builder()
            .id(id)
            .resource(resource)
            .resource_type(kind)
            .resource_owner_account("210987654321")
            .status(FindingStatus::Active)
            .finding_type(ftype)
            .created_at(DateTime::from_millis(1_000))
            .updated_at(DateTime::from_millis(2_000))
            .analyzed_at(DateTime::from_millis(3_000))
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn findings_of_active_analyzers_with_resource_filter() {
        let list = mock!(Client::list_analyzers).then_output(|| {
            ListAnalyzersOutput::builder()
                .analyzers(analyzer("org", AnalyzerStatus::Active, Type::Organization))
                .analyzers(analyzer("old", AnalyzerStatus::Disabled, Type::Account))
                .build()
                .unwrap()
        });
        let findings = mock!(Client::list_findings_v2)
            .match_requests(|r| {
                r.analyzer_arn().is_some_and(|a| a.ends_with("/org"))
                    && r.filter()
                        .and_then(|f| f.get("resourceType"))
                        .is_some_and(|c| c.eq() == ["AWS::Lambda::Function", "AWS::IAM::Role"])
            })
            .then_output(|| {
                ListFindingsV2Output::builder()
                    .findings(finding(
                        "f-2",
                        "arn:aws:lambda:eu-west-1:210987654321:function:pub",
                        ResourceType::AwsLambdaFunction,
                        FindingType::ExternalAccess,
                    ))
                    .findings(finding(
                        "f-1",
                        "arn:aws:iam::210987654321:role/old",
                        ResourceType::AwsIamRole,
                        FindingType::UnusedIamRole,
                    ))
                    .build()
                    .unwrap()
            });
        let client = mock_client!(
            aws_sdk_accessanalyzer,
            RuleMode::MatchAny,
            &[&list, &findings]
        );
        let mut errors = Vec::new();
        let out =
            crate::analyzer::collect(&ctx(), &client, &account(), "eu-west-1", &mut errors).await;
        assert!(errors.is_empty(), "{errors:#?}");
        assert_eq!(
            findings.num_calls(),
            1,
            "the disabled analyzer is not queried"
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].id, "f-1");
        assert_eq!(out[0].finding_type, "UnusedIAMRole");
        // Organization analyzers report other accounts' resources: the owner is kept.
        assert_eq!(out[0].account_id.as_str(), "210987654321");
        assert_eq!(
            out[1].resource_arn,
            "arn:aws:lambda:eu-west-1:210987654321:function:pub"
        );
        let detail: serde_json::Value = serde_json::from_str(&out[1].detail).unwrap();
        assert_eq!(detail["analyzer_type"], "ORGANIZATION");
        assert_eq!(detail["resource_type"], "AWS::Lambda::Function");
    }

    #[tokio::test]
    async fn access_denied_is_a_row_not_a_failure() {
        let denied = mock!(Client::list_analyzers).then_http_response(|| {
            let mut r = Response::new(
                StatusCode::try_from(403).unwrap(),
                SdkBody::from(r#"{"message":"not authorized"}"#),
            );
            r.headers_mut()
                .insert("x-amzn-errortype", "AccessDeniedException");
            r
        });
        let client = mock_client!(aws_sdk_accessanalyzer, RuleMode::MatchAny, &[&denied]);
        let mut errors = Vec::new();
        let out =
            crate::analyzer::collect(&ctx(), &client, &account(), "eu-west-1", &mut errors).await;
        assert!(out.is_empty());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].error_code, "AccessDeniedException");
        assert_eq!(errors[0].message, "not authorized");
    }
}

mod orchestration {
    use super::*;
    use crate::{Overrides, collect_with};
    use aws_smithy_http_client::test_util::infallible_client_fn;

    fn respond(status: u16, content_type: &str, body: &str) -> http::Response<SdkBody> {
        http::Response::builder()
            .status(status)
            .header("content-type", content_type)
            .body(SdkBody::from(body.to_string()))
            .unwrap()
    }

    /// A scan of one region against [`fake_aws`]: no last-accessed data, no Access Analyzer,
    /// one attempt per call, scan id `scan-1`.
    fn fake_config() -> CollectorConfig {
        CollectorConfig {
            regions: Some(vec!["us-east-1".into()]),
            home_region: Some("us-east-1".into()),
            endpoint_url: Some("http://fake-aws.invalid".into()),
            last_accessed: false,
            access_analyzer: false,
            max_attempts: 1,
            scan_id: Some("scan-1".into()),
            ..CollectorConfig::default()
        }
    }

    /// Like [`fake_aws`], but AssumeRole succeeds (sessions valid for an hour).
    fn fake_aws_assumable(req: http::Request<SdkBody>) -> http::Response<SdkBody> {
        let body = std::str::from_utf8(req.body().bytes().unwrap_or_default())
            .unwrap_or_default()
            .to_string();
        if body.contains("Action=AssumeRole") {
            let expiry = aws_smithy_types::DateTime::from(
                std::time::SystemTime::now() + std::time::Duration::from_secs(3600),
            )
            .fmt(aws_smithy_types::date_time::Format::DateTime)
            .unwrap();
            return respond(
                200,
                "text/xml",
                &format!(
                    r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIA022222222222</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>{expiry}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROA:x</AssumedRoleId><Arn>arn:aws:sts::022222222222:assumed-role/RolescopeAudit/rolescope</Arn></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>"#
                ),
            );
        }
        fake_aws(req)
    }

    /// A fake AWS: routes by protocol (awsQuery `Action=`, awsJson `X-Amz-Target`, restJson path)
    /// and answers like the real services would.
    fn fake_aws(req: http::Request<SdkBody>) -> http::Response<SdkBody> {
        let body = std::str::from_utf8(req.body().bytes().unwrap_or_default())
            .unwrap_or_default()
            .to_string();
        let target = req
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let xml = "text/xml";
        let json = "application/x-amz-json-1.1";
        if body.contains("Action=GetCallerIdentity") {
            return respond(
                200,
                xml,
                r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::011111111111:user/auditor</Arn><UserId>AIDA</UserId><Account>011111111111</Account></GetCallerIdentityResult></GetCallerIdentityResponse>"#,
            );
        }
        if body.contains("Action=AssumeRole") {
            return respond(
                403,
                xml,
                r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole on resource RolescopeAudit</Message></Error><RequestId>1</RequestId></ErrorResponse>"#,
            );
        }
        if body.contains("Action=GetAccountAuthorizationDetails") {
            return respond(
                200,
                xml,
                r#"<GetAccountAuthorizationDetailsResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetAccountAuthorizationDetailsResult><IsTruncated>false</IsTruncated><RoleDetailList><member><RoleName>fn</RoleName><Arn>arn:aws:iam::011111111111:role/fn</Arn><Path>/</Path><AssumeRolePolicyDocument>%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D</AssumeRolePolicyDocument><RolePolicyList/><AttachedManagedPolicies/><Tags/></member></RoleDetailList><Policies/></GetAccountAuthorizationDetailsResult></GetAccountAuthorizationDetailsResponse>"#,
            );
        }
        match target.as_str() {
            "AWSOrganizationsV20161128.DescribeOrganization" => {
                return respond(
                    200,
                    json,
                    r#"{"Organization":{"Id":"o-abc123","MasterAccountId":"011111111111"}}"#,
                );
            }
            "AWSOrganizationsV20161128.ListRoots" => {
                return respond(
                    200,
                    json,
                    r#"{"Roots":[{"Id":"r-ab12","Name":"Root","PolicyTypes":[]}]}"#,
                );
            }
            "AWSOrganizationsV20161128.ListOrganizationalUnitsForParent" => {
                return respond(200, json, r#"{"OrganizationalUnits":[]}"#);
            }
            "AWSOrganizationsV20161128.ListAccountsForParent" => {
                return respond(
                    200,
                    json,
                    r#"{"Accounts":[{"Id":"011111111111","Name":"management","Status":"ACTIVE"},{"Id":"022222222222","Name":"locked","Status":"ACTIVE"}]}"#,
                );
            }
            _ => {}
        }
        if req
            .uri()
            .path()
            .starts_with("/2015-03-31/event-source-mappings")
        {
            return respond(200, "application/json", r#"{"EventSourceMappings":[]}"#);
        }
        if req.uri().path().starts_with("/2015-03-31/functions") {
            return respond(
                200,
                "application/json",
                r#"{"Functions":[{"FunctionName":"f","FunctionArn":"arn:aws:lambda:us-east-1:011111111111:function:f","Role":"arn:aws:iam::011111111111:role/fn"}]}"#,
            );
        }
        if req.uri().path().contains("/policy") || req.uri().path().contains("/resource-policy/") {
            let mut r = respond(
                404,
                "application/json",
                r#"{"Type":"User","Message":"No policy"}"#,
            );
            r.headers_mut().insert(
                "x-amzn-errortype",
                "ResourceNotFoundException".parse().unwrap(),
            );
            return r;
        }
        if req.uri().path().contains("/urls") {
            return respond(200, "application/json", r#"{"FunctionUrlConfigs":[]}"#);
        }
        respond(
            404,
            "text/html",
            &format!("<html>no route for {} {target} {body}</html>", req.uri()),
        )
    }

    #[tokio::test]
    async fn ou_or_accounts_that_name_nothing_are_refused() {
        for (ous, accounts, named) in [
            (
                Some(vec!["ou-nope-12345678".to_string()]),
                None,
                "ou-nope-12345678",
            ),
            (
                None,
                Some(vec![AccountId::new("033333333333").unwrap()]),
                "033333333333",
            ),
        ] {
            let config = CollectorConfig {
                ous,
                accounts,
                ..fake_config()
            };
            let overrides = Overrides {
                http: Some(infallible_client_fn(fake_aws)),
                credentials: Some(aws_credential_types::Credentials::for_tests()),
            };
            let e = collect_with(config, None, overrides).await.unwrap_err();
            assert!(
                matches!(&e, crate::CollectorError::UnknownSelection(m) if m.contains(named)),
                "{e}"
            );
        }
    }

    #[tokio::test]
    async fn an_account_in_no_organization_is_scanned_alone_without_an_error() {
        fn standalone(req: http::Request<SdkBody>) -> http::Response<SdkBody> {
            let target = req
                .headers()
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if target.ends_with(".DescribeOrganization") {
                let mut r = respond(
                    400,
                    "application/x-amz-json-1.1",
                    r#"{"__type":"AWSOrganizationsNotInUseException","Message":"Your account is not a member of an organization."}"#,
                );
                r.headers_mut().insert(
                    "x-amzn-errortype",
                    "AWSOrganizationsNotInUseException".parse().unwrap(),
                );
                return r;
            }
            fake_aws(req)
        }
        let config = fake_config();
        let overrides = Overrides {
            http: Some(infallible_client_fn(standalone)),
            credentials: Some(aws_credential_types::Credentials::for_tests()),
        };
        let snap = collect_with(config, None, overrides)
            .await
            .unwrap()
            .snapshot;
        assert_eq!(snap.accounts.len(), 1);
        assert!(snap.accounts[0].scanned);
        assert_eq!(snap.scan.as_ref().unwrap().org_id, None);
        // A fact, not a failure: nothing of the account is unread.
        assert!(
            snap.collection_errors.is_empty(),
            "{:#?}",
            snap.collection_errors
        );
        assert_eq!(snap.functions.len(), 1);
    }

    #[tokio::test]
    async fn denied_assume_role_is_a_row_and_the_rest_of_the_scan_goes_on() {
        let config = fake_config();
        let overrides = Overrides {
            http: Some(infallible_client_fn(fake_aws)),
            credentials: Some(aws_credential_types::Credentials::for_tests()),
        };
        let collected = collect_with(config, None, overrides).await.unwrap();
        let snap = collected.snapshot;
        assert_eq!(snap.accounts.len(), 2);
        let management = &snap.accounts[0];
        assert_eq!(management.account_id.as_str(), "011111111111");
        assert!(
            management.scanned,
            "the caller's own account is scanned with its own credentials"
        );
        assert!(!snap.accounts[1].scanned);
        assert_eq!(
            snap.collection_errors.len(),
            1,
            "{:#?}",
            snap.collection_errors
        );
        let e = &snap.collection_errors[0];
        assert_eq!(
            e.account_id.as_ref().map(|a| a.as_str()),
            Some("022222222222")
        );
        assert_eq!(
            (
                e.service.as_str(),
                e.operation.as_str(),
                e.error_code.as_str()
            ),
            ("sts", "AssumeRole", "AccessDenied")
        );
        assert!(
            e.message
                .contains("arn:aws:iam::022222222222:role/RolescopeAudit"),
            "{}",
            e.message
        );
        // What the management account holds was collected regardless.
        assert_eq!(snap.roles.len(), 1);
        assert_eq!(snap.functions.len(), 1);
        let scan = snap.scan.unwrap();
        assert_eq!(scan.scan_id, "scan-1");
        assert_eq!(scan.org_id.as_deref(), Some("o-abc123"));
        assert_eq!(collected.calls.get("sts:AssumeRole"), Some(&1));
        // Every call the scan made is covered by the documented permissions.
        for call in collected.calls.keys() {
            assert!(
                crate::permissions::iam_action(call).is_some(),
                "{call} has no IAM action in permissions.rs"
            );
        }
    }

    #[tokio::test]
    async fn one_assume_role_per_account_even_with_a_single_in_flight_slot() {
        // Every client type (IAM, Lambda per region) resolves credentials through the account's
        // provider while its own call holds the only slot: the provider must answer from its
        // session, never by queueing behind that slot.
        let config = CollectorConfig {
            regions: Some(vec!["us-east-1".into(), "eu-west-1".into()]),
            concurrency: 1,
            operation_timeout: std::time::Duration::from_secs(5),
            attempt_timeout: std::time::Duration::from_secs(5),
            ..fake_config()
        };
        let overrides = Overrides {
            http: Some(infallible_client_fn(fake_aws_assumable)),
            credentials: Some(aws_credential_types::Credentials::for_tests()),
        };
        let collected = collect_with(config, None, overrides).await.unwrap();
        let snap = collected.snapshot;
        assert!(snap.accounts.iter().all(|a| a.scanned));
        assert!(
            snap.collection_errors.is_empty(),
            "{:#?}",
            snap.collection_errors
        );
        assert_eq!(collected.calls.get("sts:AssumeRole"), Some(&1));
        assert_eq!(snap.functions.len(), 4, "two accounts × two regions");
    }
}

/// A call waiting for its token holds the closure that will build its SDK request, not the
/// request: 34,000 lanes' waiting calls must not cost ~20 KB each.
#[test]
fn a_waiting_call_is_small() {
    let conf = aws_sdk_lambda::Config::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    let client = aws_sdk_lambda::Client::from_conf(conf);
    let request = client.get_policy().function_name("f").send();
    let request_size = std::mem::size_of_val(&request);
    drop(request);
    let ctx = ctx();
    let lane = crate::ctx::Lane::regional(&account(), "us-east-1");
    let call = ctx.call(
        &lane,
        crate::limiter::RateClass::LambdaGetPolicy,
        "lambda",
        "GetPolicy",
        || client.get_policy().function_name("f").send(),
    );
    let call_size = std::mem::size_of_val(&call);
    assert!(
        call_size < 1024 && call_size * 4 < request_size,
        "a waiting call is {call_size} bytes (the SDK request alone is {request_size})"
    );
}

/// What a stand-in SDK call returns in the scheduling tests.
type Reply = Result<
    (),
    aws_smithy_runtime_api::client::result::SdkError<
        aws_sdk_lambda::operation::get_policy::GetPolicyError,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
>;

/// A fan-out that fills every slot it may take leaves a quarter of them to chained calls: the
/// next ListFunctions page of a large lane does not queue behind other lanes' GetPolicy calls.
#[tokio::test]
async fn chained_calls_keep_a_share_of_the_slots_during_a_fan_out() {
    let config = CollectorConfig {
        concurrency: 8,
        ..CollectorConfig::default()
    };
    let ctx = Arc::new(Ctx::new(&config, None));
    let (release, gate) = tokio::sync::watch::channel(false);
    let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut fan_out = tokio::task::JoinSet::new();
    for i in 0..20 {
        let ctx = ctx.clone();
        let mut gate = gate.clone();
        let started = started.clone();
        // One lane per call: no token bucket waits.
        let lane = crate::ctx::Lane::regional(&account(), &format!("region-{i}"));
        fan_out.spawn(async move {
            ctx.call_fan_out(
                &lane,
                crate::limiter::RateClass::LambdaGetPolicy,
                "lambda",
                "GetPolicy",
                || async move {
                    started.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let _ = gate.wait_for(|open| *open).await;
                    Reply::Ok(())
                },
            )
            .await
        });
    }
    while started.load(std::sync::atomic::Ordering::SeqCst) < 6 {
        tokio::task::yield_now().await;
    }
    // Six fan-out calls hold their share (8 − 8/4); the other 14 wait for it.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(started.load(std::sync::atomic::Ordering::SeqCst), 6);
    // Chained calls still get through, two at a time, while the fan-out waits.
    for i in 0..4 {
        let lane = crate::ctx::Lane::regional(&account(), &format!("chain-{i}"));
        let done = tokio::time::timeout(
            std::time::Duration::from_secs(1),
            ctx.call(
                &lane,
                crate::limiter::RateClass::LambdaControl,
                "lambda",
                "ListFunctions",
                || async { Reply::Ok(()) },
            ),
        )
        .await;
        assert!(matches!(done, Ok(Ok(()))), "chained call {i} was starved");
    }
    release.send(true).unwrap();
    let results = fan_out.join_all().await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 20);
}

/// Freed in-flight slots go to discovery calls first (their lane's work is unknown, so it may be
/// the largest), then to the lane with the largest backlog, then in arrival order.
#[tokio::test]
async fn slots_go_to_discovery_then_to_the_largest_backlog() {
    let config = CollectorConfig {
        concurrency: 1,
        ..CollectorConfig::default()
    };
    let ctx = Arc::new(Ctx::new(&config, None));
    let (release, gate) = tokio::sync::watch::channel(false);
    let holder = {
        let ctx = ctx.clone();
        let mut gate = gate.clone();
        tokio::spawn(async move {
            let lane = crate::ctx::Lane::regional(&account(), "holder");
            ctx.call(
                &lane,
                crate::limiter::RateClass::LambdaControl,
                "lambda",
                "ListFunctions",
                || async move {
                    let _ = gate.wait_for(|open| *open).await;
                    Reply::Ok(())
                },
            )
            .await
        })
    };
    tokio::task::yield_now().await;
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut waiting = Vec::new();
    // Arrival order: small lane, large lane, discovery, another small lane.
    for (name, backlog) in [
        ("small-1", Some(4)),
        ("large", Some(10_000)),
        ("discovery", None),
        ("small-2", Some(4)),
    ] {
        let ctx = ctx.clone();
        let order = order.clone();
        waiting.push(tokio::spawn(async move {
            let lane = match backlog {
                Some(calls) => {
                    let lane = crate::ctx::Lane::regional(&account(), name);
                    lane.set_backlog(calls);
                    lane
                }
                None => crate::ctx::Lane::discovery(&account()),
            };
            ctx.call(
                &lane,
                crate::limiter::RateClass::Other,
                "test",
                "Op",
                || async move {
                    order.lock().unwrap().push(name);
                    Reply::Ok(())
                },
            )
            .await
        }));
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(order.lock().unwrap().is_empty(), "the one slot is held");
    release.send(true).unwrap();
    assert!(holder.await.unwrap().is_ok());
    for call in waiting {
        assert!(call.await.unwrap().is_ok());
    }
    assert_eq!(
        *order.lock().unwrap(),
        ["discovery", "large", "small-1", "small-2"]
    );
}

/// The scan plan chooses accounts as the walk sends them: an OU filter covers the units found
/// under it later (parents arrive first), the account filter and the exclusions apply.
#[test]
fn the_plan_selects_accounts_as_the_walk_finds_them() {
    use rolescope_model::{Account, AccountStatus, OrgUnit};
    let id = |n: &str| AccountId::new(n).unwrap();
    let config = CollectorConfig {
        ous: Some(vec!["ou-work".into()]),
        exclude_accounts: vec![id("000000000003")],
        ..CollectorConfig::default()
    };
    let unit = |id: &str, parent: Option<&str>| OrgUnit {
        id: id.into(),
        name: id.into(),
        parent_id: parent.map(str::to_string),
        path: id.into(),
    };
    let account = |n: &str, parent: &str| Account {
        account_id: id(n),
        name: n.into(),
        status: AccountStatus::Active,
        parent_id: parent.into(),
        ou_path: String::new(),
        scanned: false,
    };
    let mut plan = crate::Plan {
        in_scope: Default::default(),
        planned: 0,
        tasks: tokio::task::JoinSet::new(),
        errors: Vec::new(),
    };
    for u in [
        unit("r-root", None),
        unit("ou-work", Some("r-root")),
        unit("ou-prod", Some("ou-work")),
        unit("ou-sandbox", Some("r-root")),
    ] {
        plan.unit(&config, &u);
    }
    let chosen: Vec<bool> = [
        account("000000000001", "ou-prod"),
        account("000000000002", "ou-work"),
        account("000000000003", "ou-prod"),
        account("000000000004", "ou-sandbox"),
        account("000000000005", "r-root"),
    ]
    .iter()
    .map(|a| plan.selects(&config, a))
    .collect();
    assert_eq!(chosen, [true, true, false, false, false]);

    let only = CollectorConfig {
        accounts: Some(vec![id("000000000004")]),
        ..CollectorConfig::default()
    };
    assert!(plan.selects(&only, &account("000000000004", "ou-sandbox")));
    assert!(!plan.selects(&only, &account("000000000001", "ou-prod")));
}

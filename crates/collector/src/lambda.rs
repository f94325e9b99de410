//! Lambda, per account and region: functions, resource policies, function URLs.

use crate::ctx::{Ctx, Lane, UNSUPPORTED};
use crate::limiter::RateClass;
use crate::org::next;
use aws_sdk_lambda as lambda;
use rolescope_model::{AccountId, CollectionError, Function, FunctionUrl, Timestamp};
use std::sync::Arc;
use tokio::task::JoinSet;

const SERVICE: &str = "lambda";

/// Convert one SDK function configuration to the model. This is the SDK edge for environment
/// variables: only the names are copied, the values stay in the SDK value that is dropped here.
pub(crate) fn to_model(
    account: &AccountId,
    region: &str,
    f: &lambda::types::FunctionConfiguration,
) -> Function {
    let mut env_var_names: Vec<String> = f
        .environment()
        .and_then(|e| e.variables())
        .map(|vars| vars.keys().cloned().collect())
        .unwrap_or_default();
    env_var_names.sort();
    Function {
        account_id: account.clone(),
        region: region.to_string(),
        name: f.function_name().unwrap_or_default().to_string(),
        arn: f.function_arn().unwrap_or_default().to_string(),
        role_arn: f.role().unwrap_or_default().to_string(),
        runtime: f.runtime().map(|r| r.as_str().to_string()),
        architectures: f
            .architectures()
            .iter()
            .map(|a| a.as_str().to_string())
            .collect(),
        package_type: f.package_type().map(|p| p.as_str().to_string()),
        last_modified: f.last_modified().and_then(Timestamp::parse),
        layers: f
            .layers()
            .iter()
            .filter_map(|l| l.arn().map(str::to_string))
            .collect(),
        env_var_names,
        resource_policy: None,
        urls: Vec::new(),
    }
}

/// Collect every function of one account and region with its resource policy and URLs.
pub(crate) async fn collect(
    ctx: Arc<Ctx>,
    client: lambda::Client,
    account: AccountId,
    region: String,
    errors: &mut Vec<CollectionError>,
) -> Vec<Function> {
    let lane = Lane::regional(&account, &region);
    let mut functions = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = ctx
            .call(
                &lane,
                RateClass::LambdaControl,
                SERVICE,
                "ListFunctions",
                client
                    .list_functions()
                    .max_items(50)
                    .set_marker(marker.clone())
                    .send(),
            )
            .await;
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                // What was listed so far is kept; the gap is recorded.
                errors.push(e);
                break;
            }
        };
        functions.extend(
            page.functions()
                .iter()
                .map(|f| to_model(&account, &region, f)),
        );
        marker = next(page.next_marker(), &marker);
        if marker.is_none() {
            break;
        }
    }

    // Function URLs: ListFunctionUrlConfigs per function (covers aliases). When the endpoint does
    // not implement it, record that once and fall back to GetFunctionUrlConfig (unqualified).
    let url_mode = if functions.is_empty() {
        UrlMode::List
    } else {
        match ctx
            .call(
                &lane,
                RateClass::LambdaControl,
                SERVICE,
                "ListFunctionUrlConfigs",
                client
                    .list_function_url_configs()
                    .function_name(&functions[0].name)
                    .send(),
            )
            .await
        {
            Ok(out) => {
                functions[0].urls = out
                    .function_url_configs()
                    .iter()
                    .map(|c| FunctionUrl {
                        url: c.function_url().to_string(),
                        auth_type: c.auth_type().as_str().to_string(),
                    })
                    .collect();
                UrlMode::List
            }
            Err(e) if e.error_code == UNSUPPORTED => {
                errors.push(e);
                UrlMode::GetFallback
            }
            Err(e) => {
                errors.push(e);
                UrlMode::List
            }
        }
    };

    // Per-function calls run concurrently; the token buckets and the global in-flight cap pace them.
    let mut tasks = JoinSet::new();
    for (index, function) in functions.iter().enumerate() {
        let ctx = ctx.clone();
        let client = client.clone();
        let lane = lane.clone();
        let name = function.name.clone();
        let fetch_list = url_mode == UrlMode::List && index > 0;
        let fetch_get = url_mode == UrlMode::GetFallback;
        tasks.spawn(async move {
            let mut errs = Vec::new();
            let policy = match ctx
                .call(
                    &lane,
                    RateClass::LambdaGetPolicy,
                    SERVICE,
                    "GetPolicy",
                    client.get_policy().function_name(&name).send(),
                )
                .await
            {
                Ok(out) => out.policy().map(|p| {
                    rolescope_policy::decode::decode_policy_text(p)
                        .unwrap_or_else(|_| p.to_string())
                }),
                // No resource policy is the normal case, not an error.
                Err(e) if e.error_code == "ResourceNotFoundException" => None,
                Err(e) => {
                    errs.push(e);
                    None
                }
            };
            let mut urls = None;
            if fetch_list {
                match ctx
                    .call(
                        &lane,
                        RateClass::LambdaControl,
                        SERVICE,
                        "ListFunctionUrlConfigs",
                        client
                            .list_function_url_configs()
                            .function_name(&name)
                            .send(),
                    )
                    .await
                {
                    Ok(out) => {
                        urls = Some(
                            out.function_url_configs()
                                .iter()
                                .map(|c| FunctionUrl {
                                    url: c.function_url().to_string(),
                                    auth_type: c.auth_type().as_str().to_string(),
                                })
                                .collect(),
                        )
                    }
                    Err(e) => errs.push(e),
                }
            } else if fetch_get {
                match ctx
                    .call(
                        &lane,
                        RateClass::LambdaControl,
                        SERVICE,
                        "GetFunctionUrlConfig",
                        client.get_function_url_config().function_name(&name).send(),
                    )
                    .await
                {
                    Ok(out) => {
                        urls = Some(vec![FunctionUrl {
                            url: out.function_url().to_string(),
                            auth_type: out.auth_type().as_str().to_string(),
                        }])
                    }
                    Err(e) if e.error_code == "ResourceNotFoundException" => {}
                    Err(e) => errs.push(e),
                }
            }
            (index, policy, urls, errs)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, policy, urls, mut errs)) => {
                functions[index].resource_policy = policy;
                if let Some(urls) = urls {
                    functions[index].urls = urls;
                }
                errors.append(&mut errs);
            }
            Err(join) => errors.push(CollectionError {
                account_id: Some(account.clone()),
                region: Some(region.clone()),
                service: SERVICE.into(),
                operation: "GetPolicy".into(),
                error_code: "InternalError".into(),
                message: format!("collector task failed: {join}"),
            }),
        }
    }
    functions.sort_by(|a, b| a.arn.cmp(&b.arn));
    functions
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UrlMode {
    List,
    GetFallback,
}

//! Lambda, per account and region: functions, resource policies, function URLs.

use crate::ctx::{Ctx, DISCOVERY, Lane, UNSUPPORTED};
use crate::limiter::RateClass;
use crate::org::next;
use aws_sdk_lambda as lambda;
use rolescope_model::{
    AccountId, CollectionError, Function, FunctionUrl, Qualifier, QualifierKind, Timestamp,
};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

const SERVICE: &str = "lambda";

/// Convert one SDK function configuration to the model. This is the SDK edge for environment
/// variables: the names are copied, each value is looked at once by [`crate::secrets::detect`]
/// (which keeps only the kind of match), and the values stay in the SDK value dropped here.
pub(crate) fn to_model(
    account: &AccountId,
    region: &str,
    f: &lambda::types::FunctionConfiguration,
) -> Function {
    let vars = f.environment().and_then(|e| e.variables());
    let (env_var_names, secret_like_env) =
        crate::secrets::names_and_findings(vars.into_iter().flatten());
    Function {
        unread: Vec::new(),
        account_id: account.clone(),
        region: region.to_string(),
        name: f.function_name().unwrap_or_default().to_string(),
        // With FunctionVersion=ALL the `$LATEST` entry may carry the qualified ARN; the function
        // is named by its unqualified one.
        arn: f
            .function_arn()
            .map(|a| a.strip_suffix(":$LATEST").unwrap_or(a))
            .unwrap_or_default()
            .to_string(),
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
        secret_like_env,
        qualifiers: vec![],
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
    let on = Arc::new(LaneClient {
        ctx,
        client,
        lane: Lane::regional(&account, &region),
        over: crate::lane_override!(lambda, "lambda", account, region),
    });
    // The listing runs ahead on its own task and hands over each page as it arrives, so the
    // lane's per-function calls start with the first page instead of after the last one: in a
    // 10,000-function lane the 200 pages and the 10,000 URL calls share one quota, and the quota
    // must never idle while pages are still coming.
    // Until its first page arrives, the lane may be the largest of the scan.
    on.lane.set_backlog(DISCOVERY);
    let (pages_tx, mut pages) = mpsc::channel(2);
    tokio::spawn(list_pages(on.clone(), pages_tx));
    let mut functions: Vec<Function> = Vec::new();
    // Published versions (ListFunctions with FunctionVersion=ALL), attached once listed.
    let mut versions: Vec<(String, Qualifier, Vec<rolescope_model::SecretLike>)> = Vec::new();
    let mut listed = false;
    let mut url_mode = None;
    let mut spawned = 0;
    // Per-function calls: at most LANE_WORKERS functions of a lane at a time, each with its
    // GetPolicy and its URL call concurrent (they spend different quotas), each started only
    // with one of the scan's function tickets. The token buckets and the global in-flight cap
    // pace them.
    let mut tasks = JoinSet::new();
    loop {
        // Two calls per function not done yet, and a page's worth while pages are still coming.
        if listed || !functions.is_empty() {
            let pending = functions.len() - spawned + tasks.len();
            on.lane
                .set_backlog(2 * pending as u64 + if listed { 0 } else { 100 });
        }
        while tasks.len() < LANE_WORKERS && spawned < functions.len() {
            let mode = match url_mode {
                Some(mode) => mode,
                None => {
                    let mode = url_mode_of(&on, &mut functions[0], errors).await;
                    url_mode = Some(mode);
                    mode
                }
            };
            let ticket = on.ctx.function_ticket(&on.lane).await;
            let index = spawned;
            spawned += 1;
            let on = on.clone();
            let name = functions[index].name.clone();
            let fetch_list = mode == UrlMode::List && index > 0;
            let fetch_get = mode == UrlMode::GetFallback;
            tasks.spawn(async move {
                let _ticket = ticket;
                let (policy, urls) = tokio::join!(
                    get_policy(&on, &name, None),
                    urls(&on, &name, fetch_list, fetch_get)
                );
                Done {
                    index,
                    policy,
                    urls,
                }
            });
        }
        if listed && spawned == functions.len() {
            break;
        }
        tokio::select! {
            page = pages.recv(), if !listed => match page {
                Some(Ok(page)) => {
                    for f in &page {
                        match f.version().filter(|v| *v != "$LATEST") {
                            Some(v) => versions.push(version_of(f, v)),
                            None => functions.push(to_model(&account, &region, f)),
                        }
                    }
                }
                // What was listed so far is kept; the gap is recorded.
                Some(Err(e)) => errors.push(*e),
                None => listed = true,
            },
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                apply(joined, &mut functions, errors, &account, &region);
            }
        }
    }
    while let Some(joined) = tasks.join_next().await {
        apply(joined, &mut functions, errors, &account, &region);
    }
    functions.sort_by(|a, b| a.arn.cmp(&b.arn));
    attach_versions(&mut functions, versions);
    // Aliases and per-qualifier policies: only for functions that have published versions, so a
    // function without them costs no extra call; LANE_WORKERS functions at a time, as above.
    let versioned: Vec<usize> = (0..functions.len())
        .filter(|&i| !functions[i].qualifiers.is_empty())
        .collect();
    let mut pending = versioned.into_iter();
    let mut tasks = JoinSet::new();
    loop {
        while tasks.len() < LANE_WORKERS {
            let Some(i) = pending.next() else { break };
            let on = on.clone();
            let mut f = functions[i].clone();
            tasks.spawn(async move {
                let mut errors = Vec::new();
                qualifiers(&on, &mut f, &mut errors).await;
                (i, f, errors)
            });
        }
        match tasks.join_next().await {
            Some(Ok((i, f, mut errs))) => {
                functions[i] = f;
                errors.append(&mut errs);
            }
            Some(Err(e)) => errors.push(CollectionError {
                resource_arn: None,
                account_id: Some(account.clone()),
                region: Some(region.clone()),
                service: SERVICE.into(),
                operation: "ListAliases".into(),
                error_code: "TaskFailed".into(),
                message: e.to_string(),
            }),
            None => break,
        }
    }
    functions
}

/// A published version from a ListFunctions entry: its frozen role, and what of its environment
/// looks like a secret (values dropped here, as for `$LATEST`).
fn version_of(
    f: &lambda::types::FunctionConfiguration,
    version: &str,
) -> (String, Qualifier, Vec<rolescope_model::SecretLike>) {
    let vars = f.environment().and_then(|e| e.variables());
    let (_, secrets) = crate::secrets::names_and_findings(vars.into_iter().flatten());
    (
        f.function_name().unwrap_or_default().to_string(),
        Qualifier {
            name: version.to_string(),
            kind: QualifierKind::Version,
            role_arn: f.role().map(str::to_string),
            routing: Vec::new(),
            resource_policy: None,
            unread: Vec::new(),
        },
        secrets,
    )
}

/// Attach each version to its function (by name; `functions` is sorted by ARN), merging the
/// secret-like variables a version holds into the function's.
fn attach_versions(
    functions: &mut [Function],
    versions: Vec<(String, Qualifier, Vec<rolescope_model::SecretLike>)>,
) {
    let by_name: std::collections::HashMap<String, usize> = functions
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.clone(), i))
        .collect();
    for (name, q, secrets) in versions {
        if let Some(f) = by_name.get(&name).map(|&i| &mut functions[i]) {
            f.qualifiers.push(q);
            for s in secrets {
                if !f.secret_like_env.contains(&s) {
                    f.secret_like_env.push(s);
                }
            }
            f.secret_like_env.sort();
        }
    }
    for f in functions.iter_mut() {
        f.qualifiers.sort_by(|a, b| {
            let num = |q: &Qualifier| q.name.parse::<u64>().unwrap_or(u64::MAX);
            (a.kind, num(a), &a.name).cmp(&(b.kind, num(b), &b.name))
        });
    }
}

/// ListAliases (with routing weights) and GetPolicy per version and alias of one function.
/// A failure marks what it could not read and names the function.
async fn qualifiers(on: &LaneClient, f: &mut Function, errors: &mut Vec<CollectionError>) {
    let mut marker: Option<String> = None;
    loop {
        let page = on
            .ctx
            .call(
                &on.lane,
                RateClass::LambdaControl,
                SERVICE,
                "ListAliases",
                || {
                    on.client
                        .list_aliases()
                        .function_name(&f.name)
                        .set_marker(marker.clone())
                        .customize()
                        .config_override(on.over.clone())
                        .send()
                },
            )
            .await;
        match page {
            Ok(page) => {
                for a in page.aliases() {
                    let extra: Vec<(String, u32)> = a
                        .routing_config()
                        .and_then(|r| r.additional_version_weights())
                        .map(|w| {
                            let mut w: Vec<(String, u32)> = w
                                .iter()
                                .map(|(v, share)| (v.clone(), (share * 1e6).round() as u32))
                                .collect();
                            w.sort();
                            w
                        })
                        .unwrap_or_default();
                    let rest = 1_000_000u32.saturating_sub(extra.iter().map(|(_, s)| s).sum());
                    let mut routing =
                        vec![(a.function_version().unwrap_or_default().to_string(), rest)];
                    routing.extend(extra);
                    f.qualifiers.push(Qualifier {
                        name: a.name().unwrap_or_default().to_string(),
                        kind: QualifierKind::Alias,
                        role_arn: None,
                        routing,
                        resource_policy: None,
                        unread: Vec::new(),
                    });
                }
                marker = next(page.next_marker(), &marker);
                if marker.is_none() {
                    break;
                }
            }
            Err(mut e) => {
                e.resource_arn = Some(f.arn.clone());
                errors.push(e);
                f.unread.push("aliases".into());
                break;
            }
        }
    }
    for q in f.qualifiers.iter_mut() {
        match get_policy(on, &f.name, Some(&q.name)).await {
            Ok(policy) => q.resource_policy = policy,
            Err(mut e) => {
                e.resource_arn = Some(format!("{}:{}", f.arn, q.name));
                errors.push(e);
                q.unread.push("resource_policy".into());
            }
        }
    }
}

/// List the lane's functions page by page into `pages`; a failed page ends the listing.
async fn list_pages(
    on: Arc<LaneClient>,
    // The error is boxed: a channel allocates 32 slots at once, and each lane has one.
    pages: mpsc::Sender<Result<Vec<lambda::types::FunctionConfiguration>, Box<CollectionError>>>,
) {
    let mut marker: Option<String> = None;
    loop {
        let page = on
            .ctx
            .call(
                &on.lane,
                RateClass::LambdaControl,
                SERVICE,
                "ListFunctions",
                || {
                    on.client
                        .list_functions()
                        .function_version(lambda::types::FunctionVersion::All)
                        .max_items(50)
                        .set_marker(marker.clone())
                        .customize()
                        .config_override(on.over.clone())
                        .send()
                },
            )
            .await;
        match page {
            Ok(mut page) => {
                let next_marker = next(page.next_marker(), &marker);
                if pages
                    .send(Ok(page.functions.take().unwrap_or_default()))
                    .await
                    .is_err()
                {
                    return;
                }
                marker = next_marker;
                if marker.is_none() {
                    return;
                }
            }
            Err(e) => {
                let _ = pages.send(Err(Box::new(e))).await;
                return;
            }
        }
    }
}

/// Function URLs: ListFunctionUrlConfigs per function (covers aliases). The lane's first
/// function decides: when the endpoint does not implement it, that is recorded once and the lane
/// falls back to GetFunctionUrlConfig (unqualified).
async fn url_mode_of(
    on: &LaneClient,
    first: &mut Function,
    errors: &mut Vec<CollectionError>,
) -> UrlMode {
    match on
        .ctx
        .call(
            &on.lane,
            RateClass::LambdaControl,
            SERVICE,
            "ListFunctionUrlConfigs",
            || {
                on.client
                    .list_function_url_configs()
                    .function_name(&first.name)
                    .customize()
                    .config_override(on.over.clone())
                    .send()
            },
        )
        .await
    {
        Ok(out) => {
            first.urls = url_list(&out);
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
}

/// Functions of one lane whose per-function calls run at once. A lane's quotas (15 req/s each for
/// GetPolicy and the control plane) at ~150 ms per call keep about 2.5 calls of each kind in flight;
/// 8 leave room for slow responses and retries. More did not help (measured before slots went to
/// the largest lane first): calls that hold a token while they wait for an in-flight slot are
/// sent in a bunch when slots free up, and a bunch larger than the half second of AWS's burst the client leaves
/// unspent (7 calls at 15 req/s) is throttled. Up to 64 for large lanes cut scenario l by 5% and
/// cost 8,920 throttled requests and 97 collection errors (docs/benchmarks.md).
const LANE_WORKERS: usize = 8;

/// What one function's task found: its policy and URLs (each with its error, if any).
struct Done {
    index: usize,
    policy: Result<Option<String>, CollectionError>,
    urls: Result<Option<Vec<FunctionUrl>>, CollectionError>,
}

fn apply(
    joined: Result<Done, tokio::task::JoinError>,
    functions: &mut [Function],
    errors: &mut Vec<CollectionError>,
    account: &AccountId,
    region: &str,
) {
    match joined {
        Ok(done) => {
            let f = &mut functions[done.index];
            // A part that failed is recorded as unread, and its error names the function.
            let mut unread = |part: &str, mut e: CollectionError| {
                e.resource_arn = Some(f.arn.clone());
                f.unread.push(part.to_string());
                errors.push(e);
            };
            match done.policy {
                Ok(policy) => f.resource_policy = policy,
                Err(e) => unread("resource_policy", e),
            }
            match done.urls {
                Ok(Some(urls)) => f.urls = urls,
                Ok(None) => {}
                Err(e) => unread("urls", e),
            }
        }
        Err(join) => errors.push(CollectionError {
            resource_arn: None,
            account_id: Some(account.clone()),
            region: Some(region.to_string()),
            service: SERVICE.into(),
            operation: "GetPolicy".into(),
            error_code: "InternalError".into(),
            message: format!("collector task failed: {join}"),
        }),
    }
}

/// What every per-function call of a lane shares, behind one `Arc`: a lane's tasks hold a
/// pointer each rather than their own copies of the client and its configuration override.
struct LaneClient {
    ctx: Arc<Ctx>,
    client: lambda::Client,
    lane: Lane,
    over: lambda::config::Builder,
}

/// The function's resource policy, decoded; `None` when it has none.
async fn get_policy(
    on: &LaneClient,
    name: &str,
    qualifier: Option<&str>,
) -> Result<Option<String>, CollectionError> {
    match on
        .ctx
        .call_fan_out(
            &on.lane,
            RateClass::LambdaGetPolicy,
            SERVICE,
            "GetPolicy",
            || {
                on.client
                    .get_policy()
                    .function_name(name)
                    .set_qualifier(qualifier.map(str::to_string))
                    .customize()
                    .config_override(on.over.clone())
                    .send()
            },
        )
        .await
    {
        Ok(out) => Ok(out.policy().map(|p| {
            rolescope_policy::decode::decode_policy_text(p).unwrap_or_else(|_| p.to_string())
        })),
        // No resource policy is the normal case, not an error.
        Err(e) if e.error_code == "ResourceNotFoundException" => Ok(None),
        Err(e) => Err(e),
    }
}

/// The function's URLs, by ListFunctionUrlConfigs or the GetFunctionUrlConfig fallback; `None`
/// when this function's URLs are not fetched here.
async fn urls(
    on: &LaneClient,
    name: &str,
    fetch_list: bool,
    fetch_get: bool,
) -> Result<Option<Vec<FunctionUrl>>, CollectionError> {
    if fetch_list {
        let out = on
            .ctx
            .call_fan_out(
                &on.lane,
                RateClass::LambdaControl,
                SERVICE,
                "ListFunctionUrlConfigs",
                || {
                    on.client
                        .list_function_url_configs()
                        .function_name(name)
                        .customize()
                        .config_override(on.over.clone())
                        .send()
                },
            )
            .await?;
        Ok(Some(url_list(&out)))
    } else if fetch_get {
        match on
            .ctx
            .call_fan_out(
                &on.lane,
                RateClass::LambdaControl,
                SERVICE,
                "GetFunctionUrlConfig",
                || {
                    on.client
                        .get_function_url_config()
                        .function_name(name)
                        .customize()
                        .config_override(on.over.clone())
                        .send()
                },
            )
            .await
        {
            Ok(out) => Ok(Some(vec![FunctionUrl {
                url: out.function_url().to_string(),
                auth_type: out.auth_type().as_str().to_string(),
                qualifier: None,
            }])),
            Err(e) if e.error_code == "ResourceNotFoundException" => Ok(None),
            Err(e) => Err(e),
        }
    } else {
        Ok(None)
    }
}

/// The qualifier of a qualified function ARN (`arn:aws:lambda:r:a:function:name:prod` → `prod`).
fn arn_qualifier(arn: &str) -> Option<&str> {
    arn.splitn(8, ':').nth(7).filter(|q| !q.is_empty())
}

fn url_list(
    out: &lambda::operation::list_function_url_configs::ListFunctionUrlConfigsOutput,
) -> Vec<FunctionUrl> {
    out.function_url_configs()
        .iter()
        .map(|c| FunctionUrl {
            url: c.function_url().to_string(),
            auth_type: c.auth_type().as_str().to_string(),
            qualifier: arn_qualifier(c.function_arn()).map(str::to_string),
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UrlMode {
    List,
    GetFallback,
}

//! Lambda, per account and region: functions, resource policies, function URLs.

use crate::ctx::{Ctx, DISCOVERY, Lane, UNSUPPORTED};
use crate::limiter::RateClass;
use crate::org::next;
use crate::slots::OwnedSlotPermit;
use aws_sdk_lambda as lambda;
use rolescope_model::{
    AccountId, CollectionError, Function, FunctionConfig, FunctionUrl, Qualifier, Timestamp,
};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

mod mappings;
mod qualifiers;
use qualifiers::{Version, aliases, attach_qualifiers, version_of};

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
        region: region.into(),
        name: f.function_name().unwrap_or_default().to_string(),
        // With FunctionVersion=ALL the `$LATEST` entry may carry the qualified ARN; the function
        // is named by its unqualified one.
        arn: f
            .function_arn()
            .map(|a| a.strip_suffix(":$LATEST").unwrap_or(a))
            .unwrap_or_default()
            .to_string(),
        role_arn: f.role().unwrap_or_default().into(),
        runtime: f.runtime().map(|r| r.as_str().into()),
        architectures: f
            .architectures()
            .iter()
            .map(|a| a.as_str().into())
            .collect(),
        package_type: f.package_type().map(|p| p.as_str().into()),
        last_modified: f.last_modified().and_then(Timestamp::parse),
        layers: f
            .layers()
            .iter()
            .filter_map(|l| l.arn().map(Into::into))
            .collect(),
        env_var_names,
        secret_like_env,
        qualifiers: vec![],
        resource_policy: None,
        urls: Vec::new(),
        config: Box::new(config_of(f)),
    }
}

/// What the configuration makes the function need; the event sources come from
/// ListEventSourceMappings.
fn config_of(f: &lambda::types::FunctionConfiguration) -> FunctionConfig {
    let name = f.function_name().unwrap_or_default();
    FunctionConfig {
        dead_letter_arn: f
            .dead_letter_config()
            .and_then(|d| d.target_arn())
            .map(Into::into),
        kms_key_arn: f.kms_key_arn().map(Into::into),
        tracing_mode: f
            .tracing_config()
            .and_then(|t| t.mode())
            .map(|m| m.as_str().to_string()),
        subnet_ids: f
            .vpc_config()
            .map(|v| v.subnet_ids().to_vec())
            .unwrap_or_default(),
        file_systems: f
            .file_system_configs()
            .iter()
            .map(|c| c.arn().to_string())
            .collect(),
        log_group: custom_log_group(name, f.logging_config().and_then(|l| l.log_group())),
        event_sources: Vec::new(),
        destinations: Vec::new(),
    }
}

/// A log group other than the default `/aws/lambda/<name>`.
pub(crate) fn custom_log_group(function: &str, group: Option<&str>) -> Option<String> {
    group
        .filter(|g| !g.is_empty() && g.strip_prefix("/aws/lambda/") != Some(function))
        .map(Into::into)
}

/// Collect every function of one account and region with its resource policy and URLs, and
/// its published versions and aliases with theirs.
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
        legacy_policy: AtomicBool::new(false),
    });
    // The listing runs ahead on its own task and hands over each page as it arrives, so the
    // lane's per-function calls start with the first page instead of after the last one: in a
    // 10,000-function lane the 200 pages and the 10,000 URL calls share one quota, and the quota
    // must never idle while pages are still coming.
    // Until its first page arrives, the lane may be the largest of the scan.
    on.lane.set_backlog(DISCOVERY);
    let (pages_tx, mut pages) = mpsc::channel(2);
    tokio::spawn(list_pages(on.clone(), pages_tx));
    // The lane's event source mappings, listed alongside its functions.
    let mappings = tokio::spawn(mappings::list(on.clone()));
    let mut lane = LaneWork::new(account, region);
    let mut listed = false;
    // Per-function calls: at most LANE_WORKERS work items of a lane at a time, each started
    // only with one of the scan's function tickets. The token buckets and the global in-flight
    // cap pace them.
    // The ticket is awaited inside the `select!`, so pages keep coming while the lane waits for
    // one: a lane that stopped listing until it had a ticket showed a backlog of two pages, and
    // at 10,000 accounts the largest lane waited a minute behind thousands of lanes that looked
    // larger (docs/benchmarks.md, thirteenth pass). A ticket asked for at less than half the
    // lane's backlog is asked for again at the backlog's rank.
    let mut tasks = JoinSet::new();
    let mut ticket: Option<(u64, Ticket)> = None;
    loop {
        lane.report_backlog(&on, listed);
        if tasks.len() < LANE_WORKERS && !lane.queue.is_empty() {
            let rank = on.lane.backlog();
            if ticket.as_ref().is_none_or(|(asked, _)| rank / 2 > *asked) {
                ticket = Some((rank, Box::pin(on.ctx.function_ticket(rank))));
            }
        }
        if listed && tasks.is_empty() && lane.queue.is_empty() {
            break;
        }
        tokio::select! {
            page = pages.recv(), if !listed => match page {
                Some(Ok(page)) => lane.listed(&page),
                // What was listed so far is kept; the gap is recorded.
                Some(Err(e)) => errors.push(*e),
                None => listed = true,
            },
            permit = async { ticket.as_mut().expect("guarded").1.as_mut().await },
                if ticket.is_some() =>
            {
                ticket = None;
                if let Some(work) = lane.queue.pop_front() {
                    lane.start(&on, &mut tasks, work, permit, errors).await;
                }
            }
            Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                lane.finish(joined, errors);
            }
        }
    }
    let mut functions = lane.into_functions();
    let listed = mappings.await.unwrap_or_else(|e| {
        Err(Box::new(CollectionError {
            account_id: Some(on.lane.account.clone()),
            region: on.lane.region.clone(),
            service: SERVICE.into(),
            operation: "ListEventSourceMappings".into(),
            error_code: "Internal".into(),
            message: format!("the listing task failed: {e}"),
            resource_arn: None,
        }))
    });
    mappings::attach(listed, &mut functions, errors);
    functions
}

/// A function ticket being waited for.
type Ticket = Pin<Box<dyn Future<Output = OwnedSlotPermit> + Send>>;

/// One piece of a lane's work after the listing, started as soon as the listing shows it: a
/// function's policy and URLs, a published version's policy, or a versioned function's aliases
/// with their policies. Versions and aliases are fetched alongside the lane's other calls, not
/// after them, so the lane's GetPolicy quota stays busy to its end (a version can be listed on a
/// later page than its function, so nothing here waits for a function to be complete).
#[derive(Debug, Clone)]
enum Work {
    /// Index into [`LaneWork::functions`].
    Function(usize),
    /// Index into [`LaneWork::versions`].
    Version(usize),
    /// A function that has published versions: its name, and its unqualified ARN for errors.
    Aliases { name: String, arn: String },
}

impl Work {
    /// The calls this work makes (aliases: ListAliases and, as a guess, one alias's GetPolicy).
    fn calls(&self) -> u64 {
        match self {
            Work::Function(_) | Work::Aliases { .. } => 2,
            Work::Version(_) => 1,
        }
    }
}

/// What a piece of [`Work`] found.
enum Outcome {
    Function(Done),
    Version {
        index: usize,
        policy: Result<Option<String>, CollectionError>,
    },
    Aliases {
        name: String,
        aliases: Vec<Qualifier>,
        errors: Vec<CollectionError>,
        unread: bool,
    },
}

/// A lane's state while its calls run: what was listed, what is still to do, and what came back.
struct LaneWork {
    account: AccountId,
    region: String,
    functions: Vec<Function>,
    /// Published versions (ListFunctions with FunctionVersion=ALL).
    versions: Vec<Version>,
    /// Aliases by function name (names are unique in a lane), with whether their listing failed
    /// part way.
    aliases: std::collections::HashMap<String, (Vec<Qualifier>, bool)>,
    queue: std::collections::VecDeque<Work>,
    /// Calls of the queued and running work.
    pending_calls: u64,
    running: std::collections::HashMap<tokio::task::Id, Work>,
    url_mode: Option<UrlMode>,
}

impl LaneWork {
    fn new(account: AccountId, region: String) -> LaneWork {
        LaneWork {
            account,
            region,
            functions: Vec::new(),
            versions: Vec::new(),
            aliases: Default::default(),
            queue: Default::default(),
            pending_calls: 0,
            running: Default::default(),
            url_mode: None,
        }
    }

    fn push(&mut self, work: Work) {
        self.pending_calls += work.calls();
        self.queue.push_back(work);
    }

    /// Queue the work a page shows: each function, each version, and the aliases of each
    /// function seen with a version for the first time.
    fn listed(&mut self, page: &[lambda::types::FunctionConfiguration]) {
        for f in page {
            match f.version().filter(|v| *v != "$LATEST") {
                Some(v) => {
                    let version = version_of(f, v);
                    if !self.aliases.contains_key(&version.function) {
                        self.aliases
                            .insert(version.function.clone(), (Vec::new(), false));
                        let arn = rolescope_model::unqualified_function_arn(&version.arn);
                        self.push(Work::Aliases {
                            name: version.function.clone(),
                            arn: arn.to_string(),
                        });
                    }
                    self.push(Work::Version(self.versions.len()));
                    self.versions.push(version);
                }
                None => {
                    self.push(Work::Function(self.functions.len()));
                    self.functions
                        .push(to_model(&self.account, &self.region, f));
                }
            }
        }
    }

    /// Tell the scheduler how many calls the lane still has, and a page's worth while pages are
    /// still coming.
    fn report_backlog(&self, on: &LaneClient, listed: bool) {
        if listed || self.pending_calls > 0 {
            on.lane
                .set_backlog(self.pending_calls + if listed { 0 } else { 100 });
        }
    }

    /// Start one piece of work with the function ticket the scan handed out.
    async fn start(
        &mut self,
        on: &Arc<LaneClient>,
        tasks: &mut JoinSet<Outcome>,
        work: Work,
        ticket: OwnedSlotPermit,
        errors: &mut Vec<CollectionError>,
    ) {
        // The lane's first function decides how its URLs are read.
        let mode = match (self.url_mode, &work) {
            (Some(mode), _) => mode,
            (None, Work::Function(_)) => {
                let mode = url_mode_of(on, &mut self.functions[0], errors).await;
                self.url_mode = Some(mode);
                mode
            }
            (None, _) => UrlMode::List,
        };
        let on = on.clone();
        let handle = match &work {
            &Work::Function(index) => {
                let name = self.functions[index].name.clone();
                let arn = self.functions[index].arn.clone();
                let fetch_list = mode == UrlMode::List && index > 0;
                let fetch_get = mode == UrlMode::GetFallback;
                tasks.spawn(async move {
                    let _ticket = ticket;
                    let (policy, urls) = tokio::join!(
                        get_policy(&on, &name, None, &arn),
                        urls(&on, &name, fetch_list, fetch_get)
                    );
                    Outcome::Function(Done {
                        index,
                        policy,
                        urls,
                    })
                })
            }
            &Work::Version(index) => {
                let name = self.versions[index].function.clone();
                let version = self.versions[index].qualifier.name.clone();
                let arn = self.versions[index].arn.clone();
                tasks.spawn(async move {
                    let _ticket = ticket;
                    let policy = get_policy(&on, &name, Some(&version), &arn).await;
                    Outcome::Version { index, policy }
                })
            }
            Work::Aliases { name, arn } => {
                let (name, arn) = (name.clone(), arn.clone());
                tasks.spawn(async move {
                    let _ticket = ticket;
                    let mut errors = Vec::new();
                    let (aliases, unread) = aliases(&on, &name, &arn, &mut errors).await;
                    Outcome::Aliases {
                        name,
                        aliases,
                        errors,
                        unread,
                    }
                })
            }
        };
        self.running.insert(handle.id(), work);
    }

    /// Take in what a piece of work found. A part that could not be read is marked unread and
    /// its error names the function or qualifier; a task that failed marks everything it was to
    /// read.
    fn finish(
        &mut self,
        joined: Result<(tokio::task::Id, Outcome), tokio::task::JoinError>,
        errors: &mut Vec<CollectionError>,
    ) {
        let id = match &joined {
            Ok((id, _)) => *id,
            Err(e) => e.id(),
        };
        let work = self.running.remove(&id);
        if let Some(work) = &work {
            self.pending_calls = self.pending_calls.saturating_sub(work.calls());
        }
        match joined {
            Ok((_, Outcome::Function(done))) => apply(done, &mut self.functions, errors),
            Ok((_, Outcome::Version { index, policy })) => {
                let v = &mut self.versions[index];
                match policy {
                    Ok(policy) => v.qualifier.resource_policy = policy,
                    Err(mut e) => {
                        e.resource_arn = Some(v.arn.clone());
                        errors.push(e);
                        v.qualifier.unread.push("resource_policy".into());
                    }
                }
            }
            Ok((
                _,
                Outcome::Aliases {
                    name,
                    aliases,
                    errors: mut errs,
                    unread,
                },
            )) => {
                errors.append(&mut errs);
                self.aliases.insert(name, (aliases, unread));
            }
            Err(join) => {
                let (resource_arn, operation) = self.fail(work.as_ref());
                errors.push(CollectionError {
                    resource_arn,
                    account_id: Some(self.account.clone()),
                    region: Some(self.region.clone()),
                    service: SERVICE.into(),
                    operation: operation.into(),
                    error_code: "InternalError".into(),
                    message: format!("collector task failed: {join}"),
                });
            }
        }
    }

    /// Mark what a failed task was to read as unread; what it was about, for its error.
    fn fail(&mut self, work: Option<&Work>) -> (Option<String>, &'static str) {
        match work {
            Some(&Work::Function(i)) => {
                let f = &mut self.functions[i];
                f.unread.push("resource_policy".into());
                f.unread.push("urls".into());
                (Some(f.arn.clone()), "GetPolicy")
            }
            Some(&Work::Version(i)) => {
                let v = &mut self.versions[i];
                v.qualifier.unread.push("resource_policy".into());
                (Some(v.arn.clone()), "GetPolicy")
            }
            Some(Work::Aliases { name, arn }) => {
                self.aliases.insert(name.clone(), (Vec::new(), true));
                (Some(arn.clone()), "ListAliases")
            }
            None => (None, "GetPolicy"),
        }
    }

    /// The lane's functions sorted by ARN, each with its versions and aliases.
    fn into_functions(self) -> Vec<Function> {
        let mut functions = self.functions;
        functions.sort_by(|a, b| a.arn.cmp(&b.arn));
        attach_qualifiers(&mut functions, self.versions, self.aliases);
        functions
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

fn apply(done: Done, functions: &mut [Function], errors: &mut Vec<CollectionError>) {
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

/// What every per-function call of a lane shares, behind one `Arc`: a lane's tasks hold a
/// pointer each rather than their own copies of the client and its configuration override.
struct LaneClient {
    ctx: Arc<Ctx>,
    client: lambda::Client,
    lane: Lane,
    over: lambda::config::Builder,
    /// The endpoint answered GetResourcePolicy as an operation it does not have (moto, a
    /// partition without it): the lane reads policies with GetPolicy from then on.
    legacy_policy: AtomicBool,
}

/// The resource policy of a function or qualifier (`arn`, qualified for a version or alias),
/// decoded; `None` when it has none. GetResourcePolicy returns any document PutResourcePolicy
/// stored (Deny, NotPrincipal, any condition); where the endpoint lacks it, GetPolicy.
async fn get_policy(
    on: &LaneClient,
    name: &str,
    qualifier: Option<&str>,
    arn: &str,
) -> Result<Option<String>, CollectionError> {
    let decode =
        |p: &str| rolescope_policy::decode::decode_policy_text(p).unwrap_or_else(|_| p.to_string());
    if arn.starts_with("arn:") && !on.legacy_policy.load(Ordering::Relaxed) {
        match on
            .ctx
            .call_fan_out(
                &on.lane,
                RateClass::LambdaGetPolicy,
                SERVICE,
                "GetResourcePolicy",
                || {
                    on.client
                        .get_resource_policy()
                        .resource_arn(arn)
                        .customize()
                        .config_override(on.over.clone())
                        .send()
                },
            )
            .await
        {
            Ok(out) => return Ok(out.policy().map(decode)),
            Err(e) if e.error_code == "ResourceNotFoundException" => return Ok(None),
            Err(e) if e.error_code == UNSUPPORTED => {
                tracing::debug!(lane = ?on.lane, "GetResourcePolicy unsupported here: GetPolicy");
                on.legacy_policy.store(true, Ordering::Relaxed);
            }
            Err(e) => return Err(e),
        }
    }
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
        Ok(out) => Ok(out.policy().map(decode)),
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

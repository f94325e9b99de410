//! A simulated AWS Organization on a loopback port, speaking the wire protocols the collector
//! uses, so the real SDK code path runs unchanged: Organizations (awsJson1_1), STS and IAM
//! (awsQuery XML), Lambda, Access Analyzer and Account (restJson1).
//!
//! - Credentials: the caller's access key maps to the management account; AssumeRole returns
//!   keys (`ASIA<account>…`) that map to the member account, read back from each request's SigV4
//!   credential scope (with the region and service).
//! - Pacing: token buckets per (account, region, rate class) at AWS's rates answer with the real
//!   throttling errors of each protocol; latencies are drawn per request.
//! - Faults on request ([`Faults`]): AssumeRole denied, suspended accounts, disabled regions,
//!   5xx bursts, hung requests.
//! - [`Faults::time_scale`] multiplies rates and divides latencies, so org-scale runs fit in
//!   minutes while keeping their shape.
//!
//! The simulator knows nothing of the AWS SDK: it reads and writes bytes.

pub mod bound;
pub mod trail;
mod wire;
pub mod world;

pub use world::{SECRET_CANARY, Spec, World, planted_secrets};

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Access key of the simulated management account's caller.
pub const MANAGEMENT_ACCESS_KEY: &str = "AKIASIMULATEDMGMT001";
/// Its secret (the simulator does not verify signatures).
pub const MANAGEMENT_SECRET_KEY: &str = "simulated-secret-key";

/// AWS-like behaviour and injected faults.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Rates × k, latencies ÷ k.
    pub time_scale: f64,
    /// Latency range per request, in milliseconds (before scaling).
    pub latency_ms: (u64, u64),
    /// Enforce AWS's rates with token buckets.
    pub throttle: bool,
    /// Server rates × this factor (below 1: a throttling storm against a client paced at AWS's
    /// published rates).
    pub rate_factor: f64,
    /// Accounts whose audit role cannot be assumed (AccessDenied).
    pub deny_assume: BTreeSet<String>,
    /// Accounts reported SUSPENDED.
    pub suspended: BTreeSet<String>,
    /// Regions that are not enabled: ListRegions omits them and calls to them fail.
    pub disabled_regions: BTreeSet<String>,
    /// Probability of a 5xx answer per request.
    pub error_rate: f64,
    /// Probability that a request hangs for `hang` before answering.
    pub hang_rate: f64,
    /// How long a hung request hangs (before scaling).
    pub hang: Duration,
    /// The audit role name AssumeRole accepts.
    pub audit_role: String,
    /// Serve IAM last-accessed jobs (moto does not; AWS does).
    pub last_accessed: bool,
    /// Operations every call of which is refused with AccessDenied (`GetPolicy`, or
    /// `lambda:GetPolicy` for one service only): an audit role missing a permission.
    pub deny_operations: BTreeSet<String>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            time_scale: 1.0,
            latency_ms: (0, 0),
            throttle: true,
            rate_factor: 1.0,
            deny_assume: BTreeSet::new(),
            suspended: BTreeSet::new(),
            disabled_regions: BTreeSet::new(),
            error_rate: 0.0,
            hang_rate: 0.0,
            hang: Duration::from_secs(40),
            audit_role: "RolescopeAudit".into(),
            last_accessed: true,
            deny_operations: BTreeSet::new(),
        }
    }
}

/// What the simulator served.
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests by `service:Operation`, and all of them per [`WINDOW`] from the first one (one
    /// lock per request for both).
    requests: Mutex<(BTreeMap<String, u64>, Timeline)>,
    throttled: AtomicU64,
    injected: AtomicU64,
    /// Admitted Lambda requests per (account, region) lane: first, last, count.
    lambda_lanes: Mutex<HashMap<(String, String), LaneSpan>>,
    /// The world's largest Lambda lane (account id, region) and its admitted requests per
    /// [`WINDOW`] from its first one (one lane only: a timeline for each of 170,000 lanes would
    /// weigh tens of MiB in the scan's own process).
    largest_lane: Option<((String, String), Mutex<Timeline>)>,
}

/// The width of a timeline's windows.
pub const WINDOW: Duration = Duration::from_secs(10);

/// Counts per [`WINDOW`] from a first instant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    /// The first counted instant; windows start there.
    pub origin: Option<Instant>,
    /// Counts per window.
    pub counts: Vec<u64>,
}

impl Timeline {
    fn count(&mut self, now: Instant) {
        let origin = *self.origin.get_or_insert(now);
        let window =
            (now.saturating_duration_since(origin).as_millis() / WINDOW.as_millis()) as usize;
        if self.counts.len() <= window {
            self.counts.resize(window + 1, 0);
        }
        self.counts[window] += 1;
    }
}

/// When one lane's admitted requests arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct LaneSpan {
    /// The lane's account.
    pub account: String,
    /// The lane's region.
    pub region: String,
    /// Admitted requests.
    pub requests: u64,
    /// The first one's arrival.
    pub first: Instant,
    /// The last one's arrival.
    pub last: Instant,
}

impl Stats {
    /// HTTP requests by `service:Operation` (retries included).
    pub fn requests(&self) -> BTreeMap<String, u64> {
        self.requests.lock().expect("stats lock").0.clone()
    }

    /// Every request (retries and throttled ones included) per [`WINDOW`] from the first one.
    pub fn timeline(&self) -> Timeline {
        self.requests.lock().expect("stats lock").1.clone()
    }

    /// The world's largest Lambda lane (most functions): its account id, region, and admitted
    /// requests per [`WINDOW`] from its first one.
    pub fn largest_lane_timeline(&self) -> Option<(String, String, Timeline)> {
        let ((account, region), timeline) = self.largest_lane.as_ref()?;
        let timeline = timeline.lock().expect("stats lock").clone();
        Some((account.clone(), region.clone(), timeline))
    }

    /// Requests answered with a throttling error.
    pub fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }

    /// Requests answered with an injected 5xx or hang.
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }

    /// The Lambda lane with the most admitted requests (the critical path of a long-tailed
    /// organization), for benchmark reports: how late it started and how close to its quota it ran.
    pub fn busiest_lambda_lane(&self) -> Option<LaneSpan> {
        let lanes = self.lambda_lanes.lock().expect("stats lock");
        lanes
            .values()
            .max_by(|a, b| {
                (a.requests, &b.account, &b.region).cmp(&(b.requests, &a.account, &a.region))
            })
            .cloned()
    }

    fn admitted_lambda(&self, account: &str, region: &str) {
        let now = Instant::now();
        let mut lanes = self.lambda_lanes.lock().expect("stats lock");
        let span = lanes
            .entry((account.to_string(), region.to_string()))
            .or_insert_with(|| LaneSpan {
                account: account.to_string(),
                region: region.to_string(),
                requests: 0,
                first: now,
                last: now,
            });
        span.requests += 1;
        span.last = now;
        drop(lanes);
        if let Some((traced, timeline)) = &self.largest_lane
            && traced.0 == account
            && traced.1 == region
        {
            timeline.lock().expect("stats lock").count(now);
        }
    }
}

/// Token bucket: `rate` tokens per second, burst of `rate` (at least 1).
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    rate: f64,
    last: Instant,
}

impl Bucket {
    fn take(&mut self, now: Instant) -> bool {
        let capacity = self.rate.max(1.0);
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Shared server state.
pub(crate) struct State {
    pub world: World,
    pub faults: Faults,
    pub stats: Arc<Stats>,
    buckets: Mutex<HashMap<(String, String, &'static str), Bucket>>,
    counter: AtomicU64,
    /// Last-accessed jobs: job id → role ARN.
    pub jobs: Mutex<HashMap<String, String>>,
}

impl State {
    /// A per-request number, for deterministic-enough draws.
    pub fn next(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    /// Take a token for (account, region, class); false when AWS would throttle.
    fn admit(&self, account: &str, region: &str, class: &'static str) -> bool {
        if !self.faults.throttle {
            return true;
        }
        let rate = wire::rate(class) * self.faults.time_scale * self.faults.rate_factor;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("bucket lock");
        buckets
            .entry((account.to_string(), region.to_string(), class))
            .or_insert(Bucket {
                tokens: rate.max(1.0),
                rate,
                last: now,
            })
            .take(now)
    }
}

/// A running simulator.
pub struct Simulator {
    url: String,
    stats: Arc<Stats>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator").field("url", &self.url).finish()
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Simulator {
    /// Serve `world` on a loopback port (on the current tokio runtime) until dropped.
    pub async fn start(world: World, faults: Faults) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let stats = Arc::new(Stats {
            largest_lane: world
                .largest_lambda_lane()
                .map(|lane| (lane, Mutex::new(Timeline::default()))),
            ..Stats::default()
        });
        let state = Arc::new(State {
            world,
            faults,
            stats: stats.clone(),
            buckets: Mutex::new(HashMap::new()),
            counter: AtomicU64::new(0),
            jobs: Mutex::new(HashMap::new()),
        });
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let _ = socket.set_nodelay(true);
                let state = state.clone();
                tokio::spawn(async move {
                    let _ = serve(socket, state).await;
                });
            }
        });
        Ok(Simulator { url, stats, task })
    }

    /// `http://127.0.0.1:PORT`, for `--endpoint-url`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What was served so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
}

/// One parsed HTTP request.
#[derive(Debug, Default)]
pub(crate) struct HttpRequest {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl HttpRequest {
    /// (access key, region, service) from the SigV4 credential scope.
    pub fn scope(&self) -> (String, String, String) {
        let auth = self
            .headers
            .get("authorization")
            .cloned()
            .unwrap_or_default();
        let cred = auth
            .split("Credential=")
            .nth(1)
            .and_then(|c| c.split([',', ' ']).next())
            .unwrap_or_default();
        let mut parts = cred.split('/');
        let key = parts.next().unwrap_or_default().to_string();
        let _date = parts.next();
        let region = parts.next().unwrap_or("us-east-1").to_string();
        let service = parts.next().unwrap_or_default().to_string();
        (key, region, service)
    }

    /// Form fields of an awsQuery body.
    pub fn form(&self) -> BTreeMap<String, String> {
        parse_pairs(&self.body)
    }
}

/// Parse `a=b&c=d` with percent- and plus-decoding.
pub(crate) fn parse_pairs(text: &str) -> BTreeMap<String, String> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Decode `%XX` and `+`.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An HTTP response.
#[derive(Debug)]
pub(crate) struct HttpResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

async fn serve(socket: tokio::net::TcpStream, state: Arc<State>) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.split(' ');
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or("/").to_string();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).await? == 0 {
                return Ok(());
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).await?;
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let request = HttpRequest {
            method,
            path: percent_decode(&path.replace('+', "%2B")),
            query: parse_pairs(query),
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        let response = handle(&state, &request).await;
        let reason = match response.status {
            200 => "OK",
            400 => "Bad Request",
            403 => "Forbidden",
            404 => "Not Found",
            429 => "Too Many Requests",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            _ => "Status",
        };
        let mut head = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nx-amzn-RequestId: sim-{}\r\n",
            response.status,
            response.content_type,
            response.body.len(),
            state.next()
        );
        for (k, v) in &response.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        write.write_all(head.as_bytes()).await?;
        write.write_all(response.body.as_bytes()).await?;
    }
}

/// Pacing and faults, then the protocol handler.
async fn handle(state: &Arc<State>, req: &HttpRequest) -> HttpResponse {
    let (key, region, service) = req.scope();
    let op = wire::operation(&service, req);
    {
        let name = format!("{service}:{op}");
        let mut stats = state.stats.requests.lock().expect("stats lock");
        *stats.0.entry(name).or_default() += 1;
        stats.1.count(Instant::now());
    }
    let n = state.next();
    let f = &state.faults;
    let draw = |salt: u64| {
        (world::mix(&[n, salt, state.world.spec.seed]) >> 11) as f64 / (1u64 << 53) as f64
    };
    let (lo, hi) = f.latency_ms;
    if hi > 0 {
        let ms = lo as f64 + draw(1) * (hi.saturating_sub(lo)) as f64;
        tokio::time::sleep(Duration::from_secs_f64(ms / 1000.0 / f.time_scale)).await;
    }
    if f.hang_rate > 0.0 && draw(2) < f.hang_rate {
        state.stats.injected.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(f.hang.div_f64(f.time_scale)).await;
    }
    if f.deny_operations.contains(op.as_str())
        || f.deny_operations.contains(&format!("{service}:{op}"))
    {
        return wire::access_denied(&service, &op);
    }
    if f.error_rate > 0.0 && draw(3) < f.error_rate {
        state.stats.injected.fetch_add(1, Ordering::Relaxed);
        return wire::server_error(&service);
    }
    let account = wire::account_of(state, &key);
    let lane_region = if wire::is_global(&service) {
        "global"
    } else {
        region.as_str()
    };
    if let Some(class) = wire::class(&service, &op)
        && !state.admit(&account, lane_region, class)
    {
        state.stats.throttled.fetch_add(1, Ordering::Relaxed);
        return wire::throttled(&service);
    }
    if service == "lambda" {
        state.stats.admitted_lambda(&account, &region);
    }
    wire::dispatch(state, req, &account, &region, &service, &op)
}

#[cfg(test)]
mod timeline_tests {
    use super::*;

    #[test]
    fn a_timeline_counts_each_instant_in_its_window_from_the_first() {
        let t0 = Instant::now();
        let mut timeline = Timeline::default();
        for offset_ms in [0, 9_999, 10_000, 35_000, 35_001] {
            timeline.count(t0 + Duration::from_millis(offset_ms));
        }
        assert_eq!(timeline.origin, Some(t0));
        // Windows [0,10) [10,20) [20,30) [30,40) seconds; the empty one is kept as a zero.
        assert_eq!(timeline.counts, vec![2, 1, 0, 2]);
        // A later count at the origin itself goes to the first window.
        timeline.count(t0);
        assert_eq!(timeline.counts[0], 3);
    }
}

//! CloudTrail log files as a trail delivers them: listed by their layout, read in parallel,
//! aggregated as they are read (memory grows with distinct aggregates, not with records).

use super::events::action_of;
use super::resources::{Listed, Place, passed_roles, passes_role, resources_of};
use super::store::LogStore;
use super::{LogStats, Usage, UsageRequest};
use rolescope_model::{
    AccountId, Activity, ActivitySource, CollectionError, Timestamp, UsageCoverage,
};
use rolescope_policy::catalog::Fnv;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The largest log file read, decompressed: CloudTrail delivers files of a few MB; anything far
/// larger is refused rather than buffered (a decompression bomb).
const MAX_FILE_BYTES: u64 = 1 << 30;

/// A log file and what its place in the layout says.
#[derive(Debug, Clone)]
pub(crate) struct LogFile {
    /// Relative to the store's top.
    pub(crate) path: String,
    pub(crate) account: Option<String>,
    pub(crate) region: Option<String>,
}

/// Where a walk is in the delivered layout
/// (`AWSLogs/[o-…/]<account>/CloudTrail/<region>/YYYY/MM/DD/`).
#[derive(Debug, Clone, Default)]
struct Layout {
    in_awslogs: bool,
    account: Option<String>,
    in_cloudtrail: bool,
    region: Option<String>,
    date: Vec<u32>,
}

/// The log files in `store` that can hold calls of the request's accounts, regions and days.
pub(crate) fn list(store: &dyn LogStore, req: &UsageRequest) -> std::io::Result<Vec<LogFile>> {
    let start = ymd(req.window_start);
    let end = ymd(req.window_end);
    let mut files = Vec::new();
    if store.is_file() {
        files.push(LogFile {
            path: String::new(),
            account: None,
            region: None,
        });
        return Ok(files);
    }
    walk(store, "", Layout::default(), req, (start, end), &mut files)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn ymd(t: Timestamp) -> [u32; 3] {
    let d = t.date();
    let n = |r: std::ops::Range<usize>| d[r].parse().unwrap_or(0);
    [n(0..4), n(5..7), n(8..10)]
}

fn walk(
    store: &dyn LogStore,
    dir: &str,
    at: Layout,
    req: &UsageRequest,
    window: ([u32; 3], [u32; 3]),
    files: &mut Vec<LogFile>,
) -> std::io::Result<()> {
    let level = store.level(dir)?;
    let join = |name: &str| {
        if dir.is_empty() {
            name.to_string()
        } else {
            format!("{dir}/{name}")
        }
    };
    for name in &level.dirs {
        if let Some(next) = descend(&at, name, req, window) {
            walk(store, &join(name), next, req, window, files)?;
        }
    }
    for name in level
        .files
        .iter()
        .filter(|n| n.ends_with(".json.gz") || n.ends_with(".json"))
    {
        files.push(LogFile {
            path: join(name),
            account: at.account.clone(),
            region: at.region.clone(),
        });
    }
    Ok(())
}

/// The layout below `name`, or None when nothing there can be wanted: digests, accounts not
/// scanned, regions not scanned, days outside the window.
fn descend(
    at: &Layout,
    name: &str,
    req: &UsageRequest,
    (start, end): ([u32; 3], [u32; 3]),
) -> Option<Layout> {
    let mut next = at.clone();
    if name.starts_with("CloudTrail-") {
        // CloudTrail-Digest, CloudTrail-Insight: not call logs.
        return None;
    }
    if at.region.is_some() {
        let n: u32 = name.parse().ok()?;
        next.date.push(n);
        let depth = next.date.len();
        if depth <= 3 {
            let prefix = |d: [u32; 3]| d[..depth].to_vec();
            if next.date < prefix(start) || next.date > prefix(end) {
                return None;
            }
        }
    } else if at.in_cloudtrail {
        if !req.regions.is_empty() && !req.regions.iter().any(|r| r == name) {
            return None;
        }
        next.region = Some(name.to_string());
    } else if at.account.is_some() {
        next.in_cloudtrail = name == "CloudTrail";
        if !next.in_cloudtrail {
            return None;
        }
    } else if at.in_awslogs && name.len() == 12 && name.bytes().all(|b| b.is_ascii_digit()) {
        if !req.accounts.is_empty() && !req.accounts.iter().any(|a| a.as_str() == name) {
            return None;
        }
        next.account = Some(name.to_string());
    } else if name == "AWSLogs" {
        next.in_awslogs = true;
    }
    Some(next)
}

/// One CloudTrail record: only the fields rolescope reads, borrowed from the file's text.
#[derive(Debug, Deserialize)]
struct Record<'a> {
    #[serde(rename = "eventTime", borrow, default)]
    event_time: Option<Cow<'a, str>>,
    #[serde(rename = "eventSource", borrow, default)]
    event_source: Option<Cow<'a, str>>,
    #[serde(rename = "eventName", borrow, default)]
    event_name: Option<Cow<'a, str>>,
    #[serde(rename = "awsRegion", borrow, default)]
    region: Option<Cow<'a, str>>,
    #[serde(rename = "errorCode", borrow, default)]
    error_code: Option<&'a RawValue>,
    #[serde(rename = "userIdentity", borrow, default)]
    identity: Option<Identity<'a>>,
    #[serde(rename = "requestParameters", borrow, default)]
    params: Option<&'a RawValue>,
    #[serde(borrow, default)]
    resources: Option<Vec<Listed<'a>>>,
    #[serde(rename = "eventCategory", borrow, default)]
    category: Option<Cow<'a, str>>,
    #[serde(rename = "recipientAccountId", borrow, default)]
    recipient: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
struct Identity<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    arn: Option<Cow<'a, str>>,
    #[serde(rename = "sessionContext", borrow, default)]
    session: Option<SessionContext<'a>>,
}

#[derive(Debug, Deserialize)]
struct SessionContext<'a> {
    #[serde(rename = "sessionIssuer", borrow, default)]
    issuer: Option<Issuer<'a>>,
}

#[derive(Debug, Deserialize)]
struct Issuer<'a> {
    #[serde(borrow, default)]
    arn: Option<Cow<'a, str>>,
}

/// A file read in one typed pass.
#[derive(Debug, Deserialize)]
struct TypedBody<'a> {
    #[serde(rename = "Records", borrow)]
    records: Vec<Record<'a>>,
}

#[derive(Debug, Deserialize)]
struct FileBody<'a> {
    #[serde(rename = "Records", borrow)]
    records: Vec<&'a RawValue>,
}

/// One aggregate.
#[derive(Debug, Clone, Copy)]
struct Agg {
    first: i64,
    last: i64,
    calls: u64,
}

/// One account's coverage so far.
#[derive(Debug, Clone, Default)]
struct Seen {
    first: Option<i64>,
    last: Option<i64>,
    regions: BTreeSet<String>,
    data_events: BTreeSet<String>,
    files: u64,
    records: u64,
}

/// An event rolescope could not map, by (account, event source, event name).
#[derive(Debug, Clone)]
struct Unmapped {
    calls: u64,
    file: String,
    index: usize,
}

/// What one worker gathered.
#[derive(Debug, Default)]
struct Gathered {
    aggregates: HashMap<String, Agg, Fnv>,
    seen: HashMap<String, Seen>,
    unmapped: HashMap<(String, String, String), Unmapped>,
    errors: Vec<CollectionError>,
    stats: LogStats,
}

impl Gathered {
    /// A successful call of a scanned role with no known IAM action: counted per account and
    /// event, the first file and record kept to name it.
    fn unmapped(&mut self, account: &str, source: &str, name: &str, file: &LogFile, index: usize) {
        self.stats.unmapped += 1;
        let key = (account.to_string(), source.to_string(), name.to_string());
        let u = self.unmapped.entry(key).or_insert_with(|| Unmapped {
            calls: 0,
            file: file.path.clone(),
            index,
        });
        u.calls += 1;
    }

    /// Count one call of an aggregate (`parts`: role, region, session, action, resource).
    fn add(&mut self, key: &mut String, parts: [&str; 5], at: i64) {
        key.clear();
        for part in parts {
            key.push_str(part);
            key.push('\t');
        }
        match self.aggregates.get_mut(key.as_str()) {
            Some(a) => {
                a.first = a.first.min(at);
                a.last = a.last.max(at);
                a.calls += 1;
            }
            None => {
                let agg = Agg {
                    first: at,
                    last: at,
                    calls: 1,
                };
                self.aggregates.insert(key.clone(), agg);
            }
        }
    }

    /// Note a record of `account` for its coverage: its time, region, and the service of a data
    /// event. `in_file` holds the accounts the current file has shown so far.
    fn note(
        &mut self,
        account: &str,
        region: &str,
        at: i64,
        data_event: Option<&str>,
        in_file: &mut BTreeSet<String>,
    ) {
        let seen = self.seen.entry(account.to_string()).or_default();
        seen.records += 1;
        if !in_file.contains(account) {
            in_file.insert(account.to_string());
            seen.files += 1;
        }
        seen.first = Some(seen.first.map_or(at, |f| f.min(at)));
        seen.last = Some(seen.last.map_or(at, |l| l.max(at)));
        if !region.is_empty() && !seen.regions.contains(region) {
            seen.regions.insert(region.to_string());
        }
        if let Some(prefix) = data_event.filter(|p| !seen.data_events.contains(*p)) {
            seen.data_events.insert(prefix.to_string());
        }
    }
}

/// Read every file (in parallel, each worker aggregating its own) and merge.
pub(crate) fn read(store: &dyn LogStore, files: &[LogFile], req: &UsageRequest) -> Usage {
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(files.len().max(1));
    let parts: Vec<Gathered> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut g = Gathered::default();
                    let mut buf = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(file) = files.get(i) else { break };
                        read_file(store, file, req, &mut buf, &mut g);
                    }
                    g
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a log reader panicked"))
            .collect()
    });
    merge(parts, req)
}

fn file_error(
    store: &dyn LogStore,
    file: &LogFile,
    code: &str,
    message: String,
) -> CollectionError {
    CollectionError {
        account_id: file.account.as_deref().and_then(|a| AccountId::new(a).ok()),
        region: file.region.clone(),
        service: "cloudtrail".into(),
        operation: "ReadLogFile".into(),
        error_code: code.into(),
        message: format!("{}: {message}", store.name(&file.path)),
        resource_arn: None,
    }
}

/// Decompress (when gzip) and parse one file into `g`. A file that cannot be read is one error
/// naming it; a record that cannot be read is counted, and one error per file names the first.
fn read_file(
    store: &dyn LogStore,
    file: &LogFile,
    req: &UsageRequest,
    buf: &mut Vec<u8>,
    g: &mut Gathered,
) {
    buf.clear();
    let read = store.read(&file.path, MAX_FILE_BYTES).and_then(|raw| {
        if raw.starts_with(&[0x1f, 0x8b]) {
            flate2::read::MultiGzDecoder::new(&raw[..])
                .take(MAX_FILE_BYTES + 1)
                .read_to_end(buf)?;
        } else if file.path.ends_with(".gz") {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "not a gzip file",
            ));
        } else {
            *buf = raw;
        }
        Ok(())
    });
    g.stats.files += 1;
    if let Err(e) = read {
        g.errors
            .push(file_error(store, file, "InvalidLogFile", e.to_string()));
        return;
    }
    if buf.len() as u64 > MAX_FILE_BYTES {
        let message = format!("larger than {MAX_FILE_BYTES} bytes decompressed");
        g.errors
            .push(file_error(store, file, "InvalidLogFile", message));
        return;
    }
    g.stats.bytes += buf.len() as u64;
    let mut scratch = Scratch::default();
    // Most files are well-formed: one typed pass over them. A file with a record of the wrong
    // shape is read again a record at a time, so that its good records still count and the
    // bad ones are named.
    if let Ok(typed) = serde_json::from_slice::<TypedBody>(buf) {
        let mut bad: Option<(usize, String)> = None;
        let mut bad_count = 0u64;
        for (index, r) in typed.records.iter().enumerate() {
            g.stats.records += 1;
            if let Err(why) = count(r, file, index, req, g, &mut scratch) {
                bad_count += 1;
                bad.get_or_insert((index, why));
            }
        }
        report_bad(store, file, bad, bad_count, g);
        return;
    }
    let body: FileBody = match serde_json::from_slice(buf) {
        Ok(body) => body,
        Err(e) => {
            let message = format!("not a CloudTrail log file ({e})");
            g.errors
                .push(file_error(store, file, "InvalidLogFile", message));
            return;
        }
    };
    let mut bad: Option<(usize, String)> = None;
    let mut bad_count = 0u64;
    for (index, raw) in body.records.iter().enumerate() {
        g.stats.records += 1;
        let outcome = serde_json::from_str::<Record>(raw.get())
            .map_err(|e| e.to_string())
            .and_then(|r| count(&r, file, index, req, g, &mut scratch));
        if let Err(why) = outcome {
            bad_count += 1;
            bad.get_or_insert((index, why));
        }
    }
    report_bad(store, file, bad, bad_count, g);
}

/// One error for a file's unreadable records: how many, and the first.
fn report_bad(
    store: &dyn LogStore,
    file: &LogFile,
    bad: Option<(usize, String)>,
    count: u64,
    g: &mut Gathered,
) {
    if let Some((index, why)) = bad {
        let message = format!("{count} record(s) unreadable, the first at record {index}: {why}");
        g.errors
            .push(file_error(store, file, "InvalidRecord", message));
    }
}

impl Scratch {
    /// Whether `action` is in the catalog, remembered per file.
    fn known(&mut self, action: &str) -> bool {
        if let Some(&known) = self.known.get(action) {
            return known;
        }
        let known = rolescope_policy::catalog::catalog()
            .action(action)
            .is_some();
        self.known.insert(action.to_string(), known);
        known
    }
}

/// Buffers reused across records.
#[derive(Debug, Default)]
struct Scratch {
    /// Actions looked up in the catalog.
    known: HashMap<String, bool>,
    key: String,
    resources: Vec<String>,
    /// The accounts this file held records of.
    accounts: BTreeSet<String>,
}

/// Count one record: coverage for its account, and an aggregate when it is a successful call
/// of a scanned role's session inside the window.
fn count(
    r: &Record<'_>,
    file: &LogFile,
    index: usize,
    req: &UsageRequest,
    g: &mut Gathered,
    scratch: &mut Scratch,
) -> Result<(), String> {
    let identity = r.identity.as_ref().ok_or("no userIdentity")?;
    let (Some(time), Some(source), Some(name)) = (&r.event_time, &r.event_source, &r.event_name)
    else {
        return Err("no eventTime, eventSource or eventName".into());
    };
    let time = Timestamp::parse(time).ok_or_else(|| format!("eventTime {time:?} is not a time"))?;
    if time < req.window_start || time > req.window_end {
        g.stats.outside_window += 1;
        return Ok(());
    }
    let region = r.region.as_deref().unwrap_or("");
    let account = file
        .account
        .as_deref()
        .or(r.recipient.as_deref())
        .unwrap_or("");
    let action = action_of(source, name);
    let data = r.category.as_deref() == Some("Data");
    let prefix = action.as_deref().and_then(|a| a.split(':').next());
    g.note(
        account,
        region,
        time.millis,
        prefix.filter(|_| data),
        &mut scratch.accounts,
    );
    // Attribution: a session of a scanned role (the issuer's ARN, path included, exactly).
    let issuer = identity
        .session
        .as_ref()
        .and_then(|s| s.issuer.as_ref())
        .and_then(|i| i.arn.as_deref());
    let role = match (identity.kind.as_deref(), issuer) {
        (Some("AssumedRole"), Some(arn)) if req.roles.contains(arn) => arn,
        _ => {
            g.stats.other_principals += 1;
            return Ok(());
        }
    };
    if r.error_code.is_some_and(|e| e.get() != "null") {
        g.stats.failed += 1;
        return Ok(());
    }
    let known = action.as_deref().filter(|a| scratch.known(a));
    let Some(action) = known else {
        g.unmapped(account, source, name, file, index);
        return Ok(());
    };
    g.stats.counted += 1;
    let session = identity
        .arn
        .as_deref()
        .and_then(|a| a.rsplit_once('/'))
        .map_or("", |(_, s)| s);
    let place = Place {
        partition: rolescope_model::arn_partition(role),
        region,
        account: r
            .recipient
            .as_deref()
            .filter(|a| a.len() == 12)
            .unwrap_or_else(|| role.split(':').nth(4).unwrap_or("")),
    };
    // The request parameters are parsed only when something reads them: a call without
    // `resources`, or one that passes a role.
    let listed = r.resources.as_deref().unwrap_or(&[]);
    let passes = passes_role(action);
    let params: Option<serde_json::Value> = r
        .params
        .filter(|p| p.get() != "null" && (listed.is_empty() || passes))
        .and_then(|p| serde_json::from_str(p.get()).ok());
    scratch.resources.clear();
    resources_of(
        action,
        listed,
        params.as_ref(),
        place,
        &mut scratch.resources,
    );
    let key = &mut scratch.key;
    let mut add = |action: &str, resource: Option<&str>| {
        let parts = [role, region, session, action, resource.unwrap_or("")];
        g.add(key, parts, time.millis);
    };
    if scratch.resources.is_empty() {
        add(action, None);
    } else {
        for resource in &scratch.resources {
            add(action, Some(resource));
        }
    }
    // iam:PassRole is never logged: the roles a call handed to a service were passed.
    if let Some(params) = params.as_ref().filter(|_| passes) {
        let mut passed = Vec::new();
        passed_roles(action, params, &mut passed);
        for role_arn in passed {
            add("iam:PassRole", Some(role_arn));
        }
    }
    Ok(())
}

/// Merge the workers' parts into the usage: aggregates, per-account coverage (every scanned
/// account gets a row: no logs is said, not left out), errors.
fn merge(parts: Vec<Gathered>, req: &UsageRequest) -> Usage {
    let mut all = Gathered::default();
    for part in parts {
        for (key, a) in part.aggregates {
            all.aggregates
                .entry(key)
                .and_modify(|b| {
                    b.first = b.first.min(a.first);
                    b.last = b.last.max(a.last);
                    b.calls += a.calls;
                })
                .or_insert(a);
        }
        for (account, s) in part.seen {
            let t = all.seen.entry(account).or_default();
            t.first = t.first.into_iter().chain(s.first).min();
            t.last = t.last.into_iter().chain(s.last).max();
            t.regions.extend(s.regions);
            t.data_events.extend(s.data_events);
            t.records += s.records;
            t.files += s.files;
        }
        for (key, u) in part.unmapped {
            all.unmapped
                .entry(key)
                .and_modify(|v| v.calls += u.calls)
                .or_insert(u);
        }
        all.errors.extend(part.errors);
        all.stats.add(&part.stats);
    }
    let activity = all
        .aggregates
        .into_iter()
        .filter_map(|(key, a)| {
            let mut parts = key.split('\t');
            let (role, region, session, action, resource) = (
                parts.next()?,
                parts.next()?,
                parts.next()?,
                parts.next()?,
                parts.next()?,
            );
            Some(Activity {
                account_id: AccountId::from_arn(role)?,
                role_arn: role.to_string(),
                region: region.to_string(),
                session_name: session.to_string(),
                action: action.to_string(),
                resource_arn: (!resource.is_empty()).then(|| resource.to_string()),
                first_seen: Timestamp::from_millis(a.first),
                last_seen: Timestamp::from_millis(a.last),
                calls: a.calls,
                source: ActivitySource::CloudtrailLogs,
            })
        })
        .collect();
    let mut errors = all.errors;
    for ((account, source, name), u) in all.unmapped {
        errors.push(CollectionError {
            account_id: AccountId::new(&account).ok(),
            region: None,
            service: "cloudtrail".into(),
            operation: "MapEvent".into(),
            error_code: "UnmappedEvent".into(),
            message: format!(
                "{source} {name}: {} successful call(s) by scanned roles with no known IAM \
                 action; the first in {} record {}",
                u.calls, u.file, u.index
            ),
            resource_arn: None,
        });
    }
    let coverage = req
        .accounts
        .iter()
        .map(|account| {
            let s = all.seen.remove(account.as_str()).unwrap_or_default();
            let mut data_events: BTreeSet<String> = req.data_events.iter().cloned().collect();
            data_events.extend(s.data_events);
            UsageCoverage {
                account_id: account.clone(),
                source: ActivitySource::CloudtrailLogs,
                window_start: req.window_start,
                window_end: req.window_end,
                covered_from: super::covered_from(s.first, req),
                covered_to: super::covered_to(s.last, req),
                regions: s.regions.into_iter().collect(),
                data_events: data_events.into_iter().collect(),
                files: s.files,
                records: s.records,
            }
        })
        .collect();
    Usage {
        activity,
        coverage,
        errors,
        stats: all.stats,
    }
}

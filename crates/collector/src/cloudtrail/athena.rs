//! The Athena source's SQL and the reading of its rows: one aggregate query over the
//! organization trail's table as AWS documents it (partition projection on `account`, `region`
//! and `date`), filtered so that Athena reads only the scanned accounts', regions' and days'
//! partitions; a second query gives each account's coverage. The rows carry the raw event
//! source, name, resources and the request parameters the resource rules read, so the mapping to
//! actions and resources is the file reader's own (docs/usage.md).

use super::events::action_of;
use super::resources::{Listed, Place, passed_roles, resources_of};
use super::{LogStats, Usage, UsageRequest};
use rolescope_model::{AccountId, Activity, ActivitySource, Timestamp, UsageCoverage};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// The request parameters the resource and PassRole rules read: (column, JSON path).
pub const PARAMS: &[(&str, &str)] = &[
    ("bucketName", "$.bucketName"),
    ("key", "$.key"),
    ("tableName", "$.tableName"),
    ("queueUrl", "$.queueUrl"),
    ("topicArn", "$.topicArn"),
    ("targetArn", "$.targetArn"),
    ("keyId", "$.keyId"),
    ("secretId", "$.secretId"),
    ("name", "$.name"),
    ("names", "$.names"),
    ("functionName", "$.functionName"),
    ("streamARN", "$.streamARN"),
    ("streamName", "$.streamName"),
    ("stateMachineArn", "$.stateMachineArn"),
    ("executionArn", "$.executionArn"),
    ("rule", "$.rule"),
    ("eventBusName", "$.eventBusName"),
    ("entryBus", "$.entries[0].eventBusName"),
    ("logGroupName", "$.logGroupName"),
    ("logStreamName", "$.logStreamName"),
    ("role", "$.role"),
    ("roleArn", "$.roleArn"),
    ("roleARN", "$.roleARN"),
    ("taskRoleArn", "$.taskRoleArn"),
    ("executionRoleArn", "$.executionRoleArn"),
    ("overrides", "$.overrides"),
    ("targets", "$.targets"),
    ("serviceRole", "$.serviceRole"),
];

/// CloudTrail's time format: whole seconds, `Z`.
fn trail_time(t: Timestamp) -> String {
    format!("{}Z", &t.to_rfc3339()[..19])
}

/// A SQL string literal (quotes doubled).
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The partition and window filter both queries share.
fn filter(req: &UsageRequest) -> String {
    let list = |items: &mut dyn Iterator<Item = String>| {
        items.map(|i| literal(&i)).collect::<Vec<_>>().join(", ")
    };
    let mut accounts = req.accounts.iter().map(|a| a.to_string());
    let mut sql = format!("account IN ({})", list(&mut accounts));
    if !req.regions.is_empty() {
        let mut regions = req.regions.iter().cloned();
        sql += &format!("\n  AND region IN ({})", list(&mut regions));
    }
    let day = |t: Timestamp| t.date().replace('-', "/");
    sql += &format!(
        "\n  AND \"date\" BETWEEN {} AND {}\n  AND eventtime >= {} AND eventtime <= {}",
        literal(&day(req.window_start)),
        literal(&day(req.window_end)),
        // CloudTrail times are whole seconds: the window's start rounds up, its end down.
        literal(&trail_time(Timestamp::from_millis(
            req.window_start.millis + 999
        ))),
        literal(&trail_time(req.window_end)),
    );
    sql
}

/// The aggregate query (Athena's SQL, Trino's dialect) over `table` (`database.table`): per
/// session of a role, event, resources and read parameters, the successful calls in the window.
pub fn aggregate_sql(table: &str, req: &UsageRequest) -> String {
    let params: Vec<String> = PARAMS
        .iter()
        .map(|(column, path)| {
            format!("  json_format(json_extract(requestparameters, '{path}')) AS \"p_{column}\"")
        })
        .collect();
    let groups = (1..=7 + PARAMS.len())
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT\n  useridentity.sessioncontext.sessionissuer.arn AS role_arn,\n  awsregion AS aws_region,\n  element_at(split(useridentity.arn, '/'), -1) AS session_name,\n  eventsource AS event_source,\n  eventname AS event_name,\n  recipientaccountid AS recipient,\n  array_join(array_sort(transform(coalesce(resources, ARRAY[]), r -> concat(coalesce(r.type, ''), ' ', coalesce(r.arn, '')))), chr(10)) AS listed,\n{},\n  min(eventtime) AS first_seen,\n  max(eventtime) AS last_seen,\n  count(*) AS calls\nFROM {table}\nWHERE {}\n  AND useridentity.type = 'AssumedRole'\n  AND useridentity.sessioncontext.sessionissuer.type = 'Role'\n  AND errorcode IS NULL\nGROUP BY {groups}",
        params.join(",\n"),
        filter(req),
    )
}

/// The coverage query: per account, the first and last record in the window, the regions, the
/// services with data events, the records.
pub fn coverage_sql(table: &str, req: &UsageRequest) -> String {
    format!(
        "SELECT\n  account,\n  min(eventtime) AS first_seen,\n  max(eventtime) AS last_seen,\n  array_join(array_sort(array_distinct(array_agg(awsregion))), ',') AS regions,\n  array_join(array_sort(array_distinct(array_agg(CASE WHEN eventcategory = 'Data' THEN eventsource ELSE '' END))), ',') AS data_sources,\n  count(*) AS records\nFROM {table}\nWHERE {}\nGROUP BY account",
        filter(req)
    )
}

/// One row of the aggregate query, as text (Athena's GetQueryResults gives every value as
/// text); None for SQL NULL.
#[derive(Debug, Clone, Default)]
pub struct AggregateRow {
    /// The columns in the query's order.
    pub values: Vec<Option<String>>,
}

/// One row of the coverage query, as text.
#[derive(Debug, Clone, Default)]
pub struct CoverageRow {
    /// The columns in the query's order.
    pub values: Vec<Option<String>>,
}

/// The usage the two queries' rows show: the same rows the file reader makes of the same
/// records, with `source = cloudtrail_athena`. A row that cannot be read is counted and named in
/// one error.
pub fn usage_from_rows(
    rows: &[AggregateRow],
    coverage: &[CoverageRow],
    req: &UsageRequest,
) -> Usage {
    let mut aggregates = Aggregates::new();
    let mut stats = LogStats::default();
    let mut bad = 0u64;
    for row in rows {
        if !tally(row, req, &mut aggregates, &mut stats) {
            bad += 1;
        }
    }
    let activity = aggregates
        .into_iter()
        .filter_map(
            |((role, region, session, action, resource), (first, last, calls))| {
                Some(Activity {
                    account_id: AccountId::from_arn(&role)?,
                    role_arn: role,
                    region,
                    session_name: session,
                    action,
                    resource_arn: (!resource.is_empty()).then_some(resource),
                    first_seen: Timestamp::from_millis(first),
                    last_seen: Timestamp::from_millis(last),
                    calls,
                    source: ActivitySource::CloudtrailAthena,
                })
            },
        )
        .collect();
    let mut errors = Vec::new();
    if bad > 0 {
        errors.push(rolescope_model::CollectionError {
            account_id: None,
            region: None,
            service: "athena".into(),
            operation: "GetQueryResults".into(),
            error_code: "InvalidRow".into(),
            message: format!("{bad} aggregate row(s) without a role, event or call count"),
            resource_arn: None,
        });
    }
    Usage {
        activity,
        coverage: coverage_of(coverage, req),
        errors,
        stats,
    }
}

/// The request parameters an aggregate row carries, as the object the rules read.
fn params_of(columns: &[Option<String>]) -> Value {
    let mut object = serde_json::Map::new();
    for ((column, _), value) in PARAMS.iter().zip(columns) {
        let Some(text) = value.as_deref().filter(|t| !t.is_empty() && *t != "null") else {
            continue;
        };
        let value = serde_json::from_str(text).unwrap_or_else(|_| Value::from(text));
        if *column == "entryBus" {
            object.insert(
                "entries".into(),
                serde_json::json!([{ "eventBusName": value }]),
            );
        } else {
            object.insert((*column).into(), value);
        }
    }
    Value::Object(object)
}

/// Aggregates by (role, region, session, action, resource): first, last, calls.
type Aggregates = BTreeMap<(String, String, String, String, String), (i64, i64, u64)>;

/// Count one aggregate row; false when it cannot be read.
fn tally(
    row: &AggregateRow,
    req: &UsageRequest,
    aggregates: &mut Aggregates,
    stats: &mut LogStats,
) -> bool {
    let catalog = rolescope_policy::catalog::catalog();
    let mut resources = Vec::new();
    let v = |i: usize| row.values.get(i).and_then(|x| x.as_deref());
    let (Some(role), Some(source), Some(name)) = (v(0), v(3), v(4)) else {
        return false;
    };
    let n = 7 + PARAMS.len();
    let first = v(n).and_then(Timestamp::parse);
    let last = v(n + 1).and_then(Timestamp::parse);
    let calls: Option<u64> = v(n + 2).and_then(|c| c.parse().ok());
    let (Some(first), Some(last), Some(calls)) = (first, last, calls) else {
        return false;
    };
    stats.records += calls;
    if !req.roles.contains(role) {
        stats.other_principals += calls;
        return true;
    }
    let Some(action) = action_of(source, name).filter(|a| catalog.action(a).is_some()) else {
        stats.unmapped += calls;
        return true;
    };
    stats.counted += calls;
    let (region, session) = (v(1).unwrap_or(""), v(2).unwrap_or(""));
    let listed: Vec<Listed> = v(6)
        .unwrap_or("")
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(kind, arn)| Listed {
            arn: Some(Cow::Borrowed(arn)),
            kind: Some(Cow::Borrowed(kind)),
        })
        .collect();
    let params = params_of(&row.values[7..n]);
    let place = Place {
        partition: rolescope_model::arn_partition(role),
        region,
        account: v(5)
            .filter(|a| a.len() == 12)
            .unwrap_or_else(|| role.split(':').nth(4).unwrap_or("")),
    };
    resources.clear();
    resources_of(&action, &listed, Some(&params), place, &mut resources);
    let mut add = |action: &str, resource: &str| {
        let key = (
            role.into(),
            region.into(),
            session.into(),
            action.into(),
            resource.into(),
        );
        let e = aggregates
            .entry(key)
            .or_insert((first.millis, last.millis, 0));
        e.0 = e.0.min(first.millis);
        e.1 = e.1.max(last.millis);
        e.2 += calls;
    };
    if resources.is_empty() {
        add(&action, "");
    }
    for r in &resources {
        add(&action, r);
    }
    let mut passed = Vec::new();
    passed_roles(&action, &params, &mut passed);
    for role_arn in passed {
        add("iam:PassRole", role_arn);
    }
    true
}

/// Per scanned account, the coverage the coverage query shows (no files: Athena reads them).
fn coverage_of(rows: &[CoverageRow], req: &UsageRequest) -> Vec<UsageCoverage> {
    let by_account: HashMap<&str, &CoverageRow> = rows
        .iter()
        .filter_map(|r| Some((r.values.first()?.as_deref()?, r)))
        .collect();
    req.accounts
        .iter()
        .map(|account| {
            let row = by_account.get(account.as_str());
            let v = |i: usize| row.and_then(|r| r.values.get(i)).and_then(|x| x.as_deref());
            let first = v(1).and_then(Timestamp::parse).map(|t| t.millis);
            let last = v(2).and_then(Timestamp::parse).map(|t| t.millis);
            let split = |i: usize| -> Vec<String> {
                v(i).unwrap_or("")
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            };
            let mut data_events: Vec<String> = req.data_events.clone();
            for source in split(4) {
                if let Some(action) = action_of(&source, "x") {
                    data_events.push(action.split(':').next().unwrap_or("").to_string());
                }
            }
            data_events.sort();
            data_events.dedup();
            UsageCoverage {
                account_id: account.clone(),
                source: ActivitySource::CloudtrailAthena,
                window_start: req.window_start,
                window_end: req.window_end,
                covered_from: super::covered_from(first, req),
                covered_to: super::covered_to(last, req),
                regions: split(3),
                data_events,
                files: 0,
                records: v(5).and_then(|r| r.parse().ok()).unwrap_or(0),
            }
        })
        .collect()
}

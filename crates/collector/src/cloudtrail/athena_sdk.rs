//! The Athena source's SDK edge (`--cloudtrail-athena`): the two queries of [`super::athena`]
//! run with StartQueryExecution, polled with GetQueryExecution, read with GetQueryResults page by
//! page. rolescope reads aggregated rows only. A query that fails or is cancelled is one
//! collection error naming its id and Athena's reason; the scan's other outputs are kept.

use super::athena::{AggregateRow, CoverageRow, aggregate_sql, coverage_sql, usage_from_rows};
use super::{LogStats, UsageError, request_for};
use aws_sdk_athena as athena;
use aws_sdk_athena::types::{QueryExecutionState, ResultConfiguration};
use rolescope_model::snapshot::Snapshot;
use rolescope_model::{ActivitySource, CollectionError};
use std::time::Duration;

/// Where and how the queries run.
#[derive(Debug, Clone)]
pub struct AthenaSource {
    /// The organization trail's table, `database.table`.
    pub table: String,
    /// The workgroup.
    pub workgroup: String,
    /// Where Athena writes results (`s3://…`), when the workgroup does not say.
    pub output: Option<String>,
    /// The usage window, in days before the scan started.
    pub days: u32,
    /// Services whose data events the trail logs.
    pub data_events: Vec<String>,
}

/// What the queries cost and found.
#[derive(Debug, Clone, Default)]
pub struct AthenaOutcome {
    /// Counts over the aggregated rows.
    pub stats: LogStats,
    /// Bytes Athena scanned, both queries.
    pub bytes_scanned: u64,
    /// The query ids.
    pub queries: Vec<String>,
}

/// One finished query: its rows (the header left out), bytes scanned and id.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) rows: Vec<Vec<Option<String>>>,
    pub(crate) bytes: u64,
    pub(crate) id: String,
}

fn error(operation: &str, code: &str, message: String) -> CollectionError {
    CollectionError {
        account_id: None,
        region: None,
        service: "athena".into(),
        operation: operation.into(),
        error_code: code.into(),
        message,
        resource_arn: None,
    }
}

fn sdk_error<E: std::error::Error + 'static>(operation: &str, e: E) -> CollectionError {
    let message = format!(
        "{}",
        aws_smithy_types::error::display::DisplayErrorContext(&e)
    );
    error(operation, "AthenaError", message)
}

/// Run one query to its end and read its rows. `poll` is the first wait between status
/// checks; it grows to 5 s.
pub(crate) async fn run_query(
    client: &athena::Client,
    sql: &str,
    source: &AthenaSource,
    poll: Duration,
) -> Result<Finished, CollectionError> {
    let mut start = client
        .start_query_execution()
        .query_string(sql)
        .work_group(&source.workgroup);
    if let Some(output) = &source.output {
        let config = ResultConfiguration::builder()
            .output_location(output)
            .build();
        start = start.result_configuration(config);
    }
    let started = start
        .send()
        .await
        .map_err(|e| sdk_error("StartQueryExecution", e))?;
    let id = started.query_execution_id().unwrap_or_default().to_string();
    let mut wait = poll;
    let bytes = loop {
        let execution = client
            .get_query_execution()
            .query_execution_id(&id)
            .send()
            .await
            .map_err(|e| sdk_error("GetQueryExecution", e))?;
        let execution = execution.query_execution();
        let status = execution.and_then(|q| q.status());
        match status.and_then(|s| s.state()) {
            Some(QueryExecutionState::Succeeded) => {
                let scanned = execution
                    .and_then(|q| q.statistics())
                    .and_then(|s| s.data_scanned_in_bytes());
                break scanned.unwrap_or(0).max(0) as u64;
            }
            Some(state @ (QueryExecutionState::Failed | QueryExecutionState::Cancelled)) => {
                let reason = status
                    .and_then(|s| s.state_change_reason())
                    .unwrap_or("no reason given");
                let message = format!("query {id} {}: {reason}", state.as_str());
                return Err(error("GetQueryExecution", state.as_str(), message));
            }
            _ => {
                tokio::time::sleep(wait).await;
                wait = (wait * 3 / 2).min(Duration::from_secs(5));
            }
        }
    };
    let mut rows = Vec::new();
    let mut token: Option<String> = None;
    let mut header = true;
    loop {
        let page = client
            .get_query_results()
            .query_execution_id(&id)
            .max_results(1000)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| sdk_error("GetQueryResults", e))?;
        for row in page.result_set().map(|r| r.rows()).unwrap_or_default() {
            // The first row of a SELECT's first page is its column names.
            if std::mem::take(&mut header) {
                continue;
            }
            rows.push(
                row.data()
                    .iter()
                    .map(|d| d.var_char_value().map(String::from))
                    .collect(),
            );
        }
        token = page.next_token().map(String::from);
        if token.is_none() {
            break;
        }
    }
    Ok(Finished { rows, bytes, id })
}

/// Run both queries for the snapshot's roles, accounts and regions, and put their usage in
/// the snapshot (replacing rows of this source); a failed query is a collection error.
pub fn attach_athena(
    snapshot: &mut Snapshot,
    source: &AthenaSource,
    config: &crate::CollectorConfig,
) -> Result<AthenaOutcome, UsageError> {
    let req = request_for(snapshot, source.days, &source.data_events);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| UsageError {
            path: source.table.clone().into(),
            error,
        })?;
    let finished = runtime.block_on(async {
        let sdk = crate::base_config(config, crate::Overrides::default()).await;
        let client = athena::Client::new(&sdk);
        let poll = Duration::from_millis(500);
        let aggregate = run_query(&client, &aggregate_sql(&source.table, &req), source, poll).await;
        let coverage = run_query(&client, &coverage_sql(&source.table, &req), source, poll).await;
        (aggregate, coverage)
    });
    Ok(attach_finished(snapshot, finished, &req))
}

/// Put the queries' outcome in the snapshot.
pub(crate) fn attach_finished(
    snapshot: &mut Snapshot,
    (aggregate, coverage): (
        Result<Finished, CollectionError>,
        Result<Finished, CollectionError>,
    ),
    req: &super::UsageRequest,
) -> AthenaOutcome {
    let mut outcome = AthenaOutcome::default();
    let this = ActivitySource::CloudtrailAthena;
    snapshot.activity.retain(|a| a.source != this);
    snapshot.usage_coverage.retain(|c| c.source != this);
    snapshot.collection_errors.retain(|e| e.service != "athena");
    let mut rows = |q: Result<Finished, CollectionError>, snapshot: &mut Snapshot| match q {
        Ok(f) => {
            outcome.bytes_scanned += f.bytes;
            outcome.queries.push(f.id);
            Some(f.rows)
        }
        Err(e) => {
            snapshot.collection_errors.push(e);
            None
        }
    };
    let aggregate = rows(aggregate, snapshot);
    let coverage = rows(coverage, snapshot);
    if let Some(aggregate) = aggregate {
        let aggregates: Vec<AggregateRow> = aggregate
            .into_iter()
            .map(|values| AggregateRow { values })
            .collect();
        let read = coverage.is_some();
        let coverage: Vec<CoverageRow> = coverage
            .unwrap_or_default()
            .into_iter()
            .map(|values| CoverageRow { values })
            .collect();
        let usage = usage_from_rows(&aggregates, &coverage, req);
        outcome.stats = usage.stats;
        snapshot.activity.extend(usage.activity);
        // Without the coverage query, coverage is unknown: no row claims it.
        if read {
            snapshot.usage_coverage.extend(usage.coverage);
        }
        snapshot.collection_errors.extend(usage.errors);
    }
    snapshot.canonical_order();
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_athena::Client;
    use aws_sdk_athena::operation::get_query_execution::GetQueryExecutionOutput;
    use aws_sdk_athena::operation::get_query_results::GetQueryResultsOutput;
    use aws_sdk_athena::operation::start_query_execution::StartQueryExecutionOutput;
    use aws_sdk_athena::types::{
        Datum, QueryExecution, QueryExecutionStatistics, QueryExecutionStatus, ResultSet, Row,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn source() -> AthenaSource {
        AthenaSource {
            table: "trail.cloudtrail_logs".into(),
            workgroup: "audit".into(),
            output: Some("s3://results/rolescope/".into()),
            days: 90,
            data_events: vec![],
        }
    }

    fn state(
        state: QueryExecutionState,
        reason: Option<&str>,
        bytes: i64,
    ) -> GetQueryExecutionOutput {
        let mut status = QueryExecutionStatus::builder().state(state);
        if let Some(r) = reason {
            status = status.state_change_reason(r);
        }
        GetQueryExecutionOutput::builder()
            .query_execution(
                QueryExecution::builder()
                    .query_execution_id("q-1")
                    .status(status.build())
                    .statistics(
                        QueryExecutionStatistics::builder()
                            .data_scanned_in_bytes(bytes)
                            .build(),
                    )
                    .build(),
            )
            .build()
    }

    fn row(values: &[Option<&str>]) -> Row {
        let data = values
            .iter()
            .map(|v| {
                let d = Datum::builder();
                match v {
                    Some(v) => d.var_char_value(*v).build(),
                    None => d.build(),
                }
            })
            .collect();
        Row::builder().set_data(Some(data)).build()
    }

    fn start() -> aws_smithy_mocks::Rule {
        mock!(Client::start_query_execution)
            .match_requests(|r| {
                r.work_group() == Some("audit")
                    && r.result_configuration().and_then(|c| c.output_location())
                        == Some("s3://results/rolescope/")
            })
            .then_output(|| {
                StartQueryExecutionOutput::builder()
                    .query_execution_id("q-1")
                    .build()
            })
    }

    #[tokio::test(start_paused = true)]
    async fn a_query_is_polled_to_its_end_and_read_page_by_page_without_its_header() {
        let start = start();
        let polls = mock!(Client::get_query_execution)
            .sequence()
            .output(|| state(QueryExecutionState::Queued, None, 0))
            .output(|| state(QueryExecutionState::Running, None, 0))
            .output(|| state(QueryExecutionState::Succeeded, None, 52_428_800))
            .build();
        let page1 = mock!(Client::get_query_results)
            .match_requests(|r| r.next_token().is_none())
            .then_output(|| {
                GetQueryResultsOutput::builder()
                    .result_set(
                        ResultSet::builder()
                            .rows(row(&[Some("role_arn"), Some("calls")]))
                            .rows(row(&[Some("arn:aws:iam::1:role/a"), Some("3")]))
                            .build(),
                    )
                    .next_token("t-2")
                    .build()
            });
        let page2 = mock!(Client::get_query_results)
            .match_requests(|r| r.next_token() == Some("t-2"))
            .then_output(|| {
                GetQueryResultsOutput::builder()
                    .result_set(
                        ResultSet::builder()
                            .rows(row(&[Some("arn:aws:iam::1:role/b"), None]))
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(
            aws_sdk_athena,
            RuleMode::MatchAny,
            &[&start, &polls, &page1, &page2]
        );
        let done = run_query(&client, "SELECT 1", &source(), Duration::from_millis(500))
            .await
            .unwrap();
        assert_eq!(done.id, "q-1");
        assert_eq!(done.bytes, 52_428_800);
        assert_eq!(polls.num_calls(), 3);
        assert_eq!(
            done.rows,
            [
                vec![
                    Some("arn:aws:iam::1:role/a".to_string()),
                    Some("3".to_string())
                ],
                vec![Some("arn:aws:iam::1:role/b".to_string()), None],
            ],
            "the header row is left out, a NULL stays None, the second page follows the first"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_or_cancelled_query_is_one_error_naming_its_id_and_reason() {
        for (end, reason) in [
            (
                QueryExecutionState::Failed,
                "TABLE_NOT_FOUND: line 8:6: Table 'trail.cloudtrail_logs' does not exist",
            ),
            (
                QueryExecutionState::Cancelled,
                "Query was cancelled by user",
            ),
        ] {
            let start = start();
            let last = end.clone();
            let polls = mock!(Client::get_query_execution)
                .sequence()
                .output(|| state(QueryExecutionState::Running, None, 0))
                .output(move || state(last.clone(), Some(reason), 0))
                .build();
            let results = mock!(Client::get_query_results)
                .then_output(|| GetQueryResultsOutput::builder().build());
            let client = mock_client!(
                aws_sdk_athena,
                RuleMode::MatchAny,
                &[&start, &polls, &results]
            );
            let e = run_query(&client, "SELECT 1", &source(), Duration::from_millis(500))
                .await
                .unwrap_err();
            assert_eq!(e.service, "athena");
            assert_eq!(e.error_code, end.as_str());
            assert!(
                e.message.contains("q-1") && e.message.contains(reason),
                "{}",
                e.message
            );
            assert_eq!(
                results.num_calls(),
                0,
                "no results are read from a query that did not succeed"
            );
        }
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn a_failed_query_keeps_the_snapshot_and_claims_no_coverage() {
        let mut snapshot = Snapshot::default();
        let req = super::super::request_for(&snapshot, 90, &[]);
        let failed = || {
            Err(error(
                "GetQueryExecution",
                "FAILED",
                "query q-1 FAILED: x".into(),
            ))
        };
        let outcome = attach_finished(&mut snapshot, (failed(), failed()), &req);
        assert!(outcome.queries.is_empty());
        assert_eq!(snapshot.collection_errors.len(), 2);
        assert!(snapshot.activity.is_empty() && snapshot.usage_coverage.is_empty());
    }
}

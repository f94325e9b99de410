//! Event source mappings: ListEventSourceMappings, once per lane (every mapping of the account
//! and region, a page of 100 at a time), read alongside the lane's functions and attached to
//! them as the queues, streams and tables they poll.

use super::{LaneClient, SERVICE};
use crate::limiter::RateClass;
use crate::org::next;
use rolescope_model::{CollectionError, Function};
use std::collections::HashMap;
use std::sync::Arc;

/// Every mapping of the lane: (unqualified function ARN, event source ARN).
pub(super) async fn list(
    on: Arc<LaneClient>,
) -> Result<Vec<(String, String)>, Box<CollectionError>> {
    let mut marker: Option<String> = None;
    let mut mappings = Vec::new();
    loop {
        let page = on
            .ctx
            .call(
                &on.lane,
                RateClass::LambdaControl,
                SERVICE,
                "ListEventSourceMappings",
                || {
                    on.client
                        .list_event_source_mappings()
                        .max_items(100)
                        .set_marker(marker.clone())
                        .customize()
                        .config_override(on.over.clone())
                        .send()
                },
            )
            .await
            .map_err(Box::new)?;
        for m in page.event_source_mappings() {
            if let (Some(function), Some(source)) = (m.function_arn(), m.event_source_arn()) {
                let function = rolescope_model::unqualified_function_arn(function);
                mappings.push((function.to_string(), source.to_string()));
            }
        }
        marker = next(page.next_marker(), &marker);
        if marker.is_none() {
            return Ok(mappings);
        }
    }
}

/// Attach the mappings to their functions; when they could not be listed, every function of
/// the lane says its event sources are unread (unknown, not none).
pub(super) fn attach(
    listed: Result<Vec<(String, String)>, Box<CollectionError>>,
    functions: &mut [Function],
    errors: &mut Vec<CollectionError>,
) {
    match listed {
        Ok(mappings) => {
            let mut by_function: HashMap<String, Vec<String>> = HashMap::new();
            for (function, source) in mappings {
                by_function.entry(function).or_default().push(source);
            }
            for f in functions.iter_mut() {
                if let Some(mut sources) = by_function.remove(&f.arn) {
                    sources.sort();
                    sources.dedup();
                    f.config.event_sources = sources;
                }
            }
        }
        Err(e) => {
            errors.push(*e);
            for f in functions.iter_mut() {
                f.unread.push("event_sources".into());
            }
        }
    }
}

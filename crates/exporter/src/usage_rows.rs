//! The usage tables: `role_activity` (CloudTrail aggregates from the snapshot, then what each
//! function's configuration needs) and `usage_coverage`.

use crate::rows::Scan;
use crate::tables::{RoleActivityRow, UsageCoverageRow};
use rolescope_analysis::usage::configuration_needs;
use std::collections::HashSet;

impl Scan<'_> {
    /// `role_activity`.
    pub fn role_activity(&self) -> impl Iterator<Item = RoleActivityRow> + '_ {
        // A session name is a function's when a function of that name runs as the role in
        // that account and region (Lambda names the session after the function).
        let functions: HashSet<(&str, &str, &str)> = self
            .snapshot
            .functions
            .iter()
            .map(|f| (f.role_arn.as_str(), f.region.as_str(), f.name.as_str()))
            .collect();
        let observed = self.snapshot.activity.iter().map(move |a| {
            let runs = functions.contains(&(
                a.role_arn.as_str(),
                a.region.as_str(),
                a.session_name.as_str(),
            ));
            RoleActivityRow {
                scan_id: self.id.clone(),
                account_id: a.account_id.to_string(),
                role_arn: a.role_arn.clone(),
                session_name: a.session_name.clone(),
                function_name: runs.then(|| a.session_name.clone()),
                region: a.region.clone(),
                action: a.action.clone(),
                resource_arn: a.resource_arn.clone(),
                first_seen: Some(a.first_seen.millis),
                last_seen: Some(a.last_seen.millis),
                calls: i64::try_from(a.calls).unwrap_or(i64::MAX),
                source: a.source.as_str().to_string(),
                because: None,
            }
        });
        let needed = self.snapshot.functions.iter().flat_map(move |f| {
            configuration_needs(f)
                .into_iter()
                .map(move |n| RoleActivityRow {
                    scan_id: self.id.clone(),
                    account_id: f.account_id.to_string(),
                    role_arn: f.role_arn.to_string(),
                    session_name: f.name.clone(),
                    function_name: Some(f.name.clone()),
                    region: f.region.to_string(),
                    action: n.action.to_string(),
                    resource_arn: n.resource,
                    first_seen: None,
                    last_seen: None,
                    calls: 0,
                    source: "configuration".into(),
                    because: Some(n.because.to_string()),
                })
        });
        observed.chain(needed)
    }

    /// `usage_coverage`.
    pub fn usage_coverage(&self) -> impl Iterator<Item = UsageCoverageRow> + '_ {
        self.snapshot
            .usage_coverage
            .iter()
            .map(|c| UsageCoverageRow {
                scan_id: self.id.clone(),
                account_id: c.account_id.to_string(),
                source: c.source.as_str().to_string(),
                window_start: c.window_start.millis,
                window_end: c.window_end.millis,
                covered_from: c.covered_from.map(|t| t.millis),
                covered_to: c.covered_to.map(|t| t.millis),
                covers_window: c.covers_window(),
                regions: c.regions.clone(),
                data_events: c.data_events.clone(),
                files: i64::try_from(c.files).unwrap_or(i64::MAX),
                records: i64::try_from(c.records).unwrap_or(i64::MAX),
            })
    }
}

//! Region discovery: the regions enabled in an account (opt-in aware), from account:ListRegions.
//!
//! EC2 DescribeRegions answers the same question but would pull in the EC2 SDK crate, by far the
//! largest AWS SDK crate, for one call.

use crate::ctx::{Ctx, Lane};
use crate::limiter::RateClass;
use crate::org::all_pages;
use account::types::RegionOptStatus;
use aws_sdk_account as account;
use rolescope_model::{AccountId, CollectionError};

/// Regions enabled by default in every account of the `aws` partition (no opt-in), used when
/// discovery is not possible. Source: AWS General Reference, "Regions and endpoints".
pub const DEFAULT_ENABLED_REGIONS: [&str; 17] = [
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "eu-central-1",
    "eu-north-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// The enabled regions of an account; on failure the default-enabled list, with the failure
/// recorded.
pub(crate) async fn discover(
    ctx: &Ctx,
    client: &account::Client,
    account: &AccountId,
    errors: &mut Vec<CollectionError>,
) -> Vec<String> {
    let lane = &Lane::discovery(account);
    let (mut regions, failed) = all_pages(|token| async move {
        let page = ctx
            .call(lane, RateClass::Other, "account", "ListRegions", || {
                client
                    .list_regions()
                    .region_opt_status_contains(RegionOptStatus::Enabled)
                    .region_opt_status_contains(RegionOptStatus::EnabledByDefault)
                    .set_next_token(token)
                    .send()
            })
            .await?;
        let enabled = page
            .regions()
            .iter()
            .filter(|r| {
                matches!(
                    r.region_opt_status(),
                    Some(RegionOptStatus::Enabled | RegionOptStatus::EnabledByDefault) | None
                )
            })
            .filter_map(|r| r.region_name().map(str::to_string))
            .collect();
        Ok((enabled, page.next_token().map(str::to_string)))
    })
    .await;
    if let Some(mut e) = failed {
        e.message = format!(
            "{}; scanning the {} default-enabled regions instead",
            e.message,
            DEFAULT_ENABLED_REGIONS.len()
        );
        errors.push(e);
        return DEFAULT_ENABLED_REGIONS
            .iter()
            .map(|r| r.to_string())
            .collect();
    }
    regions.sort();
    regions.dedup();
    regions
}

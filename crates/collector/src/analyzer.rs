//! IAM Access Analyzer findings about Lambda functions and IAM roles, per account and region.

use crate::ctx::{Ctx, Lane};
use crate::limiter::RateClass;
use crate::org::all_pages;
use aa::types::{AnalyzerStatus, Criterion};
use aws_sdk_accessanalyzer as aa;
use rolescope_model::{AccessFinding, AccountId, CollectionError};

const SERVICE: &str = "access-analyzer";

/// Resource types whose findings matter to rolescope.
const RESOURCE_TYPES: [&str; 2] = ["AWS::Lambda::Function", "AWS::IAM::Role"];

fn millis(dt: &aws_smithy_types::DateTime) -> i64 {
    dt.to_millis().unwrap_or_default()
}

/// Convert one finding summary to the model.
pub(crate) fn to_model(
    account: &AccountId,
    region: &str,
    analyzer: &aa::types::AnalyzerSummary,
    f: &aa::types::FindingSummaryV2,
) -> AccessFinding {
    let detail = serde_json::json!({
        "analyzer_arn": analyzer.arn(),
        "analyzer_type": analyzer.r#type().as_str(),
        "resource_type": f.resource_type().as_str(),
        "resource_owner_account": f.resource_owner_account(),
        "created_at_ms": millis(f.created_at()),
        "updated_at_ms": millis(f.updated_at()),
        "analyzed_at_ms": millis(f.analyzed_at()),
        "error": f.error(),
    });
    AccessFinding {
        // The finding is about the resource owner's account (organization analyzers see others).
        account_id: AccountId::new(f.resource_owner_account()).unwrap_or_else(|_| account.clone()),
        region: region.to_string(),
        id: f.id().to_string(),
        resource_arn: f.resource().unwrap_or_default().to_string(),
        finding_type: f
            .finding_type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_else(|| "ExternalAccess".into()),
        status: f.status().as_str().to_string(),
        detail: detail.to_string(),
    }
}

/// Findings of every active analyzer visible in this account and region.
pub(crate) async fn collect(
    ctx: &Ctx,
    client: &aa::Client,
    account: &AccountId,
    region: &str,
    errors: &mut Vec<CollectionError>,
) -> Vec<AccessFinding> {
    let lane = &Lane::regional(account, region);
    let over = &crate::lane_override!(aa, "access-analyzer", account, region);
    let (analyzers, failed) = all_pages(|token| async move {
        let page = ctx
            .call(
                lane,
                RateClass::AccessAnalyzer,
                SERVICE,
                "ListAnalyzers",
                || {
                    client
                        .list_analyzers()
                        .set_next_token(token)
                        .customize()
                        .config_override(over.clone())
                        .send()
                },
            )
            .await?;
        Ok((
            page.analyzers().to_vec(),
            page.next_token().map(str::to_string),
        ))
    })
    .await;
    if let Some(e) = failed {
        errors.push(e);
        return Vec::new();
    }
    let criterion = &RESOURCE_TYPES
        .iter()
        .fold(Criterion::builder(), |b, t| b.eq(*t))
        .build();
    let mut out = Vec::new();
    for analyzer in analyzers
        .iter()
        .filter(|a| a.status() == &AnalyzerStatus::Active)
    {
        let (findings, failed) = all_pages(|token| async move {
            let page = ctx
                .call(
                    lane,
                    RateClass::AccessAnalyzer,
                    SERVICE,
                    "ListFindingsV2",
                    || {
                        client
                            .list_findings_v2()
                            .analyzer_arn(analyzer.arn())
                            .filter("resourceType", criterion.clone())
                            .set_next_token(token)
                            .customize()
                            .config_override(over.clone())
                            .send()
                    },
                )
                .await?;
            Ok((
                page.findings()
                    .iter()
                    .map(|f| to_model(account, region, analyzer, f))
                    .collect(),
                page.next_token().map(str::to_string),
            ))
        })
        .await;
        out.extend(findings);
        errors.extend(failed);
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out.dedup_by(|a, b| a.id == b.id);
    out
}

//! Findings about functions (resource policies, URLs, layers) and Access Analyzer findings.

use super::exposure::{self, OrgView, UrlReach};
use super::{CheckId, check};
use crate::findings::{Finding, Severity as S};
use rolescope_model::{AccessFinding, Function, FunctionUrl};
use rolescope_policy::Policy;
use serde_json::json;

/// Findings about one function: who its resource policies and URLs let in (decided by
/// evaluation, [`super::exposure`]), its secret-like variables and its layers.
pub fn function_findings(f: &Function, org: &OrgView<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let acct = &f.account_id;
    let region = Some(f.region.as_str());
    // `$LATEST` under the function's own policy, then each version and alias under its own:
    // each is invoked by its own ARN.
    let mut targets: Vec<Target<'_>> = vec![Target {
        qualifier: None,
        arn: f.arn.clone(),
        label: f.name.clone(),
        doc: f.resource_policy.as_deref(),
        unread: f.unread.iter().any(|u| u == "resource_policy"),
    }];
    for q in &f.qualifiers {
        targets.push(Target {
            qualifier: Some(q.name.as_str()),
            arn: format!("{}:{}", f.arn, q.name),
            label: format!("{}:{}", f.name, q.name),
            doc: q.resource_policy.as_deref(),
            unread: q.unread.iter().any(|u| u == "resource_policy"),
        });
    }
    for t in &targets {
        exposure_findings(f, t, org, &mut out);
    }
    for hit in &f.secret_like_env {
        out.push(Finding::new(
            check(CheckId::Secret001),
            acct,
            region,
            &f.arn,
            &hit.variable,
            format!(
                "{}: environment variable {} holds what looks like a secret ({})",
                f.name,
                hit.variable,
                hit.kind.as_str()
            ),
            json!({"variable": hit.variable, "kind": hit.kind.as_str()}),
            None,
        ));
    }
    for layer in &f.layers {
        if let Some(owner) = layer.split(':').nth(4).filter(|o| *o != acct.as_str()) {
            out.push(Finding::new(check(CheckId::Layer001), acct, region, &f.arn, layer,
                format!("{} uses layer {layer} from account {owner}", f.name),
                json!({"layer": layer, "owner": owner, "in_organization": org.accounts.contains(owner)}), None));
        }
    }
    out
}

/// `$LATEST` or one qualifier, with the policy that guards it.
struct Target<'a> {
    qualifier: Option<&'a str>,
    arn: String,
    label: String,
    doc: Option<&'a str>,
    unread: bool,
}

/// The exposure findings of one target: its policy evaluated for outside and named callers,
/// and each of its URLs for the callers the URL's auth type lets in.
fn exposure_findings(f: &Function, t: &Target<'_>, org: &OrgView<'_>, out: &mut Vec<Finding>) {
    let acct = &f.account_id;
    let region = Some(f.region.as_str());
    let resources = exposure::resources(&t.arn, t.qualifier.is_some(), t.doc);
    let policy = match t.doc.map(Policy::parse) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            out.push(Finding::new(
                check(CheckId::Valid001),
                acct,
                region,
                &t.arn,
                "resource policy",
                format!("{}: resource policy cannot be evaluated", t.label),
                json!({"reason": e.to_string()}),
                None,
            ));
            // Unknown: neither public nor private by what was read.
            return;
        }
    };
    let urls: Vec<&FunctionUrl> = f
        .urls
        .iter()
        .filter(|u| u.qualifier.as_deref() == t.qualifier)
        .collect();
    if let (Some(p), Some(doc)) = (&policy, t.doc) {
        out.extend(super::role::unreadable_condition_values(
            acct,
            region,
            &t.arn,
            "resource policy",
            p,
        ));
        let iam_url = urls.iter().any(|u| u.auth_type != "NONE");
        let access = exposure::access(f, &resources, p, doc, org, iam_url);
        if !access.anyone.is_empty() {
            out.push(Finding::new(
                check(CheckId::Public001),
                acct,
                region,
                &t.arn,
                "anyone",
                format!(
                    "{} can be called by any AWS account: {}",
                    t.label,
                    access.anyone.join(", ")
                ),
                json!({"actions": access.anyone}),
                None,
            ));
        }
        for (other, actions) in &access.accounts {
            let inside = org.accounts.contains(other.as_str());
            let mut finding = Finding::new(
                check(CheckId::Public002),
                acct,
                region,
                &t.arn,
                other,
                format!(
                    "{} can be called by account {other}{}: {}",
                    t.label,
                    if inside {
                        " (in the organization)"
                    } else {
                        " (outside the organization)"
                    },
                    actions.join(", ")
                ),
                json!({"principal": other, "actions": actions, "in_organization": inside}),
                None,
            );
            if !inside {
                finding.severity = S::High;
            }
            out.push(finding);
        }
    }
    if t.unread {
        // The policy could not be read: a URL's reach is unknown, not absent.
        return;
    }
    url_findings(f, t, &resources, policy.as_ref(), &urls, out);
}
/// The verdict on each URL of a target whose policy was read (`None`: it has none).
fn url_findings(
    f: &Function,
    t: &Target<'_>,
    resources: &[String],
    policy: Option<&Policy>,
    urls: &[&FunctionUrl],
    out: &mut Vec<Finding>,
) {
    let acct = &f.account_id;
    let region = Some(f.region.as_str());
    let owner = acct.as_str();
    for url in urls.iter().copied() {
        let detail = |extra: serde_json::Value| {
            let mut d = json!({"url": url.url, "auth_type": url.auth_type});
            if let Some(q) = &url.qualifier {
                d["qualifier"] = json!(q);
            }
            if let serde_json::Value::Object(m) = extra {
                for (k, v) in m {
                    d[k] = v;
                }
            }
            d
        };
        match exposure::url_reach(&url.auth_type, resources, owner, policy) {
            UrlReach::Public => out.push(Finding::new(
                check(CheckId::Public003),
                acct,
                region,
                &t.arn,
                &url.url,
                format!("{} has a public function URL", t.label),
                detail(json!({})),
                None,
            )),
            UrlReach::Unreachable(missing) => out.push(Finding::new(
                check(CheckId::Public004),
                acct,
                region,
                &t.arn,
                &url.url,
                format!(
                    "{} has a function URL with AuthType NONE that no one can invoke (the policy lacks {})",
                    t.label,
                    missing.join(" and ")
                ),
                detail(json!({"missing": missing})),
                None,
            )),
            UrlReach::Iam => {}
        }
    }
}

/// One finding per active Access Analyzer finding.
pub fn analyzer_findings(findings: &[AccessFinding]) -> Vec<Finding> {
    findings
        .iter()
        .filter(|f| f.status == "ACTIVE")
        .map(|f| {
            let mut out = Finding::new(check(CheckId::Aa001), &f.account_id, Some(&f.region), &f.resource_arn, &f.id,
                format!("Access Analyzer: {} on {}", f.finding_type, f.resource_arn),
                json!({"analyzer_finding_id": f.id, "finding_type": f.finding_type, "detail": serde_json::from_str::<serde_json::Value>(&f.detail).unwrap_or_default()}),
                None);
            if f.finding_type.starts_with("Unused") {
                out.severity = S::Low;
            }
            out
        })
        .collect()
}

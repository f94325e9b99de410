//! Findings about functions (resource policies, URLs, layers) and Access Analyzer findings.

use super::{CheckId, check, has_condition, principal_account, principals};
use crate::findings::{Finding, Severity as S};
use rolescope_model::{AccessFinding, Function};
use rolescope_policy::document::PrincipalKind;
use rolescope_policy::{Effect, Policy};
use serde_json::json;
use std::collections::BTreeSet;

/// Findings about one function: its resource policy, URLs and layers.
pub fn function_findings(f: &Function, org_accounts: &BTreeSet<&str>) -> Vec<Finding> {
    let mut out = Vec::new();
    let acct = &f.account_id;
    let region = Some(f.region.as_str());
    if let Some(doc) = &f.resource_policy {
        policy_findings(f, &f.arn, &f.name, doc, org_accounts, &mut out);
    }
    // Versions and aliases are invoked by their qualified ARNs, each under its own policy.
    for q in &f.qualifiers {
        if let Some(doc) = &q.resource_policy {
            let arn = format!("{}:{}", f.arn, q.name);
            let label = format!("{}:{}", f.name, q.name);
            policy_findings(f, &arn, &label, doc, org_accounts, &mut out);
        }
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
    for url in f.urls.iter().filter(|u| u.auth_type == "NONE") {
        // An alias's URL invokes the alias: the finding is on the qualified ARN, so the roles it
        // runs as are the alias's.
        let (arn, label) = match &url.qualifier {
            Some(q) => (format!("{}:{q}", f.arn), format!("{}:{q}", f.name)),
            None => (f.arn.clone(), f.name.clone()),
        };
        out.push(Finding::new(
            check(CheckId::Public003),
            acct,
            region,
            &arn,
            &url.url,
            format!("{label} has a public function URL"),
            match &url.qualifier {
                Some(q) => json!({"url": url.url, "qualifier": q}),
                None => json!({"url": url.url}),
            },
            None,
        ));
    }
    for layer in &f.layers {
        if let Some(owner) = layer.split(':').nth(4).filter(|o| *o != acct.as_str()) {
            out.push(Finding::new(check(CheckId::Layer001), acct, region, &f.arn, layer,
                format!("{} uses layer {layer} from account {owner}", f.name),
                json!({"layer": layer, "owner": owner, "in_organization": org_accounts.contains(owner)}), None));
        }
    }
    out
}

/// Findings about one resource policy of a function: its own (`$LATEST`, resource `f.arn`) or a
/// version's or alias's (resource the qualified ARN, label `name:qualifier`).
fn policy_findings(
    f: &Function,
    arn: &str,
    label: &str,
    doc: &str,
    org_accounts: &BTreeSet<&str>,
    out: &mut Vec<Finding>,
) {
    let acct = &f.account_id;
    let region = Some(f.region.as_str());
    match Policy::parse(doc) {
        Ok(p) => {
            out.extend(super::role::unreadable_condition_values(
                acct,
                region,
                arn,
                "resource policy",
                &p,
            ));
            for (i, s) in p
                .statements
                .iter()
                .enumerate()
                .filter(|(_, s)| s.effect == Effect::Allow)
            {
                let guarded = has_condition(
                    s,
                    &[
                        "aws:SourceAccount",
                        "aws:SourceArn",
                        "aws:PrincipalOrgID",
                        "aws:SourceOrgID",
                        "aws:PrincipalAccount",
                    ],
                );
                // moto writes an account principal as a bare id; AWS as an ARN. Both count.
                for (kind, id) in principals(s) {
                    if kind == PrincipalKind::Aws && id == "*" && !guarded {
                        out.push(Finding::new(
                            check(CheckId::Public001),
                            acct,
                            region,
                            arn,
                            &format!("{i}"),
                            format!("{} can be invoked by anyone", label),
                            json!({"statement": i, "sid": s.sid, "actions": s.actions.patterns}),
                            None,
                        ));
                    } else if kind == PrincipalKind::Aws
                        && let Some(other) = principal_account(id).filter(|a| *a != acct.as_str())
                        && !guarded
                    {
                        let mut finding = Finding::new(
                            check(CheckId::Public002),
                            acct,
                            region,
                            arn,
                            id,
                            format!(
                                "{} grants {other}{}",
                                label,
                                if org_accounts.contains(other) {
                                    " (in the organization)"
                                } else {
                                    " (outside the organization)"
                                }
                            ),
                            json!({"principal": id, "statement": i, "in_organization": org_accounts.contains(other)}),
                            None,
                        );
                        if !org_accounts.contains(other) {
                            finding.severity = S::High;
                        }
                        out.push(finding);
                    }
                }
            }
        }
        Err(e) => out.push(Finding::new(
            check(CheckId::Valid001),
            acct,
            region,
            arn,
            "resource policy",
            format!("{}: resource policy cannot be evaluated", label),
            json!({"reason": e.to_string()}),
            None,
        )),
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

//! Findings where people already triage them: OCSF Detection Findings (JSON Lines under `ocsf/`)
//! and AWS Security Hub findings in ASFF (JSON Lines under `asff/`, each line one
//! BatchImportFindings request of at most 100 findings, `{"Findings": [...]}`).
//!
//! Both carry the stable finding id, `first_seen`/`last_seen` from the scan history, and the
//! lifecycle: a finding new in this scan is `New`, one seen before `In Progress`, one the history
//! resolved is sent once more as resolved (OCSF `Resolved`; ASFF `Workflow.Status: RESOLVED`,
//! `RecordState: ARCHIVED`), so a Security Hub that imports every scan follows rolescope's own
//! lifecycle.

use crate::history::History;
use crate::{ExportError, destination::Destination};
use rolescope_analysis::findings::{Finding, Severity};
use rolescope_analysis::{Analysis, CHECKS};
use rolescope_model::{ScanInfo, Timestamp, snapshot::Snapshot};
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::HashMap;

/// The OCSF version the output follows (validated in the e2e test against that version's
/// models from PyPI).
pub const OCSF_VERSION: &str = "1.5.0";

/// Findings per ASFF line: BatchImportFindings accepts at most 100 per call.
pub const ASFF_BATCH: usize = 100;

/// Where a finding stands in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    New,
    InProgress,
    Resolved,
}

/// One finding to send, with its lifecycle and history.
struct Entry<'a> {
    id: &'a str,
    check_id: &'a str,
    category: &'a str,
    severity: Severity,
    account_id: &'a str,
    region: Option<&'a str>,
    resource_arn: &'a str,
    title: &'a str,
    mitigated_by: Option<&'a str>,
    detail: Option<&'a str>,
    status: Status,
    first_seen: i64,
    last_seen: i64,
}

/// The entries of a scan: its findings, then the findings the history resolved (as the
/// baseline last saw them). An iterator, made once per file, not a list: at 400,000 findings a
/// list of them would be tens of MB held while the files are written.
fn entries<'a>(
    analysis: &'a Analysis,
    history: Option<&'a History>,
    info: &ScanInfo,
) -> impl Iterator<Item = Entry<'a>> + 'a {
    let now = info.started_at.millis;
    let first = move |id: &str| history.and_then(|h| h.first_seen.get(id).copied());
    let current = analysis.findings.iter().map(move |f: &'a Finding| {
        let seen = first(&f.finding_id);
        Entry {
            id: &f.finding_id,
            check_id: f.check_id,
            category: f.category.as_str(),
            severity: f.severity,
            account_id: f.account_id.as_str(),
            region: f.region.as_deref(),
            resource_arn: &f.resource_arn,
            title: &f.title,
            mitigated_by: f.mitigated_by.as_deref(),
            detail: Some(f.detail.as_str()),
            status: if seen.is_some() {
                Status::InProgress
            } else {
                Status::New
            },
            first_seen: seen.unwrap_or(now),
            last_seen: now,
        }
    });
    let resolved = history.into_iter().flat_map(move |h| {
        h.changes
            .findings
            .iter()
            .filter(|c| c.change == "resolved")
            .map(move |c| Entry {
                id: &c.finding_id,
                check_id: c.check_id,
                category: c.category,
                severity: c.severity,
                account_id: &c.account_id,
                region: c.region.as_deref(),
                resource_arn: &c.resource_arn,
                title: &c.title,
                mitigated_by: c.previous_mitigated_by.as_deref(),
                detail: None,
                status: Status::Resolved,
                first_seen: first(&c.finding_id).unwrap_or(h.previous.started_at),
                last_seen: h.previous.started_at,
            })
    });
    current.chain(resolved)
}

fn check_of(id: &str) -> Option<&'static rolescope_analysis::findings::Check> {
    CHECKS.iter().find(|c| c.id == id)
}

/// (OCSF resource type, ASFF resource type) of a finding's resource.
fn resource_type(arn: &str) -> (&'static str, &'static str) {
    if arn.contains(":iam::") && arn.contains(":role/") {
        ("AWS::IAM::Role", "AwsIamRole")
    } else if arn.contains(":lambda:") && arn.contains(":function:") {
        ("AWS::Lambda::Function", "AwsLambdaFunction")
    } else if arn.contains(":policy/") {
        ("AWS::IAM::Policy", "AwsIamPolicy")
    } else {
        ("Other", "Other")
    }
}

fn ocsf_severity(s: Severity) -> (u8, &'static str) {
    match s {
        Severity::Info => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// One OCSF Detection Finding, serialized field by field in this order.
#[derive(Serialize)]
struct Ocsf<'a> {
    metadata: OcsfMetadata<'a>,
    category_uid: u8,
    category_name: &'static str,
    class_uid: u16,
    class_name: &'static str,
    activity_id: u32,
    activity_name: &'static str,
    type_uid: u32,
    type_name: String,
    severity_id: u8,
    severity: &'static str,
    status_id: u8,
    status: &'static str,
    time: i64,
    finding_info: OcsfFindingInfo<'a>,
    resources: [OcsfResource<'a>; 1],
    cloud: OcsfCloud<'a>,
    remediation: OcsfRemediation,
    unmapped: OcsfUnmapped<'a>,
}

#[derive(Serialize)]
struct OcsfMetadata<'a> {
    version: &'static str,
    product: OcsfProduct,
    event_code: &'a str,
    uid: String,
}

#[derive(Serialize)]
struct OcsfProduct {
    name: &'static str,
    vendor_name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct OcsfFindingInfo<'a> {
    uid: &'a str,
    title: &'a str,
    desc: &'static str,
    types: [&'a str; 1],
    product_uid: &'a str,
    first_seen_time: i64,
    last_seen_time: i64,
}

#[derive(Serialize)]
struct OcsfResource<'a> {
    uid: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    region: Option<&'a str>,
    cloud_partition: &'static str,
}

#[derive(Serialize)]
struct OcsfCloud<'a> {
    provider: &'static str,
    region: Option<&'a str>,
    account: OcsfAccount<'a>,
    org: OcsfOrg<'a>,
}

#[derive(Serialize)]
struct OcsfAccount<'a> {
    uid: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    type_id: u8,
    name: &'a str,
}

#[derive(Serialize)]
struct OcsfOrg<'a> {
    uid: Option<&'a str>,
    ou_name: Option<&'a str>,
}

#[derive(Serialize)]
struct OcsfRemediation {
    desc: &'static str,
    references: &'static [&'static str],
}

#[derive(Serialize)]
struct OcsfUnmapped<'a> {
    mitigated_by: Option<&'a str>,
    /// The finding's evidence, as the analysis wrote it (JSON text, checked, not re-parsed).
    detail: Option<&'a RawValue>,
}

fn ocsf<'a>(
    e: &Entry<'a>,
    org: Option<&'a str>,
    ou: &HashMap<&'a str, (&'a str, &'a str)>,
    now: i64,
) -> Ocsf<'a> {
    let check = check_of(e.check_id);
    let (severity_id, severity) = ocsf_severity(e.severity);
    let (activity_id, activity, status_id, status) = match e.status {
        Status::New => (1, "Create", 1, "New"),
        Status::InProgress => (2, "Update", 2, "In Progress"),
        Status::Resolved => (3, "Close", 4, "Resolved"),
    };
    let account = ou.get(e.account_id);
    Ocsf {
        metadata: OcsfMetadata {
            version: OCSF_VERSION,
            product: OcsfProduct {
                name: "rolescope",
                vendor_name: "rolescope",
                version: env!("CARGO_PKG_VERSION"),
            },
            event_code: e.check_id,
            uid: format!("{}-{now}", e.id),
        },
        category_uid: 2,
        category_name: "Findings",
        class_uid: 2004,
        class_name: "Detection Finding",
        activity_id,
        activity_name: activity,
        type_uid: 200400 + activity_id,
        type_name: format!("Detection Finding: {activity}"),
        severity_id,
        severity,
        status_id,
        status,
        time: now,
        finding_info: OcsfFindingInfo {
            uid: e.id,
            title: e.title,
            desc: check.map_or("", |c| c.title),
            types: [e.category],
            product_uid: e.check_id,
            first_seen_time: e.first_seen,
            last_seen_time: e.last_seen,
        },
        resources: [OcsfResource {
            uid: e.resource_arn,
            kind: resource_type(e.resource_arn).0,
            region: e.region,
            cloud_partition: "aws",
        }],
        cloud: OcsfCloud {
            provider: "AWS",
            region: e.region,
            account: OcsfAccount {
                uid: e.account_id,
                kind: "AWS Account",
                type_id: 10,
                name: account.map_or(e.account_id, |(name, _)| *name),
            },
            org: OcsfOrg {
                uid: org,
                ou_name: account.map(|(_, path)| *path),
            },
        },
        remediation: OcsfRemediation {
            desc: check.map_or("", |c| c.remediation),
            references: check.map_or(&[][..], |c| c.references),
        },
        unmapped: OcsfUnmapped {
            mitigated_by: e.mitigated_by,
            detail: e
                .detail
                .and_then(|d| serde_json::from_str::<&RawValue>(d).ok()),
        },
    }
}

/// One ASFF finding (AWS Security Finding Format), serialized field by field in this order.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Asff<'a> {
    schema_version: &'static str,
    id: &'a str,
    product_arn: &'a str,
    generator_id: &'a str,
    aws_account_id: &'a str,
    types: [&'static str; 1],
    created_at: String,
    updated_at: String,
    first_observed_at: String,
    last_observed_at: String,
    severity: AsffSeverity,
    title: String,
    description: String,
    remediation: AsffRemediation,
    resources: [AsffResource<'a>; 1],
    workflow: AsffWorkflow,
    record_state: &'static str,
    product_fields: AsffProductFields<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AsffSeverity {
    label: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AsffRemediation {
    recommendation: AsffRecommendation,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AsffRecommendation {
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AsffResource<'a> {
    #[serde(rename = "Type")]
    kind: &'static str,
    id: &'a str,
    partition: &'static str,
    region: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AsffWorkflow {
    status: &'static str,
}

#[derive(Serialize)]
struct AsffProductFields<'a> {
    #[serde(rename = "rolescope/CheckId")]
    check_id: &'a str,
    #[serde(rename = "rolescope/Category")]
    category: &'a str,
}

fn asff<'a>(e: &Entry<'a>, product_arn: &'a str, region: &'a str, now: i64) -> Asff<'a> {
    let check = check_of(e.check_id);
    let iso = |ms: i64| Timestamp::from_millis(ms).to_rfc3339();
    let label = match e.severity {
        Severity::Info => "INFORMATIONAL",
        Severity::Low => "LOW",
        Severity::Medium => "MEDIUM",
        Severity::High => "HIGH",
        Severity::Critical => "CRITICAL",
    };
    let (workflow, record) = match e.status {
        Status::Resolved => ("RESOLVED", "ARCHIVED"),
        Status::New | Status::InProgress => ("NEW", "ACTIVE"),
    };
    Asff {
        schema_version: "2018-10-08",
        id: e.id,
        product_arn,
        generator_id: e.check_id,
        aws_account_id: e.account_id,
        types: ["Software and Configuration Checks/AWS Security Best Practices"],
        created_at: iso(e.first_seen),
        updated_at: iso(now),
        first_observed_at: iso(e.first_seen),
        last_observed_at: iso(e.last_seen),
        severity: AsffSeverity { label },
        title: truncate(e.title, 256),
        description: truncate(check.map_or(e.title, |c| c.title), 1024),
        remediation: AsffRemediation {
            recommendation: AsffRecommendation {
                text: truncate(check.map_or("", |c| c.remediation), 512),
                url: check.and_then(|c| c.references.first().copied()),
            },
        },
        resources: [AsffResource {
            kind: resource_type(e.resource_arn).1,
            id: e.resource_arn,
            partition: "aws",
            region: e.region.unwrap_or(region),
        }],
        workflow: AsffWorkflow { status: workflow },
        record_state: record,
        product_fields: AsffProductFields {
            check_id: e.check_id,
            category: e.category,
        },
    }
}

/// One BatchImportFindings request: a line of the ASFF file.
#[derive(Serialize)]
struct AsffRequest<'a> {
    #[serde(rename = "Findings")]
    findings: &'a [Asff<'a>],
}

/// Write `entries` as ASFF JSON Lines: each line one BatchImportFindings request of at most
/// [`ASFF_BATCH`] findings, in the entries' order.
fn write_asff<'a>(
    w: &mut impl std::io::Write,
    entries: impl Iterator<Item = Entry<'a>>,
    product_arn: &'a str,
    region: &'a str,
    now: i64,
) -> std::io::Result<()> {
    let mut batch: Vec<Asff<'_>> = Vec::with_capacity(ASFF_BATCH);
    let mut entries = entries.peekable();
    while entries.peek().is_some() {
        batch.clear();
        batch.extend(
            entries
                .by_ref()
                .take(ASFF_BATCH)
                .map(|e| asff(&e, product_arn, region, now)),
        );
        serde_json::to_writer(&mut *w, &AsffRequest { findings: &batch })?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// Text cut to `max` characters (ASFF's limits), at a character boundary.
fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// Write the OCSF and ASFF files of a scan: its findings, and those the history resolved.
/// Returns where they went.
pub fn export_triage(
    snapshot: &Snapshot,
    analysis: &Analysis,
    history: Option<&History>,
    dest: &Destination,
) -> Result<Vec<String>, ExportError> {
    let info = snapshot.scan.as_ref().ok_or(ExportError::NoScan)?;
    let now = info.started_at.millis;
    let date = info.started_at.date();
    let ou: HashMap<&str, (&str, &str)> = snapshot
        .accounts
        .iter()
        .map(|a| (a.account_id.as_str(), (a.name.as_str(), a.ou_path.as_str())))
        .collect();
    let org = info.org_id.as_deref();
    // A custom integration's product ARN: the scanning (management) account's own product.
    let region = info.regions.first().map_or("us-east-1", String::as_str);
    let account = snapshot
        .accounts
        .first()
        .map_or("000000000000", |a| a.account_id.as_str());
    let product_arn = format!(
        "arn:{}:securityhub:{region}:{account}:product/{account}/default",
        snapshot.partition()
    );
    // Both streamed (at 400,000 findings each file is hundreds of MB), side by side. One object
    // each, not one per batch: thousands of small files cost more to create than to fill, and
    // in S3 each would be a request of its own.
    let (ocsf_key, asff_key) = (
        format!("ocsf/dt={date}/{}.jsonl", info.scan_id),
        format!("asff/dt={date}/{}.jsonl", info.scan_id),
    );
    let (ocsf_written, asff_written) = std::thread::scope(|s| {
        let ocsf_written = s.spawn(|| {
            dest.put_streamed(&ocsf_key, |w| {
                let mut w = std::io::BufWriter::with_capacity(1 << 20, w);
                for e in entries(analysis, history, info) {
                    serde_json::to_writer(&mut w, &ocsf(&e, org, &ou, now))?;
                    std::io::Write::write_all(&mut w, b"\n")?;
                }
                std::io::Write::flush(&mut w)
            })
        });
        let asff_written = dest.put_streamed(&asff_key, |w| {
            let mut w = std::io::BufWriter::with_capacity(1 << 20, w);
            write_asff(
                &mut w,
                entries(analysis, history, info),
                &product_arn,
                region,
                now,
            )?;
            std::io::Write::flush(&mut w)
        });
        (crate::joined(ocsf_written), asff_written)
    });
    let written = vec![ocsf_written?, asff_written?];
    // Builds before the one-object layout wrote this scan's ASFF as `asff/dt=DATE/SCAN/batch-*.json`:
    // a re-run of such a scan id must not leave those beside the new file, or an import of the
    // folder would send the earlier lifecycle states after the current ones.
    for earlier in dest.list(&format!("asff/dt={date}/{}/", info.scan_id))? {
        dest.delete(&earlier)?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> Entry<'_> {
        Entry {
            id,
            check_id: "RS-ADMIN-001",
            category: "admin_access",
            severity: Severity::High,
            account_id: "100000000000",
            region: None,
            resource_arn: "arn:aws:iam::100000000000:role/r",
            title: "t",
            mitigated_by: None,
            detail: None,
            status: Status::New,
            first_seen: 0,
            last_seen: 0,
        }
    }

    #[test]
    fn asff_lines_are_requests_of_at_most_100_holding_every_entry_once_in_order() {
        let ids: Vec<String> = (0..1_234).map(|i| format!("f{i:04}")).collect();
        let mut out = Vec::new();
        write_asff(
            &mut out,
            ids.iter().map(|id| entry(id)),
            "arn:aws:securityhub:us-east-1:100000000000:product/100000000000/default",
            "us-east-1",
            0,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 13);
        assert!(text.ends_with('\n'));
        let mut seen = Vec::new();
        for line in lines {
            let request: serde_json::Value = serde_json::from_str(line).unwrap();
            let findings = request["Findings"].as_array().unwrap();
            assert!(!findings.is_empty() && findings.len() <= ASFF_BATCH);
            assert_eq!(request.as_object().unwrap().len(), 1, "{line}");
            seen.extend(
                findings
                    .iter()
                    .map(|f| f["Id"].as_str().unwrap().to_string()),
            );
        }
        assert_eq!(seen, ids);
    }

    #[test]
    fn no_entries_write_an_empty_asff_file() {
        let mut out = Vec::new();
        write_asff(&mut out, std::iter::empty(), "arn", "us-east-1", 0).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn a_failed_asff_write_is_returned() {
        struct Full;
        impl std::io::Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk full"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let ids = ["a", "b"];
        let e = write_asff(&mut Full, ids.iter().map(|id| entry(id)), "arn", "r", 0).unwrap_err();
        assert_eq!(e.to_string(), "disk full");
    }
}

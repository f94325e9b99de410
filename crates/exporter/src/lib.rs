//! The exporter: Athena-ready Parquet datasets from a snapshot and its analysis.
//!
//! Invariant: this crate owns every Arrow schema. Each is defined once, next to its row type, in
//! [`tables`]. The Athena DDL (`athena/tables.sql`) and `docs/schema.md` are generated from those
//! definitions, and a test fails when the committed files drift.
//!

pub mod ddl;
pub mod destination;
pub mod scp;
pub mod table;
pub mod tables;
#[cfg(test)]
mod tests;
pub mod writer;

pub use destination::{Destination, S3Credentials, S3Options};
use rolescope_analysis::Analysis;
use rolescope_model::snapshot::Snapshot;
use std::collections::HashMap;
use table::{Row, batch};
use tables::*;

/// Exporting failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The snapshot has no closing scan record.
    #[error("the snapshot has no scan record; was the scan interrupted?")]
    NoScan,
    /// A row did not fit its schema (a bug).
    #[error(transparent)]
    Schema(#[from] table::SchemaMismatch),
    /// Writing failed.
    #[error(transparent)]
    Write(#[from] writer::WriteError),
    /// Storing a file failed.
    #[error(transparent)]
    Destination(#[from] destination::DestinationError),
}

/// Rows per record batch handed to the Parquet writer: the rows of a table are converted and
/// encoded this many at a time, never all at once.
const BATCH_ROWS: usize = 16 * 1024;

/// Roles grouped per slice for the permission tables. An administrator role expands to ~22,000
/// grants before grouping, so a slice is kept small.
const PERMISSION_ROLES: usize = 64;

/// Write one table from its rows, a batch at a time; returns where it went.
fn write_rows<R: Row>(
    out: &Destination,
    date: &str,
    scan_id: &str,
    rows: impl IntoIterator<Item = R>,
) -> Result<String, ExportError> {
    let mut writer = writer::TableWriter::create(
        out,
        R::TABLE.name,
        date,
        scan_id,
        std::sync::Arc::new(R::TABLE.schema()),
    )?;
    let mut chunk = Vec::with_capacity(BATCH_ROWS);
    for row in rows {
        chunk.push(row);
        if chunk.len() == BATCH_ROWS {
            writer.write(&batch(&chunk)?)?;
            chunk.clear();
        }
    }
    if !chunk.is_empty() {
        writer.write(&batch(&chunk)?)?;
    }
    Ok(writer.finish()?)
}

/// Score and level by id (function ARN, account id, OU id).
fn scores(rollups: &[rolescope_analysis::RollUp]) -> HashMap<&str, (i64, &'static str)> {
    rollups
        .iter()
        .map(|r| (r.id.as_str(), (i64::from(r.score), r.level)))
        .collect()
}

/// The name a model enum has in the snapshot (`ACTIVE`, `SERVICE_CONTROL_POLICY`), so the
/// datasets and the snapshot spell values the same way.
fn wire_name(value: impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Write the dataset for one scan under `out`; returns the files written.
pub fn export(
    cat: &rolescope_policy::Catalog,
    snapshot: &Snapshot,
    analysis: &Analysis,
    out: &Destination,
) -> Result<Vec<String>, ExportError> {
    let scan = snapshot.scan.as_ref().ok_or(ExportError::NoScan)?;
    let id = scan.scan_id.clone();
    let date = scan.started_at.date();
    let account_score = scores(&analysis.accounts);
    let function_score = scores(&analysis.functions);
    let public: std::collections::BTreeSet<&str> = analysis
        .findings
        .iter()
        .filter(|f| {
            matches!(f.check_id, "RS-PUBLIC-001" | "RS-PUBLIC-003") && f.mitigated_by.is_none()
        })
        .map(|f| f.resource_arn.as_str())
        .collect();
    let roles_by_arn: HashMap<&str, &rolescope_analysis::RoleAnalysis> = analysis
        .roles
        .iter()
        .map(|r| (r.role_arn.as_str(), r))
        .collect();

    let mut files = Vec::new();

    files.push(write_rows(
        out,
        &date,
        &id,
        [ScanRun {
            scan_id: id.clone(),
            started_at: scan.started_at.millis,
            finished_at: scan.finished_at.millis,
            org_id: scan.org_id.clone(),
            accounts: snapshot.accounts.len() as i64,
            accounts_scanned: snapshot.accounts.iter().filter(|a| a.scanned).count() as i64,
            regions: scan.regions.clone(),
            functions: snapshot.functions.len() as i64,
            roles: snapshot.roles.len() as i64,
            findings: analysis.findings.len() as i64,
            collection_errors: snapshot.collection_errors.len() as i64,
            tool_version: scan.tool_version.clone(),
        }],
    )?);

    files.push(write_rows::<AccountRow>(
        out,
        &date,
        &id,
        snapshot.accounts.iter().map(|a| {
            let (score, level) = account_score
                .get(a.account_id.as_str())
                .copied()
                .unwrap_or((0, "none"));
            AccountRow {
                scan_id: id.clone(),
                account_id: a.account_id.to_string(),
                account_name: a.name.clone(),
                ou_path: a.ou_path.clone(),
                status: wire_name(a.status),
                scanned: a.scanned,
                risk_score: score,
                risk_level: level.to_string(),
            }
        }),
    )?);

    let ou_score = scores(&analysis.org_units);
    files.push(write_rows::<OrgUnitRow>(
        out,
        &date,
        &id,
        snapshot.org_units.iter().map(|u| {
            let (score, level) = ou_score.get(u.id.as_str()).copied().unwrap_or((0, "none"));
            OrgUnitRow {
                scan_id: id.clone(),
                ou_id: u.id.clone(),
                name: u.name.clone(),
                parent_id: u.parent_id.clone(),
                path: u.path.clone(),
                risk_score: score,
                risk_level: level.to_string(),
            }
        }),
    )?);

    files.push(write_rows::<ScpRow>(
        out,
        &date,
        &id,
        snapshot.control_policies.iter().flat_map(|p| {
            let id = &id;
            let kind = wire_name(p.policy_type);
            p.targets.iter().map(move |t| ScpRow {
                scan_id: id.clone(),
                policy_id: p.id.clone(),
                name: p.name.clone(),
                policy_type: kind.clone(),
                target_id: t.clone(),
                content: p.document.clone(),
            })
        }),
    )?);

    files.push(write_rows::<FunctionRow>(
        out,
        &date,
        &id,
        snapshot.functions.iter().map(|f| {
            let (score, level) = function_score
                .get(f.arn.as_str())
                .copied()
                .unwrap_or((0, "none"));
            FunctionRow {
                scan_id: id.clone(),
                account_id: f.account_id.to_string(),
                region: f.region.clone(),
                function_name: f.name.clone(),
                function_arn: f.arn.clone(),
                role_arn: f.role_arn.clone(),
                runtime: f.runtime.clone(),
                architectures: f.architectures.clone(),
                package_type: f.package_type.clone(),
                last_modified: f.last_modified.map(|t| t.millis),
                layers: f.layers.clone(),
                env_var_names: f.env_var_names.clone(),
                url_auth_type: f
                    .urls
                    .iter()
                    .find(|u| u.auth_type == "NONE")
                    .or(f.urls.first())
                    .map(|u| u.auth_type.clone()),
                resource_policy: f.resource_policy.clone(),
                public_access: public.contains(f.arn.as_str()),
                risk_score: score,
                risk_level: level.to_string(),
            }
        }),
    )?);

    files.push(write_rows::<RoleRow>(
        out,
        &date,
        &id,
        snapshot.roles.iter().map(|r| {
            let a = roles_by_arn.get(r.arn.as_str());
            RoleRow {
                scan_id: id.clone(),
                account_id: r.account_id.to_string(),
                role_name: r.name.clone(),
                role_arn: r.arn.clone(),
                path: r.path.clone(),
                trust_policy: r.trust_policy.clone(),
                boundary_arn: r.boundary_arn.clone(),
                last_used_at: r.last_used_at.map(|t| t.millis),
                function_count: a.map(|a| a.function_count as i64).unwrap_or(0),
                is_lambda_role: a.is_some_and(|a| a.is_lambda_role),
                allowed_actions: a
                    .map(|a| (a.allowed + a.allowed_under_conditions) as i64)
                    .unwrap_or(0),
                risk_score: a.map(|a| i64::from(a.score.score)).unwrap_or(0),
                risk_level: a.map(|a| a.score.level).unwrap_or("none").to_string(),
                score_explanation: a
                    .map(|a| serde_json::to_string(&a.score.contributions).unwrap_or_default())
                    .unwrap_or_else(|| "[]".into()),
                unused_services: a
                    .and_then(|a| a.unused_services.clone())
                    .unwrap_or_default(),
                suggested_policy: a.and_then(|a| a.suggested_policy.clone()),
            }
        }),
    )?);

    let managed: HashMap<&str, &rolescope_model::ManagedPolicy> = snapshot
        .managed_policies
        .iter()
        .map(|m| (m.arn.as_str(), m))
        .collect();
    let document_of = |arn: &str| -> Option<String> {
        managed.get(arn).map(|m| m.document.clone()).or_else(|| {
            rolescope_policy::managed::managed_policies()
                .get(arn)
                .map(|m| m.document.clone())
        })
    };
    let role_policies = snapshot.roles.iter().flat_map(|r| {
        let mut rows = Vec::new();
        let row = |kind: &str, name: String, arn: Option<String>, document: Option<String>| {
            RolePolicyRow {
                scan_id: id.clone(),
                account_id: r.account_id.to_string(),
                role_arn: r.arn.clone(),
                kind: kind.to_string(),
                name,
                policy_arn: arn,
                document,
            }
        };
        for p in &r.inline_policies {
            rows.push(row(
                "inline",
                p.name.clone(),
                None,
                Some(p.document.clone()),
            ));
        }
        for arn in &r.attached_policy_arns {
            let name = arn.rsplit('/').next().unwrap_or(arn).to_string();
            rows.push(row("managed", name, Some(arn.clone()), document_of(arn)));
        }
        if let Some(arn) = &r.boundary_arn {
            let name = arn.rsplit('/').next().unwrap_or(arn).to_string();
            rows.push(row("boundary", name, Some(arn.clone()), document_of(arn)));
        }
        rows
    });
    files.push(write_rows::<RolePolicyRow>(out, &date, &id, role_policies)?);

    // Both permission tables are streamed a slice of roles at a time: grouping is the heaviest
    // step of the export, and 100,000 roles' groups must not sit in memory at once.
    let permissions = rolescope_analysis::permissions::Permissions::new(cat, snapshot);
    let schema = |def: table::TableDef| std::sync::Arc::new(def.schema());
    let mut groups_out = writer::TableWriter::create(
        out,
        RolePermissionRow::TABLE.name,
        &date,
        &id,
        schema(RolePermissionRow::TABLE),
    )?;
    let mut access_out = writer::TableWriter::create(
        out,
        RoleServiceAccessRow::TABLE.name,
        &date,
        &id,
        schema(RoleServiceAccessRow::TABLE),
    )?;
    for roles in snapshot.roles.chunks(PERMISSION_ROLES) {
        let chunk = permissions.of(roles);
        let groups: Vec<RolePermissionRow> = chunk
            .iter()
            .flat_map(|p| &p.groups)
            .map(|g| RolePermissionRow {
                scan_id: id.clone(),
                account_id: g.account_id.clone(),
                role_arn: g.role_arn.clone(),
                service: g.service.clone(),
                status: g.status.as_str().to_string(),
                action_pattern: g.action_pattern.clone(),
                actions: g.actions.clone(),
                action_count: g.action_count as i64,
                resources: g.resources.clone(),
                conditional: g.conditional,
                granted_by: g.granted_by.clone(),
            })
            .collect();
        groups_out.write(&batch(&groups)?)?;
        let access: Vec<RoleServiceAccessRow> = chunk
            .iter()
            .flat_map(|p| &p.service_access)
            .map(|a| RoleServiceAccessRow {
                scan_id: id.clone(),
                account_id: a.account_id.clone(),
                role_arn: a.role_arn.clone(),
                service: a.service.clone(),
                access_level: a.access_level.to_string(),
                actions_granted: a.actions_granted as i64,
                actions_blocked: a.actions_blocked as i64,
                actions_used: a.actions_used.map(|n| n as i64),
                last_accessed_at: a.last_accessed_at.map(|t| t.millis),
            })
            .collect();
        access_out.write(&batch(&access)?)?;
    }
    files.push(groups_out.finish()?);
    files.push(access_out.finish()?);
    drop(permissions);

    files.push(write_rows::<FindingRow>(
        out,
        &date,
        &id,
        analysis.findings.iter().map(|f| FindingRow {
            scan_id: id.clone(),
            finding_id: f.finding_id.clone(),
            check_id: f.check_id.to_string(),
            category: f.category.as_str().to_string(),
            severity: f.severity.as_str().to_string(),
            account_id: f.account_id.to_string(),
            region: f.region.clone(),
            resource_arn: f.resource_arn.clone(),
            title: f.title.clone(),
            detail: f.detail.to_string(),
            mitigated_by: f.mitigated_by.clone(),
        }),
    )?);

    files.push(write_rows::<CollectionErrorRow>(
        out,
        &date,
        &id,
        snapshot
            .collection_errors
            .iter()
            .map(|e| CollectionErrorRow {
                scan_id: id.clone(),
                account_id: e.account_id.as_ref().map(|a| a.to_string()),
                region: e.region.clone(),
                service: e.service.clone(),
                operation: e.operation.clone(),
                error_code: e.error_code.clone(),
                message: e.message.clone(),
            }),
    )?);
    Ok(files)
}

//! One row function per exported table: the rows of a scan, built from the snapshot, its
//! evaluation and its analysis. [`crate::export`] writes them in order.

use crate::tables::*;
use rolescope_analysis::{Analysis, Evaluated, RoleAnalysis};
use rolescope_model::snapshot::Snapshot;
use rolescope_model::{ManagedPolicy, ScanInfo, Shared};
use std::collections::{BTreeSet, HashMap};

/// What every row function reads, with the lookups built once per export.
pub(crate) struct Scan<'a> {
    pub ev: &'a Evaluated<'a>,
    pub snapshot: &'a Snapshot,
    pub analysis: &'a Analysis,
    pub info: &'a ScanInfo,
    /// The scan id every row carries.
    pub id: Shared,
    account_score: HashMap<&'a str, (i64, &'static str)>,
    ou_score: HashMap<&'a str, (i64, &'static str)>,
    /// Function scores sorted by ARN (the analysis's own order), searched rather than copied
    /// into a map: at 300,000 functions a map of them is 20 MB.
    function_score: std::borrow::Cow<'a, [rolescope_analysis::RollUp]>,
    public: BTreeSet<&'a str>,
    /// The function or qualified ARNs public findings are on.
    public_qualified: BTreeSet<&'a str>,
    roles_by_arn: HashMap<&'a str, &'a RoleAnalysis>,
    managed: HashMap<&'a str, &'a ManagedPolicy>,
    /// The comparison with the baseline scan, when there is one.
    history: Option<&'a crate::history::History>,
}

/// Score and level by id (function ARN, account id, OU id).
pub(crate) fn scores(rollups: &[rolescope_analysis::RollUp]) -> HashMap<&str, (i64, &'static str)> {
    rollups
        .iter()
        .map(|r| (r.id.as_str(), (i64::from(r.score), r.level)))
        .collect()
}

pub(crate) use rolescope_model::wire_name;

impl<'a> Scan<'a> {
    /// The lookups for one export.
    pub fn new(
        ev: &'a Evaluated<'a>,
        analysis: &'a Analysis,
        info: &'a ScanInfo,
        history: Option<&'a crate::history::History>,
    ) -> Self {
        Scan {
            history,
            ev,
            snapshot: ev.snapshot,
            analysis,
            info,
            id: Shared::from(info.scan_id.as_str()),
            account_score: scores(&analysis.accounts),
            ou_score: scores(&analysis.org_units),
            function_score: if analysis.functions.is_sorted_by(|a, b| a.id <= b.id) {
                std::borrow::Cow::Borrowed(&analysis.functions)
            } else {
                let mut sorted = analysis.functions.clone();
                sorted.sort_by(|a, b| a.id.cmp(&b.id));
                std::borrow::Cow::Owned(sorted)
            },
            public: analysis
                .findings
                .iter()
                .filter(|f| f.makes_public())
                .map(|f| rolescope_model::unqualified_function_arn(&f.resource_arn))
                .collect(),
            public_qualified: analysis
                .findings
                .iter()
                .filter(|f| f.makes_public())
                .map(|f| f.resource_arn.as_str())
                .collect(),
            roles_by_arn: analysis
                .roles
                .iter()
                .map(|r| (r.role_arn.as_str(), r))
                .collect(),
            managed: ev
                .snapshot
                .managed_policies
                .iter()
                .map(|m| (m.arn.as_str(), m))
                .collect(),
        }
    }

    fn score(map: &HashMap<&str, (i64, &'static str)>, id: &str) -> (i64, String) {
        let (score, level) = map.get(id).copied().unwrap_or((0, "none"));
        (score, level.to_string())
    }

    fn function_score(&self, arn: &str) -> (i64, String) {
        let (score, level) = self
            .function_score
            .binary_search_by(|r| r.id.as_str().cmp(arn))
            .map_or((0, "none"), |i| {
                let r = &self.function_score[i];
                (i64::from(r.score), r.level)
            });
        (score, level.to_string())
    }

    /// `scan_runs`: one row, the scan itself.
    pub fn scan_runs(&self) -> impl Iterator<Item = ScanRun> + '_ {
        let (s, scan) = (self.snapshot, self.info);
        std::iter::once(ScanRun {
            scan_id: self.id.clone(),
            started_at: scan.started_at.millis,
            finished_at: scan.finished_at.millis,
            org_id: scan.org_id.clone(),
            accounts: s.accounts.len() as i64,
            accounts_scanned: s.accounts.iter().filter(|a| a.scanned).count() as i64,
            regions: scan.regions.clone(),
            functions: s.functions.len() as i64,
            roles: s.roles.len() as i64,
            findings: self.analysis.findings.len() as i64,
            collection_errors: s.collection_errors.len() as i64,
            tool_version: scan.tool_version.clone(),
        })
    }

    /// `accounts`.
    pub fn accounts(&self) -> impl Iterator<Item = AccountRow> + '_ {
        self.snapshot.accounts.iter().map(|a| {
            let (risk_score, risk_level) = Self::score(&self.account_score, a.account_id.as_str());
            AccountRow {
                scan_id: self.id.clone(),
                account_id: a.account_id.to_string(),
                account_name: a.name.clone(),
                ou_path: a.ou_path.clone(),
                status: wire_name(a.status),
                scanned: a.scanned,
                risk_score,
                risk_level,
            }
        })
    }

    /// `org_units`.
    pub fn org_units(&self) -> impl Iterator<Item = OrgUnitRow> + '_ {
        self.snapshot.org_units.iter().map(|u| {
            let (risk_score, risk_level) = Self::score(&self.ou_score, &u.id);
            OrgUnitRow {
                scan_id: self.id.clone(),
                ou_id: u.id.clone(),
                name: u.name.clone(),
                parent_id: u.parent_id.clone(),
                path: u.path.clone(),
                risk_score,
                risk_level,
            }
        })
    }

    /// `scps`: one row per policy and target.
    pub fn scps(&self) -> impl Iterator<Item = ScpRow> + '_ {
        self.snapshot.control_policies.iter().flat_map(move |p| {
            let kind = wire_name(p.policy_type);
            p.targets.iter().map(move |t| ScpRow {
                scan_id: self.id.clone(),
                policy_id: p.id.clone(),
                name: p.name.clone(),
                policy_type: kind.clone(),
                target_id: t.clone(),
                content: p.document.clone(),
            })
        })
    }

    /// `functions`.
    pub fn functions(&self) -> impl Iterator<Item = FunctionRow> + '_ {
        self.snapshot.functions.iter().map(|f| {
            let (risk_score, risk_level) = self.function_score(&f.arn);
            FunctionRow {
                scan_id: self.id.clone(),
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
                url_auth_type: f.url_auth_type().map(str::to_string),
                resource_policy: f.resource_policy.clone(),
                public_access: if self.public.contains(f.arn.as_str()) {
                    Some(true)
                } else if f.unread.is_empty() {
                    Some(false)
                } else {
                    None
                },
                unread: f.unread.clone(),
                risk_score,
                risk_level,
                secret_like_env_vars: f
                    .secret_like_env
                    .iter()
                    .map(|h| h.variable.clone())
                    .collect(),
            }
        })
    }

    /// `function_versions`: `$LATEST`, then each version and alias.
    pub fn function_versions(&self) -> impl Iterator<Item = FunctionVersionRow> + '_ {
        self.snapshot.functions.iter().flat_map(move |f| {
            let latest = std::iter::once((
                "$LATEST".to_string(),
                "latest",
                f.resource_policy.clone(),
                Vec::new(),
                f.unread.clone(),
            ));
            let others = f.qualifiers.iter().map(|q| {
                (
                    q.name.clone(),
                    match q.kind {
                        rolescope_model::QualifierKind::Version => "version",
                        rolescope_model::QualifierKind::Alias => "alias",
                    },
                    q.resource_policy.clone(),
                    q.routing
                        .iter()
                        .map(|(v, ppm)| format!("{v}={}", f64::from(*ppm) / 1e6))
                        .collect(),
                    q.unread.clone(),
                )
            });
            latest
                .chain(others)
                .map(move |(name, kind, policy, routing, unread)| {
                    let qualified = format!("{}:{name}", f.arn);
                    let url = f.url_of(&name);
                    let public = self.public_qualified.contains(qualified.as_str())
                        || (kind == "latest" && self.public_qualified.contains(f.arn.as_str()));
                    FunctionVersionRow {
                        scan_id: self.id.clone(),
                        account_id: f.account_id.to_string(),
                        region: f.region.clone(),
                        function_name: f.name.clone(),
                        function_arn: f.arn.clone(),
                        role_arns: f
                            .roles_of(Some(name.as_str()))
                            .into_iter()
                            .map(str::to_string)
                            .collect(),
                        qualifier: name,
                        kind: kind.to_string(),
                        routing,
                        resource_policy: policy,
                        url_auth_type: url.map(|u| u.auth_type.clone()),
                        public_access: if public {
                            Some(true)
                        } else if unread.is_empty() {
                            Some(false)
                        } else {
                            None
                        },
                        unread,
                    }
                })
        })
    }

    /// `roles`.
    pub fn roles(&self) -> impl Iterator<Item = RoleRow> + '_ {
        self.snapshot.roles.iter().map(|r| {
            let a = self.roles_by_arn.get(r.arn.as_str());
            RoleRow {
                scan_id: self.id.clone(),
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
                suggestion_status: a
                    .map_or("not_lambda", |a| a.suggestion.status.as_str())
                    .to_string(),
                suggestion_basis: a
                    .and_then(|a| a.suggestion.basis)
                    .map(|b| b.as_str().to_string()),
                suggestion_reason: a.and_then(|a| a.suggestion.reason.clone()),
                supported_actions: a.map_or(0, |a| a.suggestion.evidence.supported_actions as i64),
                removed_actions: a.map_or(0, |a| a.suggestion.evidence.removed_actions() as i64),
                unobservable_actions: a
                    .map(|a| a.suggestion.evidence.unobservable.clone())
                    .unwrap_or_default(),
                remediation_folder: a
                    .filter(|a| a.suggestion.status == rolescope_analysis::least::Status::Suggested)
                    .map(|_| crate::remediation::folder(r)),
                unread: a.map(|a| a.unread.clone()).unwrap_or_default(),
            }
        })
    }

    /// The document of a managed policy: collected, or embedded for AWS-managed ones.
    fn document_of(&self, arn: &str) -> Option<String> {
        self.managed
            .get(arn)
            .map(|m| m.document.clone())
            .or_else(|| {
                rolescope_policy::managed::managed_policies()
                    .get(arn)
                    .map(|m| m.document.clone())
            })
    }

    /// `role_policies`: inline, managed and boundary policies with their documents.
    pub fn role_policies(&self) -> impl Iterator<Item = RolePolicyRow> + '_ {
        self.snapshot.roles.iter().flat_map(|r| {
            let row = |kind: &str, name: String, arn: Option<String>, document: Option<String>| {
                RolePolicyRow {
                    scan_id: self.id.clone(),
                    account_id: r.account_id.to_string(),
                    role_arn: r.arn.clone(),
                    kind: kind.to_string(),
                    name,
                    policy_arn: arn,
                    document,
                }
            };
            let last_segment = |arn: &str| arn.rsplit('/').next().unwrap_or(arn).to_string();
            let mut rows = Vec::new();
            for p in &r.inline_policies {
                rows.push(row(
                    "inline",
                    p.name.clone(),
                    None,
                    Some(p.document.clone()),
                ));
            }
            for arn in &r.attached_policy_arns {
                rows.push(row(
                    "managed",
                    last_segment(arn),
                    Some(arn.clone()),
                    self.document_of(arn),
                ));
            }
            if let Some(arn) = &r.boundary_arn {
                rows.push(row(
                    "boundary",
                    last_segment(arn),
                    Some(arn.clone()),
                    self.document_of(arn),
                ));
            }
            rows
        })
    }

    /// `role_permissions` and `role_service_access` for a slice of roles.
    pub fn permissions(
        &self,
        grouping: &rolescope_analysis::permissions::Grouping<'_>,
        roles: &[rolescope_analysis::EvaluatedRole<'_>],
    ) -> (Vec<RolePermissionRow>, Vec<RoleServiceAccessRow>) {
        let chunk = grouping.of(roles);
        let (mut groups, mut access) = (Vec::new(), Vec::new());
        for p in chunk {
            groups.extend(p.groups.into_iter().map(|g| RolePermissionRow {
                scan_id: self.id.clone(),
                account_id: g.account_id,
                role_arn: g.role_arn,
                service: g.service,
                status: g.status.as_str(),
                action_pattern: g.action_pattern,
                actions: g.actions,
                action_count: g.action_count as i64,
                resources: g.resources,
                conditional: g.conditional,
                granted_by: g.granted_by,
                depends_on: g.depends_on,
            }));
            access.extend(p.service_access.into_iter().map(|a| RoleServiceAccessRow {
                scan_id: self.id.clone(),
                account_id: a.account_id,
                role_arn: a.role_arn,
                service: a.service,
                access_level: a.access_level,
                actions_granted: a.actions_granted as i64,
                actions_blocked: a.actions_blocked as i64,
                actions_used: a.actions_used.map(|n| n as i64),
                last_accessed_at: a.last_accessed_at.map(|t| t.millis),
            }));
        }
        (groups, access)
    }

    /// `findings`.
    pub fn findings(&self) -> impl Iterator<Item = FindingRow> + '_ {
        let carried = self
            .history
            .map(|h| h.changes.carried.as_slice())
            .unwrap_or_default();
        let observed = self.analysis.findings.iter().map(|f| (f, true));
        observed
            .chain(carried.iter().map(|f| (f, false)))
            .map(move |(f, observed)| self.finding_row(f, observed))
    }

    fn finding_row(&self, f: &rolescope_analysis::findings::Finding, observed: bool) -> FindingRow {
        let started = self.info.started_at.millis;
        let carried =
            |m: Option<&HashMap<String, i64>>| m.and_then(|m| m.get(&f.finding_id).copied());
        FindingRow {
            scan_id: self.id.clone(),
            finding_id: f.finding_id.clone(),
            check_id: f.check_id.to_string(),
            category: f.category.as_str().to_string(),
            severity: f.severity.as_str().to_string(),
            account_id: f.account_id.to_string(),
            region: f.region.clone(),
            resource_arn: f.resource_arn.clone(),
            title: f.title.clone(),
            detail: f.detail.shared().clone(),
            mitigated_by: f.mitigated_by.clone(),
            first_seen: carried(self.history.map(|h| &h.first_seen)).unwrap_or(started),
            last_seen: if observed {
                started
            } else {
                carried(self.history.map(|h| &h.last_seen)).unwrap_or(started)
            },
            observed,
        }
    }

    /// `finding_changes` (empty without a baseline).
    pub fn finding_changes(&self) -> impl Iterator<Item = FindingChangeRow> + '_ {
        self.history.into_iter().flat_map(move |h| {
            h.changes.findings.iter().map(move |c| FindingChangeRow {
                scan_id: self.id.clone(),
                previous_scan_id: h.previous.scan_id.clone(),
                finding_id: c.finding_id.clone(),
                check_id: c.check_id.to_string(),
                resource_arn: c.resource_arn.clone(),
                account_id: c.account_id.clone(),
                change: c.change.to_string(),
                severity: c.severity.as_str().to_string(),
                previous_severity: c.previous_severity.map(|s| s.as_str().to_string()),
                mitigated_by: c.mitigated_by.clone(),
                previous_mitigated_by: c.previous_mitigated_by.clone(),
                first_seen: match c.change {
                    "new" => Some(self.info.started_at.millis),
                    _ => h.first_seen.get(&c.finding_id).copied(),
                },
                changed_at: self.info.started_at.millis,
            })
        })
    }

    /// `inventory_changes` (empty without a baseline).
    pub fn inventory_changes(&self) -> impl Iterator<Item = InventoryChangeRow> + '_ {
        self.history.into_iter().flat_map(move |h| {
            h.changes.inventory.iter().map(move |c| InventoryChangeRow {
                scan_id: self.id.clone(),
                previous_scan_id: h.previous.scan_id.clone(),
                kind: c.kind.to_string(),
                change: c.change.to_string(),
                arn: c.arn.clone(),
                before: c.before.clone(),
                after: c.after.clone(),
            })
        })
    }

    /// `collection_errors`.
    pub fn collection_errors(&self) -> impl Iterator<Item = CollectionErrorRow> + '_ {
        self.snapshot
            .collection_errors
            .iter()
            .map(|e| CollectionErrorRow {
                scan_id: self.id.clone(),
                account_id: e.account_id.as_ref().map(|a| a.to_string()),
                region: e.region.clone(),
                service: e.service.clone(),
                operation: e.operation.clone(),
                error_code: e.error_code.clone(),
                message: e.message.clone(),
                resource_arn: e.resource_arn.clone(),
            })
    }
}

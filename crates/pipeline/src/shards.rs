//! Sharded scans: the plan, the part each shard writes, and their merge into one scan.
//!
//! Layout under the destination, per scan id:
//!
//! - `shards/<scan-id>/plan.json`: the [`Plan`] (`rolescope plan`), and `items.json`, the
//!   Step Functions Map's items (`[{"shard": "1/8", "scan_id": …}, …]`);
//! - `shards/<scan-id>/part-K-of-N.jsonl`: shard K's snapshot part (the whole organization
//!   walk, and the accounts it owns);
//! - `shards/<scan-id>/part-K-of-N.json`: its [`PartManifest`], written after the part: a part
//!   without one did not finish.
//!
//! [`merge`] reads every part as untrusted input: a part that cannot be read, names another
//! scan, was planned differently or holds records of an account another shard owns is left
//! out, and the accounts of a missing or refused shard become `collection_errors` rows naming
//! the shard; the rest of the scan is kept.

use rolescope_exporter::Destination;
use rolescope_exporter::destination::DestinationError;
use rolescope_model::shard::{Assignment, Shard, ShardId};
use rolescope_model::snapshot::Snapshot;
use rolescope_model::{CollectionError, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// The folder of a scan's shard files.
pub fn prefix(scan_id: &str) -> String {
    format!("shards/{scan_id}/")
}

/// How a sharded scan is split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The scan.
    pub scan_id: String,
    /// The committed scan whose counts balanced it, if any.
    pub based_on: Option<String>,
    /// Who collects which account.
    pub assignment: Assignment,
    /// Random, set when the plan is stored: every part's manifest carries its plan, so a part
    /// made for an earlier plan of the same scan id (a re-run) is told apart and refused.
    #[serde(default)]
    pub nonce: String,
}

/// What a shard says about its part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartManifest {
    /// The scan.
    pub scan_id: String,
    /// `K/N`.
    pub shard: String,
    /// The plan it followed.
    pub plan: Plan,
    /// Accounts it collected (owned and active).
    pub accounts: Vec<String>,
    /// Records in its part.
    pub records: usize,
    /// API calls it made.
    pub api_calls: u64,
    /// When it finished (UTC ms).
    pub finished_at: i64,
    /// SHA-256 of the part's bytes (hex): a part changed after it was made is refused.
    #[serde(default)]
    pub digest: String,
}

/// A sharded scan that cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// An id that cannot name a path.
    #[error(transparent)]
    Id(#[from] rolescope_model::valid::InvalidId),
    /// Reading or writing the destination failed.
    #[error(transparent)]
    Destination(#[from] DestinationError),
    /// Listing committed scans or reading the baseline failed.
    #[error("reading the previous scan to balance the plan")]
    Baseline(#[source] rolescope_exporter::ExportError),
    /// A stored plan that cannot be used.
    #[error("{location}: {reason}")]
    BadPlan {
        /// Where it is.
        location: String,
        /// What is wrong.
        reason: String,
    },
    /// The part a shard collected is invalid (nothing was stored).
    #[error("shard {shard}: the collected part is invalid")]
    BadPart {
        /// Which shard.
        shard: ShardId,
        /// Why.
        #[source]
        source: rolescope_model::snapshot::SnapshotError,
    },
    /// No shard left a usable part: there is nothing to merge.
    #[error("scan {scan_id}: no usable shard part under {location} ({detail})")]
    NoParts {
        /// The scan.
        scan_id: String,
        /// Where parts were looked for.
        location: String,
        /// What was found instead.
        detail: String,
    },
}

/// A plan for `count` shards: balanced by the functions and roles each account had in the latest
/// committed scan of the destination, else even (by hash).
pub fn plan(dest: &Destination, scan_id: &str, count: u32) -> Result<Plan, ShardError> {
    rolescope_model::valid::scan_id(scan_id)?;
    let latest = rolescope_exporter::history::committed_scans(dest)
        .map_err(ShardError::Baseline)?
        .into_iter()
        .rfind(|s| s.scan_id != scan_id);
    let Some(latest) = latest else {
        return Ok(Plan {
            scan_id: scan_id.to_string(),
            based_on: None,
            assignment: Assignment::even(count),
            nonce: String::new(),
        });
    };
    let costs = match table_costs(dest, &latest)? {
        Some(costs) => costs,
        None => {
            let key = crate::snapshot_key(&latest.scan_id, &latest.date);
            let location = dest.location(&key);
            let Some(bytes) = dest.read_small(&key)? else {
                return Ok(Plan {
                    scan_id: scan_id.to_string(),
                    based_on: None,
                    assignment: Assignment::even(count),
                    nonce: String::new(),
                });
            };
            let before =
                Snapshot::read_from(std::io::Cursor::new(bytes), std::path::Path::new(&location))
                    .map_err(|e| ShardError::BadPlan {
                    location: location.clone(),
                    reason: format!("the previous scan's snapshot cannot be read: {e}"),
                })?;
            costs(&before)
        }
    };
    Ok(Plan {
        scan_id: scan_id.to_string(),
        based_on: Some(latest.scan_id),
        assignment: Assignment::balanced(&costs, count),
        nonce: String::new(),
    })
}

/// [`costs`] from a committed scan's tables, reading only their `account_id` columns: one per
/// `accounts` row, one per `roles` row, one per `function_versions` row (a function's `$LATEST`
/// and each of its qualifiers). The previous scan's snapshot of a 10,000-account organization
/// is a gigabyte; these columns are a few megabytes. `None` when a table is missing (a scan
/// written before `function_versions` existed): the snapshot is read instead.
pub(crate) fn table_costs(
    dest: &Destination,
    scan: &rolescope_exporter::history::CommittedScan,
) -> Result<Option<Vec<(String, u64)>>, ShardError> {
    let mut cost: BTreeMap<String, u64> = BTreeMap::new();
    for table in ["accounts", "roles", "function_versions"] {
        let Some(rows) = rolescope_exporter::history::rows_per_account(dest, scan, table)
            .map_err(ShardError::Baseline)?
        else {
            return Ok(None);
        };
        for (account, n) in rows {
            *cost.entry(account).or_default() += n;
        }
    }
    Ok(Some(cost.into_iter().collect()))
}

/// Expected cost of each account of a snapshot: one for the account, one per role, one per
/// function and published qualifier (what its scan calls for).
pub fn costs(s: &Snapshot) -> Vec<(String, u64)> {
    let mut cost: BTreeMap<String, u64> = s
        .accounts
        .iter()
        .map(|a| (a.account_id.to_string(), 1))
        .collect();
    for r in &s.roles {
        *cost.entry(r.account_id.to_string()).or_default() += 1;
    }
    for f in &s.functions {
        *cost.entry(f.account_id.to_string()).or_default() += 1 + f.qualifiers.len() as u64;
    }
    cost.into_iter().collect()
}

/// A random hex text for a plan's nonce.
fn new_nonce() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(Timestamp::now().millis);
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

/// Store a plan (with a fresh nonce: parts made for an earlier plan of the scan id no longer
/// match it) and the Map's items.
pub fn put_plan(dest: &Destination, plan: &Plan) -> Result<String, ShardError> {
    let plan = &Plan {
        nonce: new_nonce(),
        ..plan.clone()
    };
    let dir = prefix(&plan.scan_id);
    let items: Vec<serde_json::Value> = (1..=plan.assignment.count)
        .map(|k| serde_json::json!({"shard": format!("{k}/{}", plan.assignment.count), "scan_id": plan.scan_id}))
        .collect();
    dest.put(
        &format!("{dir}items.json"),
        serde_json::to_vec(&items).unwrap_or_default(),
    )?;
    Ok(dest.put(
        &format!("{dir}plan.json"),
        serde_json::to_vec_pretty(plan).unwrap_or_default(),
    )?)
}

/// The stored plan of a scan, if `rolescope plan` wrote one; checked against the scan id and
/// the shard count.
pub fn stored_plan(
    dest: &Destination,
    scan_id: &str,
    count: Option<u32>,
) -> Result<Option<Plan>, ShardError> {
    let key = format!("{}plan.json", prefix(scan_id));
    let Some(bytes) = dest.read_small(&key)? else {
        return Ok(None);
    };
    let bad = |reason: String| ShardError::BadPlan {
        location: dest.location(&key),
        reason,
    };
    let plan: Plan = serde_json::from_slice(&bytes).map_err(|e| bad(format!("not a plan: {e}")))?;
    if plan.scan_id != scan_id {
        return Err(bad(format!("it is the plan of scan {}", plan.scan_id)));
    }
    if ShardId::new(1, plan.assignment.count).is_none() {
        return Err(bad(format!("{} shards", plan.assignment.count)));
    }
    if let Some(n) = count.filter(|n| *n != plan.assignment.count) {
        return Err(bad(format!(
            "it splits the scan into {} shards, not {n}",
            plan.assignment.count
        )));
    }
    Ok(Some(plan))
}

/// Store a shard's part, then its manifest (the part's commit record). Returns the part's
/// location.
pub fn put_part(
    dest: &Destination,
    shard: &Shard,
    plan: &Plan,
    snapshot: &Snapshot,
    api_calls: u64,
) -> Result<String, ShardError> {
    snapshot.check().map_err(|source| ShardError::BadPart {
        shard: shard.id,
        source,
    })?;
    let dir = prefix(&plan.scan_id);
    let name = shard.id.part_name();
    let manifest_key = format!("{dir}{name}.json");
    // A re-run of the shard withdraws its old manifest first.
    dest.delete(&manifest_key)?;
    let mut digest = String::new();
    let location = dest.put_streamed(&format!("{dir}{name}.jsonl"), |w| {
        let mut hashing = Hashing {
            inner: w,
            hash: Sha256::new(),
        };
        snapshot.write_to(&mut hashing)?;
        digest = hex(&hashing.hash.finalize());
        Ok(())
    })?;
    let manifest = PartManifest {
        scan_id: plan.scan_id.clone(),
        shard: shard.id.to_string(),
        plan: plan.clone(),
        accounts: snapshot
            .accounts
            .iter()
            .filter(|a| a.scanned && shard.owns(a.account_id.as_str()))
            .map(|a| a.account_id.to_string())
            .collect(),
        records: snapshot.records().count(),
        api_calls,
        finished_at: snapshot.scan.as_ref().map_or(0, |s| s.finished_at.millis),
        digest,
    };
    dest.put(
        &manifest_key,
        serde_json::to_vec_pretty(&manifest).unwrap_or_default(),
    )?;
    Ok(location)
}

/// A writer that hashes what passes through it.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
}

impl<W: std::io::Write> std::io::Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The merged scan and what became of each shard.
#[derive(Debug)]
pub struct Merged {
    /// The scan's snapshot, as one process would have collected it.
    pub snapshot: Snapshot,
    /// The shards whose parts were merged.
    pub merged: Vec<ShardId>,
    /// The shards left out, and why.
    pub missing: Vec<(ShardId, String)>,
}

/// A part read and checked, or why it was refused.
type Checked = Result<(PartManifest, Snapshot), String>;

/// Read shard K's part.
fn read_part(dest: &Destination, scan_id: &str, id: ShardId) -> Checked {
    let dir = prefix(scan_id);
    let name = id.part_name();
    let manifest_key = format!("{dir}{name}.json");
    let Some(bytes) = dest.read_small(&manifest_key).map_err(|e| e.to_string())? else {
        return Err("no part: the shard did not finish".into());
    };
    let manifest: PartManifest = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{}: not a part manifest: {e}", dest.location(&manifest_key)))?;
    if manifest.scan_id != scan_id || manifest.shard != id.to_string() {
        return Err(format!(
            "{}: it is the manifest of shard {} of scan {}",
            dest.location(&manifest_key),
            manifest.shard,
            manifest.scan_id
        ));
    }
    let part_key = format!("{dir}{name}.jsonl");
    let location = dest.location(&part_key);
    let bytes = dest
        .read_small(&part_key)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{location} is missing"))?;
    // The part is what its manifest says it is: the same bytes, as many records, the same
    // accounts scanned. A part stripped of records would otherwise read as deletions.
    let digest = hex(&Sha256::digest(&bytes));
    if digest != manifest.digest {
        return Err(format!(
            "{location}: its content is not what its manifest recorded (SHA-256 {digest}, manifest {})",
            if manifest.digest.is_empty() {
                "none"
            } else {
                &manifest.digest
            }
        ));
    }
    let part = Snapshot::read_from(std::io::Cursor::new(bytes), std::path::Path::new(&location))
        .map_err(|e| e.to_string())?;
    let records = part.records().count();
    if records != manifest.records {
        return Err(format!(
            "{location}: {records} records, its manifest says {}",
            manifest.records
        ));
    }
    match &part.scan {
        Some(scan) if scan.scan_id == scan_id => Ok((manifest, part)),
        Some(scan) => Err(format!("{location}: a part of scan {}", scan.scan_id)),
        None => Err(format!("{location}: no scan record")),
    }
}

/// How a later part's walk differs from the first's: each difference a collection error (on
/// the account when it is about one, else on the organization, whose verdicts then cannot be
/// vouched for). What only the later part has (an account, an OU, a policy) is added, so no
/// record is left without its account or place in the tree.
fn walk_differences(
    out: &mut Snapshot,
    (first_id, _): (ShardId, &Snapshot),
    (id, part): (ShardId, &Snapshot),
) -> Vec<CollectionError> {
    let mut errors = Vec::new();
    let differ = |account: Option<rolescope_model::AccountId>, what: String| CollectionError {
        account_id: account,
        region: None,
        service: "rolescope".into(),
        operation: "MergeShards".into(),
        error_code: "WalkMismatch".into(),
        message: format!("the organization walks of shards {first_id} and {id} differ: {what}"),
        resource_arn: None,
    };
    for a in &part.accounts {
        match out.accounts.iter().find(|x| x.account_id == a.account_id) {
            None => {
                errors.push(differ(
                    Some(a.account_id.clone()),
                    format!("account {} only in shard {id}", a.account_id),
                ));
                out.accounts.push(a.clone());
            }
            Some(x) if x.parent_id != a.parent_id || x.status != a.status => errors.push(differ(
                Some(a.account_id.clone()),
                format!(
                    "account {} is under {} or {}",
                    a.account_id, x.parent_id, a.parent_id
                ),
            )),
            Some(_) => {}
        }
    }
    for a in &out.accounts {
        if !part.accounts.iter().any(|x| x.account_id == a.account_id) {
            errors.push(differ(
                Some(a.account_id.clone()),
                format!("account {} not in shard {id}", a.account_id),
            ));
        }
    }
    for u in &part.org_units {
        match out.org_units.iter().find(|x| x.id == u.id) {
            None => {
                errors.push(differ(None, format!("OU {} only in shard {id}", u.id)));
                out.org_units.push(u.clone());
            }
            Some(x) if x.parent_id != u.parent_id => {
                errors.push(differ(None, format!("OU {} has two parents", u.id)));
            }
            Some(_) => {}
        }
    }
    for p in &part.control_policies {
        match out.control_policies.iter().find(|x| x.id == p.id) {
            None => {
                errors.push(differ(None, format!("policy {} only in shard {id}", p.id)));
                out.control_policies.push(p.clone());
            }
            Some(x) if x.document != p.document || x.targets != p.targets => {
                errors.push(differ(
                    None,
                    format!("policy {} differs (document or attachments)", p.id),
                ));
            }
            Some(_) => {}
        }
    }
    if part.control_policies.len() < out.control_policies.len() {
        for p in &out.control_policies {
            if !part.control_policies.iter().any(|x| x.id == p.id) {
                errors.push(differ(None, format!("policy {} not in shard {id}", p.id)));
            }
        }
    }
    errors
}

/// An error of the organization walk, which every shard makes (and reports) the same; the
/// per-account `ScanAccount` refusals (suspended accounts) belong to the owning shard.
fn is_walk_error(e: &CollectionError) -> bool {
    e.service == "organizations" && e.operation != "ScanAccount"
}

/// The first record of a part that belongs to an account its shard does not own.
fn foreign_record(part: &Snapshot, shard: &Shard) -> Option<String> {
    let account_of_arn = |arn: &str| arn.split(':').nth(4).unwrap_or("").to_string();
    let owned = |account: &str| shard.owns(account);
    part.roles
        .iter()
        .map(|r| (r.account_id.to_string(), format!("role {}", r.arn)))
        .chain(
            part.functions
                .iter()
                .map(|f| (f.account_id.to_string(), format!("function {}", f.arn))),
        )
        .chain(part.managed_policies.iter().filter_map(|p| {
            p.account_id
                .as_ref()
                .map(|a| (a.to_string(), format!("policy {}", p.arn)))
        }))
        .chain(part.last_accessed.iter().map(|l| {
            (
                account_of_arn(&l.role_arn),
                format!("last-accessed row of {}", l.role_arn),
            )
        }))
        .chain(
            part.access_findings
                .iter()
                .map(|f| (f.account_id.to_string(), format!("finding {}", f.id))),
        )
        .chain(
            part.collection_errors
                .iter()
                .filter(|e| !is_walk_error(e))
                .filter_map(|e| {
                    e.account_id
                        .as_ref()
                        .map(|a| (a.to_string(), format!("error of {}", e.operation)))
                }),
        )
        .find(|(account, _)| !owned(account))
        .map(|(account, what)| {
            format!(
                "holds a record of account {account} ({what}), which shard {} owns",
                shard.assignment.owner(&account)
            )
        })
}

/// Merge the parts of a sharded scan. `count` is the shard count when the caller knows it
/// (else the plan's or the first manifest's).
pub fn merge(dest: &Destination, scan_id: &str, count: Option<u32>) -> Result<Merged, ShardError> {
    rolescope_model::valid::scan_id(scan_id)?;
    let stored = stored_plan(dest, scan_id, count)?;
    let dir = prefix(scan_id);
    // Without a stored plan, the shard count comes from the manifests present.
    let count = match (&stored, count) {
        (Some(p), _) => p.assignment.count,
        (None, Some(n)) => n,
        (None, None) => dest
            .list(&dir)?
            .iter()
            .filter_map(|k| k.rsplit('/').next())
            .filter_map(|f| f.strip_suffix(".json"))
            .filter_map(|f| f.strip_prefix("part-"))
            .filter_map(|f| f.split_once("-of-"))
            .filter_map(|(_, n)| n.parse::<u32>().ok())
            .max()
            .ok_or_else(|| ShardError::NoParts {
                scan_id: scan_id.to_string(),
                location: dest.location(&dir),
                detail: "no plan and no part manifest".into(),
            })?,
    };
    if ShardId::new(1, count).is_none() {
        return Err(ShardError::BadPlan {
            location: dest.location(&dir),
            reason: format!("{count} shards"),
        });
    }
    let mut plan = stored;
    let mut parts: Vec<(ShardId, Snapshot)> = Vec::new();
    let mut missing: Vec<(ShardId, String)> = Vec::new();
    // The parts are read and parsed at once; each is then checked in shard order.
    let read: Vec<Checked> = {
        use rayon::prelude::*;
        (1..=count)
            .into_par_iter()
            .map(|k| read_part(dest, scan_id, ShardId { index: k, count }))
            .collect()
    };
    for (k, read) in (1..=count).zip(read) {
        let id = ShardId { index: k, count };
        let checked = read.and_then(|(manifest, part)| {
            let planned = plan.get_or_insert_with(|| manifest.plan.clone());
            if manifest.plan != *planned {
                return Err("it followed another plan than the other shards".into());
            }
            let shard = Shard {
                id,
                assignment: planned.assignment.clone(),
            };
            if let Some(why) = foreign_record(&part, &shard) {
                return Err(why);
            }
            let scanned: Vec<String> = part
                .accounts
                .iter()
                .filter(|a| a.scanned && shard.owns(a.account_id.as_str()))
                .map(|a| a.account_id.to_string())
                .collect();
            if scanned != manifest.accounts {
                return Err(format!(
                    "it scanned {} of its accounts, its manifest says {}",
                    scanned.len(),
                    manifest.accounts.len()
                ));
            }
            Ok(part)
        });
        match checked {
            Ok(part) => parts.push((id, part)),
            Err(why) => missing.push((id, why)),
        }
    }
    let Some(plan) = plan.filter(|_| !parts.is_empty()) else {
        return Err(ShardError::NoParts {
            scan_id: scan_id.to_string(),
            location: dest.location(&dir),
            detail: missing
                .iter()
                .map(|(id, why)| format!("{id}: {why}"))
                .collect::<Vec<_>>()
                .join("; "),
        });
    };
    let merged = parts.iter().map(|(id, _)| *id).collect();
    let snapshot = combine(parts, &plan, &missing);
    Ok(Merged {
        snapshot,
        merged,
        missing,
    })
}

/// One snapshot from the parts: the organization as the parts walked it (every difference
/// between their walks a collection error, every part's walk errors kept once), every
/// account's records and `scanned` from the shard that owns it, and one collection error per
/// account of a shard left out. The scan's start is the parts' median start, so one shard's
/// clock does not move the scan to another date.
fn combine(
    parts: Vec<(ShardId, Snapshot)>,
    plan: &Plan,
    missing: &[(ShardId, String)],
) -> Snapshot {
    // Each list is sized once for every part: grown part by part, the largest (1.5 million
    // functions at xl) would be copied into fresh memory several times.
    let total = |len: fn(&Snapshot) -> usize| parts.iter().map(|(_, p)| len(p)).sum::<usize>();
    let mut out = Snapshot {
        roles: Vec::with_capacity(total(|p| p.roles.len())),
        functions: Vec::with_capacity(total(|p| p.functions.len())),
        managed_policies: Vec::with_capacity(total(|p| p.managed_policies.len())),
        last_accessed: Vec::with_capacity(total(|p| p.last_accessed.len())),
        access_findings: Vec::with_capacity(total(|p| p.access_findings.len())),
        collection_errors: Vec::with_capacity(total(|p| p.collection_errors.len())),
        ..Snapshot::default()
    };
    let (first_id, first) = &parts[0];
    out.accounts = first.accounts.clone();
    out.org_units = first.org_units.clone();
    out.control_policies = first.control_policies.clone();
    let mut walk_errors: BTreeSet<String> = BTreeSet::new();
    for (id, part) in &parts[1..] {
        let differences = walk_differences(&mut out, (*first_id, first), (*id, part));
        out.collection_errors.extend(differences);
    }
    let mut scanned: BTreeSet<String> = BTreeSet::new();
    let mut regions: BTreeSet<String> = BTreeSet::new();
    let mut scan = first.scan.clone().expect("parts have a scan record");
    let mut starts: Vec<i64> = parts
        .iter()
        .filter_map(|(_, p)| p.scan.as_ref().map(|s| s.started_at.millis))
        .collect();
    starts.sort_unstable();
    scan.started_at = Timestamp::from_millis(starts[starts.len() / 2]);
    // Each part's records move into the merged snapshot.
    for (id, part) in parts {
        // An account's `scanned` is its owning shard's word only.
        scanned.extend(
            part.accounts
                .iter()
                .filter(|a| a.scanned && plan.assignment.owner(a.account_id.as_str()) == id.index)
                .map(|a| a.account_id.to_string()),
        );
        if let Some(s) = &part.scan {
            regions.extend(s.regions.iter().cloned());
            scan.finished_at =
                Timestamp::from_millis(scan.finished_at.millis.max(s.finished_at.millis));
        }
        out.roles.extend(part.roles);
        out.functions.extend(part.functions);
        // AWS managed policies are read by every shard that uses them: `canonical_order`
        // below keeps each once, as it does for one collection.
        out.managed_policies.extend(part.managed_policies);
        out.last_accessed.extend(part.last_accessed);
        out.access_findings.extend(part.access_findings);
        // Every shard walked the organization: each distinct walk error is kept once.
        for e in part.collection_errors {
            if !is_walk_error(&e)
                || walk_errors.insert(format!(
                    "{:?} {:?} {} {} {}",
                    e.account_id, e.region, e.operation, e.error_code, e.message
                ))
            {
                out.collection_errors.push(e);
            }
        }
    }
    scan.finished_at = Timestamp::from_millis(scan.finished_at.millis.max(scan.started_at.millis));
    for a in &mut out.accounts {
        a.scanned = scanned.contains(a.account_id.as_str());
    }
    for (id, why) in missing {
        for a in out
            .accounts
            .iter()
            .filter(|a| plan.assignment.owner(a.account_id.as_str()) == id.index)
        {
            out.collection_errors.push(CollectionError {
                account_id: Some(a.account_id.clone()),
                region: None,
                service: "rolescope".into(),
                operation: "ScanShard".into(),
                error_code: "ShardMissing".into(),
                message: format!("shard {id} left no usable part: {why}"),
                resource_arn: None,
            });
        }
    }
    scan.regions = regions.into_iter().collect();
    out.scan = Some(scan);
    out.canonical_order();
    out
}

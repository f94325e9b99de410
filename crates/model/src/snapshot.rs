//! The snapshot: everything a scan collected, as JSON Lines.
//!
//! One record per line, each with a `kind` field, so a scan can be re-analysed offline and
//! inspected with `jq`. The `scan` record comes last: a file without it is incomplete. Files are
//! written under a temporary name and renamed into place, so a killed scan leaves no file that
//! looks complete.

use crate::valid::{self, InvalidId};
use crate::{
    AccessFinding, Account, Activity, CollectionError, ControlPolicy, Function, LastAccessed,
    ManagedPolicy, OrgUnit, Role, ScanInfo, UsageCoverage, usage::ActivitySource,
};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

/// One line of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Record {
    Account(Account),
    OrgUnit(OrgUnit),
    Policy(ControlPolicy),
    Role(Role),
    ManagedPolicy(ManagedPolicy),
    Function(Function),
    AccessFinding(AccessFinding),
    LastAccessed(LastAccessed),
    Activity(Activity),
    UsageCoverage(UsageCoverage),
    CollectionError(CollectionError),
    Scan(ScanInfo),
}

/// One record of a snapshot in memory, borrowed: what [`Snapshot::records`] yields to be
/// written or checked, serialized exactly as the [`Record`] it stands for (nothing is copied).
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum RecordRef<'a> {
    Account(&'a Account),
    OrgUnit(&'a OrgUnit),
    Policy(&'a ControlPolicy),
    Role(&'a Role),
    ManagedPolicy(&'a ManagedPolicy),
    Function(&'a Function),
    AccessFinding(&'a AccessFinding),
    LastAccessed(&'a LastAccessed),
    Activity(&'a Activity),
    UsageCoverage(&'a UsageCoverage),
    CollectionError(&'a CollectionError),
    Scan(&'a ScanInfo),
}

impl Record {
    /// Parse one line of a snapshot. The writer puts `kind` first, so a line that starts
    /// `{"kind":"…",` is read straight into its record's type (its opening brace moved past the
    /// tag); any other line goes through the general tagged reading, which buffers the whole
    /// record before it knows its type. Both read the same records.
    pub fn from_line(line: &mut String) -> Result<Record, serde_json::Error> {
        const TAG: &str = "{\"kind\":\"";
        let kind_end = line.strip_prefix(TAG).and_then(|rest| {
            let end = rest.find('"')?;
            let kind = &rest[..end];
            let plain = kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            (plain && rest[end + 1..].starts_with(',')).then_some(TAG.len() + end)
        });
        let Some(kind_end) = kind_end else {
            return serde_json::from_str(line);
        };
        // `{"kind":"function",…}` becomes `…"function"{…}`: the record's own fields, as an object.
        let comma = kind_end + 1;
        line.replace_range(comma..=comma, "{");
        let (kind, body) = (&line[TAG.len()..kind_end], &line[comma..]);
        fn read<'a, T: Deserialize<'a>>(
            body: &'a str,
            record: impl FnOnce(T) -> Record,
        ) -> Option<Record> {
            serde_json::from_str(body).map(record).ok()
        }
        let read = match kind {
            "account" => read(body, Record::Account),
            "org_unit" => read(body, Record::OrgUnit),
            "policy" => read(body, Record::Policy),
            "role" => read(body, Record::Role),
            "managed_policy" => read(body, Record::ManagedPolicy),
            "function" => read(body, Record::Function),
            "access_finding" => read(body, Record::AccessFinding),
            "last_accessed" => read(body, Record::LastAccessed),
            "activity" => read(body, Record::Activity),
            "usage_coverage" => read(body, Record::UsageCoverage),
            "collection_error" => read(body, Record::CollectionError),
            "scan" => read(body, Record::Scan),
            _ => None,
        };
        match read {
            Some(record) => Ok(record),
            None => {
                // The line as it was, read the general way: its error names the line's own column.
                line.replace_range(comma..=comma, ",");
                serde_json::from_str(line)
            }
        }
    }

    /// The record, borrowed.
    pub fn as_ref(&self) -> RecordRef<'_> {
        match self {
            Record::Account(r) => RecordRef::Account(r),
            Record::OrgUnit(r) => RecordRef::OrgUnit(r),
            Record::Policy(r) => RecordRef::Policy(r),
            Record::Role(r) => RecordRef::Role(r),
            Record::ManagedPolicy(r) => RecordRef::ManagedPolicy(r),
            Record::Function(r) => RecordRef::Function(r),
            Record::AccessFinding(r) => RecordRef::AccessFinding(r),
            Record::LastAccessed(r) => RecordRef::LastAccessed(r),
            Record::Activity(r) => RecordRef::Activity(r),
            Record::UsageCoverage(r) => RecordRef::UsageCoverage(r),
            Record::CollectionError(r) => RecordRef::CollectionError(r),
            Record::Scan(r) => RecordRef::Scan(r),
        }
    }

    /// See [`RecordRef::validate`].
    pub fn validate(&self) -> Result<(), InvalidId> {
        self.as_ref().validate()
    }

    /// See [`RecordRef::identity`].
    pub fn identity(&self) -> Option<(&'static str, Cow<'_, str>)> {
        self.as_ref().identity()
    }
}

impl<'a> RecordRef<'a> {
    /// Check every identifier of the record that later names a path, a file or a script
    /// argument, and every ARN ([`crate::valid`]).
    pub fn validate(self) -> Result<(), InvalidId> {
        match self {
            RecordRef::Account(a) if a.parent_id.is_empty() => Ok(()),
            RecordRef::Account(a) => valid::unit_id(&a.parent_id),
            RecordRef::OrgUnit(u) => {
                valid::unit_id(&u.id)?;
                u.parent_id.as_deref().map_or(Ok(()), valid::unit_id)
            }
            RecordRef::Policy(p) => {
                valid::policy_id(&p.id)?;
                p.targets.iter().try_for_each(|t| valid::target_id(t))
            }
            RecordRef::Role(r) => {
                valid::arn(&r.arn)?;
                // The name, path and account are what the ARN says: SCP patterns and reports are
                // made from the name, and a name the ARN does not carry would match no role.
                let mut parts = r.arn.splitn(6, ':');
                let (account, resource) = (parts.nth(4), parts.next());
                let expected = format!("role{}{}", r.path, r.name);
                if account != Some(r.account_id.as_str()) || resource != Some(expected.as_str()) {
                    return Err(InvalidId {
                        kind: "role",
                        value: format!(
                            "{} (name {:?}, path {:?}, account {})",
                            r.arn, r.name, r.path, r.account_id
                        ),
                        expected: "an ARN that ends with role<path><name> in the role's account",
                    });
                }
                r.attached_policy_arns
                    .iter()
                    .chain(&r.boundary_arn)
                    .try_for_each(|a| valid::arn(a))
            }
            RecordRef::ManagedPolicy(m) => {
                valid::arn(&m.arn)?;
                // A customer-managed policy lives in the account its ARN names.
                match &m.account_id {
                    Some(a) if m.arn.split(':').nth(4) != Some(a.as_str()) => Err(InvalidId {
                        kind: "managed policy",
                        value: format!("{} (account {a})", m.arn),
                        expected: "an ARN in the policy's account",
                    }),
                    _ => Ok(()),
                }
            }
            RecordRef::Function(f) => {
                valid::arn(&f.arn)?;
                // The account and name are the ARN's (`…:<account>:function:<name>`): a record
                // naming another account than its ARN would be merged into the wrong one.
                let mut parts = f.arn.splitn(8, ':');
                let account = parts.nth(4);
                let (kind, name) = (parts.next(), parts.next());
                if account != Some(f.account_id.as_str())
                    || kind != Some("function")
                    || name != Some(f.name.as_str())
                {
                    return Err(InvalidId {
                        kind: "function",
                        value: format!("{} (name {:?}, account {})", f.arn, f.name, f.account_id),
                        expected: "an ARN that ends with function:<name> in the function's account",
                    });
                }
                valid::arn(&f.role_arn)
            }
            RecordRef::LastAccessed(la) => valid::arn(&la.role_arn),
            RecordRef::Activity(a) => {
                valid::arn(&a.role_arn)?;
                // Calls are the role's own: a row naming another account than its role's would
                // be counted against the wrong role.
                if crate::AccountId::from_arn(&a.role_arn).as_ref() != Some(&a.account_id)
                    || a.first_seen > a.last_seen
                    || a.calls == 0
                    || !crate::usage::plausible_action(&a.action)
                {
                    return Err(InvalidId {
                        kind: "activity",
                        value: format!(
                            "{} {} (account {}, {} calls)",
                            a.role_arn, a.action, a.account_id, a.calls
                        ),
                        expected: "a role of the row's account, a service:Action, \
                                   first_seen ≤ last_seen and at least one call",
                    });
                }
                a.resource_arn.as_deref().map_or(Ok(()), valid::arn)
            }
            RecordRef::UsageCoverage(c) if c.window_start > c.window_end => Err(InvalidId {
                kind: "usage coverage",
                value: format!("account {}", c.account_id),
                expected: "a window that starts before it ends",
            }),
            RecordRef::UsageCoverage(_) => Ok(()),
            RecordRef::AccessFinding(_) | RecordRef::CollectionError(_) => Ok(()),
            RecordRef::Scan(scan) => valid::scan_id(&scan.scan_id),
        }
    }

    /// What makes two records the same thing: a second record with the same identity would
    /// be a duplicate. `None` for records that may repeat (collection errors).
    pub fn identity(self) -> Option<(&'static str, Cow<'a, str>)> {
        Some(match self {
            RecordRef::Account(a) => ("account", Cow::Owned(a.account_id.to_string())),
            RecordRef::OrgUnit(u) => ("org_unit", Cow::Borrowed(u.id.as_str())),
            RecordRef::Policy(p) => ("policy", Cow::Borrowed(p.id.as_str())),
            RecordRef::Role(r) => ("role", Cow::Borrowed(r.arn.as_str())),
            RecordRef::ManagedPolicy(m) => ("managed_policy", Cow::Borrowed(m.arn.as_str())),
            RecordRef::Function(f) => ("function", Cow::Borrowed(f.arn.as_str())),
            RecordRef::AccessFinding(f) => (
                "access_finding",
                Cow::Owned(format!("{} {}", f.account_id, f.id)),
            ),
            RecordRef::LastAccessed(la) => (
                "last_accessed",
                Cow::Owned(format!("{} {}", la.role_arn, la.service)),
            ),
            RecordRef::Activity(a) => (
                "activity",
                Cow::Owned(format!(
                    "{} {} {} {} {} {}",
                    a.role_arn,
                    a.region,
                    a.session_name,
                    a.action,
                    a.resource_arn.as_deref().unwrap_or("-"),
                    a.source.as_str()
                )),
            ),
            RecordRef::UsageCoverage(c) => (
                "usage_coverage",
                Cow::Owned(format!("{} {}", c.account_id, c.source.as_str())),
            ),
            RecordRef::CollectionError(_) => return None,
            RecordRef::Scan(_) => ("scan", Cow::Borrowed("")),
        })
    }
}

/// Validates records in order and remembers where each identity was first seen: borrowed from
/// the snapshot when it checks one in memory, owned when it reads one line by line.
#[derive(Debug, Default)]
struct Seen<'a>(std::collections::HashMap<(&'static str, Cow<'a, str>), usize>);

impl<'a> Seen<'a> {
    /// `Err(message)` when the record is invalid or repeats one seen at an earlier position.
    fn admit(&mut self, record: RecordRef<'a>, at: usize, unit: &str) -> Result<(), String> {
        record.validate().map_err(|e| e.to_string())?;
        match record.identity() {
            Some((kind, key)) => self.remember(kind, key, at, unit),
            None => Ok(()),
        }
    }

    /// [`Seen::admit`] for a record about to be moved away: its identity is copied.
    fn admit_owned(&mut self, record: &Record, at: usize, unit: &str) -> Result<(), String> {
        record.validate().map_err(|e| e.to_string())?;
        match record.identity() {
            Some((kind, key)) => self.remember(kind, Cow::Owned(key.into_owned()), at, unit),
            None => Ok(()),
        }
    }

    fn remember(
        &mut self,
        kind: &'static str,
        key: Cow<'a, str>,
        at: usize,
        unit: &str,
    ) -> Result<(), String> {
        use std::collections::hash_map::Entry;
        match self.0.entry((kind, key)) {
            Entry::Occupied(first) => Err(format!(
                "duplicate {kind} record {:?}: the same as {unit} {}",
                first.key().1,
                first.get()
            )),
            Entry::Vacant(slot) => {
                slot.insert(at);
                Ok(())
            }
        }
    }
}

/// Everything one scan collected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Snapshot {
    pub accounts: Vec<Account>,
    pub org_units: Vec<OrgUnit>,
    pub control_policies: Vec<ControlPolicy>,
    pub roles: Vec<Role>,
    pub managed_policies: Vec<ManagedPolicy>,
    pub functions: Vec<Function>,
    pub access_findings: Vec<AccessFinding>,
    pub last_accessed: Vec<LastAccessed>,
    /// What each role really did (CloudTrail), aggregated.
    pub activity: Vec<Activity>,
    /// How much of the usage window each source covered, per account.
    pub usage_coverage: Vec<UsageCoverage>,
    pub collection_errors: Vec<CollectionError>,
    /// The closing scan record.
    pub scan: Option<ScanInfo>,
}

/// Snapshot I/O errors, naming the file and line.
/// The longest snapshot line read: far above any real record (a role with ten 10 KiB inline
/// policies is ~100 KiB), far below what would exhaust memory.
pub const MAX_LINE_BYTES: usize = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// A record of an in-memory snapshot is invalid.
    #[error("record {record} of the snapshot: {message}")]
    Invalid {
        /// Its position (the line it would have in the file).
        record: usize,
        /// What is wrong.
        message: String,
    },
    /// Reading or writing failed. The I/O error is part of the message, not a separate cause,
    /// so a chain printed with `{:#}` names it once.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// A line is not a valid record.
    #[error("{path} line {line}: {message}")]
    Record {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        message: String,
    },
    /// The file ends without its `scan` record.
    #[error("{path}: incomplete snapshot (no closing \"scan\" record; was the scan interrupted?)")]
    Incomplete {
        /// The file.
        path: PathBuf,
    },
}

impl Snapshot {
    /// The partition the snapshot's ARNs are in (`aws`, `aws-cn`, `aws-us-gov`, `aws-eusc`): that
    /// of its first role or function, which the services wrote in the caller's partition; `aws`
    /// when it has neither. Every ARN rolescope writes for it is in this partition.
    pub fn partition(&self) -> &str {
        self.roles
            .first()
            .map(|r| r.arn.as_str())
            .or_else(|| self.functions.first().map(|f| f.arn.as_str()))
            .map_or("aws", crate::arn_partition)
    }

    /// Add one record.
    pub fn push(&mut self, record: Record) {
        match record {
            Record::Account(r) => self.accounts.push(r),
            Record::OrgUnit(r) => self.org_units.push(r),
            Record::Policy(r) => self.control_policies.push(r),
            Record::Role(r) => self.roles.push(r),
            Record::ManagedPolicy(r) => self.managed_policies.push(r),
            Record::Function(r) => self.functions.push(r),
            Record::AccessFinding(r) => self.access_findings.push(r),
            Record::LastAccessed(r) => self.last_accessed.push(r),
            Record::Activity(r) => self.activity.push(r),
            Record::UsageCoverage(r) => self.usage_coverage.push(r),
            Record::CollectionError(r) => self.collection_errors.push(r),
            Record::Scan(r) => self.scan = Some(r),
        }
    }

    /// All records in file order (the scan record last), borrowed.
    pub fn records(&self) -> impl Iterator<Item = RecordRef<'_>> + '_ {
        self.org_units
            .iter()
            .map(RecordRef::OrgUnit)
            .chain(self.accounts.iter().map(RecordRef::Account))
            .chain(self.control_policies.iter().map(RecordRef::Policy))
            .chain(self.managed_policies.iter().map(RecordRef::ManagedPolicy))
            .chain(self.roles.iter().map(RecordRef::Role))
            .chain(self.functions.iter().map(RecordRef::Function))
            .chain(self.last_accessed.iter().map(RecordRef::LastAccessed))
            .chain(self.access_findings.iter().map(RecordRef::AccessFinding))
            .chain(self.activity.iter().map(RecordRef::Activity))
            .chain(self.usage_coverage.iter().map(RecordRef::UsageCoverage))
            .chain(
                self.collection_errors
                    .iter()
                    .map(RecordRef::CollectionError),
            )
            .chain(self.scan.iter().map(RecordRef::Scan))
    }

    /// Put every record list in its canonical order (by id or ARN), as a collection and a
    /// merge of shard parts both leave it, whatever order the work finished in. Managed
    /// policies collected twice (the same ARN for the same owner) are kept once.
    pub fn canonical_order(&mut self) {
        self.accounts
            .sort_by(|a, b| a.account_id.cmp(&b.account_id));
        self.org_units.sort_by(|a, b| a.id.cmp(&b.id));
        self.control_policies.sort_by(|a, b| a.id.cmp(&b.id));
        self.roles.sort_by(|a, b| a.arn.cmp(&b.arn));
        self.managed_policies.sort_by(|a, b| a.arn.cmp(&b.arn));
        self.managed_policies
            .dedup_by(|a, b| a.arn == b.arn && a.account_id == b.account_id);
        self.functions.sort_by(|a, b| a.arn.cmp(&b.arn));
        self.last_accessed
            .sort_by(|a, b| (&a.role_arn, &a.service).cmp(&(&b.role_arn, &b.service)));
        fn activity_key(x: &Activity) -> (&str, &str, &str, &str, Option<&str>, ActivitySource) {
            let resource = x.resource_arn.as_deref();
            (
                &x.role_arn,
                &x.region,
                &x.session_name,
                &x.action,
                resource,
                x.source,
            )
        }
        self.activity
            .sort_by(|a, b| activity_key(a).cmp(&activity_key(b)));
        self.usage_coverage
            .sort_by(|a, b| (&a.account_id, a.source).cmp(&(&b.account_id, b.source)));
        self.access_findings.sort_by(|a, b| {
            (&a.account_id, &a.region, &a.id).cmp(&(&b.account_id, &b.region, &b.id))
        });
        self.collection_errors.sort_by(|a, b| {
            let key = |e: &CollectionError| {
                (
                    e.account_id.clone(),
                    e.region.clone(),
                    e.service.clone(),
                    e.operation.clone(),
                    e.error_code.clone(),
                    e.message.clone(),
                    e.resource_arn.clone(),
                )
            };
            key(a).cmp(&key(b))
        });
    }

    /// Write the JSON Lines (one record per line, the scan record last) to `w`.
    pub fn write_to(&self, mut w: impl Write) -> std::io::Result<()> {
        // Records are written into a block in memory and handed on a block at a time: the
        // serializer makes a write per quote and field, each a call when `w` is a `dyn Write`.
        const BLOCK: usize = 256 * 1024;
        let mut block = Vec::with_capacity(2 * BLOCK);
        for record in self.records() {
            serde_json::to_writer(&mut block, &record)?;
            block.push(b'\n');
            if block.len() >= BLOCK {
                w.write_all(&block)?;
                block.clear();
            }
        }
        w.write_all(&block)
    }

    /// Write atomically: a temporary file in the same folder (created if missing), flushed and
    /// synced, then renamed.
    pub fn write(&self, path: &Path) -> Result<(), SnapshotError> {
        let io = |error| SnapshotError::Io {
            path: path.to_path_buf(),
            error,
        };
        let tmp = path.with_extension("jsonl.partial");
        let result = (|| -> std::io::Result<()> {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let file = std::fs::File::create(&tmp)?;
            let mut w = BufWriter::new(file);
            self.write_to(&mut w)?;
            let file = w.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if result.is_err() {
            // Never leave a partial file behind; what was collected is still in memory.
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(io)
    }

    /// Check a snapshot built in memory (collected or imported) as [`Snapshot::read`] checks a
    /// file: valid identifiers, no duplicated records. Positions count records in the order
    /// [`Snapshot::records`] writes them, which is the line of the written file.
    pub fn check(&self) -> Result<(), SnapshotError> {
        let mut seen = Seen::default();
        for (i, record) in self.records().enumerate() {
            seen.admit(record, i + 1, "record")
                .map_err(|message| SnapshotError::Invalid {
                    record: i + 1,
                    message,
                })?;
        }
        Ok(())
    }

    /// Read a snapshot; fails on a malformed line, an invalid identifier, a duplicated record
    /// (naming both lines) or a missing closing `scan` record.
    pub fn read(path: &Path) -> Result<Snapshot, SnapshotError> {
        let file = std::fs::File::open(path).map_err(|error| SnapshotError::Io {
            path: path.to_path_buf(),
            error,
        })?;
        Snapshot::read_from(std::io::BufReader::new(file), path)
    }

    /// [`Snapshot::read`] over any reader (an object fetched from S3); `path` names it in errors.
    pub fn read_from(reader: impl BufRead, path: &Path) -> Result<Snapshot, SnapshotError> {
        let io = |error| SnapshotError::Io {
            path: path.to_path_buf(),
            error,
        };
        let mut snapshot = Snapshot::default();
        let mut seen = Seen::default();
        let mut reader = reader;
        let mut bytes = Vec::new();
        for i in 0.. {
            // Bounded: an endless line (`/dev/zero`, a corrupt file) is refused, not buffered
            // until memory runs out.
            bytes.clear();
            let n = std::io::Read::take(&mut reader, MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut bytes)
                .map_err(io)?;
            if n == 0 {
                break;
            }
            if bytes.len() > MAX_LINE_BYTES {
                return Err(SnapshotError::Record {
                    path: path.to_path_buf(),
                    line: i + 1,
                    message: format!(
                        "line longer than {} MiB: not a snapshot record",
                        MAX_LINE_BYTES >> 20
                    ),
                });
            }
            let mut line = String::from_utf8(std::mem::take(&mut bytes)).map_err(|_| {
                SnapshotError::Record {
                    path: path.to_path_buf(),
                    line: i + 1,
                    message: "not UTF-8 text".into(),
                }
            })?;
            if line.ends_with('\n') {
                line.pop();
                if line.ends_with('\r') {
                    line.pop();
                }
            }
            if line.trim().is_empty() {
                continue;
            }
            if snapshot.scan.is_some() {
                return Err(SnapshotError::Record {
                    path: path.to_path_buf(),
                    line: i + 1,
                    message: "record after the closing \"scan\" record".into(),
                });
            }
            let bad = |message| SnapshotError::Record {
                path: path.to_path_buf(),
                line: i + 1,
                message,
            };
            let record = Record::from_line(&mut line).map_err(|e| bad(e.to_string()))?;
            seen.admit_owned(&record, i + 1, "line").map_err(bad)?;
            snapshot.push(record);
        }
        if snapshot.scan.is_none() {
            return Err(SnapshotError::Incomplete {
                path: path.to_path_buf(),
            });
        }
        Ok(snapshot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccountId, AccountStatus, FunctionUrl, Timestamp};

    fn sample() -> Snapshot {
        let acct = AccountId::new("012345678901").unwrap();
        let mut s = Snapshot::default();
        s.push(Record::OrgUnit(OrgUnit {
            id: "r-ab12".into(),
            name: "Root".into(),
            parent_id: None,
            path: "Root".into(),
        }));
        s.push(Record::Account(Account {
            account_id: acct.clone(),
            name: "prod".into(),
            status: AccountStatus::Active,
            parent_id: "r-ab12".into(),
            ou_path: "Root".into(),
            scanned: true,
        }));
        s.push(Record::Function(Function {
            config: Default::default(),
            unread: Vec::new(),
            account_id: acct.clone(),
            region: "eu-west-1".into(),
            name: "orders".into(),
            arn: "arn:aws:lambda:eu-west-1:012345678901:function:orders".into(),
            role_arn: "arn:aws:iam::012345678901:role/orders".into(),
            runtime: Some("python3.13".into()),
            architectures: vec!["arm64".into()],
            package_type: Some("Zip".into()),
            last_modified: Timestamp::parse("2026-11-01T10:00:00.000+0000"),
            layers: vec![],
            env_var_names: vec!["DB_PASSWORD".into()],
            secret_like_env: vec![],
            qualifiers: vec![],
            resource_policy: None,
            urls: vec![FunctionUrl {
                url: "https://x.lambda-url.eu-west-1.on.aws/".into(),
                auth_type: "NONE".into(),
                qualifier: None,
            }],
        }));
        s.push(Record::CollectionError(CollectionError {
            resource_arn: None,
            account_id: Some(acct),
            region: Some("us-east-1".into()),
            service: "lambda".into(),
            operation: "ListFunctionUrlConfigs".into(),
            error_code: "Unsupported".into(),
            message: "HTTP 404 without an AWS error code".into(),
        }));
        s.push(Record::Scan(ScanInfo {
            scan_id: "scan-1".into(),
            started_at: Timestamp::from_millis(1_795_867_200_000),
            finished_at: Timestamp::from_millis(1_795_867_260_123),
            org_id: Some("o-abc".into()),
            regions: vec!["eu-west-1".into(), "us-east-1".into()],
            tool_version: "0.1.0".into(),
        }));
        s
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("rolescope-model-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_role_whose_name_differs_from_its_arn_is_refused() {
        let role = crate::Role {
            account_id: AccountId::new("012345678901").unwrap(),
            name: "orders".into(),
            arn: "arn:aws:iam::012345678901:role/orders".into(),
            path: "/".into(),
            trust_policy: "{}".into(),
            inline_policies: vec![],
            attached_policy_arns: vec![],
            boundary_arn: None,
            tags: vec![],
            last_used_at: None,
            last_used_region: None,
            created_at: None,
        };
        let with = |r: &crate::Role| {
            let mut s = sample();
            s.roles = vec![r.clone()];
            s.check()
        };
        assert!(with(&role).is_ok());
        let renamed = crate::Role {
            name: "other-name".into(),
            ..role.clone()
        };
        let e = with(&renamed).unwrap_err().to_string();
        assert!(
            e.contains("other-name") && e.contains("role<path><name>"),
            "{e}"
        );
        let moved = crate::Role {
            path: "/team/".into(),
            ..role.clone()
        };
        assert!(with(&moved).is_err(), "a path the ARN does not carry");
        let elsewhere = crate::Role {
            account_id: AccountId::new("111122223333").unwrap(),
            ..role
        };
        assert!(
            with(&elsewhere).is_err(),
            "an account the ARN does not name"
        );
    }

    #[test]
    fn shown_text_has_no_bidi_or_control_character_and_a_bounded_length() {
        assert_eq!(crate::shown("plain", 10), "plain");
        assert_eq!(
            crate::shown("a\u{202E}b\nc\u{2066}", 10),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}"
        );
        assert_eq!(crate::shown("abcdef", 3), "abc…");
        assert_eq!(
            crate::neutralised("# h\n\tx\u{202E}\r".into()),
            "# h\n\tx\u{FFFD}\u{FFFD}"
        );
    }

    #[test]
    fn an_endless_line_is_refused_not_buffered() {
        // What `--baseline /dev/zero` reads: bytes without end and without a newline.
        let endless = std::io::BufReader::new(std::io::Read::take(std::io::repeat(0), 1 << 40));
        let e = Snapshot::read_from(endless, Path::new("/dev/zero")).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("/dev/zero line 1") && text.contains("longer than 64 MiB"),
            "{text}"
        );
    }

    #[test]
    fn round_trip_with_kind_tags() {
        let dir = temp_dir("roundtrip");
        let path = dir.join("snapshot.jsonl");
        let s = sample();
        s.write(&path).unwrap();
        assert!(!dir.join("snapshot.jsonl.partial").exists());
        let text = std::fs::read_to_string(&path).unwrap();
        let kinds: Vec<String> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "org_unit",
                "account",
                "function",
                "collection_error",
                "scan"
            ]
        );
        assert!(text.contains(r#""account_id":"012345678901""#));
        assert!(text.contains(r#""last_modified":"2026-11-01T10:00:00.000Z""#));
        assert_eq!(Snapshot::read(&path).unwrap(), s);
    }

    #[test]
    fn truncated_or_corrupt_files_are_reported_with_place() {
        let dir = temp_dir("truncated");
        let path = dir.join("s.jsonl");
        sample().write(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let without_scan: String = text.lines().take(4).map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, &without_scan).unwrap();
        assert!(matches!(
            Snapshot::read(&path),
            Err(SnapshotError::Incomplete { .. })
        ));
        std::fs::write(
            &path,
            format!("{without_scan}{{\"kind\":\"account\",\"account_id\":\"12\"}}\n"),
        )
        .unwrap();
        let err = Snapshot::read(&path).unwrap_err().to_string();
        assert!(
            err.contains("line 5") && err.contains("invalid AWS account id"),
            "{err}"
        );
    }

    #[test]
    fn hostile_ids_and_duplicated_records_are_refused_naming_the_lines() {
        let dir = temp_dir("hostile");
        let path = dir.join("s.jsonl");
        sample().write(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let read_with = |edit: &dyn Fn(&mut Vec<String>)| {
            let mut l: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            edit(&mut l);
            std::fs::write(&path, l.join("\n") + "\n").unwrap();
            Snapshot::read(&path).unwrap_err().to_string()
        };
        // A scan id that walks out of the output folder, or ends a shell line.
        for id in ["../../escape", "x\nrm -rf ~"] {
            let err = read_with(&|l| {
                let last = l.len() - 1;
                let mut scan: serde_json::Value = serde_json::from_str(&l[last]).unwrap();
                scan["scan_id"] = id.into();
                l[last] = scan.to_string();
            });
            assert!(
                err.contains(&format!("line {}", lines.len())) && err.contains("invalid scan id"),
                "{err}"
            );
        }
        // An OU id that would name a path outside scp/.
        let err = read_with(&|l| l[0] = l[0].replace("r-ab12", "r-../../x"));
        assert!(
            err.contains("line 1") && err.contains("invalid root or OU id"),
            "{err}"
        );
        // The same account twice: both lines named.
        let err = read_with(&|l| {
            let account = l[1].clone();
            l.insert(2, account);
        });
        assert!(
            err.contains("line 3") && err.contains("duplicate account") && err.contains("line 2"),
            "{err}"
        );
        // The in-memory check names the record.
        let mut twice = sample();
        twice.accounts.push(twice.accounts[0].clone());
        let err = twice.check().unwrap_err().to_string();
        assert!(err.contains("duplicate account"), "{err}");
        assert!(sample().check().is_ok());
    }

    #[test]
    fn a_line_reads_the_same_with_its_tag_first_or_anywhere_and_fails_the_same() {
        let general = |line: &str| serde_json::from_str::<Record>(line).map_err(|e| e.to_string());
        let fast = |line: &str| Record::from_line(&mut line.to_string()).map_err(|e| e.to_string());
        let s = sample();
        let mut lines = Vec::new();
        for r in s.records() {
            lines.push(serde_json::to_string(&r).unwrap());
        }
        assert!(lines.iter().all(|l| l.starts_with("{\"kind\":\"")));
        for line in &lines {
            let read = fast(line).unwrap();
            assert_eq!(Ok(read.clone()), general(line));
            // The tag last: the general reading, the same record.
            let mut object: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(line).unwrap();
            let kind = object.remove("kind").unwrap();
            object.insert("kind".into(), kind);
            let moved = serde_json::Value::Object(object).to_string();
            assert!(!moved.starts_with("{\"kind\""), "{moved}");
            assert_eq!(fast(&moved).unwrap(), read);
        }
        // Broken lines fail with the general reading's own message (its column included).
        let account = lines.iter().find(|l| l.contains("\"account\"")).unwrap();
        let broken = [
            account.replace("012345678901", "12"),
            account.replace("\"account\"", "\"acount\""),
            account.replace("\"account\",", "\"acc\\u006funt\","),
            account.replace("\"scanned\":true", "\"scanned\":tru"),
            format!("{account} trailing"),
            "{\"kind\":\"scan\",}".to_string(),
        ];
        for line in &broken {
            let err = fast(line);
            assert!(err.is_err() || line.contains("\\u006f"), "{line}: {err:?}");
            assert_eq!(err, general(line), "{line}");
        }
    }

    #[test]
    fn write_creates_the_folder() {
        let dir = temp_dir("nested");
        let path = dir.join("snapshots").join("dt=2026-11-28").join("s.jsonl");
        sample().write(&path).unwrap();
        assert_eq!(Snapshot::read(&path).unwrap(), sample());
    }

    #[test]
    fn a_failed_write_leaves_no_file() {
        let dir = temp_dir("failed");
        // A plain file where the folder should be: the folder cannot be created.
        std::fs::write(dir.join("blocker"), b"").unwrap();
        let path = dir.join("blocker").join("s.jsonl");
        let err = sample().write(&path).unwrap_err();
        assert!(err.to_string().contains("blocker"), "{err}");
        assert!(!path.exists() && !path.with_extension("jsonl.partial").exists());
    }
}

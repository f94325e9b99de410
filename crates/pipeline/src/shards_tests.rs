//! Regression tests of issue 44's shard items: each part is what its plan and manifest say,
//! every part's walk counts, and one bad part costs only its accounts.

use crate::shards::{Plan, merge, put_part, put_plan, stored_plan};
use rolescope_exporter::Destination;
use rolescope_model::shard::{Shard, ShardId};
use rolescope_model::snapshot::Snapshot;
use rolescope_model::{AccountId, Timestamp};

const SCAN: &str = "sharded-1";

fn demo() -> Snapshot {
    let golden = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden/demo.jsonl");
    let mut s = Snapshot::read(std::path::Path::new(golden)).unwrap();
    s.scan.as_mut().unwrap().scan_id = SCAN.into();
    s
}

fn fresh(name: &str) -> (std::path::PathBuf, Destination) {
    let out = std::env::temp_dir().join(format!("rolescope-shards-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    (out.clone(), Destination::local(&out))
}

/// What shard `k` of `plan` collects of the demo organization: the whole walk, its own
/// accounts' records, only those accounts scanned.
fn part_of(s: &Snapshot, plan: &Plan, k: u32) -> (Shard, Snapshot) {
    let shard = Shard {
        id: ShardId::new(k, plan.assignment.count).unwrap(),
        assignment: plan.assignment.clone(),
    };
    let owns = |a: &AccountId| shard.owns(a.as_str());
    let mut p = s.clone();
    for a in &mut p.accounts {
        a.scanned = a.scanned && owns(&a.account_id);
    }
    p.roles.retain(|r| owns(&r.account_id));
    p.functions.retain(|f| owns(&f.account_id));
    p.managed_policies
        .retain(|m| m.account_id.as_ref().is_none_or(&owns));
    p.last_accessed
        .retain(|l| AccountId::from_arn(&l.role_arn).is_some_and(|a| owns(&a)));
    p.access_findings.retain(|f| owns(&f.account_id));
    p.collection_errors
        .retain(|e| e.account_id.as_ref().is_none_or(&owns));
    (shard, p)
}

/// Three shards planned, stored and put; returns the stored plan.
fn three_parts(dest: &Destination, s: &Snapshot, only: &[u32]) -> Plan {
    let plan = crate::shards::plan(dest, SCAN, 3).unwrap();
    put_plan(dest, &plan).unwrap();
    let stored = stored_plan(dest, SCAN, Some(3)).unwrap().unwrap();
    for k in only {
        let (shard, part) = part_of(s, &stored, *k);
        put_part(dest, &shard, &stored, &part, 0).unwrap();
    }
    stored
}

fn missing_reason(m: &crate::shards::Merged, k: u32) -> String {
    m.missing
        .iter()
        .find(|(id, _)| id.index == k)
        .map(|(_, why)| why.clone())
        .unwrap_or_default()
}

#[test]
fn three_parts_merge_into_the_scan_they_split() {
    let s = demo();
    let (out, dest) = fresh("whole");
    three_parts(&dest, &s, &[1, 2, 3]);
    let m = merge(&dest, SCAN, None).unwrap();
    assert!(m.missing.is_empty(), "{:?}", m.missing);
    assert_eq!(m.snapshot.roles.len(), s.roles.len());
    assert_eq!(m.snapshot.functions.len(), s.functions.len());
    assert!(
        !m.snapshot
            .collection_errors
            .iter()
            .any(|e| e.error_code == "WalkMismatch")
    );
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn a_stale_part_of_an_earlier_plan_is_refused() {
    let s = demo();
    let (out, dest) = fresh("stale");
    three_parts(&dest, &s, &[1, 2, 3]);
    // The scan id is planned again and shard 3 fails before it writes: its old part is stale.
    let replanned = three_parts(&dest, &s, &[1, 2]);
    let m = merge(&dest, SCAN, None).unwrap();
    assert_eq!(m.merged.len(), 2, "{:?}", m.missing);
    assert!(
        missing_reason(&m, 3).contains("another plan"),
        "{:?}",
        m.missing
    );
    let owned_by_3 = s
        .accounts
        .iter()
        .filter(|a| replanned.assignment.owner(a.account_id.as_str()) == 3)
        .count();
    let shard_missing = m
        .snapshot
        .collection_errors
        .iter()
        .filter(|e| e.error_code == "ShardMissing")
        .count();
    assert!(owned_by_3 > 0);
    assert_eq!(shard_missing, owned_by_3);
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn a_part_stripped_of_records_is_refused_by_its_manifest() {
    let s = demo();
    let (out, dest) = fresh("stripped");
    let plan = three_parts(&dest, &s, &[1, 2, 3]);
    let (shard, mut part) = part_of(&s, &plan, 2);
    assert!(!part.roles.is_empty());
    part.roles.clear();
    part.functions.clear();
    let mut bytes = Vec::new();
    part.write_to(&mut bytes).unwrap();
    let key = format!("shards/{SCAN}/{}.jsonl", shard.id.part_name());
    dest.put(&key, bytes).unwrap();
    let m = merge(&dest, SCAN, None).unwrap();
    assert!(
        missing_reason(&m, 2).contains("not what its manifest recorded"),
        "{:?}",
        m.missing
    );
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn every_parts_walk_counts_and_differences_are_collection_errors() {
    let s = demo();
    let (out, dest) = fresh("walks");
    let plan = crate::shards::plan(&dest, SCAN, 3).unwrap();
    put_plan(&dest, &plan).unwrap();
    let plan = stored_plan(&dest, SCAN, Some(3)).unwrap().unwrap();
    for k in 1..=3 {
        let (shard, mut part) = part_of(&s, &plan, k);
        if k == 1 {
            // Part 1's walk has a forged SCP and lacks an account; it also claims an account of
            // another shard as scanned.
            part.control_policies[0].document =
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#.into();
            let gone = part
                .accounts
                .iter()
                .position(|a| plan.assignment.owner(a.account_id.as_str()) == 3)
                .unwrap();
            part.accounts.remove(gone);
        }
        if k == 2 {
            part.collection_errors
                .push(rolescope_model::CollectionError {
                    account_id: None,
                    region: None,
                    service: "organizations".into(),
                    operation: "ListAccountsForParent".into(),
                    error_code: "Throttling".into(),
                    message: "shard 2's own walk error".into(),
                    resource_arn: None,
                });
        }
        put_part(&dest, &shard, &plan, &part, 0).unwrap();
    }
    let m = merge(&dest, SCAN, None).unwrap();
    let errors = &m.snapshot.collection_errors;
    let mismatch: Vec<&str> = errors
        .iter()
        .filter(|e| e.error_code == "WalkMismatch")
        .map(|e| e.message.as_str())
        .collect();
    assert!(
        mismatch.iter().any(|e| e.contains("differs")),
        "{mismatch:?}"
    );
    assert!(
        mismatch.iter().any(|e| e.contains("only in shard")),
        "{mismatch:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.message == "shard 2's own walk error")
    );
    // Every account is there, and scanned as its own shard says.
    assert_eq!(m.snapshot.accounts.len(), s.accounts.len());
    for a in &m.snapshot.accounts {
        let original = s
            .accounts
            .iter()
            .find(|x| x.account_id == a.account_id)
            .unwrap();
        assert_eq!(a.scanned, original.scanned, "{}", a.account_id);
    }
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn a_forged_record_costs_only_its_part_and_one_clock_does_not_date_the_scan() {
    let s = demo();
    let (out, dest) = fresh("forged");
    let plan = crate::shards::plan(&dest, SCAN, 3).unwrap();
    put_plan(&dest, &plan).unwrap();
    let plan = stored_plan(&dest, SCAN, Some(3)).unwrap().unwrap();
    let real_start = s.scan.as_ref().unwrap().started_at;
    for k in 1..=3 {
        let (shard, mut part) = part_of(&s, &plan, k);
        if k == 3 {
            // Shard 3's clock is three years behind.
            let scan = part.scan.as_mut().unwrap();
            scan.started_at = Timestamp::from_millis(real_start.millis - 3 * 365 * 86_400_000);
        }
        put_part(&dest, &shard, &plan, &part, 0).unwrap();
        if k == 1 {
            // After it was stored, part 1 gains a role whose ARN names another shard's account
            // (its manifest is rewritten to match, as a forger would).
            let other = s
                .roles
                .iter()
                .find(|r| plan.assignment.owner(r.account_id.as_str()) == 2)
                .unwrap();
            let mut forged = other.clone();
            forged.account_id = part.roles[0].account_id.clone();
            part.roles.push(forged);
            let mut bytes = Vec::new();
            part.write_to(&mut bytes).unwrap();
            dest.put(
                &format!("shards/{SCAN}/{}.jsonl", shard.id.part_name()),
                bytes,
            )
            .unwrap();
        }
    }
    let m = merge(&dest, SCAN, None).unwrap();
    assert_eq!(m.merged.len(), 2, "{:?}", m.missing);
    assert!(!missing_reason(&m, 1).is_empty());
    assert_eq!(
        m.snapshot.scan.as_ref().unwrap().started_at.date(),
        real_start.date(),
        "one shard's clock set the date"
    );
    // The merged scan is usable: its records check.
    m.snapshot.check().unwrap();
    std::fs::remove_dir_all(&out).unwrap();
}

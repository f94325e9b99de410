//! The documented permissions match what the collector calls, are read-only in the action
//! catalog, and the CloudFormation template passes cfn-lint (PyPI).

use rolescope_collector::permissions::{MANAGEMENT_ACTIONS, MEMBER_ACTIONS};
use rolescope_policy::document::ActionSpec;
use rolescope_policy::{AccessLevel, Policy, catalog};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn docs() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs"))
}

fn template() -> Value {
    let text =
        std::fs::read_to_string(docs().join("cloudformation/rolescope-audit-role.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn set(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn actions_of(statement: &rolescope_policy::Statement) -> BTreeSet<String> {
    let ActionSpec { negated, patterns } = &statement.actions;
    assert!(!negated, "NotAction in a least-privilege policy");
    patterns.iter().cloned().collect()
}

#[test]
fn audit_role_template_grants_exactly_the_member_actions() {
    let t = template();
    let role = &t["Resources"]["AuditRole"]["Properties"];
    let doc = &role["Policies"][0]["PolicyDocument"];
    let policy = Policy::parse(&doc.to_string()).unwrap();
    assert_eq!(policy.statements.len(), 1);
    assert_eq!(actions_of(&policy.statements[0]), set(MEMBER_ACTIONS));
    // Only the scanner, and only with the ExternalId.
    let trust = &role["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(
        trust["Condition"]["StringEquals"]["sts:ExternalId"]["Ref"],
        "ExternalId"
    );
    assert!(
        trust["Principal"]["AWS"]["Fn::Sub"]
            .as_str()
            .unwrap()
            .contains("${ScannerAccountId}")
    );
}

#[test]
fn scanner_policy_in_the_docs_matches_the_collector() {
    let text = std::fs::read_to_string(docs().join("permissions.md")).unwrap();
    let after = text
        .split("<!-- scanner-policy -->")
        .nth(1)
        .expect("marker in permissions.md");
    let json = after
        .split("```json")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let policy = Policy::parse(json).unwrap();
    let by_sid = |sid: &str| {
        policy
            .statements
            .iter()
            .find(|s| s.sid.as_deref() == Some(sid))
            .unwrap_or_else(|| panic!("statement {sid}"))
    };
    assert_eq!(
        actions_of(by_sid("ReadOrganization")),
        set(MANAGEMENT_ACTIONS)
    );
    assert_eq!(
        actions_of(by_sid("InventoryThisAccount")),
        set(MEMBER_ACTIONS)
    );
    assert_eq!(
        actions_of(by_sid("AssumeAuditRoles")),
        set(&["sts:AssumeRole"])
    );
}

#[test]
fn every_needed_action_exists_and_only_reads() {
    let cat = catalog();
    for action in MEMBER_ACTIONS.iter().chain(MANAGEMENT_ACTIONS) {
        let found = cat
            .action(action)
            .unwrap_or_else(|| panic!("{action} is not in the action catalog"));
        assert!(
            matches!(found.level(), AccessLevel::List | AccessLevel::Read),
            "{action} is {:?}",
            found.level()
        );
    }
}

#[test]
fn audit_role_template_passes_cfn_lint() {
    crate::support::cfn_lint(&[&docs().join("cloudformation/rolescope-audit-role.json")]);
}

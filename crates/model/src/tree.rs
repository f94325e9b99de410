//! The organization's tree of roots, OUs and accounts, as the snapshot records it.
//!
//! One definition of "the chain above an account" for everything that walks the tree: the SCP
//! chain of an account, the roll-up of scores to OUs, the accounts under an SCP target.

use crate::snapshot::Snapshot;
use std::collections::{BTreeSet, HashMap};

/// Parent links of every unit and account of a snapshot.
#[derive(Debug, Clone, Default)]
pub struct OrgTree<'a> {
    /// Unit id → parent unit id (`None` for a root).
    units: HashMap<&'a str, Option<&'a str>>,
    /// Account id → parent unit id (empty for an account outside any listed unit).
    accounts: HashMap<&'a str, &'a str>,
}

impl<'a> OrgTree<'a> {
    /// The tree of a snapshot.
    pub fn new(snapshot: &'a Snapshot) -> Self {
        OrgTree {
            units: snapshot
                .org_units
                .iter()
                .map(|u| (u.id.as_str(), u.parent_id.as_deref()))
                .collect(),
            accounts: snapshot
                .accounts
                .iter()
                .map(|a| (a.account_id.as_str(), a.parent_id.as_str()))
                .collect(),
        }
    }

    /// The units above a node (an account or a unit), nearest first, ending at the root. A
    /// cycle in hostile data ends the walk instead of looping.
    pub fn ancestors(&self, node: &str) -> Vec<&'a str> {
        let mut chain = Vec::new();
        let mut at = match self.accounts.get(node) {
            Some(parent) => Some(*parent),
            None => self.units.get(node).copied().flatten(),
        };
        while let Some(id) = at.filter(|id| !id.is_empty()) {
            if chain.contains(&id) {
                break;
            }
            chain.push(id);
            at = self.units.get(id).copied().flatten();
        }
        chain
    }

    /// The policy targets that govern an account, root first: its units from the root down,
    /// then the account itself.
    pub fn targets_of(&self, account: &'a str) -> Vec<&'a str> {
        let mut chain = self.ancestors(account);
        chain.reverse();
        chain.push(account);
        chain
    }

    /// Accounts at or below a target (a root, an OU or an account id).
    pub fn accounts_under(&self, target: &str) -> BTreeSet<&'a str> {
        self.accounts
            .keys()
            .copied()
            .filter(|a| *a == target || self.ancestors(a).contains(&target))
            .collect()
    }

    /// Whether `id` is a root (a unit without a parent).
    pub fn is_root(&self, id: &str) -> bool {
        matches!(self.units.get(id), Some(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Account, AccountId, AccountStatus, OrgUnit};

    fn unit(id: &str, parent: Option<&str>) -> OrgUnit {
        OrgUnit {
            id: id.into(),
            name: id.into(),
            parent_id: parent.map(str::to_string),
            path: String::new(),
        }
    }

    fn account(id: &str, parent: &str) -> Account {
        Account {
            account_id: AccountId::new(id).unwrap(),
            name: id.into(),
            status: AccountStatus::Active,
            parent_id: parent.into(),
            ou_path: String::new(),
            scanned: true,
        }
    }

    #[test]
    fn chains_run_from_the_root_down_and_cycles_end() {
        let s = Snapshot {
            org_units: vec![
                unit("r-1", None),
                unit("ou-a", Some("r-1")),
                unit("ou-b", Some("ou-a")),
                unit("ou-x", Some("ou-y")),
                unit("ou-y", Some("ou-x")),
            ],
            accounts: vec![
                account("111111111111", "ou-b"),
                account("222222222222", "r-1"),
                account("333333333333", "ou-x"),
            ],
            ..Snapshot::default()
        };
        let tree = OrgTree::new(&s);
        assert_eq!(
            tree.targets_of("111111111111"),
            ["r-1", "ou-a", "ou-b", "111111111111"]
        );
        assert_eq!(tree.ancestors("ou-b"), ["ou-a", "r-1"]);
        assert_eq!(tree.ancestors("333333333333"), ["ou-x", "ou-y"]);
        assert_eq!(
            tree.accounts_under("ou-a").into_iter().collect::<Vec<_>>(),
            ["111111111111"]
        );
        assert_eq!(tree.accounts_under("r-1").len(), 2);
        assert!(tree.is_root("r-1") && !tree.is_root("ou-a"));
    }
}

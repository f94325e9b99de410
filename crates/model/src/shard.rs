//! Sharded scans: which of N shards collects which account.
//!
//! A plan assigns the accounts a previous scan saw, balanced by their expected cost (functions
//! and roles then); an account the plan does not know (new since) goes to the shard its id
//! hashes to. Every shard and the finalize step compute the owner of an account the same way,
//! from the same plan, so each account is collected exactly once and a missing shard's accounts
//! are known.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most shards a scan may be split into (the organization quota is 10,000 accounts).
pub const MAX_SHARDS: u32 = 1_000;

/// `K/N`: shard K (1-based) of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ShardId {
    /// 1..=count.
    pub index: u32,
    /// How many shards.
    pub count: u32,
}

/// A `K/N` that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("shard {0:?}: expected K/N with 1 <= K <= N <= 1000")]
pub struct InvalidShard(pub String);

impl std::str::FromStr for ShardId {
    type Err = InvalidShard;
    fn from_str(text: &str) -> Result<Self, InvalidShard> {
        let bad = || InvalidShard(text.to_string());
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let index: u32 = k.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        ShardId::new(index, count).ok_or_else(bad)
    }
}

impl std::fmt::Display for ShardId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl ShardId {
    /// A shard id, when `1 <= index <= count <= MAX_SHARDS`.
    pub fn new(index: u32, count: u32) -> Option<ShardId> {
        (index >= 1 && index <= count && count <= MAX_SHARDS).then_some(ShardId { index, count })
    }

    /// The name its part carries: `part-K-of-N`.
    pub fn part_name(&self) -> String {
        format!("part-{}-of-{}", self.index, self.count)
    }
}

/// Which shard owns each account the plan knows.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Assignment {
    /// How many shards.
    pub count: u32,
    /// Account id → shard index (1-based).
    pub accounts: BTreeMap<String, u32>,
    /// Expected cost per shard, index 0 for shard 1 (what the balance was made of).
    pub costs: Vec<u64>,
}

/// The shard an account id hashes to: FNV-1a, then SplitMix64's finalizer so that ids differing
/// in their last digits spread; stable across versions and machines.
pub fn hashed(account: &str, count: u32) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in account.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h % u64::from(count.max(1))) as u32 + 1
}

impl Assignment {
    /// No known costs: every account goes by its hash.
    pub fn even(count: u32) -> Assignment {
        Assignment {
            count,
            accounts: BTreeMap::new(),
            costs: vec![0; count as usize],
        }
    }

    /// Balance accounts of known cost over `count` shards: the most expensive first, each to
    /// the shard with the least so far (longest-processing-time first; within 4/3 of the best
    /// possible makespan).
    pub fn balanced(costs: &[(String, u64)], count: u32) -> Assignment {
        let mut order: Vec<&(String, u64)> = costs.iter().collect();
        order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut load = vec![0u64; count.max(1) as usize];
        let mut accounts = BTreeMap::new();
        for (account, cost) in order {
            let (least, _) = load
                .iter()
                .enumerate()
                .min_by_key(|(i, l)| (**l, *i))
                .unwrap_or((0, &0));
            load[least] += cost;
            accounts.insert(account.clone(), least as u32 + 1);
        }
        Assignment {
            count: count.max(1),
            accounts,
            costs: load,
        }
    }

    /// The shard that collects an account.
    pub fn owner(&self, account: &str) -> u32 {
        match self.accounts.get(account) {
            Some(shard) if (1..=self.count).contains(shard) => *shard,
            _ => hashed(account, self.count),
        }
    }
}

/// One shard of a scan and the plan it follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// Which shard.
    pub id: ShardId,
    /// The plan.
    pub assignment: Assignment,
}

impl Shard {
    /// Whether this shard collects the account.
    pub fn owns(&self, account: &str) -> bool {
        self.assignment.owner(account) == self.id.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_ids_parse_and_refuse() {
        assert_eq!(
            "3/8".parse::<ShardId>().unwrap(),
            ShardId { index: 3, count: 8 }
        );
        assert_eq!("3/8".parse::<ShardId>().unwrap().part_name(), "part-3-of-8");
        for bad in ["0/8", "9/8", "1/0", "8", "a/b", "1/1001", "-1/2", "1/2/3"] {
            assert!(bad.parse::<ShardId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_balanced_plan_spreads_the_cost_and_hashes_newcomers() {
        let costs: Vec<(String, u64)> = (0..40u64)
            .map(|i| {
                (
                    format!("{:012}", 100_000_000_000 + i),
                    if i == 0 { 500 } else { i * 3 },
                )
            })
            .collect();
        let plan = Assignment::balanced(&costs, 4);
        let total: u64 = costs.iter().map(|c| c.1).sum();
        assert_eq!(plan.costs.iter().sum::<u64>(), total);
        let max = *plan.costs.iter().max().unwrap();
        let min = *plan.costs.iter().min().unwrap();
        // Greedy over costs sorted down: the loads differ by at most the last item placed on
        // the fullest shard (here at most 39 × 3).
        assert!(max - min <= 117, "{:?}", plan.costs);
        // One account above the mean has a shard to itself.
        let dominant = Assignment::balanced(
            &[
                ("a".into(), 1000),
                ("b".into(), 1),
                ("c".into(), 1),
                ("d".into(), 1),
            ],
            2,
        );
        assert_eq!(dominant.costs, [1000, 3]);
        assert_eq!(plan.accounts.len(), 40);
        // Every account has exactly one owner, in range.
        for (account, _) in &costs {
            let owners: Vec<u32> = (1..=4)
                .filter(|k| {
                    Shard {
                        id: ShardId::new(*k, 4).unwrap(),
                        assignment: plan.clone(),
                    }
                    .owns(account)
                })
                .collect();
            assert_eq!(owners.len(), 1, "{account}");
        }
        // An account the plan does not know goes by its hash, the same for everyone.
        assert_eq!(plan.owner("999999999999"), hashed("999999999999", 4));
        let even = Assignment::even(3);
        let mut per = [0; 3];
        for i in 0..3000u64 {
            per[even.owner(&format!("{:012}", 200_000_000_000 + i)) as usize - 1] += 1;
        }
        assert!(per.iter().all(|n| (850..1150).contains(n)), "{per:?}");
    }
}

//! The lower bound of a scan of a [`World`]: the fewest API calls the collector's work needs, and
//! the shortest wall time AWS's per-lane rates allow, computed from the same spec.
//!
//! Per (account, region) lane with F functions of which V have a published version and an alias:
//! ⌈(F+V)/50⌉ ListFunctions pages (versions are entries too), ⌈M/100⌉ ListEventSourceMappings
//! pages (at least one) for its M mappings, F ListFunctionUrlConfigs and V ListAliases share Lambda's 15 req/s control-plane bucket, F + 2V GetPolicy (the version's and
//! the alias's) have their own 15 req/s, and the pages are sequential (each waits one latency). Per account: GAAD pages and
//! two last-accessed calls per role at the client's IAM rate. Everything else runs in parallel, so
//! the bound is the slowest lane or account. Calls are those made through the collector's call path
//! (which counts them); the one GetCallerIdentity at start-up is left out on both sides.

use crate::World;
use std::collections::{BTreeMap, HashMap};

/// Items per page of the Organizations listings (AWS's largest `MaxResults` for
/// ListAccountsForParent and ListOrganizationalUnitsForParent, as the simulator serves them).
const ORG_PAGE: usize = 20;

/// The bound for one world.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    /// Seconds.
    pub seconds: f64,
    /// Minimum calls by `service:Operation`.
    pub calls: BTreeMap<String, u64>,
}

impl Bound {
    /// Total minimum calls.
    pub fn total_calls(&self) -> u64 {
        self.calls.values().sum()
    }
}

/// Rates and latency the bound assumes (after time scaling).
#[derive(Debug, Clone, Copy)]
pub struct BoundParams {
    /// Lambda control-plane and GetPolicy rate per lane (req/s).
    pub lambda_rate: f64,
    /// IAM rate per account (req/s), the collector's client-side rate.
    pub iam_rate: f64,
    /// The collector's STS rate for the calling account (req/s).
    pub sts_rate: f64,
    /// Mean latency per call (s).
    pub latency: f64,
    /// Last-accessed jobs are collected.
    pub last_accessed: bool,
    /// Access Analyzer is read.
    pub access_analyzer: bool,
}

/// Compute the bound.
pub fn bound(world: &World, p: &BoundParams) -> Bound {
    let mut calls: BTreeMap<String, u64> = BTreeMap::new();
    let mut add = |op: &str, n: u64| *calls.entry(op.to_string()).or_default() += n;
    let regions = world.spec.regions.len() as u64;
    let members = world.accounts.len() as u64 - 1;
    add("organizations:DescribeOrganization", 1);
    add("organizations:ListRoots", 1);
    // The walk lists each parent's child units and accounts, a page per ORG_PAGE (an empty
    // listing is still one call).
    let pages = |n: usize| n.div_ceil(ORG_PAGE).max(1) as u64;
    let mut units: HashMap<&str, usize> = HashMap::new();
    for ou in &world.ous {
        if let Some(parent) = &ou.parent_id {
            *units.entry(parent.as_str()).or_default() += 1;
        }
    }
    let mut accounts: HashMap<&str, usize> = HashMap::new();
    for a in &world.accounts {
        *accounts.entry(a.parent_id.as_str()).or_default() += 1;
    }
    for ou in &world.ous {
        let id = ou.id.as_str();
        add(
            "organizations:ListOrganizationalUnitsForParent",
            pages(units.get(id).copied().unwrap_or(0)),
        );
        add(
            "organizations:ListAccountsForParent",
            pages(accounts.get(id).copied().unwrap_or(0)),
        );
    }
    add("organizations:ListPolicies", 1);
    add("organizations:DescribePolicy", world.policies.len() as u64);
    add(
        "organizations:ListTargetsForPolicy",
        world
            .policies
            .iter()
            .map(|p| p.targets.len().div_ceil(20).max(1) as u64)
            .sum(),
    );
    add("sts:AssumeRole", members);
    // AssumeRole counts against the caller: all of them share its STS rate.
    let mut seconds: f64 = (members as f64 - p.sts_rate).max(0.0) / p.sts_rate;
    add("account:ListRegions", members + 1);
    for a in &world.accounts {
        let roles = a.roles.len() as u64;
        let entities = roles + crate::world::LOCAL_POLICIES.len() as u64;
        let gaad = entities.div_ceil(1000).max(1);
        add("iam:GetAccountAuthorizationDetails", gaad);
        let mut iam = gaad;
        if p.last_accessed {
            add("iam:GenerateServiceLastAccessedDetails", roles);
            add("iam:GetServiceLastAccessedDetails", roles);
            iam += 2 * roles;
        }
        seconds = seconds.max((iam as f64 - p.iam_rate).max(0.0) / p.iam_rate);
        if p.access_analyzer {
            add("access-analyzer:ListAnalyzers", regions);
            add("access-analyzer:ListFindingsV2", 1);
        }
        let ai = world.account_index(a.id.as_str()).unwrap_or(0);
        for (ri, &f) in a.functions.iter().enumerate() {
            // A versioned function lists one entry more (its version 1), and costs a ListAliases
            // and a GetPolicy for the version and for alias prod.
            let versioned = (0..f).filter(|&i| world.versioned(ai, ri, i)).count() as u64;
            let mappings = (0..f)
                .filter(|&i| world.event_source(ai, ri, i).is_some())
                .count();
            let mapping_pages = mappings.div_ceil(100).max(1) as u64;
            add("lambda:ListEventSourceMappings", mapping_pages);
            let f = f as u64;
            let pages = (f + versioned).div_ceil(50).max(1);
            add("lambda:ListFunctions", pages);
            add("lambda:GetResourcePolicy", f + 2 * versioned);
            add("lambda:ListFunctionUrlConfigs", f);
            if versioned > 0 {
                add("lambda:ListAliases", versioned);
            }
            // Token buckets start full: one second's worth of calls goes out at once.
            let control = ((pages + mapping_pages + f + versioned) as f64 - p.lambda_rate).max(0.0)
                / p.lambda_rate;
            let policy = ((f + 2 * versioned) as f64 - p.lambda_rate).max(0.0) / p.lambda_rate;
            let chain = pages as f64 * p.latency;
            seconds = seconds.max(control.max(policy).max(chain));
        }
    }
    Bound { seconds, calls }
}

//! Resolving what shapes a role's permissions from a snapshot: its identity policies (inline,
//! customer-managed, AWS-managed), its boundary, and the SCP chain of its account.

use rolescope_model::snapshot::Snapshot;
use rolescope_model::tree::OrgTree;
use rolescope_model::{ControlPolicy, ControlPolicyType, Role};
use rolescope_policy::Policy;
use std::collections::HashMap;

/// Where an identity policy comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An inline policy, by name.
    Inline(String),
    /// An attached managed policy, by ARN.
    Managed(String),
}

impl Source {
    /// Name or ARN.
    pub fn label(&self) -> &str {
        match self {
            Source::Inline(name) => name,
            Source::Managed(arn) => arn,
        }
    }
}

/// A document that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable {
    /// Which policy (inline name, managed ARN, `trust policy`, SCP id).
    pub what: String,
    /// Parse error or "not collected".
    pub reason: String,
    /// The document is missing from the snapshot (not collected), not malformed: what the role
    /// can do is then unknown, not merely misjudged.
    pub missing: bool,
}

/// Parsed SCP levels (root first) of one chain, with the SCPs that could not be used.
type Chain = (Vec<Vec<Policy>>, Vec<Unusable>);

/// Lookups shared by every role of a snapshot.
#[derive(Debug)]
pub struct Index<'a> {
    /// Customer-managed (and fetched AWS-managed) documents by ARN.
    managed: HashMap<&'a str, &'a str>,
    /// Distinct SCP chains, parsed once: accounts under the same OUs with the same SCPs share one.
    chains: Vec<Chain>,
    /// Account id → its chain in `chains`.
    chain_of: HashMap<&'a str, usize>,
    /// Every managed policy a role references, parsed once (a popular AWS managed policy is
    /// attached to thousands of roles).
    parsed: HashMap<&'a str, Option<Result<Policy, String>>>,
}

impl<'a> Index<'a> {
    /// Build the lookups for a snapshot.
    pub fn new(snapshot: &'a Snapshot) -> Self {
        let managed = snapshot
            .managed_policies
            .iter()
            .map(|m| (m.arn.as_str(), m.document.as_str()))
            .collect();
        let tree = OrgTree::new(snapshot);
        let scps: Vec<_> = snapshot
            .control_policies
            .iter()
            .filter(|p| p.policy_type == ControlPolicyType::ServiceControlPolicy)
            .collect();
        // An account's chain is named by the SCPs of each of its levels (root first).
        let mut chain_ids: HashMap<Vec<Vec<&str>>, usize> = HashMap::new();
        let mut chains = Vec::new();
        let mut chain_of = HashMap::new();
        for account in &snapshot.accounts {
            let key: Vec<Vec<&str>> = if scps.is_empty() {
                // An organization without SCP data (single-account scan) has no SCP gate at all.
                Vec::new()
            } else {
                tree.targets_of(account.account_id.as_str())
                    .into_iter()
                    .map(|target| {
                        scps.iter()
                            .filter(|p| p.targets.iter().any(|t| t == target))
                            .map(|p| p.id.as_str())
                            .collect()
                    })
                    .collect()
            };
            let n = *chain_ids.entry(key).or_insert_with_key(|key| {
                chains.push(parse_chain(key, &scps));
                chains.len() - 1
            });
            chain_of.insert(account.account_id.as_str(), n);
        }
        let mut index = Index {
            managed,
            chains,
            chain_of,
            parsed: HashMap::new(),
        };
        let mut parsed = HashMap::new();
        for role in &snapshot.roles {
            for arn in role
                .attached_policy_arns
                .iter()
                .chain(role.boundary_arn.iter())
            {
                parsed.entry(arn.as_str()).or_insert_with(|| {
                    index
                        .managed_document(arn)
                        .map(|doc| Policy::parse(doc).map_err(|e| e.to_string()))
                });
            }
        }
        index.parsed = parsed;
        index
    }

    /// A managed policy parsed: `None` when its document is unknown.
    fn managed_policy(&self, arn: &str) -> Option<Result<Policy, String>> {
        match self.parsed.get(arn) {
            Some(cached) => cached.clone(),
            None => self
                .managed_document(arn)
                .map(|doc| Policy::parse(doc).map_err(|e| e.to_string())),
        }
    }

    /// The document of a managed policy: collected, or embedded for AWS-managed ones.
    pub fn managed_document(&self, arn: &str) -> Option<&'a str> {
        self.managed.get(arn).copied().or_else(|| {
            rolescope_policy::managed::managed_policies()
                .get(arn)
                .map(|m| m.document.as_str())
        })
    }

    /// SCP levels (root first) governing an account.
    pub fn scps(&self, account: &str) -> (&[Vec<Policy>], &[Unusable]) {
        match self.chain_of.get(account).map(|n| &self.chains[*n]) {
            Some((levels, unusable)) => (levels, unusable),
            None => (&[], &[]),
        }
    }

    /// The number of the SCP chain governing an account: accounts with the same number have the
    /// same SCPs at every level.
    pub fn chain_number(&self, account: &str) -> Option<usize> {
        self.chain_of.get(account).copied()
    }
}

/// Parse the SCPs of a chain named by policy ids per level.
fn parse_chain(levels: &[Vec<&str>], scps: &[&ControlPolicy]) -> Chain {
    let mut parsed = Vec::new();
    let mut unusable = Vec::new();
    for ids in levels {
        let mut level = Vec::new();
        for p in ids
            .iter()
            .filter_map(|id| scps.iter().find(|p| p.id == *id))
        {
            match Policy::parse(&p.document) {
                Ok(policy) => level.push(policy),
                Err(e) => unusable.push(Unusable {
                    what: format!("SCP {} ({})", p.name, p.id),
                    reason: e.to_string(),
                    missing: false,
                }),
            }
        }
        // AWS requires at least one SCP at every node (FullAWSAccess by default), so an empty
        // level means the data is missing (a policy could not be read or listed), not "deny
        // everything": it is left out rather than treated as a closed gate.
        if !level.is_empty() {
            parsed.push(level);
        }
    }
    (parsed, unusable)
}

/// A role's parsed policies.
#[derive(Debug)]
pub struct RolePolicies {
    /// Identity policies with their sources, in a stable order (inline, then attached).
    pub identity: Vec<(Source, Policy)>,
    /// The permission boundary.
    pub boundary: Option<Policy>,
    /// The trust policy.
    pub trust: Option<Policy>,
    /// Documents that could not be used.
    pub unusable: Vec<Unusable>,
}

/// Parse everything a role references.
pub fn resolve(index: &Index<'_>, role: &Role) -> RolePolicies {
    let mut unusable = Vec::new();
    let mut identity = Vec::new();
    for inline in &role.inline_policies {
        match Policy::parse(&inline.document) {
            Ok(p) => identity.push((Source::Inline(inline.name.clone()), p)),
            Err(e) => unusable.push(Unusable {
                what: format!("inline policy {}", inline.name),
                reason: e.to_string(),
                missing: false,
            }),
        }
    }
    for arn in &role.attached_policy_arns {
        match index.managed_policy(arn) {
            Some(Ok(p)) => identity.push((Source::Managed(arn.clone()), p)),
            Some(Err(e)) => unusable.push(Unusable {
                what: format!("managed policy {arn}"),
                reason: e,
                missing: false,
            }),
            None => unusable.push(Unusable {
                what: format!("managed policy {arn}"),
                reason: "document not collected and not in the embedded AWS managed policies"
                    .into(),
                missing: true,
            }),
        }
    }
    let boundary = role
        .boundary_arn
        .as_ref()
        .and_then(|arn| match index.managed_policy(arn) {
            Some(Ok(p)) => Some(p),
            Some(Err(e)) => {
                unusable.push(Unusable {
                    what: format!("permission boundary {arn}"),
                    reason: e,
                    missing: false,
                });
                None
            }
            None => {
                unusable.push(Unusable {
                    what: format!("permission boundary {arn}"),
                    reason: "document not collected".into(),
                    missing: true,
                });
                None
            }
        });
    let trust = match Policy::parse(&role.trust_policy) {
        Ok(p) => Some(p),
        Err(e) => {
            unusable.push(Unusable {
                what: "trust policy".into(),
                reason: e.to_string(),
                missing: false,
            });
            None
        }
    };
    RolePolicies {
        identity,
        boundary,
        trust,
        unusable,
    }
}

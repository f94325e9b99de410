//! The simulated organization: generated deterministically from a [`Spec`].
//!
//! Accounts, OUs, SCPs and roles are stored; functions are generated on demand from
//! (seed, account, region, index), so an organization of 300,000 functions costs a few MB.

use rolescope_model::{AccountId, AccountStatus, ControlPolicyType, InlinePolicy, Timestamp};

mod templates;
pub use templates::{LOCAL_POLICIES, SECRET_CANARY, planted_secrets};
use templates::{TEMPLATES, role, runs_functions};

/// SplitMix64: small, fast, deterministic.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A hash of several numbers, for on-demand generation.
pub fn mix(parts: &[u64]) -> u64 {
    let mut r = Rng::new(0x5eed);
    for p in parts {
        r.0 ^= p.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        r.next_u64();
    }
    r.next_u64()
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Seed of every choice.
    pub seed: u64,
    /// Member accounts (the management account comes on top).
    pub accounts: usize,
    /// OUs under the root.
    pub ous: usize,
    /// Levels of nesting below each top-level OU (0: accounts sit in the top-level OUs).
    pub ou_depth: usize,
    /// Enabled regions.
    pub regions: Vec<String>,
    /// Functions in the whole organization, spread long-tailed over account × region.
    pub functions: usize,
    /// One straggler account with this many functions in its first region.
    pub straggler: Option<usize>,
    /// Lambda execution roles per account (cycling through the role templates).
    pub roles_per_account: usize,
    /// The simulated "now" (timestamps of last use are relative to it).
    pub now: Timestamp,
}

impl Spec {
    /// The built-in demo organization: 12 accounts in 3 OUs, 4 regions, 200 functions
    /// covering every check.
    pub fn demo() -> Spec {
        Spec {
            seed: 7,
            accounts: 11,
            ous: 3,
            ou_depth: 0,
            regions: ["us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2"]
                .map(String::from)
                .to_vec(),
            functions: 200,
            straggler: None,
            roles_per_account: TEMPLATES.len(),
            now: today(),
        }
    }

    /// Benchmark scenarios: `s` (CI), `m`, `l` (2,000 accounts × 17 regions, ≈ 300,000
    /// functions, a 10,000-function straggler), `xl` (10,000 accounts, ≈ 1,500,000 functions).
    pub fn scenario(name: &str) -> Option<Spec> {
        let regions17: Vec<String> = [
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
            "ca-central-1",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
            "eu-central-1",
            "eu-north-1",
            "ap-south-1",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-southeast-1",
            "ap-southeast-2",
            "sa-east-1",
        ]
        .map(String::from)
        .to_vec();
        let base = Spec {
            seed: 42,
            roles_per_account: 6,
            ..Spec::demo()
        };
        match name {
            "s" => Some(Spec {
                accounts: 20,
                ous: 4,
                ou_depth: 1,
                regions: regions17[..4].to_vec(),
                functions: 600,
                straggler: Some(150),
                ..base
            }),
            "m" => Some(Spec {
                accounts: 200,
                ous: 10,
                ou_depth: 2,
                regions: regions17.clone(),
                functions: 20_000,
                straggler: Some(2_000),
                ..base
            }),
            // Small enough to seed into moto for the fidelity test. Seed 7 gives URLs with and
            // without auth, a cross-account and an S3 resource policy, and an own-account layer
            // (moto cannot resolve layers of other accounts).
            "xs" => Some(Spec {
                seed: 7,
                accounts: 2,
                ous: 2,
                ou_depth: 0,
                regions: vec!["us-east-1".into()],
                functions: 12,
                straggler: None,
                roles_per_account: 4,
                ..base
            }),
            "l" => Some(Spec {
                accounts: 2_000,
                ous: 20,
                ou_depth: 2,
                regions: regions17,
                functions: 300_000,
                straggler: Some(10_000),
                ..base
            }),
            // The Organizations maximum, with l's long tail: for sharded scans.
            "xl" => Some(Spec {
                accounts: 10_000,
                ous: 50,
                ou_depth: 3,
                regions: regions17,
                functions: 1_500_000,
                straggler: Some(10_000),
                ..base
            }),
            _ => None,
        }
    }
}

/// Midnight UTC of the current day: "now" for generated timestamps, so a role used "two days
/// ago" stays two days old whenever the demo runs, and two runs on one day see the same world.
pub fn today() -> Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    Timestamp::from_millis(millis - millis.rem_euclid(86_400_000))
}

/// A simulated account.
#[derive(Debug, Clone)]
pub struct SimAccount {
    /// Id.
    pub id: AccountId,
    /// Name.
    pub name: String,
    /// Parent OU or root id.
    pub parent_id: String,
    /// Status.
    pub status: AccountStatus,
    /// Functions per region (index into the spec's regions).
    pub functions: Vec<usize>,
    /// Roles.
    pub roles: Vec<SimRole>,
}

/// A simulated OU (or the root, with `parent_id` None).
#[derive(Debug, Clone)]
pub struct SimOu {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Parent.
    pub parent_id: Option<String>,
}

/// A simulated SCP.
#[derive(Debug, Clone)]
pub struct SimPolicy {
    /// Id (p-…).
    pub id: String,
    /// Name.
    pub name: String,
    /// Type.
    pub kind: ControlPolicyType,
    /// Document.
    pub document: String,
    /// Targets.
    pub targets: Vec<String>,
}

/// A simulated IAM role.
#[derive(Debug, Clone)]
pub struct SimRole {
    /// Name.
    pub name: String,
    /// Path.
    pub path: String,
    /// Trust policy.
    pub trust: String,
    /// Inline policies.
    pub inline: Vec<InlinePolicy>,
    /// Attached managed policy ARNs.
    pub attached: Vec<String>,
    /// Permission boundary ARN.
    pub boundary: Option<String>,
    /// Last used (None: never).
    pub last_used: Option<Timestamp>,
    /// Last-accessed data: (service, last authenticated, tracked actions).
    pub usage: Vec<(String, Timestamp, Vec<String>)>,
    /// Template index.
    pub template: usize,
}

impl SimRole {
    /// The template the role was made from (`orders-fn`, `admin-fn`…).
    pub fn template_name(&self) -> &'static str {
        TEMPLATES[self.template].name
    }
}

/// A generated function.
#[derive(Debug, Clone)]
pub struct SimFunction {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Execution role ARN.
    pub role_arn: String,
    /// Runtime.
    pub runtime: &'static str,
    /// Architecture.
    pub architecture: &'static str,
    /// Layers.
    pub layers: Vec<String>,
    /// Environment variables, with values (the collector must keep only the names).
    pub environment: Vec<(String, String)>,
    /// Resource policy JSON.
    pub policy: Option<String>,
    /// What the policy grants: `public`, `partner` (another account) or `s3` (the S3 service,
    /// guarded by aws:SourceAccount).
    pub policy_kind: Option<&'static str>,
    /// Function URL auth type.
    pub url_auth: Option<&'static str>,
    /// Last modified.
    pub last_modified: Timestamp,
    /// Published versions: (number, the execution role frozen into it).
    pub versions: Vec<(String, String)>,
    /// Aliases: (name, the version it invokes).
    pub aliases: Vec<(String, String)>,
    /// The alias's own resource policy, if any (public: anyone may invoke the alias).
    pub alias_policy: Option<String>,
    /// Auth type of a URL on the alias, if any.
    pub alias_url_auth: Option<&'static str>,
}

/// The generated organization.
#[derive(Debug, Clone)]
pub struct World {
    /// The spec it came from.
    pub spec: Spec,
    /// Organization id.
    pub org_id: String,
    /// Root id.
    pub root_id: String,
    /// The management account (index 0 of `accounts`).
    pub management: AccountId,
    /// Root and OUs.
    pub ous: Vec<SimOu>,
    /// Accounts, management first.
    pub accounts: Vec<SimAccount>,
    /// SCPs.
    pub policies: Vec<SimPolicy>,
}

/// The root, then per top-level OU a chain of `ou_depth` nested OUs; the leaves, where accounts
/// go.
fn org_units(spec: &Spec, root_id: &str) -> (Vec<SimOu>, Vec<String>) {
    let root_id = root_id.to_string();
    let mut ous = vec![SimOu {
        id: root_id.clone(),
        name: "Root".into(),
        parent_id: None,
    }];
    // Top-level OUs, each with a chain of `ou_depth` nested OUs; accounts go to the leaves.
    let mut leaves = Vec::new();
    let names = ["Workloads", "Sandbox", "Platform", "Data", "Edge"];
    for i in 0..spec.ous.max(1) {
        let mut parent = root_id.clone();
        let name = format!(
            "{}{}",
            names[i % names.len()],
            if i >= names.len() {
                format!("{i}")
            } else {
                String::new()
            }
        );
        let id = format!("ou-sim0-{:08}", i * 100);
        ous.push(SimOu {
            id: id.clone(),
            name,
            parent_id: Some(parent.clone()),
        });
        parent = id;
        for d in 0..spec.ou_depth {
            let id = format!("ou-sim0-{:08}", i * 100 + d + 1);
            ous.push(SimOu {
                id: id.clone(),
                name: ["Prod", "Dev", "Test"][d % 3].into(),
                parent_id: Some(parent.clone()),
            });
            parent = id;
        }
        leaves.push(parent);
    }

    (ous, leaves)
}

/// Functions per (account, region): a long-tailed spread over the lanes, plus the straggler in
/// the last account's first region.
fn function_counts(spec: &Spec, rng: &mut Rng) -> Vec<Vec<usize>> {
    let n = spec.accounts + 1;
    let regions = spec.regions.len().max(1);
    // Long-tailed spread: lane weight 1/(rank+1)^0.8 over shuffled (account, region) lanes
    // (gentle enough that the straggler stays the largest lane of scenarios m and l).
    let mut lanes: Vec<(usize, usize)> = (1..n)
        .flat_map(|a| (0..regions).map(move |r| (a, r)))
        .collect();
    for i in (1..lanes.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        lanes.swap(i, j);
    }
    let weights: Vec<f64> = (0..lanes.len())
        .map(|rank| 1.0 / ((rank + 1) as f64).powf(0.8))
        .collect();
    let total: f64 = weights.iter().sum();
    let spread = spec.functions.saturating_sub(spec.straggler.unwrap_or(0));
    let mut counts = vec![vec![0usize; regions]; n];
    let mut assigned = 0;
    for (&(a, r), w) in lanes.iter().zip(&weights) {
        let c = (spread as f64 * w / total).floor() as usize;
        counts[a][r] += c;
        assigned += c;
    }
    // The remainder one by one, round-robin over lanes, so the total is exact.
    for (a, r) in lanes.iter().cycle().take(spread.saturating_sub(assigned)) {
        counts[*a][*r] += 1;
    }
    if let Some(s) = spec.straggler
        && n > 1
    {
        counts[n - 1][0] += s;
    }

    counts
}

/// The organization's SCPs: FullAWSAccess everywhere, a deny at the root, a region restriction
/// on the first OU and an IAM-user deny on the second.
fn control_policies(
    spec: &Spec,
    root_id: &str,
    ous: &[SimOu],
    accounts: &[SimAccount],
) -> Vec<SimPolicy> {
    let root_id = root_id.to_string();
    let full =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let mut all_targets: Vec<String> = ous.iter().map(|o| o.id.clone()).collect();
    all_targets.extend(accounts.iter().map(|a| a.id.to_string()));
    let region_list = spec
        .regions
        .iter()
        .map(|r| format!("\"{r}\""))
        .collect::<Vec<_>>()
        .join(",");
    vec![
        SimPolicy {
            id: "p-FullAWSAccess".into(),
            name: "FullAWSAccess".into(),
            kind: ControlPolicyType::ServiceControlPolicy,
            document: full.into(),
            targets: all_targets,
        },
        SimPolicy {
            id: "p-sim00001".into(),
            name: "DenyLeaveOrganization".into(),
            kind: ControlPolicyType::ServiceControlPolicy,
            document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"}]}"#.into(),
            targets: vec![root_id.clone()],
        },
        SimPolicy {
            id: "p-sim00002".into(),
            name: "WorkloadRegions".into(),
            kind: ControlPolicyType::ServiceControlPolicy,
            document: format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","NotAction":["iam:*","organizations:*","sts:*"],"Resource":"*","Condition":{{"StringNotEquals":{{"aws:RequestedRegion":[{region_list}]}}}}}}]}}"#
            ),
            targets: vec![ous[1].id.clone()],
        },
        SimPolicy {
            id: "p-sim00003".into(),
            name: "SandboxNoIamUsers".into(),
            kind: ControlPolicyType::ServiceControlPolicy,
            document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["iam:CreateUser","iam:CreateAccessKey","iam:PassRole"],"Resource":"*"}]}"#.into(),
            targets: vec![ous.get(2).map(|o| o.id.clone()).unwrap_or(root_id.clone())],
        },
    ]
}

/// A function's resource policy and its kind, by the selector drawn for it: one in 40 public,
/// one in 40 open to a partner account, eight in 40 for S3 of the own account.
fn resource_policy(
    sel: u64,
    arn: &str,
    account: &AccountId,
    url_auth: Option<&str>,
) -> (Option<String>, Option<&'static str>) {
    let mut policy = match sel {
        0 => Some(format!(
            r#"{{"Version":"2012-10-17","Id":"default","Statement":[{{"Sid":"public","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"{arn}"}}]}}"#
        )),
        1 => Some(format!(
            r#"{{"Version":"2012-10-17","Id":"default","Statement":[{{"Sid":"partner","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::999988887777:root"}},"Action":"lambda:InvokeFunction","Resource":"{arn}"}}]}}"#
        )),
        2..=9 => Some(format!(
            r#"{{"Version":"2012-10-17","Id":"default","Statement":[{{"Sid":"s3","Effect":"Allow","Principal":{{"Service":"s3.amazonaws.com"}},"Action":"lambda:InvokeFunction","Resource":"{arn}","Condition":{{"StringEquals":{{"AWS:SourceAccount":"{}"}}}}}}]}}"#,
            account
        )),
        _ => None,
    };
    // A URL with AuthType NONE gets the statement CreateFunctionUrlConfig's console flow adds,
    // and only that one: without the public policy's InvokeFunction it is a URL created before
    // October 2025 that stopped serving on 1 November 2026 (RS-PUBLIC-004); with it, public.
    if url_auth == Some("NONE") {
        let url = format!(
            r#"{{"Sid":"FunctionURLAllowPublicAccess","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"{arn}","Condition":{{"StringEquals":{{"lambda:FunctionUrlAuthType":"NONE"}}}}}}"#
        );
        policy = Some(match policy {
            Some(p) => format!("{},{url}]}}", p.trim_end_matches("]}")),
            None => format!(r#"{{"Version":"2012-10-17","Id":"default","Statement":[{url}]}}"#),
        });
    }
    let policy_kind = match sel {
        0 => Some("public"),
        1 => Some("partner"),
        2..=9 => Some("s3"),
        _ => None,
    };
    (policy, policy_kind)
}

/// A function's environment: harmless names and values, the canary, and in one function in ten
/// a planted secret (RS-SECRET-001).
fn environment(h: u64) -> Vec<(String, String)> {
    let mut env = vec![
        ("STAGE".into(), "prod".into()),
        ("DB_PASSWORD_PARAM".into(), "/app/prod/db-password".into()),
        ("BUILD_NOTE".into(), SECRET_CANARY.into()),
    ];
    // One function in ten carries a secret in its environment (RS-SECRET-001).
    if (h >> 52) % 10 == 3 {
        let planted = planted_secrets();
        env.push(planted[((h >> 56) as usize) % planted.len()].clone());
    }
    env
}

const FIRST_ACCOUNT: u64 = 100_000_000_000;
const ACCOUNT_STEP: u64 = 1_111;

fn account_id(i: usize) -> AccountId {
    AccountId::new(&format!("{:012}", FIRST_ACCOUNT + i as u64 * ACCOUNT_STEP)).expect("12 digits")
}

impl World {
    /// Generate from a spec.
    pub fn generate(spec: &Spec) -> World {
        let mut rng = Rng::new(spec.seed);
        let root_id = "r-sim0".to_string();
        let (ous, leaves) = org_units(spec, &root_id);
        let counts = function_counts(spec, &mut rng);
        let n = spec.accounts + 1;
        let mut accounts = Vec::with_capacity(n);
        for i in 0..n {
            let id = account_id(i);
            let (name, parent_id) = if i == 0 {
                ("management".to_string(), root_id.clone())
            } else {
                (
                    format!("member-{i:04}"),
                    leaves[(i - 1) % leaves.len()].clone(),
                )
            };
            let roles = (0..spec.roles_per_account.max(1))
                .map(|k| role(spec, k % TEMPLATES.len(), k / TEMPLATES.len()))
                .collect();
            accounts.push(SimAccount {
                id,
                name,
                parent_id,
                status: AccountStatus::Active,
                functions: counts[i].clone(),
                roles,
            });
        }

        let policies = control_policies(spec, &root_id, &ous, &accounts);
        World {
            org_id: "o-sim0000001".into(),
            root_id,
            management: account_id(0),
            ous,
            accounts,
            policies,
            spec: spec.clone(),
        }
    }

    /// Index of an account id. Every request asks this, so it is computed from the id (the
    /// inverse of `account_id`) rather than searched for: a search over 10,000 accounts took a
    /// fifth of an xl scan's CPU in the simulator, CPU that AWS would not spend on the scanner's
    /// machine. A world whose accounts were changed after generation is searched.
    pub fn account_index(&self, id: &str) -> Option<usize> {
        let by_number = id
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_sub(FIRST_ACCOUNT))
            .filter(|offset| offset % ACCOUNT_STEP == 0)
            .and_then(|offset| usize::try_from(offset / ACCOUNT_STEP).ok())
            .filter(|&i| self.accounts.get(i).is_some_and(|a| a.id.as_str() == id));
        by_number.or_else(|| self.accounts.iter().position(|a| a.id.as_str() == id))
    }

    /// Index of a region.
    pub fn region_index(&self, region: &str) -> Option<usize> {
        self.spec.regions.iter().position(|r| r == region)
    }

    /// Whether function `i` of an account in a region has a published version and an alias
    /// (one in sixteen, and every account's first function in its first region): the pattern
    /// where production still runs an old version as another role.
    pub fn versioned(&self, account: usize, region: usize, i: usize) -> bool {
        let h = mix(&[self.spec.seed, account as u64, region as u64, i as u64]);
        (i == 0 && region == 0) || (h >> 44) % 16 == 7
    }

    /// The queue function `i` polls through an event source mapping, if any: one function in
    /// four polls its account's `jobs` queue in its region, whether or not its role may (a
    /// mapping whose role cannot read the queue is a real misconfiguration).
    pub fn event_source(&self, account: usize, region: usize, i: usize) -> Option<String> {
        let h = mix(&[self.spec.seed, account as u64, region as u64, i as u64]);
        ((h >> 50) % 4 == 1).then(|| {
            let region = &self.spec.regions[region];
            format!("arn:aws:sqs:{region}:{}:jobs", self.accounts[account].id)
        })
    }

    /// Function `i` of an account in a region.
    pub fn function(&self, account: usize, region: usize, i: usize) -> SimFunction {
        let a = &self.accounts[account];
        let region_name = &self.spec.regions[region];
        let h = mix(&[self.spec.seed, account as u64, region as u64, i as u64]);
        // Pick a role that runs functions; shared-fn gets a large share (shared role).
        let runnable: Vec<usize> = (0..a.roles.len())
            .filter(|&k| runs_functions(a.roles[k].template))
            .collect();
        let role = if runnable.is_empty() {
            &a.roles[0]
        } else {
            let k = if h.is_multiple_of(5) {
                runnable
                    .iter()
                    .copied()
                    .find(|&k| TEMPLATES[a.roles[k].template].name == "shared-fn")
                    .unwrap_or(runnable[0])
            } else {
                runnable[(h >> 8) as usize % runnable.len()]
            };
            &a.roles[k]
        };
        let name = format!("fn-{region_name}-{i:05}");
        let arn = format!("arn:aws:lambda:{region_name}:{}:function:{name}", a.id);
        let url_auth = match (h >> 32) % 30 {
            0 => Some("NONE"),
            1..=3 => Some("AWS_IAM"),
            _ => None,
        };
        let (policy, policy_kind) = resource_policy((h >> 20) % 40, &arn, &a.id, url_auth);
        let layers = if (h >> 40).is_multiple_of(25) {
            vec![format!(
                "arn:aws:lambda:{region_name}:999988887777:layer:shared-utils:3"
            )]
        } else if (h >> 40) % 25 == 1 {
            vec![format!(
                "arn:aws:lambda:{region_name}:{}:layer:own-utils:1",
                a.id
            )]
        } else {
            Vec::new()
        };
        let role_arn = format!("arn:aws:iam::{}:role{}{}", a.id, role.path, role.name);
        // Version 1 was published when the function still ran as the account's admin role;
        // alias prod still invokes it, behind a public URL or a public alias policy.
        let versioned = self.versioned(account, region, i);
        let versions = if versioned {
            let old = a
                .roles
                .iter()
                .find(|r| TEMPLATES[r.template].name == "admin-fn")
                .map(|r| format!("arn:aws:iam::{}:role{}{}", a.id, r.path, r.name))
                .unwrap_or_else(|| role_arn.clone());
            vec![("1".to_string(), old)]
        } else {
            Vec::new()
        };
        let aliases = if versioned {
            vec![("prod".to_string(), "1".to_string())]
        } else {
            Vec::new()
        };
        let alias_public_url = versioned && (h >> 41).is_multiple_of(2);
        // Alias prod is public either by its policy or through its URL, which carries the two
        // statements a public URL needs since November 2026.
        let alias_policy = versioned.then(|| {
            if alias_public_url {
                format!(
                    r#"{{"Version":"2012-10-17","Id":"default","Statement":[{{"Sid":"FunctionURLAllowPublicAccess","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"{arn}:prod","Condition":{{"StringEquals":{{"lambda:FunctionUrlAuthType":"NONE"}}}}}},{{"Sid":"FunctionURLInvokeAllowPublicAccess","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"{arn}:prod","Condition":{{"Bool":{{"lambda:InvokedViaFunctionUrl":"true"}}}}}}]}}"#
                )
            } else {
                format!(
                    r#"{{"Version":"2012-10-17","Id":"default","Statement":[{{"Sid":"public-prod","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"{arn}:prod"}}]}}"#
                )
            }
        });
        SimFunction {
            versions,
            aliases,
            alias_policy,
            alias_url_auth: alias_public_url.then_some("NONE"),
            name,
            arn,
            role_arn,
            runtime: ["python3.12", "nodejs20.x", "java21", "provided.al2023"][(h % 4) as usize],
            architecture: if (h >> 4).is_multiple_of(3) {
                "arm64"
            } else {
                "x86_64"
            },
            layers,
            environment: environment(h),
            policy,
            policy_kind,
            url_auth,
            last_modified: Timestamp::from_millis(
                self.spec.now.millis - ((h >> 48) % 400) as i64 * 86_400_000,
            ),
        }
    }

    /// The organization as a plain description other emulators can be seeded from (the
    /// fidelity test seeds moto with it): OUs, member accounts, SCPs other than FullAWSAccess,
    /// customer-managed policies, role templates and functions with their policies and URLs.
    pub fn describe(&self) -> serde_json::Value {
        use serde_json::json;
        let ou_name = |id: &str| {
            self.ous
                .iter()
                .find(|o| o.id == id)
                .map(|o| o.name.clone())
                .unwrap_or_default()
        };
        let members = &self.accounts[1..];
        let roles: Vec<serde_json::Value> = self.accounts[1]
            .roles
            .iter()
            .map(|r| {
                json!({"name": r.name, "path": r.path, "trust": r.trust,
                       "inline": r.inline.iter().map(|p| json!({"name": p.name, "document": p.document})).collect::<Vec<_>>(),
                       "attached": r.attached, "boundary": r.boundary})
            })
            .collect();
        let mut functions = serde_json::Map::new();
        for (ai, a) in self.accounts.iter().enumerate().skip(1) {
            let mut by_region = serde_json::Map::new();
            for (ri, region) in self.spec.regions.iter().enumerate() {
                let list: Vec<serde_json::Value> = (0..a.functions[ri])
                    .map(|i| {
                        let f = self.function(ai, ri, i);
                        json!({"name": f.name, "role": f.role_arn.rsplit('/').next(),
                               "runtime": f.runtime, "architecture": f.architecture,
                               "environment": f.environment.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
                               "policy": f.policy_kind, "url": f.url_auth,
                               "event_source": self.event_source(ai, ri, i).is_some(),
                               "versions": f.versions.iter().map(|(v, r)| json!({"version": v, "role": r.rsplit('/').next()})).collect::<Vec<_>>(),
                               "aliases": f.aliases.iter().map(|(n, v)| json!({"name": n, "version": v})).collect::<Vec<_>>(),
                               // The account's own id as a placeholder: other emulators number accounts their own way.
                               "layers": f.layers.iter().map(|l| l.replace(a.id.as_str(), "{account}")).collect::<Vec<_>>()})
                    })
                    .collect();
                by_region.insert(region.clone(), list.into());
            }
            functions.insert(a.name.clone(), by_region.into());
        }
        json!({
            "ous": self.ous.iter().skip(1).map(|o| json!({"name": o.name, "parent": ou_name(o.parent_id.as_deref().unwrap_or_default())})).collect::<Vec<_>>(),
            "accounts": members.iter().map(|a| json!({"name": a.name, "parent": ou_name(&a.parent_id)})).collect::<Vec<_>>(),
            "scps": self.policies.iter().filter(|p| p.id != "p-FullAWSAccess").map(|p| json!({
                "name": p.name, "document": p.document,
                "targets": p.targets.iter().map(|t| if t.starts_with("ou-") || t.starts_with("r-") { ou_name(t) } else {
                    self.accounts.iter().find(|a| a.id.as_str() == t).map(|a| a.name.clone()).unwrap_or_default()
                }).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "local_policies": LOCAL_POLICIES.iter().map(|(n, p, d)| json!({"name": n, "path": p, "document": d})).collect::<Vec<_>>(),
            "roles": roles,
            "functions": functions,
        })
    }

    /// Total functions.
    pub fn function_count(&self) -> usize {
        self.accounts.iter().flat_map(|a| &a.functions).sum()
    }

    /// The (account id, region) of the Lambda lane with the most functions, the first of equals:
    /// the scan's likely critical path.
    pub fn largest_lambda_lane(&self) -> Option<(String, String)> {
        let mut best: Option<(usize, usize, usize)> = None;
        for (ai, account) in self.accounts.iter().enumerate() {
            for (ri, &n) in account.functions.iter().enumerate() {
                if n > 0 && best.is_none_or(|(most, _, _)| n > most) {
                    best = Some((n, ai, ri));
                }
            }
        }
        let (_, ai, ri) = best?;
        Some((
            self.accounts[ai].id.as_str().to_string(),
            self.spec.regions.get(ri)?.clone(),
        ))
    }
}

/// Resolve a template reference (`local:/path/Name`) to an ARN in an account.
pub fn resolve_policy_arn(account: &AccountId, reference: &str) -> String {
    match reference.strip_prefix("local:") {
        Some(path_name) => format!("arn:aws:iam::{account}:policy{path_name}"),
        None => reference.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_counts_are_exact() {
        for name in ["s", "m"] {
            let spec = Spec::scenario(name).unwrap();
            let a = World::generate(&spec);
            let b = World::generate(&spec);
            assert_eq!(a.function_count(), spec.functions, "{name}");
            assert_eq!(a.accounts.len(), spec.accounts + 1);
            let straggler = spec.straggler.unwrap();
            assert!(a.accounts.last().unwrap().functions[0] >= straggler);
            for (x, y) in a.accounts.iter().zip(&b.accounts) {
                assert_eq!(x.functions, y.functions);
                assert_eq!(x.id, y.id);
            }
            let f = a.function(1, 0, 3);
            let g = b.function(1, 0, 3);
            assert_eq!((f.arn, f.role_arn, f.policy), (g.arn, g.role_arn, g.policy));
        }
    }

    #[test]
    fn the_largest_lambda_lane_is_the_first_with_the_most_functions() {
        let mut w = World::generate(&Spec::scenario("s").unwrap());
        let regions = w.spec.regions.len();
        assert!(regions >= 2 && w.accounts.len() >= 3);
        for a in &mut w.accounts {
            a.functions = vec![0; regions];
        }
        assert_eq!(w.largest_lambda_lane(), None, "no functions, no lane");
        w.accounts[1].functions[0] = 3;
        w.accounts[1].functions[1] = 7;
        w.accounts[2].functions[0] = 7;
        let expected = (
            w.accounts[1].id.as_str().to_string(),
            w.spec.regions[1].clone(),
        );
        assert_eq!(w.largest_lambda_lane(), Some(expected));
        w.accounts[2].functions[1] = 8;
        let expected = (
            w.accounts[2].id.as_str().to_string(),
            w.spec.regions[1].clone(),
        );
        assert_eq!(w.largest_lambda_lane(), Some(expected));
    }

    #[test]
    fn an_account_is_found_by_its_id_also_after_the_accounts_changed() {
        let mut w = World::generate(&Spec::scenario("s").unwrap());
        for (i, a) in w.accounts.iter().enumerate() {
            assert_eq!(w.account_index(a.id.as_str()), Some(i));
        }
        let last = w.accounts.len() - 1;
        let beyond = account_id(last + 1);
        for unknown in [beyond.as_str(), "100000000001", "099999999999", "abc", ""] {
            assert_eq!(w.account_index(unknown), None, "{unknown}");
        }
        // A world whose accounts were reordered is searched instead.
        w.accounts.swap(1, last);
        let moved = w.accounts[1].id.clone();
        assert_eq!(w.account_index(moved.as_str()), Some(1));
        assert_eq!(w.account_index(w.accounts[last].id.as_str()), Some(last));
    }

    #[test]
    fn long_tail_most_lanes_are_small_a_few_are_large() {
        let w = World::generate(&Spec::scenario("m").unwrap());
        let mut lanes: Vec<usize> = w
            .accounts
            .iter()
            .flat_map(|a| a.functions.clone())
            .collect();
        lanes.sort_unstable();
        let median = lanes[lanes.len() / 2];
        let max = *lanes.last().unwrap();
        assert!(max > 20 * median.max(1), "median {median}, max {max}");
    }

    #[test]
    fn every_account_has_ous_and_the_management_account_sits_under_the_root() {
        let spec = Spec::scenario("s").unwrap();
        let w = World::generate(&spec);
        assert_eq!(w.accounts[0].parent_id, w.root_id);
        for a in &w.accounts[1..] {
            assert!(w.ous.iter().any(|o| o.id == a.parent_id), "{}", a.parent_id);
        }
        assert_eq!(w.ous.len(), 1 + spec.ous * (1 + spec.ou_depth));
    }

    /// AWS's own rates, no latency, every part of the collection on.
    fn unscaled() -> crate::bound::BoundParams {
        crate::bound::BoundParams {
            lambda_rate: 15.0,
            iam_rate: 10.0,
            sts_rate: 50.0,
            latency: 0.0,
            last_accessed: true,
            access_analyzer: true,
        }
    }

    #[test]
    fn the_bound_counts_a_page_of_the_walk_per_20_children() {
        // 101 accounts under 2 leaves, the management account under the root.
        let spec = Spec {
            accounts: 100,
            ous: 2,
            ou_depth: 1,
            ..Spec::scenario("s").unwrap()
        };
        let w = World::generate(&spec);
        let b = crate::bound::bound(&w, &unscaled());
        let leaves: Vec<usize> = w
            .ous
            .iter()
            .map(|o| w.accounts.iter().filter(|a| a.parent_id == o.id).count())
            .filter(|&n| n > 1)
            .collect();
        assert_eq!(leaves.iter().sum::<usize>(), 100);
        assert!(leaves.iter().all(|&n| n > 20), "{leaves:?}");
        // Root, 2 top-level units and 2 leaves: one call each, plus the leaves' extra pages.
        let extra: u64 = leaves.iter().map(|&n| n.div_ceil(20) as u64 - 1).sum();
        assert_eq!(w.ous.len(), 5);
        assert_eq!(b.calls["organizations:ListAccountsForParent"], 5 + extra);
        assert_eq!(b.calls["organizations:ListOrganizationalUnitsForParent"], 5);
    }

    #[test]
    fn the_bound_counts_the_lambda_calls_per_lane() {
        let w = World::generate(&Spec::scenario("s").unwrap());
        let b = crate::bound::bound(&w, &unscaled());
        // Every function once, and each versioned one twice more (version 1 and alias prod).
        let mut versioned = 0;
        for (ai, a) in w.accounts.iter().enumerate() {
            for (ri, &n) in a.functions.iter().enumerate() {
                versioned += (0..n).filter(|&i| w.versioned(ai, ri, i)).count() as u64;
            }
        }
        assert!(versioned > 0);
        assert_eq!(
            b.calls["lambda:GetResourcePolicy"],
            w.function_count() as u64 + 2 * versioned
        );
        assert_eq!(b.calls["lambda:ListAliases"], versioned);
        assert_eq!(
            b.calls["lambda:ListFunctionUrlConfigs"],
            w.function_count() as u64
        );
        // The straggler lane dominates: (pages + F + V − one second's burst) / 15 on the
        // control plane, or (F + 2V − 15) / 15 on GetPolicy.
        let last = w.accounts.len() - 1;
        let n = w.accounts[last].functions[0];
        let v = (0..n).filter(|&i| w.versioned(last, 0, i)).count() as f64;
        let f = n as f64;
        let pages = ((f + v) / 50.0).ceil();
        let expected = ((pages + f + v - 15.0) / 15.0).max((f + 2.0 * v - 15.0) / 15.0);
        assert!(
            (b.seconds - expected).abs() < 1e-9,
            "{} {expected}",
            b.seconds
        );
    }
}

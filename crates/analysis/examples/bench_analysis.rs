//! Analysis benchmark, run by `cargo xtask bench` (release build): a synthetic organization of
//! `ROLES` Lambda roles (default 100,000) with typical policy mixes, analysed end to end. Prints
//! a Markdown table with wall time and peak memory. With `--gaad DIR N`, it also writes the first N
//! roles as get-account-authorization-details JSON for the side-by-side Cloudsplaining run.

use rolescope_analysis::{Settings, analyze};
use rolescope_model::snapshot::Snapshot;
use rolescope_model::{
    Account, AccountId, AccountStatus, ControlPolicy, ControlPolicyType, Function, InlinePolicy,
    ManagedPolicy, OrgUnit, Role, ScanInfo, Timestamp,
};
use std::time::Instant;

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// Inline policy templates, weighted towards what Lambda roles usually hold.
fn inline_policy(i: usize, account: &str) -> String {
    match i % 100 {
        0 => r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#.into(),
        1..=4 => r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","dynamodb:*"],"Resource":"*"}]}"#.into(),
        5..=6 => r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:PassRole","lambda:CreateFunction","lambda:InvokeFunction"],"Resource":"*"}]}"#.into(),
        7..=30 => format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:PutItem","dynamodb:Query"],"Resource":"arn:aws:dynamodb:eu-west-1:{account}:table/t{i}"}}]}}"#
        ),
        31..=60 => format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::bucket-{i}/*"}},{{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:eu-west-1:{account}:q{i}"}}]}}"#
        ),
        61..=80 => format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["secretsmanager:GetSecretValue","ssm:GetParameter"],"Resource":["arn:aws:secretsmanager:eu-west-1:{account}:secret:s{i}-*","arn:aws:ssm:eu-west-1:{account}:parameter/app/{i}/*"]}},{{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{{"StringEquals":{{"kms:ViaService":"secretsmanager.eu-west-1.amazonaws.com"}}}}}}]}}"#
        ),
        _ => r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sns:Publish","events:PutEvents","xray:PutTraceSegments"],"Resource":"*"}]}"#.into(),
    }
}

fn synthetic(roles: usize) -> Snapshot {
    let mut s = Snapshot::default();
    let accounts = (roles / 50).max(1);
    s.org_units.push(OrgUnit {
        id: "r-root".into(),
        name: "Root".into(),
        parent_id: None,
        path: "Root".into(),
    });
    s.org_units.push(OrgUnit {
        id: "ou-work".into(),
        name: "Workloads".into(),
        parent_id: Some("r-root".into()),
        path: "Root/Workloads".into(),
    });
    let full =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let regions = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotAction":["iam:*","sts:*","organizations:*"],"Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-west-1","us-east-1"]}}}]}"#;
    let mut targets_full = vec!["r-root".to_string(), "ou-work".to_string()];
    for a in 0..accounts {
        let id = format!("{:012}", 100_000_000_000u64 + a as u64);
        targets_full.push(id.clone());
        s.accounts.push(Account {
            account_id: AccountId::new(&id).unwrap(),
            name: format!("acct-{a}"),
            status: AccountStatus::Active,
            parent_id: "ou-work".into(),
            ou_path: "Root/Workloads".into(),
            scanned: true,
        });
        s.managed_policies.push(ManagedPolicy {
            account_id: Some(AccountId::new(&id).unwrap()),
            arn: format!("arn:aws:iam::{id}:policy/LambdaBoundary"),
            name: "LambdaBoundary".into(),
            default_version: "v1".into(),
            document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*"],"Resource":"*"}]}"#.into(),
        });
    }
    s.control_policies.push(ControlPolicy {
        id: "p-FullAWSAccess".into(),
        name: "FullAWSAccess".into(),
        policy_type: ControlPolicyType::ServiceControlPolicy,
        document: full.into(),
        targets: targets_full,
    });
    s.control_policies.push(ControlPolicy {
        id: "p-regions".into(),
        name: "Regions".into(),
        policy_type: ControlPolicyType::ServiceControlPolicy,
        document: regions.into(),
        targets: vec!["ou-work".into()],
    });
    for i in 0..roles {
        let account = &s.accounts[i % accounts].account_id;
        let a = account.as_str().to_string();
        let name = format!("fn-{i}-role");
        let arn = format!("arn:aws:iam::{a}:role/service-role/{name}");
        s.roles.push(Role {
            account_id: account.clone(),
            name: name.clone(),
            arn: arn.clone(),
            path: "/service-role/".into(),
            trust_policy: TRUST.into(),
            inline_policies: vec![InlinePolicy {
                name: "app".into(),
                document: inline_policy(i, &a),
            }],
            attached_policy_arns: vec![
                "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole".into(),
            ],
            boundary_arn: (i % 2 == 0).then(|| format!("arn:aws:iam::{a}:policy/LambdaBoundary")),
            tags: vec![],
            last_used_at: Some(Timestamp::from_millis(1_790_000_000_000)),
            last_used_region: Some("eu-west-1".into()),
            created_at: Some(Timestamp::from_millis(1_700_000_000_000)),
        });
        s.functions.push(Function {
            config: Default::default(),
            unread: Vec::new(),
            account_id: account.clone(),
            region: "eu-west-1".into(),
            name: format!("fn-{i}"),
            arn: format!("arn:aws:lambda:eu-west-1:{a}:function:fn-{i}"),
            role_arn: arn.into(),
            runtime: Some("python3.12".into()),
            architectures: vec!["arm64".into()],
            package_type: Some("Zip".into()),
            last_modified: None,
            layers: vec![],
            env_var_names: vec!["STAGE".into()],
            secret_like_env: vec![],
            qualifiers: vec![],
            resource_policy: None,
            urls: vec![],
        });
    }
    s.scan = Some(ScanInfo {
        scan_id: "bench".into(),
        started_at: Timestamp::from_millis(1_800_000_000_000),
        finished_at: Timestamp::from_millis(1_800_000_000_000),
        org_id: None,
        regions: vec!["eu-west-1".into()],
        tool_version: "bench".into(),
    });
    s
}

/// Peak resident memory of this process (Linux), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// get-account-authorization-details JSON for the first `n` roles, for Cloudsplaining and
/// `rolescope import`. The export of one account, as the AWS CLI writes it: every role is moved
/// into the first account (its ARN and the resources of its policies).
fn gaad(s: &Snapshot, n: usize) -> serde_json::Value {
    let first = s.accounts[0].account_id.as_str();
    let roles: Vec<serde_json::Value> = s
        .roles
        .iter()
        .take(n)
        .map(|r| {
            let role = serde_json::json!({
                "Path": r.path, "RoleName": r.name, "RoleId": format!("AROA{:016}", r.name.len()),
                "Arn": r.arn, "CreateDate": "2023-11-14T22:13:20Z",
                "AssumeRolePolicyDocument": serde_json::from_str::<serde_json::Value>(&r.trust_policy).unwrap(),
                "InstanceProfileList": [],
                "RolePolicyList": r.inline_policies.iter().map(|p| serde_json::json!({
                    "PolicyName": p.name,
                    "PolicyDocument": serde_json::from_str::<serde_json::Value>(&p.document).unwrap(),
                })).collect::<Vec<_>>(),
                "AttachedManagedPolicies": r.attached_policy_arns.iter().map(|a| serde_json::json!({
                    "PolicyName": a.rsplit('/').next().unwrap(), "PolicyArn": a,
                })).collect::<Vec<_>>(),
                "Tags": [], "RoleLastUsed": {},
            });
            let moved = role.to_string().replace(r.account_id.as_str(), first);
            serde_json::from_str(&moved).expect("valid JSON")
        })
        .collect();
    let basic = rolescope_policy::managed::managed_policies()
        .get("AWSLambdaBasicExecutionRole")
        .expect("embedded");
    serde_json::json!({
        "UserDetailList": [], "GroupDetailList": [], "RoleDetailList": roles,
        "Policies": [{
            "PolicyName": basic.name, "PolicyId": "ANPAJNCQGXC42545SKXIK", "Arn": basic.arn,
            "Path": "/service-role/", "DefaultVersionId": basic.version, "AttachmentCount": n,
            "IsAttachable": true,
            "PolicyVersionList": [{"Document": serde_json::from_str::<serde_json::Value>(&basic.document).unwrap(),
                "VersionId": basic.version, "IsDefaultVersion": true, "CreateDate": "2023-11-14T22:13:20Z"}],
        }],
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--gaad") {
        let n: usize = args[3].parse().expect("role count");
        let s = synthetic(n);
        std::fs::write(&args[2], gaad(&s, n).to_string()).expect("writes");
        // The same roles through rolescope, for the side-by-side time.
        let t = Instant::now();
        let a = analyze(rolescope_policy::catalog(), &s, &Settings::default());
        println!("{} {}", t.elapsed().as_secs_f64(), a.findings.len());
        return;
    }
    let roles: usize = std::env::var("ROLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let threads = rayon::current_num_threads();
    let t = Instant::now();
    let s = synthetic(roles);
    let build = t.elapsed();
    let cat_t = Instant::now();
    let cat = rolescope_policy::catalog();
    let cat_load = cat_t.elapsed();
    let t = Instant::now();
    let a = analyze(cat, &s, &Settings::default());
    let elapsed = t.elapsed();
    println!("| measurement | value |");
    println!("|---|---|");
    println!(
        "| roles / functions / accounts | {} / {} / {} |",
        s.roles.len(),
        s.functions.len(),
        s.accounts.len()
    );
    println!("| rayon threads | {threads} |");
    println!("| build the synthetic snapshot | {build:.2?} |");
    println!("| catalog load | {cat_load:.2?} |");
    println!("| analyze (effective permissions, checks, scores) | {elapsed:.2?} |");
    println!("| per role | {:.1?} |", elapsed / roles.max(1) as u32);
    println!("| findings | {} |", a.findings.len());
    if let Some(mib) = peak_rss_mib() {
        println!("| peak RSS of the process | {mib:.0} MiB |");
    }
}

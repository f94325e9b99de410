//! Policy-engine benchmarks, run by `cargo xtask bench` (release build). Prints a Markdown table.
//!
//! Measures: embedded catalog load, managed-policy load, the whole-catalog effective-permission
//! summary of typical Lambda roles, and single-request evaluation.

use rolescope_policy::catalog::Catalog;
use rolescope_policy::context::Context;
use rolescope_policy::eval::{PolicySet, Request, evaluate};
use rolescope_policy::managed::managed_policies;
use rolescope_policy::summary::{PrincipalPolicies, effective_permissions};
use rolescope_policy::{Policy, catalog};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

fn managed(name: &str) -> Policy {
    managed_policies()
        .get(name)
        .unwrap_or_else(|| panic!("{name}"))
        .policy()
        .expect("parses")
}

fn inline(json: &str) -> Policy {
    Policy::parse(json).expect("parses")
}

fn main() {
    println!("| measurement | median | runs |");
    println!("|---|---|---|");
    let gz = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/data/catalog.tsv.gz")).unwrap();
    let d0 = time(20, || {
        let mut t = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut t)
            .expect("decompresses");
        t
    });
    println!("| catalog decompress only | {d0:.2?} | 20 |");
    let d = time(20, || Catalog::load_embedded().expect("loads"));
    println!(
        "| catalog load (decompress + parse, {} actions) | {d:.2?} | 20 |",
        catalog().len()
    );
    let t = Instant::now();
    let n = managed_policies().policies.len();
    println!(
        "| managed policies load ({n} policies, first use) | {:.2?} | 1 |",
        t.elapsed()
    );

    let scps = vec![
        vec![inline(
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        )],
        vec![
            inline(r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#),
            inline(
                r#"{"Statement":[{"Effect":"Deny","Action":["organizations:*","account:*"],"Resource":"*"},{"Effect":"Deny","NotAction":["iam:*","sts:*","cloudfront:*","route53:*","support:*"],"Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}}]}"#,
            ),
        ],
        vec![inline(
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        )],
    ];
    let boundary = inline(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*"],"Resource":"*"}]}"#,
    );
    let typical = vec![
        managed("AWSLambdaBasicExecutionRole"),
        managed("AmazonS3ReadOnlyAccess"),
        managed("AmazonDynamoDBFullAccess"),
        managed("AWSXRayDaemonWriteAccess"),
        inline(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:SendMessage","sqs:ReceiveMessage","sqs:DeleteMessage"],"Resource":"arn:aws:sqs:us-east-1:111111111111:jobs-*"},{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/app":"orders"}}},{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}"#,
        ),
    ];
    let admin = vec![managed("AdministratorAccess")];
    let cat = catalog();
    for (label, identity, with_gates) in [
        (
            "typical Lambda role: 5 policies, boundary, 3 SCP levels",
            &typical,
            true,
        ),
        (
            "typical Lambda role: 5 policies, no boundary or SCPs",
            &typical,
            false,
        ),
        (
            "AdministratorAccess with boundary and 3 SCP levels",
            &admin,
            true,
        ),
    ] {
        let pp = if with_gates {
            PrincipalPolicies {
                identity,
                boundary: Some(&boundary),
                scps: &scps,
            }
        } else {
            PrincipalPolicies {
                identity,
                ..Default::default()
            }
        };
        let grants = effective_permissions(cat, &pp).grants.len();
        let d = time(200, || effective_permissions(cat, &pp));
        println!("| effective permissions, {label} ({grants} grants) | {d:.2?} | 200 |");
    }

    let ctx = Context::new()
        .with("aws:RequestedRegion", "us-east-1")
        .with("aws:ResourceTag/app", "orders");
    let req = Request {
        principal: "arn:aws:sts::111111111111:assumed-role/fn-role/fn",
        action: "secretsmanager:GetSecretValue",
        resource: "arn:aws:secretsmanager:us-east-1:111111111111:secret:db-AbCdEf",
        resource_account: None,
        context: &ctx,
    };
    let set = PolicySet {
        identity: &typical,
        boundary: Some(&boundary),
        scps: &scps,
        resource_policy: None,
    };
    let runs = 20_000;
    let t = Instant::now();
    for _ in 0..runs {
        black_box(evaluate(black_box(&req), &set));
    }
    let per = t.elapsed() / runs;
    println!("| request evaluation, typical role with gates | {per:.2?} | {runs} |");
}

//! Differential test: rolescope's evaluator against @cloud-copilot/iam-simulate (AGPL-3.0),
//! which runs as a separate node process from `.tools/oracle` and is never linked or shipped.

use crate::casegen::Generator;
use crate::support::require_tool;
use rolescope_policy::simulate::run_line;
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

/// Run cases through the oracle; returns one output value per case, in order.
pub fn oracle(cases: &[Value]) -> Vec<Value> {
    let script = require_tool("oracle/simulate.cjs");
    let mut child = Command::new("node")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node starts");
    let mut input = String::new();
    for c in cases {
        input.push_str(&c.to_string());
        input.push('\n');
    }
    let mut stdin = child.stdin.take().expect("stdin");
    let writer =
        std::thread::spawn(move || stdin.write_all(input.as_bytes()).expect("write cases"));
    let out = child.wait_with_output().expect("oracle output");
    writer.join().expect("writer thread");
    assert!(out.status.success(), "oracle failed: {}", out.status);
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .expect("utf8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("oracle line is JSON"))
        .collect();
    assert_eq!(lines.len(), cases.len(), "one oracle answer per case");
    lines
}

const CASES_PER_SEED: usize = 3000;

/// Seeds run on every test run; set ROLESCOPE_CASE_SEED to explore another one.
const SEEDS: [u64; 3] = [0x5EED_2026, 1, 2];

#[test]
fn evaluator_agrees_with_iam_simulate_on_generated_cases() {
    let seeds: Vec<u64> = match std::env::var("ROLESCOPE_CASE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(seed) => vec![seed],
        None => SEEDS.to_vec(),
    };
    for seed in seeds {
        check_seed(seed);
    }
}

fn check_seed(seed: u64) {
    let mut generator = Generator::new(seed);
    let cases: Vec<Value> = (0..CASES_PER_SEED).map(|i| generator.case(i)).collect();
    let theirs = oracle(&cases);
    let mut accepted = 0;
    let mut by_decision = std::collections::BTreeMap::<String, usize>::new();
    let mut disagreements = Vec::new();
    // KMS keys and roles to assume: decided by their own policy as well (key policy, trust).
    let mut by_gated = std::collections::BTreeMap::<(String, String), usize>::new();
    for (case, their) in cases.iter().zip(&theirs) {
        assert_eq!(case["id"], their["id"]);
        let Some(their_decision) = their["decision"].as_str() else {
            continue; // The oracle rejected the case (its validation); nothing to compare.
        };
        accepted += 1;
        *by_decision.entry(their_decision.to_string()).or_default() += 1;
        let service = case["action"].as_str().unwrap().split(':').next().unwrap();
        if matches!(service, "kms" | "sts") {
            *by_gated
                .entry((service.to_string(), their_decision.to_string()))
                .or_default() += 1;
        }
        let ours = run_line(&case.to_string());
        let our_decision = ours["decision"].as_str().unwrap_or("error");
        if our_decision != their_decision {
            disagreements.push(format!(
                "{}: ours {our_decision} ({}), oracle {their_decision}\n  {case}",
                case["id"], ours["reason"]
            ));
        }
    }
    eprintln!(
        "seed {seed}: oracle accepted {accepted}/{CASES_PER_SEED} cases; decisions {by_decision:?}; kms and sts {by_gated:?}"
    );
    for service in ["kms", "sts"] {
        for d in ["Allowed", "ImplicitlyDenied"] {
            let n = by_gated
                .get(&(service.to_string(), d.to_string()))
                .copied()
                .unwrap_or(0);
            assert!(
                n >= 20,
                "seed {seed}: only {n} {service} cases {d}: {by_gated:?}"
            );
        }
    }
    assert!(
        accepted >= 2000,
        "seed {seed}: only {accepted} cases accepted by the oracle"
    );
    for d in ["Allowed", "ExplicitlyDenied", "ImplicitlyDenied"] {
        assert!(
            by_decision.get(d).copied().unwrap_or(0) >= 200,
            "seed {seed}: too few {d} cases: {by_decision:?}"
        );
    }
    assert!(
        disagreements.is_empty(),
        "seed {seed}: {} disagreements:\n{}",
        disagreements.len(),
        disagreements
            .iter()
            .take(15)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

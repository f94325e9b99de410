//! The parser and evaluator never panic, on mutations of real policies (a deterministic,
//! always-on complement to the cargo-fuzz target in `fuzz/`).

use rolescope_policy::context::Context;
use rolescope_policy::decode::parse_iam_policy;
use rolescope_policy::eval::{PolicySet, Request, evaluate};
use rolescope_policy::managed::managed_policies;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "*",
    "?",
    "${",
    "${aws:username}",
    "%",
    "%7B",
    "null",
    "true",
    "1e999",
    "\"Statement\"",
    "\"Effect\"",
    "\"Allow\"",
    "\"Deny\"",
    "\"Condition\"",
    "\"ForAnyValue:StringLike\"",
    "\"NotPrincipal\"",
    "\"IpAddress\"",
    "\"10.0.0.0/99\"",
    "\"arn:aws:s3:::\"",
    "\u{1F600}",
    "\\u0000",
    "\"DateLessThan\"",
    "\"9999-99-99\"",
];

#[test]
fn mutated_real_policies_never_panic() {
    let seeds: Vec<&str> = managed_policies()
        .policies
        .iter()
        .step_by(40)
        .map(|p| p.document.as_str())
        .collect();
    let ctx = Context::new()
        .with("aws:username", "u")
        .with("aws:SourceIp", "10.0.0.1")
        .with("aws:CurrentTime", "2026-01-01T00:00:00Z");
    let req = Request {
        principal: "arn:aws:sts::111111111111:assumed-role/r/s",
        action: "s3:GetObject",
        resource: "arn:aws:s3:::b/k",
        resource_account: Some("222222222222"),
        context: &ctx,
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut parsed, mut rejected) = (0, 0);
    for i in 0..20_000 {
        let mut text: Vec<char> = seeds[i % seeds.len()].chars().collect();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(text.len() + 1);
            match rng.below(3) {
                0 if !text.is_empty() => {
                    let end = (at + rng.below(8)).min(text.len());
                    text.drain(at.min(end)..end);
                }
                1 => text
                    .splice(at..at, TOKENS[rng.below(TOKENS.len())].chars())
                    .for_each(drop),
                _ => {
                    if at < text.len() {
                        text[at] = TOKENS[rng.below(TOKENS.len())]
                            .chars()
                            .next()
                            .unwrap_or('x');
                    }
                }
            }
        }
        let text: String = text.into_iter().collect();
        match parse_iam_policy(&text) {
            Ok(p) => {
                parsed += 1;
                let identity = [p.clone()];
                let _ = evaluate(
                    &req,
                    &PolicySet {
                        identity: &identity,
                        boundary: Some(&p),
                        resource_policy: Some(&p),
                        ..Default::default()
                    },
                );
            }
            Err(e) => {
                rejected += 1;
                assert!(
                    e.path.starts_with('$'),
                    "error path {:?} for {text}",
                    e.path
                );
            }
        }
    }
    // Both outcomes must be exercised for the test to mean anything.
    assert!(
        parsed > 1000 && rejected > 1000,
        "parsed {parsed}, rejected {rejected}"
    );
}

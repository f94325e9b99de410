//! Fuzz the whole input path of a policy: URL-decoding, parsing, and evaluating what parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rolescope_policy::context::Context;
use rolescope_policy::decode::parse_iam_policy;
use rolescope_policy::eval::{PolicySet, Request, evaluate};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(policy) = parse_iam_policy(text) {
        let ctx = Context::new().with("aws:username", "fuzz").with("aws:SourceIp", "10.0.0.1");
        let req = Request {
            principal: "arn:aws:sts::111111111111:assumed-role/r/s",
            action: "s3:GetObject",
            resource: "arn:aws:s3:::b/k",
            resource_account: None,
            context: &ctx,
        };
        let identity = [policy.clone()];
        let _ = evaluate(&req, &PolicySet { identity: &identity, resource_policy: Some(&policy), ..Default::default() });
    }
});

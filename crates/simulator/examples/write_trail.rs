//! Write a simulated organization's CloudTrail for benchmarks: `cargo run --release -p
//! rolescope-simulator --example write_trail -- DIR [SCENARIO] [DAYS] [CALLS]`.
//!
//! Every day of the window is written (not a day a week as in the demo), with S3, DynamoDB
//! and SQS data events, so a small organization gives a large trail.

use rolescope_simulator::trail::{TrailSpec, write_trail};
use rolescope_simulator::{Spec, World};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args
        .first()
        .expect("usage: write_trail DIR [SCENARIO] [DAYS] [CALLS]");
    let scenario = args.get(1).map_or("s", String::as_str);
    let days: u32 = args.get(2).map_or(30, |d| d.parse().expect("DAYS"));
    let calls: u32 = args.get(3).map_or(4, |c| c.parse().expect("CALLS"));
    let spec = match scenario {
        "demo" => Spec::demo(),
        other => Spec::scenario(other).expect("a scenario: demo, xs, s, m, l, xl"),
    };
    let world = World::generate(&spec);
    let trail = TrailSpec {
        days,
        every: 1,
        calls,
        data_events: ["s3", "dynamodb", "sqs"].map(String::from).to_vec(),
        noise: true,
    };
    let started = std::time::Instant::now();
    let stats = write_trail(&world, std::path::Path::new(dir), &trail)?;
    eprintln!(
        "{} files, {} records, {} MB of JSON in {:.1}s",
        stats.files,
        stats.records,
        stats.bytes / 1_000_000,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

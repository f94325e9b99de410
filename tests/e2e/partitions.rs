//! Partitions: an organization in `aws-cn` or `aws-us-gov` (moto serves both by region) is
//! scanned, judged and written in its own partition: no file rolescope writes names an ARN of
//! the `aws` partition, and moto's Organizations of that partition accepts every SCP it
//! recommends.

use crate::moto::{Moto, files, out_dir, scan, snapshot_in};
use crate::support::python_json;
use std::ffi::OsStr;

#[test]
fn an_organization_in_aws_cn_or_aws_us_gov_is_scanned_and_written_in_its_partition() {
    for (region, partition) in [("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")] {
        let moto = Moto::start();
        let seeded = python_json(
            "moto/seed_partition.py",
            &[OsStr::new(&moto.url), OsStr::new(region)],
        );
        assert_eq!(seeded["partition"], partition, "moto's answer for {region}");
        let out = out_dir(&format!("partition-{partition}"));
        let o = scan(
            &moto.url,
            &out,
            &["--home-region", region, "--regions", region],
        );
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{partition}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let snap = snapshot_in(&out);
        assert_eq!(snap.partition(), partition);
        assert!(snap.functions.iter().any(|f| f.arn == seeded["function"]));
        let analysis = rolescope_analysis::analyze(
            rolescope_policy::catalog(),
            &snap,
            &rolescope_analysis::Settings::default(),
        );
        let role = seeded["role"].as_str().unwrap();
        let found = |check: &str, arn: &str| {
            analysis
                .findings
                .iter()
                .any(|f| f.check_id == check && f.resource_arn.starts_with(arn))
        };
        // AdministratorAccess carries the partition: it is still recognised.
        assert!(found("RS-ADMIN-001", role), "{partition}: admin not found");
        assert!(found("RS-PUBLIC-001", seeded["function"].as_str().unwrap()));
        // No text rolescope wrote names the `aws` partition.
        let mut policies = Vec::new();
        for path in files(&out) {
            let name = path.to_string_lossy().into_owned();
            if !["json", "jsonl", "md", "sh", "html", "sql"]
                .iter()
                .any(|e| name.ends_with(&format!(".{e}")))
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                !text.contains("arn:aws:"),
                "{partition}: {name} names the aws partition"
            );
            if name.contains("/scp/") && name.ends_with(".json") && !name.contains("boundary") {
                policies.push(path);
            }
        }
        assert!(!policies.is_empty(), "{partition}: no SCP recommended");
        let mut args = vec![OsStr::new(&moto.url), OsStr::new(region)];
        args.extend(policies.iter().map(|p| p.as_os_str()));
        let created = python_json("moto/seed_partition.py", &args);
        assert_eq!(
            created["created"].as_array().unwrap().len(),
            policies.len(),
            "{created}"
        );
        std::fs::remove_dir_all(&out).unwrap();
    }
}

//! How observed resources become the patterns of a suggestion. Three rules, applied in order to
//! the resources one action was observed on (docs/least-privilege.md states them):
//!
//! 1. S3 objects of one bucket become the narrowest folder holding them all:
//!    `bucket/in/2026/a.json` and `bucket/in/2026/b.json` give `bucket/in/2026/*`; keys with no
//!    common folder give `bucket/*`. A function that wrote one file a day writes a new name
//!    tomorrow: the folder is what it needs.
//! 2. Log streams become their log group: `log-group:G:log-stream:S` gives `log-group:G:*`.
//! 3. More than [`MANY`] resources of one type (same partition, service, region, account and
//!    resource type) become their longest common prefix followed by `*`, when that prefix keeps
//!    at least one character of the resources' names. Otherwise they stay listed.
//!
//! Nothing becomes `*`. A pattern the current policy does not grant is not used: the caller
//! falls back to the resources it came from.

use std::collections::{BTreeMap, BTreeSet};

/// Past this many resources of one type, they become one pattern (rule 3).
pub const MANY: usize = 20;

/// The rule that made a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// The resource as observed.
    Exact,
    /// S3 objects: their narrowest common folder.
    ObjectFolder,
    /// Log streams: their log group.
    LogGroup,
    /// Many resources of one type: their common prefix.
    CommonPrefix,
}

/// One pattern and the observed resources it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generalised {
    /// The pattern.
    pub pattern: String,
    /// The observed resources it covers.
    pub from: Vec<String>,
    /// How it was made.
    pub rule: Rule,
}

/// An S3 object ARN's (bucket ARN with its slash, key).
fn object(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:")?;
    let (partition, rest) = rest.split_once(':')?;
    let rest = rest.strip_prefix("s3:::")?;
    let slash = rest.find('/')?;
    let at = "arn:".len() + partition.len() + ":s3:::".len() + slash + 1;
    Some((&arn[..at], &arn[at..]))
}

/// A log stream ARN's log group pattern (`…:log-group:G:*`).
fn log_group(arn: &str) -> Option<String> {
    let at = arn.find(":log-stream:")?;
    arn.contains(":logs:").then(|| format!("{}:*", &arn[..at]))
}

/// Where a resource ARN's name starts: after the partition, service, region, account and the
/// resource type (`table/`, `function:`, `log-group:`; S3 buckets have none).
fn name_start(arn: &str) -> Option<usize> {
    let mut colons = arn.match_indices(':').map(|(i, _)| i);
    let resource = colons.nth(4)? + 1;
    let part = &arn[resource..];
    let is_s3 = arn[..resource].contains(":s3:::");
    let type_len = if is_s3 {
        0
    } else {
        part.find(['/', ':']).map_or(0, |i| i + 1)
    };
    Some(resource + type_len)
}

fn common_prefix<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut prefix: Option<&str> = None;
    for s in items {
        prefix = Some(match prefix {
            None => s,
            Some(p) => {
                let n = p
                    .char_indices()
                    .zip(s.chars())
                    .find(|((_, a), b)| a != b)
                    .map_or(p.len().min(s.len()), |((i, _), _)| i);
                &p[..n]
            }
        });
    }
    prefix.unwrap_or("").to_string()
}

/// Rules 1 and 2: objects by bucket, streams by group, the rest as observed.
fn folders(resources: &BTreeSet<String>) -> Vec<Generalised> {
    let mut buckets: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut out = Vec::new();
    for r in resources {
        if r.contains(['*', '?']) {
            out.push(exact(r));
        } else if let Some((bucket, key)) = object(r) {
            buckets.entry(bucket).or_default().push(key);
        } else if let Some(group) = log_group(r) {
            groups.entry(group).or_default().push(r.clone());
        } else {
            out.push(exact(r));
        }
    }
    for (bucket, keys) in buckets {
        let prefix = common_prefix(keys.iter().copied());
        let folder = prefix.rfind('/').map_or("", |i| &prefix[..=i]);
        out.push(Generalised {
            pattern: format!("{bucket}{folder}*"),
            from: keys.iter().map(|k| format!("{bucket}{k}")).collect(),
            rule: Rule::ObjectFolder,
        });
    }
    for (pattern, from) in groups {
        out.push(Generalised {
            pattern,
            from,
            rule: Rule::LogGroup,
        });
    }
    out
}

fn exact(r: &str) -> Generalised {
    Generalised {
        pattern: r.to_string(),
        from: vec![r.to_string()],
        rule: Rule::Exact,
    }
}

/// The patterns for the resources one action was observed on, in pattern order.
pub fn generalise(resources: &BTreeSet<String>) -> Vec<Generalised> {
    let first = folders(resources);
    // Rule 3: group the patterns by everything before their names.
    let mut by_type: BTreeMap<String, Vec<Generalised>> = BTreeMap::new();
    let mut out = Vec::new();
    for g in first {
        match name_start(&g.pattern) {
            Some(at) if g.rule == Rule::Exact && !g.pattern.contains(['*', '?']) => by_type
                .entry(g.pattern[..at].to_string())
                .or_default()
                .push(g),
            _ => out.push(g),
        }
    }
    for (kind, group) in by_type {
        let prefix = common_prefix(group.iter().map(|g| g.pattern.as_str()));
        if group.len() > MANY && prefix.len() > kind.len() {
            out.push(Generalised {
                pattern: format!("{prefix}*"),
                from: group.into_iter().flat_map(|g| g.from).collect(),
                rule: Rule::CommonPrefix,
            });
        } else {
            out.extend(group);
        }
    }
    out.sort_by(|a, b| a.pattern.cmp(&b.pattern));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A case: what, the observed resources, and the patterns expected with their rule.
    type Case<'a> = (&'a str, Vec<String>, Vec<(&'a str, Rule)>);

    /// One case per rule: the observed resources and the patterns expected, with their rule.
    #[test]
    fn each_rule_gives_the_documented_patterns() {
        let tables: Vec<String> = (0..25)
            .map(|i| format!("arn:aws:dynamodb:eu-west-1:111122223333:table/orders-{i:02}"))
            .collect();
        let unrelated: Vec<String> = (0..25)
            .map(|i| {
                format!(
                    "arn:aws:dynamodb:eu-west-1:111122223333:table/{}{i}",
                    (b'a' + i as u8) as char
                )
            })
            .collect();
        let few: Vec<String> = tables[..MANY].to_vec();
        let cases: Vec<Case<'_>> = vec![
            (
                "objects in one folder",
                vec![
                    "arn:aws:s3:::reports/in/2026/12/a.json".into(),
                    "arn:aws:s3:::reports/in/2026/11/b.json".into(),
                ],
                vec![("arn:aws:s3:::reports/in/2026/*", Rule::ObjectFolder)],
            ),
            (
                "one object: its folder",
                vec!["arn:aws-cn:s3:::reports/out/day.json".into()],
                vec![("arn:aws-cn:s3:::reports/out/*", Rule::ObjectFolder)],
            ),
            (
                "objects with no common folder: the bucket's objects",
                vec![
                    "arn:aws:s3:::b/in/x".into(),
                    "arn:aws:s3:::b/out/y".into(),
                    "arn:aws:s3:::b/top".into(),
                ],
                vec![("arn:aws:s3:::b/*", Rule::ObjectFolder)],
            ),
            (
                "two buckets stay apart, and the bucket itself stays exact",
                vec![
                    "arn:aws:s3:::a/k/1".into(),
                    "arn:aws:s3:::b/k/1".into(),
                    "arn:aws:s3:::a".into(),
                ],
                vec![
                    ("arn:aws:s3:::a", Rule::Exact),
                    ("arn:aws:s3:::a/k/*", Rule::ObjectFolder),
                    ("arn:aws:s3:::b/k/*", Rule::ObjectFolder),
                ],
            ),
            (
                "log streams: their group",
                vec![
                    "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/f:log-stream:2026/12/01/[$LATEST]ab".into(),
                    "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/f:log-stream:2026/12/02/[$LATEST]cd".into(),
                ],
                vec![(
                    "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/f:*",
                    Rule::LogGroup,
                )],
            ),
            (
                "many tables sharing a name prefix: one pattern",
                tables.clone(),
                vec![(
                    "arn:aws:dynamodb:eu-west-1:111122223333:table/orders-*",
                    Rule::CommonPrefix,
                )],
            ),
            (
                "as many as the threshold: listed",
                few.clone(),
                few.iter().map(|t| (t.as_str(), Rule::Exact)).collect(),
            ),
            (
                "many tables with no common name: listed, never table/*",
                unrelated.clone(),
                unrelated.iter().map(|t| (t.as_str(), Rule::Exact)).collect(),
            ),
            (
                "a pattern already: kept",
                vec!["arn:aws:sqs:eu-west-1:111122223333:jobs-*".into()],
                vec![("arn:aws:sqs:eu-west-1:111122223333:jobs-*", Rule::Exact)],
            ),
        ];
        for (what, resources, want) in cases {
            let set: BTreeSet<String> = resources.iter().cloned().collect();
            let got = generalise(&set);
            let got_pairs: Vec<(&str, Rule)> =
                got.iter().map(|g| (g.pattern.as_str(), g.rule)).collect();
            let mut want = want;
            want.sort();
            assert_eq!(got_pairs, want, "{what}");
            // Every observed resource is stood for by exactly one pattern that matches it.
            let mut covered: Vec<&str> = got
                .iter()
                .flat_map(|g| g.from.iter().map(String::as_str))
                .collect();
            covered.sort();
            let mut all: Vec<&str> = set.iter().map(String::as_str).collect();
            all.sort();
            assert_eq!(covered, all, "{what}");
            for g in &got {
                assert_ne!(g.pattern, "*", "{what}");
                for r in &g.from {
                    assert!(
                        rolescope_policy::wildcard::arn_glob(&g.pattern, r),
                        "{what}: {} ∌ {r}",
                        g.pattern
                    );
                }
            }
        }
    }
}

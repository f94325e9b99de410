//! Checks for the identifiers that name paths, files and script arguments.
//!
//! Every field of a snapshot is untrusted input: a scan id or an OU id becomes part of an output
//! path (`<table>/dt=…/<scan_id>.parquet`, `scp/<target-id>/…`) and an argument in
//! `scp/apply.sh`. These checks run where the values enter (flags, [`crate::snapshot::Snapshot::read`],
//! the pipeline), so a path is only ever built from components that cannot leave their folder
//! and a script line from values that cannot end it.

/// A value that does not have the shape its kind must have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {value:?}: expected {expected}")]
pub struct InvalidId {
    /// What the value was meant to be (`scan id`, `OU id`, …).
    pub kind: &'static str,
    /// The value, as given.
    pub value: String,
    /// The shape it must have.
    pub expected: &'static str,
}

fn check(
    kind: &'static str,
    expected: &'static str,
    value: &str,
    ok: bool,
) -> Result<(), InvalidId> {
    if ok {
        Ok(())
    } else {
        Err(InvalidId {
            kind,
            value: value.to_string(),
            expected,
        })
    }
}

/// ASCII letters, digits, `_` and `-` only, between `min` and `max` characters.
fn word(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A scan id: 1–128 of `A–Z a–z 0–9 . _ -`, starting with a letter or digit (so never `.` or
/// `..`, never a path separator, never a space or a line break).
pub fn scan_id(id: &str) -> Result<(), InvalidId> {
    let ok = (1..=128).contains(&id.len())
        && id.as_bytes()[0].is_ascii_alphanumeric()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    check(
        "scan id",
        "1-128 letters, digits, '.', '_' or '-', starting with a letter or digit",
        id,
        ok,
    )
}

/// A root (`r-…`) or OU (`ou-…`) id. AWS's own shapes are `r-[0-9a-z]{4,32}` and
/// `ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}`; this accepts their character set with any length up to
/// 128, as emulators and hand-made snapshots use shorter ids.
pub fn unit_id(id: &str) -> Result<(), InvalidId> {
    let ok = ["r-", "ou-"]
        .iter()
        .any(|p| id.strip_prefix(p).is_some_and(|rest| word(rest, 1, 128)));
    check(
        "root or OU id",
        "r-… or ou-… of letters, digits, '_' or '-'",
        id,
        ok,
    )
}

/// An organization policy id: `p-` then letters, digits or `_` (AWS: `p-[0-9a-zA-Z_]{8,128}`;
/// shorter ones are accepted for emulators).
pub fn policy_id(id: &str) -> Result<(), InvalidId> {
    let ok = id
        .strip_prefix("p-")
        .is_some_and(|rest| word(rest, 1, 128) && !rest.contains('-'));
    check("policy id", "p- followed by letters, digits or '_'", id, ok)
}

/// A policy target: a root, an OU or an account id.
pub fn target_id(id: &str) -> Result<(), InvalidId> {
    if crate::AccountId::new(id).is_ok() {
        return Ok(());
    }
    unit_id(id).map_err(|e| InvalidId {
        kind: "policy target",
        expected: "a root, OU or 12-digit account id",
        ..e
    })
}

/// An ARN: `arn:` then printable characters without spaces (no line breaks, no control
/// characters), at most 2,048 of them.
pub fn arn(value: &str) -> Result<(), InvalidId> {
    let ok = value.len() <= 2048
        && value.starts_with("arn:")
        && value.bytes().all(|b| b.is_ascii_graphic());
    check(
        "ARN",
        "arn:… of printable characters without spaces",
        value,
        ok,
    )
}

/// A name that becomes a file name (an SCP or boundary name): letters, digits, `_`, `-`, `.`,
/// `+`, `=`, `,`, `@`, starting with a letter or digit, at most 128.
pub fn file_name(kind: &'static str, value: &str) -> Result<(), InvalidId> {
    let ok = (1..=128).contains(&value.len())
        && value.as_bytes()[0].is_ascii_alphanumeric()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.+=,@".contains(&b));
    check(
        kind,
        "1-128 letters, digits or _-.+=,@, starting with a letter or digit",
        value,
        ok,
    )
}

/// A scan id: the start time and a random suffix, sortable and unique enough for partitions.
pub fn new_scan_id(started: crate::Timestamp) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(started.millis);
    h.write_u32(std::process::id());
    format!(
        "{}-{:08x}",
        started
            .to_rfc3339()
            .replace([':', '-', '.'], "")
            .trim_end_matches('Z'),
        h.finish() as u32
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_values_are_refused_and_real_ones_accepted() {
        for good in ["golden-demo", "20261201T072500Z-1a2b", "scan.1_a"] {
            assert!(scan_id(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "..",
            "../x",
            "a/b",
            "a\nrm -rf /",
            ".hidden",
            "a b",
            &"x".repeat(129),
        ] {
            assert!(scan_id(bad).is_err(), "{bad:?}");
        }
        for good in ["r-ab12", "ou-ab12-34567890", "ou-sim0-00000100", "r-1"] {
            assert!(unit_id(good).is_ok(), "{good}");
        }
        for bad in [
            "ou-../../x",
            "ou-a'$(id)'",
            "r-",
            "ou-a/b",
            "x-ab12",
            "ou-a\nb",
        ] {
            assert!(unit_id(bad).is_err(), "{bad:?}");
        }
        assert!(policy_id("p-FullAWSAccess").is_ok());
        assert!(policy_id("p-abcd1234").is_ok());
        assert!(policy_id("p-ab/../x").is_err());
        assert!(target_id("012345678901").is_ok());
        assert!(target_id("ou-ab12-34567890").is_ok());
        assert!(target_id("0123").is_err());
        assert!(arn("arn:aws:iam::012345678901:role/x").is_ok());
        assert!(arn("arn:aws:iam::0:role/x\ny").is_err());
        assert!(arn("role/x").is_err());
        assert!(file_name("SCP name", "rolescope-lambda-guardrails").is_ok());
        assert!(file_name("SCP name", "../x").is_err());
        let generated = new_scan_id(crate::Timestamp::from_millis(1_800_000_000_000));
        assert!(scan_id(&generated).is_ok(), "{generated}");
    }
}

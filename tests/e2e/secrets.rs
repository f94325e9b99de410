//! Secret-like environment values: rolescope's edge detector against detect-secrets (PyPI), on
//! the same values. rolescope must find every secret detect-secrets finds in the secret corpus,
//! and flag nothing in the harmless one; where the two differ, the test prints how.

use crate::moto::out_dir;
use crate::support::python_json;
use rolescope_collector::secrets::{corpus, detect};
use serde_json::{Value, json};

/// Which indices of `values` detect-secrets flags, with its types.
fn detect_secrets(name: &str, values: &[(String, String)]) -> serde_json::Map<String, Value> {
    let file = out_dir(name).join("values.json");
    let list: Vec<Value> = values
        .iter()
        .map(|(n, v)| json!({"name": n, "value": v}))
        .collect();
    std::fs::write(&file, serde_json::to_vec(&list).unwrap()).unwrap();
    let out = python_json("secrets/detect_secrets_scan.py", &[file.as_os_str()]);
    out["flagged"].as_object().cloned().unwrap_or_default()
}

#[test]
fn rolescope_finds_every_secret_detect_secrets_finds_and_flags_no_harmless_value() {
    let secrets: Vec<(String, String)> = corpus::secrets()
        .into_iter()
        .map(|(n, v, _)| (n.to_string(), v))
        .collect();
    let harmless: Vec<(String, String)> = corpus::harmless()
        .into_iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();

    let theirs = detect_secrets("secrets-true", &secrets);
    let mut they_missed = Vec::new();
    for (i, (name, value)) in secrets.iter().enumerate() {
        let ours = detect(name, value);
        match theirs.get(&i.to_string()) {
            Some(types) => assert!(
                ours.is_some(),
                "detect-secrets finds {name} ({types:?}); rolescope does not"
            ),
            None => they_missed.push(name.as_str()),
        }
        assert!(ours.is_some(), "rolescope misses {name}");
    }

    let theirs_false = detect_secrets("secrets-harmless", &harmless);
    let mut their_false_positives = Vec::new();
    for (i, (name, value)) in harmless.iter().enumerate() {
        assert_eq!(detect(name, value), None, "rolescope flags {name}={value}");
        if let Some(types) = theirs_false.get(&i.to_string()) {
            their_false_positives.push(format!("{name} {types}"));
        }
    }
    eprintln!(
        "secret corpus: {} values; rolescope finds {}, detect-secrets {} (it misses {:?})",
        secrets.len(),
        secrets.len(),
        secrets.len() - they_missed.len(),
        they_missed
    );
    eprintln!(
        "harmless corpus: {} values; rolescope flags 0, detect-secrets {} ({:?})",
        harmless.len(),
        their_false_positives.len(),
        their_false_positives
    );
    // The comparison is only a comparison if the peer finds most of the secrets too.
    assert!(
        they_missed.len() * 2 < secrets.len(),
        "detect-secrets found almost nothing: is it installed and scanning? {theirs:?}"
    );
}

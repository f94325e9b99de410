//! Problems with an SCP document before it is recommended or attached.

use rolescope_policy::{Catalog, Policy};
use std::collections::BTreeSet;

/// Problems with an SCP: it must parse, use Version 2012-10-17, have no principal element,
/// name only known actions and condition keys, and fit `max_chars`.
pub fn lint(cat: &Catalog, text: &str, max_chars: usize) -> Vec<String> {
    let mut out = Vec::new();
    let chars = text.chars().count();
    if chars > max_chars {
        out.push(format!("{chars} characters, over the {max_chars} limit"));
    }
    let policy = match Policy::parse(text) {
        Ok(p) => p,
        Err(e) => {
            out.push(format!("does not parse: {e}"));
            return out;
        }
    };
    if !policy.version.supports_variables() {
        out.push("Version is not 2012-10-17".into());
    }
    let known_keys: BTreeSet<String> = cat
        .services
        .iter()
        .flat_map(|s| s.condition_keys.iter().map(|(k, _)| k.to_ascii_lowercase()))
        .collect();
    for (i, s) in policy.statements.iter().enumerate() {
        let at = s.sid.clone().unwrap_or_else(|| format!("Statement[{i}]"));
        if s.principal.is_some() {
            out.push(format!("{at}: SCPs take no Principal element"));
        }
        if !s.unknown_keys.is_empty() {
            out.push(format!("{at}: unknown keys {:?}", s.unknown_keys));
        }
        for p in &s.actions.patterns {
            if cat.expand(p).is_empty() {
                out.push(format!("{at}: {p} matches no known action"));
            }
        }
        for c in &s.conditions {
            let key = c.key.to_ascii_lowercase();
            if !key.starts_with("aws:") && !known_keys.contains(&key) {
                out.push(format!("{at}: unknown condition key {}", c.key));
            }
        }
    }
    out
}

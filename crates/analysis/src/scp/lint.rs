//! Problems with a policy document before it is recommended or attached, each against the
//! limits of its own kind.

use rolescope_policy::{Catalog, Policy};
use serde_json::Value;
use std::collections::BTreeSet;

/// Minified JSON of a policy document: the text whose size [`DocumentKind::size`] counts.
pub(super) fn minify(doc: &Value) -> String {
    serde_json::to_string(doc).expect("a JSON value serialises")
}

/// What a document will be, which sets how AWS counts and limits its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// A service control policy: 10,240 characters (AWS Organizations quota since May 2026).
    Scp,
    /// A resource control policy: 5,120 characters.
    Rcp,
    /// An IAM customer managed policy (a permission boundary): 6,144 characters, whitespace not
    /// counted.
    ManagedPolicy,
}

impl DocumentKind {
    /// AWS's size limit for the kind.
    pub const fn max_chars(self) -> usize {
        match self {
            DocumentKind::Scp => 10_240,
            DocumentKind::Rcp => 5_120,
            DocumentKind::ManagedPolicy => 6_144,
        }
    }

    /// The size of a document as AWS counts it for the kind.
    pub fn size(self, text: &str) -> usize {
        match self {
            DocumentKind::ManagedPolicy => text.chars().filter(|c| !c.is_whitespace()).count(),
            DocumentKind::Scp | DocumentKind::Rcp => text.chars().count(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            DocumentKind::Scp => "SCP",
            DocumentKind::Rcp => "RCP",
            DocumentKind::ManagedPolicy => "IAM managed policy",
        }
    }
}

/// Problems with a document of `kind`: it must parse, use Version 2012-10-17, name only known
/// actions and condition keys, fit `max_chars` as AWS counts that kind, and (SCPs and managed
/// policies) have no Principal element.
pub fn lint(cat: &Catalog, text: &str, kind: DocumentKind, max_chars: usize) -> Vec<String> {
    let mut out = Vec::new();
    let chars = kind.size(text);
    if chars > max_chars {
        out.push(format!(
            "{chars} characters, over the {max_chars} limit of an {}",
            kind.name()
        ));
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
        if s.principal.is_some() && kind != DocumentKind::Rcp {
            out.push(format!(
                "{at}: an {} takes no Principal element",
                kind.name()
            ));
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

//! The request context (condition keys and their values) and policy-variable substitution.

use crate::wildcard::{Atom, push_literal, push_pattern};
use std::collections::HashMap;

/// Condition-key values of one request. Keys compare case-insensitively, as in IAM.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    values: HashMap<String, Vec<String>>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set a key to one or more values.
    pub fn insert(&mut self, key: &str, values: Vec<String>) {
        self.values.insert(key.to_ascii_lowercase(), values);
    }

    /// Builder form of [`Context::insert`] for one value.
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.insert(key, vec![value.to_string()]);
        self
    }

    /// The values of a key, if the request carries it.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.values
            .get(&key.to_ascii_lowercase())
            .map(Vec::as_slice)
    }
}

/// Compile `text` into atoms, substituting `${...}` policy variables from the context.
///
/// `wildcards` says whether `*` and `?` outside variables are wildcards (Resource, StringLike,
/// ArnLike) or literals (StringEquals). Substituted values are always literal. `${*}`, `${?}` and
/// `${$}` stand for the literal characters. `${key, 'default'}` falls back to the default.
/// Returns `None` when a variable has no value (AWS: the element then matches nothing).
pub fn substitute(
    text: &str,
    ctx: &Context,
    variables: bool,
    wildcards: bool,
) -> Option<Vec<Atom>> {
    let mut atoms = Vec::with_capacity(text.len());
    let push_text = |atoms: &mut Vec<Atom>, t: &str| {
        if wildcards {
            push_pattern(atoms, t)
        } else {
            push_literal(atoms, t)
        }
    };
    if !variables {
        push_text(&mut atoms, text);
        return Some(atoms);
    }
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        push_text(&mut atoms, &rest[..start]);
        let inner = &rest[start + 2..start + len];
        rest = &rest[start + len + 1..];
        match inner {
            "*" | "?" | "$" => push_literal(&mut atoms, inner),
            _ => {
                let (key, default) = match inner.split_once(',') {
                    Some((k, d)) => {
                        let d = d.trim();
                        let d = d
                            .strip_prefix('\'')
                            .and_then(|d| d.strip_suffix('\''))
                            .unwrap_or(d);
                        (k.trim(), Some(d))
                    }
                    None => (inner.trim(), None),
                };
                match (ctx.get(key), default) {
                    (Some([value]), _) => push_literal(&mut atoms, value),
                    (_, Some(d)) => push_literal(&mut atoms, d),
                    _ => return None,
                }
            }
        }
    }
    push_text(&mut atoms, rest);
    Some(atoms)
}

/// True when the text contains a policy variable.
pub fn has_variable(text: &str) -> bool {
    text.contains("${")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wildcard::matches_atoms;

    #[test]
    fn variables_substitute_literally() {
        let ctx = Context::new()
            .with("aws:username", "a*b")
            .with("aws:PrincipalTag/team", "red");
        let m = |pat: &str, text: &str| {
            substitute(pat, &ctx, true, true).is_some_and(|a| matches_atoms(&a, text, false))
        };
        assert!(m("home/${aws:username}/*", "home/a*b/x"));
        assert!(!m("home/${aws:username}/*", "home/aXb/x"));
        assert!(m("${aws:principaltag/TEAM}-*", "red-1"));
        assert!(m("${aws:missing, 'dflt'}", "dflt"));
        assert!(m("x${*}y${?}${$}", "x*y?$"));
        assert!(!m("x${*}y", "xzy"));
        assert!(substitute("${aws:missing}", &ctx, true, true).is_none());
        // Old language: the variable is plain text.
        assert!(substitute("${aws:missing}", &ctx, false, true).is_some());
    }
}

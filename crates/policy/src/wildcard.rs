//! Glob matching with IAM's two wildcards: `*` (any run, including none) and `?` (one character).
//!
//! Patterns are compiled into [`Atom`]s so that text coming from policy variables can be spliced
//! in as literals: a `*` inside a substituted value matches only a `*`.

/// One element of a compiled pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Atom {
    /// A literal byte.
    Byte(u8),
    /// `?`: exactly one character (one UTF-8 scalar value).
    One,
    /// `*`: any sequence of bytes, including the empty one.
    Star,
}

/// Compile a pattern where `*` and `?` are wildcards.
pub fn compile(pattern: &str) -> Vec<Atom> {
    let mut atoms = Vec::with_capacity(pattern.len());
    push_pattern(&mut atoms, pattern);
    atoms
}

/// Append a wildcard pattern to `atoms` (consecutive stars collapse).
pub fn push_pattern(atoms: &mut Vec<Atom>, pattern: &str) {
    for b in pattern.bytes() {
        match b {
            b'*' if atoms.last() == Some(&Atom::Star) => {}
            b'*' => atoms.push(Atom::Star),
            b'?' => atoms.push(Atom::One),
            _ => atoms.push(Atom::Byte(b)),
        }
    }
}

/// Append literal text to `atoms` (wildcard characters in it are literals).
pub fn push_literal(atoms: &mut Vec<Atom>, text: &str) {
    atoms.extend(text.bytes().map(Atom::Byte));
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// A pattern element the matcher reads as an [`Atom`]: compiled atoms, or the bytes of a pattern
/// text whose `*` and `?` are wildcards (matched in place, with nothing compiled or allocated).
trait Element: Copy {
    fn atom(self) -> Atom;
}

impl Element for Atom {
    fn atom(self) -> Atom {
        self
    }
}

impl Element for u8 {
    fn atom(self) -> Atom {
        match self {
            b'*' => Atom::Star,
            b'?' => Atom::One,
            b => Atom::Byte(b),
        }
    }
}

/// Match compiled atoms against text. `fold` compares ASCII case-insensitively.
pub fn matches_atoms(atoms: &[Atom], text: &str, fold: bool) -> bool {
    matches(atoms, text.as_bytes(), fold)
}

fn matches<E: Element>(pattern: &[E], t: &[u8], fold: bool) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    // Backtrack point: the position after the last star and the text index it resumes at.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        let step = match pattern.get(pi).map(|e| e.atom()) {
            Some(Atom::Star) => {
                star = Some((pi + 1, ti));
                pi += 1;
                continue;
            }
            Some(Atom::One) => Some(utf8_len(t[ti])),
            Some(Atom::Byte(b)) => {
                let same = if fold {
                    b.eq_ignore_ascii_case(&t[ti])
                } else {
                    b == t[ti]
                };
                same.then_some(1)
            }
            None => None,
        };
        match step {
            Some(n) => {
                pi += 1;
                ti += n;
            }
            None => match star {
                Some((sp, st)) => {
                    pi = sp;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[pi.min(pattern.len())..]
        .iter()
        .all(|e| e.atom() == Atom::Star)
}

/// Case-sensitive glob match (ARNs, condition values).
pub fn glob(pattern: &str, text: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return pattern == text;
    }
    matches(pattern.as_bytes(), text.as_bytes(), false)
}

/// ASCII case-insensitive glob match (action names).
pub fn glob_ci(pattern: &str, text: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return pattern.eq_ignore_ascii_case(text);
    }
    matches(pattern.as_bytes(), text.as_bytes(), true)
}

/// True when the pattern contains a wildcard.
pub fn has_wildcard(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

/// Match an ARN pattern against an ARN the way IAM's Resource element does: the first five
/// colon-separated segments (arn, partition, service, region, account) are matched one by one,
/// so a wildcard never spans a colon there; the resource part (everything after the fifth colon)
/// is matched whole. A pattern with fewer segments is padded with `*` segments. `*` alone matches
/// everything. Atoms are used so policy-variable values stay literal.
pub fn arn_matches(pattern: &[Atom], arn: &str) -> bool {
    arn_match(pattern, arn)
}

/// [`arn_matches`] for a pattern text whose `*` and `?` are wildcards (one without policy
/// variables, or read where they are not substituted): the same answer as matching its
/// [`compile`]d atoms.
pub fn arn_glob(pattern: &str, arn: &str) -> bool {
    arn_match(pattern.as_bytes(), arn)
}

fn arn_match<E: Element>(pattern: &[E], arn: &str) -> bool {
    if !pattern.is_empty() && pattern.iter().all(|e| e.atom() == Atom::Star) {
        return true;
    }
    const STAR: &[Atom] = &[Atom::Star];
    let mut pat_segments: [Option<&[E]>; 6] = [None; 6];
    let mut rest = pattern;
    let mut n = 0;
    while n < 5 {
        match rest.iter().position(|e| e.atom() == Atom::Byte(b':')) {
            Some(i) => {
                pat_segments[n] = Some(&rest[..i]);
                rest = &rest[i + 1..];
                n += 1;
            }
            None => break,
        }
    }
    pat_segments[n] = Some(rest);
    let mut arn_segments: [&str; 6] = [""; 6];
    let mut parts = arn.splitn(6, ':');
    for slot in &mut arn_segments {
        match parts.next() {
            Some(s) => *slot = s,
            // Not an ARN: only a whole-string match can apply.
            None => return matches(pattern, arn.as_bytes(), false),
        }
    }
    (0..6).all(|i| match pat_segments[i] {
        Some(p) => matches(p, arn_segments[i].as_bytes(), false),
        None => matches(STAR, arn_segments[i].as_bytes(), false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pattern: &str, text: &str, expect: bool) {
        assert_eq!(glob(pattern, text), expect, "glob({pattern:?}, {text:?})");
    }

    #[test]
    fn glob_table() {
        for (p, t, e) in [
            ("*", "", true),
            ("*", "anything", true),
            ("", "", true),
            ("", "a", false),
            ("a*", "abc", true),
            ("a*c", "abc", true),
            ("a*c", "abcd", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("a?c", "aéc", true),
            ("*b*b*", "abxbyb", true),
            ("*ab", "aab", true),
            ("a**b", "ab", true),
            ("Get*", "getObject", false),
            ("*.json", "x.json.bak", false),
            ("?", "", false),
        ] {
            check(p, t, e);
        }
    }

    /// Every string of up to `max` characters from `alphabet`.
    fn strings(alphabet: &[&str], max: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..max {
            last = last
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    #[test]
    fn matching_pattern_text_in_place_agrees_with_compiled_atoms() {
        let patterns = strings(&["a", "*", "?", ":", "A"], 4);
        let texts = strings(&["a", "b", ":", "é", "A"], 4);
        let mut disagreements = Vec::new();
        for p in &patterns {
            let atoms = compile(p);
            for t in &texts {
                let pairs = [
                    ("glob", glob(p, t), matches_atoms(&atoms, t, false)),
                    ("glob_ci", glob_ci(p, t), matches_atoms(&atoms, t, true)),
                    ("arn_glob", arn_glob(p, t), arn_matches(&atoms, t)),
                ];
                for (what, text_form, atom_form) in pairs {
                    if text_form != atom_form {
                        disagreements.push(format!("{what}({p:?}, {t:?})"));
                    }
                }
            }
        }
        assert!(disagreements.is_empty(), "{disagreements:?}");
        // ARNs with all six segments, padded and wildcard patterns.
        for (p, t) in [
            ("arn:aws:s3:::b/*", "arn:aws:s3:::b/k:x"),
            ("arn:aws:*:*:*:*", "arn:aws:iam::111122223333:role/r"),
            ("arn:aws:iam", "arn:aws:iam::111122223333:role/r"),
            (
                "arn:aws:iam::*:role/a?",
                "arn:aws:iam::111122223333:role/ab",
            ),
            (
                "arn:aws:iam::*:role/a?",
                "arn:aws:iam::111122223333:role/abc",
            ),
        ] {
            assert_eq!(arn_glob(p, t), arn_matches(&compile(p), t), "{p} {t}");
        }
    }

    #[test]
    fn case_insensitive_for_actions() {
        assert!(glob_ci("s3:Get*", "S3:getobject"));
        assert!(glob_ci("S3:GETOBJECT", "s3:GetObject"));
        assert!(!glob_ci("s3:Put*", "s3:GetObject"));
    }

    #[test]
    fn arn_segments_do_not_span_colons() {
        let m = |p: &str, a: &str| arn_matches(&compile(p), a);
        assert!(m("*", "arn:aws:s3:::b/k"));
        assert!(m("arn:aws:s3:::b/*", "arn:aws:s3:::b/k/x"));
        assert!(!m("arn:aws:s3:::b/*", "arn:aws:s3:::c/k"));
        // A star in the service segment does not eat the region and account.
        assert!(m(
            "arn:aws:*:us-east-1:*:function:f",
            "arn:aws:lambda:us-east-1:111122223333:function:f"
        ));
        assert!(!m(
            "arn:aws:lambda*:function:f",
            "arn:aws:lambda:us-east-1:111122223333:function:f"
        ));
        // The resource part is matched whole, colons included.
        assert!(m(
            "arn:aws:lambda:*:*:function:*",
            "arn:aws:lambda:eu-west-1:1:function:f:prod"
        ));
        // Short patterns are padded.
        assert!(m("arn:aws:s3", "arn:aws:s3:::bucket"));
        // Case-sensitive.
        assert!(!m("arn:aws:s3:::Bucket", "arn:aws:s3:::bucket"));
        // Literal atoms (from variables) do not act as wildcards.
        let mut atoms = compile("arn:aws:s3:::b/");
        push_literal(&mut atoms, "*");
        assert!(!arn_matches(&atoms, "arn:aws:s3:::b/x"));
        assert!(arn_matches(&atoms, "arn:aws:s3:::b/*"));
    }
}

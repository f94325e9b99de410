//! The least-privilege suggestion as a diff against what a role is granted today: the role's
//! identity policy statements as one document, and the suggested document, compared line by
//! line (longest common subsequence).

use rolescope_policy::Policy;
use serde_json::Value;

/// One line of a least-privilege diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffLine {
    /// In both documents.
    Same(String),
    /// Granted today, not in the suggestion.
    Removed(String),
    /// In the suggestion only.
    Added(String),
}

/// Beyond this many line pairs the diff is not worth its table: the documents are shown as
/// removed and added wholesale.
const MAX_CELLS: usize = 4_000_000;

/// The diff from the role's documents (text, parsed) to the suggested policy; `None` when the
/// suggestion cannot be read.
pub fn suggestion(documents: &[(&str, &Policy)], suggested: &str) -> Option<Vec<DiffLine>> {
    let mut statements = Vec::new();
    for (text, _) in documents {
        let raw: Value = serde_json::from_str(text).ok()?;
        match &raw["Statement"] {
            Value::Array(list) => statements.extend(list.iter().cloned()),
            one @ Value::Object(_) => statements.push(one.clone()),
            _ => {}
        }
    }
    let today = serde_json::json!({"Version": "2012-10-17", "Statement": statements});
    let suggested: Value = serde_json::from_str(suggested).ok()?;
    let before = serde_json::to_string_pretty(&today).ok()?;
    let after = serde_json::to_string_pretty(&suggested).ok()?;
    Some(lines(&before, &after))
}

/// A line diff of two texts.
pub fn lines(before: &str, after: &str) -> Vec<DiffLine> {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    if a.len().saturating_mul(b.len()) > MAX_CELLS {
        return a
            .iter()
            .map(|l| DiffLine::Removed(l.to_string()))
            .chain(b.iter().map(|l| DiffLine::Added(l.to_string())))
            .collect();
    }
    // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
    let width = b.len() + 1;
    let mut lcs = vec![0u32; (a.len() + 1) * width];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i * width + j] = if a[i] == b[j] {
                lcs[(i + 1) * width + j + 1] + 1
            } else {
                lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len() + b.len());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push(DiffLine::Same(a[i].to_string()));
            i += 1;
            j += 1;
        } else if i < a.len()
            && (j == b.len() || lcs[(i + 1) * width + j] >= lcs[i * width + j + 1])
        {
            out.push(DiffLine::Removed(a[i].to_string()));
            i += 1;
        } else {
            out.push(DiffLine::Added(b[j].to_string()));
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(d: &[DiffLine]) -> String {
        d.iter()
            .map(|l| match l {
                DiffLine::Same(s) => format!(" {s}"),
                DiffLine::Removed(s) => format!("-{s}"),
                DiffLine::Added(s) => format!("+{s}"),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn a_line_diff_keeps_common_lines_and_marks_the_rest() {
        assert_eq!(
            render(&lines("a\nb\nc\nd", "a\nx\nc\nd\ne")),
            " a\n-b\n+x\n c\n d\n+e"
        );
        assert_eq!(render(&lines("", "")), "");
        assert_eq!(render(&lines("a", "")), "-a");
    }

    #[test]
    fn the_suggestion_diff_shows_the_actions_taken_away() {
        let text = r#"{"Version":"2012-10-17","Statement":[{"Sid":"All","Effect":"Allow","Action":["s3:*"],"Resource":"*"}]}"#;
        let policy = Policy::parse(text).unwrap();
        let suggested = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"*"}]}"#;
        let d = suggestion(&[(text, &policy)], suggested).unwrap();
        let removed: Vec<&str> = d
            .iter()
            .filter_map(|l| match l {
                DiffLine::Removed(s) => Some(s.trim()),
                _ => None,
            })
            .collect();
        let added: Vec<&str> = d
            .iter()
            .filter_map(|l| match l {
                DiffLine::Added(s) => Some(s.trim()),
                _ => None,
            })
            .collect();
        assert_eq!(removed, ["\"Sid\": \"All\",", "\"s3:*\""]);
        assert_eq!(added, ["\"s3:GetObject\""]);
        assert!(suggestion(&[(text, &policy)], "not json").is_none());
    }
}

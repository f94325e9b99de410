//! Sizes as IAM enforces them (IAM user guide, "IAM and AWS STS quotas"): a customer-managed
//! policy holds at most 6,144 characters and a role's inline policies together 10,240, white
//! space not counted; a role has at most 10 managed policies attached by default (20 on request).

use serde_json::{Value, json};

/// Characters of a managed policy.
pub const MANAGED_CHARS: usize = 6_144;
/// Characters of a role's inline policies together.
pub const INLINE_CHARS: usize = 10_240;
/// Managed policies a role can have attached (the default quota).
pub const ATTACHED: usize = 10;

/// The size IAM counts: characters outside white space.
pub fn iam_chars(doc: &Value) -> usize {
    doc.to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count()
}

fn document(statements: Vec<Value>) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// Split a statement too large for one policy: its resource list in halves, else its action list.
fn halve(statement: &Value) -> Option<(Value, Value)> {
    for key in ["Resource", "Action"] {
        if let Some(list) = statement[key].as_array().filter(|l| l.len() > 1) {
            let (a, b) = list.split_at(list.len() / 2);
            let (mut x, mut y) = (statement.clone(), statement.clone());
            x[key] = Value::Array(a.to_vec());
            y[key] = Value::Array(b.to_vec());
            if let Some(sid) = statement["Sid"].as_str() {
                x["Sid"] = json!(format!("{sid}a"));
                y["Sid"] = json!(format!("{sid}b"));
            }
            return Some((x, y));
        }
    }
    None
}

/// The statements packed into documents of at most `limit` characters each, in order; `None`
/// when one statement cannot be made to fit.
pub fn split(statements: &[Value], limit: usize) -> Option<Vec<Value>> {
    let mut queue: std::collections::VecDeque<Value> = statements.iter().cloned().collect();
    let mut docs: Vec<Vec<Value>> = Vec::new();
    let mut current: Vec<Value> = Vec::new();
    while let Some(s) = queue.pop_front() {
        let mut trial = current.clone();
        trial.push(s.clone());
        if iam_chars(&document(trial.clone())) <= limit {
            current = trial;
            continue;
        }
        if !current.is_empty() {
            docs.push(std::mem::take(&mut current));
            queue.push_front(s);
            continue;
        }
        let (a, b) = halve(&s)?;
        queue.push_front(b);
        queue.push_front(a);
    }
    if !current.is_empty() {
        docs.push(current);
    }
    Some(docs.into_iter().map(document).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_stay_within_the_limit_and_keep_every_grant() {
        let resources: Vec<String> = (0..400)
            .map(|i| format!("arn:aws:s3:::bucket-{i:04}/data/*"))
            .collect();
        let statements = vec![
            json!({"Sid": "RsObserved1", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": resources}),
            json!({"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}),
        ];
        let docs = split(&statements, MANAGED_CHARS).unwrap();
        assert!(docs.len() > 1);
        let mut seen = Vec::new();
        for d in &docs {
            assert!(iam_chars(d) <= MANAGED_CHARS);
            for s in d["Statement"].as_array().unwrap() {
                if let Some(r) = s["Resource"].as_array() {
                    seen.extend(r.iter().map(|v| v.as_str().unwrap().to_string()));
                }
            }
        }
        assert_eq!(seen, resources);
        // Small: one document, the same statements.
        let one = split(&statements[1..], MANAGED_CHARS).unwrap();
        assert_eq!(one, [document(statements[1..].to_vec())]);
        // A statement that cannot be split (one huge resource) does not fit.
        let huge =
            json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "x".repeat(7000)});
        assert_eq!(split(&[huge], MANAGED_CHARS), None);
        // White space is not counted.
        assert_eq!(iam_chars(&json!({"a": "b c"})), 10);
    }
}

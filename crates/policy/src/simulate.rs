//! The simulate-case format of `rolescope policy simulate --cases FILE.jsonl`.
//!
//! One JSON object per line:
//! `{"id", "principal", "action", "resource", "resourceAccount", "context": {key: value|[values]},
//!   "identity": [docs], "boundary": doc|[docs], "scps": [[root docs], [ou docs]…, [account docs]],
//!   "resourcePolicy": doc}`.
//! The output line is `{"id", "decision", "reason", "deciding"}` or `{"id", "error"}`.

use crate::context::Context;
use crate::document::{ParseError, Policy};
use crate::eval::{Evaluation, PolicySet, Request, evaluate};
use serde_json::{Value, json};

/// A case that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    /// The line is not a JSON object of the expected shape.
    #[error("{0}")]
    Shape(String),
    /// A policy document inside the case is malformed.
    #[error("{field}: {error}")]
    Policy {
        /// Which field of the case (e.g. `identity[1]`).
        field: String,
        /// The parse error, with its JSON path inside the document (in the message, not a
        /// separate cause, so it is printed once).
        error: ParseError,
    },
}

/// A parsed case.
#[derive(Debug, Clone)]
pub struct Case {
    /// The case id (any JSON value, echoed back).
    pub id: Value,
    /// Calling principal ARN.
    pub principal: String,
    /// Action.
    pub action: String,
    /// Resource ARN.
    pub resource: String,
    /// Resource account, if given.
    pub resource_account: Option<String>,
    /// Request context.
    pub context: Context,
    /// Identity policies.
    pub identity: Vec<Policy>,
    /// Permission boundary.
    pub boundary: Option<Policy>,
    /// SCP levels.
    pub scps: Vec<Vec<Policy>>,
    /// Resource policy.
    pub resource_policy: Option<Policy>,
}

fn text(v: &Value, field: &str) -> Result<String, CaseError> {
    v.get(field)
        .and_then(Value::as_str)
        .map(String::from)
        .ok_or_else(|| CaseError::Shape(format!("missing string field {field:?}")))
}

/// A document of the case. A condition value its operator cannot read (`300.1.1.1/24`,
/// `2024-02-30`, `1e999`) is an error here: a decision would hide that the statement is broken.
fn doc(v: &Value, field: String) -> Result<Policy, CaseError> {
    let policy = Policy::from_value(v).map_err(|error| CaseError::Policy {
        field: field.clone(),
        error,
    })?;
    match crate::condition::unreadable_values(&policy)
        .into_iter()
        .next()
    {
        Some((_, error)) => Err(CaseError::Policy { field, error }),
        None => Ok(policy),
    }
}

fn docs(v: Option<&Value>, field: &str) -> Result<Vec<Policy>, CaseError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, d)| doc(d, format!("{field}[{i}]")))
            .collect(),
        Some(other @ Value::Object(_)) => Ok(vec![doc(other, field.to_string())?]),
        Some(_) => Err(CaseError::Shape(format!(
            "{field:?} must be a policy or a list of policies"
        ))),
    }
}

impl Case {
    /// Read a case from its JSON value.
    pub fn from_value(v: &Value) -> Result<Case, CaseError> {
        if !v.is_object() {
            return Err(CaseError::Shape("a case must be a JSON object".into()));
        }
        let mut context = Context::new();
        if let Some(ctx) = v.get("context") {
            let Value::Object(map) = ctx else {
                return Err(CaseError::Shape("\"context\" must be an object".into()));
            };
            for (k, val) in map {
                let scalar = |x: &Value| match x {
                    Value::String(s) => Ok(s.clone()),
                    Value::Bool(b) => Ok(b.to_string()),
                    Value::Number(n) => Ok(n.to_string()),
                    _ => Err(CaseError::Shape(format!(
                        "context key {k:?}: values must be scalars"
                    ))),
                };
                let values = match val {
                    Value::Array(items) => items.iter().map(scalar).collect::<Result<_, _>>()?,
                    other => vec![scalar(other)?],
                };
                context.insert(k, values);
            }
        }
        let mut boundary = docs(v.get("boundary"), "boundary")?;
        if boundary.len() > 1 {
            return Err(CaseError::Shape(
                "a principal has at most one permission boundary".into(),
            ));
        }
        let scps = match v.get("scps") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(levels)) => levels
                .iter()
                .enumerate()
                .map(|(i, level)| docs(Some(level), &format!("scps[{i}]")))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(CaseError::Shape("\"scps\" must be a list of levels".into())),
        };
        let resource_policy = match v.get("resourcePolicy") {
            None | Some(Value::Null) => None,
            Some(d) => Some(doc(d, "resourcePolicy".into())?),
        };
        Ok(Case {
            id: v.get("id").cloned().unwrap_or(Value::Null),
            principal: text(v, "principal")?,
            action: text(v, "action")?,
            resource: text(v, "resource")?,
            resource_account: v
                .get("resourceAccount")
                .and_then(Value::as_str)
                .map(String::from),
            context,
            identity: docs(v.get("identity"), "identity")?,
            boundary: boundary.pop(),
            scps,
            resource_policy,
        })
    }

    /// Evaluate the case.
    pub fn evaluate(&self) -> Evaluation {
        let req = Request {
            principal: &self.principal,
            action: &self.action,
            resource: &self.resource,
            resource_account: self.resource_account.as_deref(),
            context: &self.context,
        };
        let set = PolicySet {
            identity: &self.identity,
            boundary: self.boundary.as_ref(),
            scps: &self.scps,
            resource_policy: self.resource_policy.as_ref(),
        };
        evaluate(&req, &set)
    }
}

/// Evaluate one input line and produce the output line (never fails: errors become `{"id","error"}`).
pub fn run_line(line: &str) -> Value {
    let value: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return json!({"id": null, "error": format!("invalid JSON: {e}")}),
    };
    match Case::from_value(&value) {
        Ok(case) => {
            let eval = case.evaluate();
            json!({"id": case.id, "decision": eval.decision, "reason": eval.reason, "deciding": eval.deciding})
        }
        Err(e) => {
            json!({"id": value.get("id").cloned().unwrap_or(Value::Null), "error": e.to_string()})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_evaluate_and_errors_are_reported() {
        let out = run_line(
            r#"{"id":"a","principal":"arn:aws:sts::111111111111:assumed-role/r/s","action":"s3:GetObject","resource":"arn:aws:s3:::b/k","context":{"aws:SecureTransport":true},"identity":[{"Version":"2012-10-17","Statement":[{"Sid":"S","Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}]}"#,
        );
        assert_eq!(out["decision"], "Allowed");
        assert_eq!(out["deciding"][0]["sid"], "S");
        let out = run_line(
            r#"{"id":7,"principal":"p","action":"a:b","resource":"*","identity":[{"Statement":[{"Action":"*"}]}]}"#,
        );
        assert_eq!(out["id"], 7);
        assert_eq!(
            out["error"],
            "identity[0]: $.Statement[0]: the statement has no Effect"
        );
        for (operator, value, problem) in [
            (
                "NotIpAddress",
                "300.1.1.1/24",
                "is not an IP address or CIDR block",
            ),
            (
                "DateLessThan",
                "2024-02-30",
                "is not a date (ISO 8601 or epoch seconds)",
            ),
            ("NumericLessThan", "1e999", "is not a finite number"),
        ] {
            let line = format!(
                r#"{{"id":"bad","principal":"p","action":"s3:GetObject","resource":"*","identity":[{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"*","Resource":"*"}}]}},{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"*","Resource":"*","Condition":{{"{operator}":{{"k:x":"{value}"}}}}}}]}}]}}"#
            );
            let out = run_line(&line);
            assert_eq!(out["decision"], Value::Null, "{out}");
            assert_eq!(
                out["error"],
                format!(
                    "identity[1]: $.Statement[0].Condition.{operator}.k:x: \"{value}\" {problem}"
                )
            );
        }
        assert!(
            run_line("not json")["error"]
                .as_str()
                .unwrap()
                .starts_with("invalid JSON")
        );
        assert_eq!(
            run_line(r#"{"id":1}"#)["error"],
            "missing string field \"principal\""
        );
    }
}

//! The IAM policy document model and its parser.
//!
//! Parsing is lenient where AWS is (string-or-list everywhere, a single statement object, a
//! missing Version) and strict where a document is meaningless (no Effect, both Action and
//! NotAction). Every error names the JSON path of the offending element.

use serde_json::Value;
use std::fmt;

/// The `Version` element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum PolicyVersion {
    /// `2012-10-17`: the current language, with policy variables.
    V2012_10_17,
    /// `2008-10-17`: the old language; policy variables are treated as literal text.
    V2008_10_17,
    /// No Version element: AWS treats the document as `2008-10-17`.
    Missing,
}

impl PolicyVersion {
    /// Whether `${...}` policy variables are substituted under this version.
    pub fn supports_variables(self) -> bool {
        self == PolicyVersion::V2012_10_17
    }
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The Version element.
    pub version: PolicyVersion,
    /// The optional Id element.
    pub id: Option<String>,
    /// Statements in document order.
    pub statements: Vec<Statement>,
}

/// Allow or Deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Effect {
    /// `"Effect": "Allow"`.
    Allow,
    /// `"Effect": "Deny"`.
    Deny,
}

/// `Action` (listed) or `NotAction` (everything but the listed).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActionSpec {
    /// True for `NotAction`.
    pub negated: bool,
    /// The patterns as written (`service:Action`, wildcards allowed, or `*`).
    pub patterns: Vec<String>,
}

/// `Resource` or `NotResource`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceSpec {
    /// True for `NotResource`.
    pub negated: bool,
    /// ARN patterns as written (wildcards and policy variables allowed).
    pub patterns: Vec<String>,
}

/// The kind of a principal identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub enum PrincipalKind {
    /// `"AWS"`: account ids, account root ARNs, role/user/session ARNs, or `*`.
    Aws,
    /// `"Service"`: service principals such as `lambda.amazonaws.com`.
    Service,
    /// `"Federated"`: identity providers.
    Federated,
    /// `"CanonicalUser"`: S3 canonical user ids.
    CanonicalUser,
}

/// The `Principal` or `NotPrincipal` element.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PrincipalSpec {
    /// `"Principal": "*"`: everyone, including anonymous callers.
    Any,
    /// A map of principal kinds to identifiers.
    Map(Vec<(PrincipalKind, Vec<String>)>),
}

/// A condition operator: base operator plus the `IfExists` suffix and a set qualifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Operator {
    /// The base operator.
    pub base: OperatorBase,
    /// `...IfExists`: a missing key makes the condition true.
    pub if_exists: bool,
    /// `ForAnyValue:` or `ForAllValues:`.
    pub set: SetQualifier,
}

/// Set qualifiers for multi-valued keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetQualifier {
    /// No qualifier: the key is treated as single-valued.
    Single,
    /// `ForAnyValue:`: at least one request value must satisfy the operator.
    ForAnyValue,
    /// `ForAllValues:`: every request value must satisfy the operator (true when there are none).
    ForAllValues,
}

/// Condition operators AWS defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum OperatorBase {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

impl OperatorBase {
    /// All operators with their policy names.
    pub const ALL: [(&'static str, OperatorBase); 27] = [
        ("StringEquals", Self::StringEquals),
        ("StringNotEquals", Self::StringNotEquals),
        ("StringEqualsIgnoreCase", Self::StringEqualsIgnoreCase),
        ("StringNotEqualsIgnoreCase", Self::StringNotEqualsIgnoreCase),
        ("StringLike", Self::StringLike),
        ("StringNotLike", Self::StringNotLike),
        ("NumericEquals", Self::NumericEquals),
        ("NumericNotEquals", Self::NumericNotEquals),
        ("NumericLessThan", Self::NumericLessThan),
        ("NumericLessThanEquals", Self::NumericLessThanEquals),
        ("NumericGreaterThan", Self::NumericGreaterThan),
        ("NumericGreaterThanEquals", Self::NumericGreaterThanEquals),
        ("DateEquals", Self::DateEquals),
        ("DateNotEquals", Self::DateNotEquals),
        ("DateLessThan", Self::DateLessThan),
        ("DateLessThanEquals", Self::DateLessThanEquals),
        ("DateGreaterThan", Self::DateGreaterThan),
        ("DateGreaterThanEquals", Self::DateGreaterThanEquals),
        ("Bool", Self::Bool),
        ("BinaryEquals", Self::BinaryEquals),
        ("IpAddress", Self::IpAddress),
        ("NotIpAddress", Self::NotIpAddress),
        ("ArnEquals", Self::ArnEquals),
        ("ArnLike", Self::ArnLike),
        ("ArnNotEquals", Self::ArnNotEquals),
        ("ArnNotLike", Self::ArnNotLike),
        ("Null", Self::Null),
    ];

    /// The operator's name in policies.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, op)| *op == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }

    /// Negated operators are true when the key is absent from the request.
    pub fn is_negated(self) -> bool {
        matches!(
            self,
            Self::StringNotEquals
                | Self::StringNotEqualsIgnoreCase
                | Self::StringNotLike
                | Self::NumericNotEquals
                | Self::DateNotEquals
                | Self::NotIpAddress
                | Self::ArnNotEquals
                | Self::ArnNotLike
        )
    }

    /// Operators whose values may contain policy variables.
    pub fn allows_variables(self) -> bool {
        matches!(
            self,
            Self::StringEquals
                | Self::StringNotEquals
                | Self::StringEqualsIgnoreCase
                | Self::StringNotEqualsIgnoreCase
                | Self::StringLike
                | Self::StringNotLike
                | Self::ArnEquals
                | Self::ArnLike
                | Self::ArnNotEquals
                | Self::ArnNotLike
        )
    }
}

impl Operator {
    /// Parse an operator name such as `ForAnyValue:StringLikeIfExists`.
    pub fn parse(name: &str) -> Option<Operator> {
        let (set, rest) = if let Some(r) = strip_prefix_ci(name, "ForAnyValue:") {
            (SetQualifier::ForAnyValue, r)
        } else if let Some(r) = strip_prefix_ci(name, "ForAllValues:") {
            (SetQualifier::ForAllValues, r)
        } else {
            (SetQualifier::Single, name)
        };
        let (rest, if_exists) = match rest.len().checked_sub("IfExists".len()) {
            Some(cut)
                if rest.is_char_boundary(cut) && rest[cut..].eq_ignore_ascii_case("IfExists") =>
            {
                (&rest[..cut], true)
            }
            _ => (rest, false),
        };
        let base = OperatorBase::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(rest))
            .map(|(_, op)| *op)?;
        if base == OperatorBase::Null && if_exists {
            return None;
        }
        Some(Operator {
            base,
            if_exists,
            set,
        })
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.set {
            SetQualifier::Single => {}
            SetQualifier::ForAnyValue => f.write_str("ForAnyValue:")?,
            SetQualifier::ForAllValues => f.write_str("ForAllValues:")?,
        }
        f.write_str(self.base.name())?;
        if self.if_exists {
            f.write_str("IfExists")?;
        }
        Ok(())
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// One `operator: {key: values}` entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Condition {
    /// The operator.
    pub operator: Operator,
    /// The condition key as written (keys compare case-insensitively).
    pub key: String,
    /// The values; JSON booleans and numbers are kept in their text form.
    pub values: Vec<String>,
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The Sid, if any.
    pub sid: Option<String>,
    /// Allow or Deny.
    pub effect: Effect,
    /// Principal or NotPrincipal (resource-based and trust policies only).
    pub principal: Option<PrincipalSpec>,
    /// True when the principal element was `NotPrincipal`.
    pub not_principal: bool,
    /// Action or NotAction.
    pub actions: ActionSpec,
    /// Resource or NotResource; absent in trust policies.
    pub resources: Option<ResourceSpec>,
    /// Conditions; all must hold.
    pub conditions: Vec<Condition>,
    /// Statement keys AWS does not define (kept for the linter; moto writes some).
    pub unknown_keys: Vec<String>,
}

impl Statement {
    /// True when the statement has no conditions.
    pub fn is_unconditional(&self) -> bool {
        self.conditions.is_empty()
    }
}

/// A parse error with the JSON path of the offending element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ParseError {
    /// JSON path such as `$.Statement[2].Condition.StringEquals`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

fn err<T>(path: &str, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        path: path.to_string(),
        message: message.into(),
    })
}

impl Policy {
    /// Parse a JSON policy document.
    pub fn parse(text: &str) -> Result<Policy, ParseError> {
        let value: Value = serde_json::from_str(text).map_err(|e| ParseError {
            path: "$".into(),
            message: format!(
                "invalid JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            ),
        })?;
        Policy::from_value(&value)
    }

    /// Parse an already-decoded JSON value.
    pub fn from_value(value: &Value) -> Result<Policy, ParseError> {
        let Value::Object(obj) = value else {
            return err(
                "$",
                format!("a policy must be a JSON object, found {}", kind(value)),
            );
        };
        let mut version = PolicyVersion::Missing;
        let mut id = None;
        let mut statements = None;
        for (k, v) in obj {
            let path = format!("$.{k}");
            match k.as_str() {
                "Version" => {
                    version = match v.as_str() {
                        Some("2012-10-17") => PolicyVersion::V2012_10_17,
                        Some("2008-10-17") => PolicyVersion::V2008_10_17,
                        Some(other) => {
                            return err(&path, format!("unknown policy version {other:?}"));
                        }
                        None => return err(&path, format!("expected a string, found {}", kind(v))),
                    }
                }
                "Id" => id = Some(string(v, &path)?),
                "Statement" => {
                    statements = Some(match v {
                        Value::Array(items) => items
                            .iter()
                            .enumerate()
                            .map(|(i, s)| parse_statement(s, &format!("$.Statement[{i}]")))
                            .collect::<Result<Vec<_>, _>>()?,
                        Value::Object(_) => vec![parse_statement(v, "$.Statement")?],
                        other => {
                            return err(
                                &path,
                                format!("expected an object or a list, found {}", kind(other)),
                            );
                        }
                    })
                }
                other => return err(&path, format!("unknown policy element {other:?}")),
            }
        }
        let Some(statements) = statements else {
            return err("$", "the policy has no Statement element");
        };
        Ok(Policy {
            version,
            id,
            statements,
        })
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn string(v: &Value, path: &str) -> Result<String, ParseError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => err(path, format!("expected a string, found {}", kind(other))),
    }
}

/// A string or a list of strings.
fn string_list(v: &Value, path: &str) -> Result<Vec<String>, ParseError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| string(item, &format!("{path}[{i}]")))
            .collect(),
        other => err(
            path,
            format!(
                "expected a string or a list of strings, found {}",
                kind(other)
            ),
        ),
    }
}

/// Condition values: strings, booleans and numbers (kept as text), or a list of them.
fn scalar_list(v: &Value, path: &str) -> Result<Vec<String>, ParseError> {
    let scalar = |v: &Value, path: &str| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => err(
            path,
            format!(
                "expected a string, boolean or number, found {}",
                kind(other)
            ),
        ),
    };
    match v {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| scalar(item, &format!("{path}[{i}]")))
            .collect(),
        other => Ok(vec![scalar(other, path)?]),
    }
}

fn parse_principal(v: &Value, path: &str) -> Result<PrincipalSpec, ParseError> {
    match v {
        Value::String(s) if s == "*" => Ok(PrincipalSpec::Any),
        // A bare account id or IAM ARN: not AWS's grammar, but what emulators (moto's
        // AddPermission) store for an account principal; read it as `{"AWS": …}`.
        Value::String(s)
            if (s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()))
                || s.starts_with("arn:aws:iam::") =>
        {
            Ok(PrincipalSpec::Map(vec![(
                PrincipalKind::Aws,
                vec![s.clone()],
            )]))
        }
        Value::String(s) => err(
            path,
            format!("a string principal must be \"*\", found {s:?}"),
        ),
        Value::Object(map) => {
            let mut out = Vec::new();
            for (k, v) in map {
                let p = format!("{path}.{k}");
                let kind = match k.as_str() {
                    "AWS" => PrincipalKind::Aws,
                    "Service" => PrincipalKind::Service,
                    "Federated" => PrincipalKind::Federated,
                    "CanonicalUser" => PrincipalKind::CanonicalUser,
                    other => return err(&p, format!("unknown principal type {other:?}")),
                };
                out.push((kind, string_list(v, &p)?));
            }
            Ok(PrincipalSpec::Map(out))
        }
        other => err(
            path,
            format!("expected \"*\" or an object, found {}", kind(other)),
        ),
    }
}

fn parse_conditions(v: &Value, path: &str) -> Result<Vec<Condition>, ParseError> {
    let Value::Object(ops) = v else {
        return err(path, format!("expected an object, found {}", kind(v)));
    };
    let mut out = Vec::new();
    for (op_name, keys) in ops {
        let op_path = format!("{path}.{op_name}");
        let Some(operator) = Operator::parse(op_name) else {
            return err(&op_path, format!("unknown condition operator {op_name:?}"));
        };
        let Value::Object(keys) = keys else {
            return err(
                &op_path,
                format!("expected an object of condition keys, found {}", kind(keys)),
            );
        };
        for (key, values) in keys {
            let key_path = format!("{op_path}.{key}");
            out.push(Condition {
                operator,
                key: key.clone(),
                values: scalar_list(values, &key_path)?,
            });
        }
    }
    Ok(out)
}

fn parse_statement(v: &Value, path: &str) -> Result<Statement, ParseError> {
    let Value::Object(obj) = v else {
        return err(
            path,
            format!("a statement must be an object, found {}", kind(v)),
        );
    };
    let field = |name: &str| obj.get(name);
    let sub = |name: &str| format!("{path}.{name}");
    let effect = match field("Effect") {
        Some(Value::String(s)) if s == "Allow" => Effect::Allow,
        Some(Value::String(s)) if s == "Deny" => Effect::Deny,
        Some(Value::String(s)) => {
            return err(
                &sub("Effect"),
                format!("must be \"Allow\" or \"Deny\", found {s:?}"),
            );
        }
        Some(other) => {
            return err(
                &sub("Effect"),
                format!("expected a string, found {}", kind(other)),
            );
        }
        None => return err(path, "the statement has no Effect"),
    };
    let actions = match (field("Action"), field("NotAction")) {
        (Some(a), None) => ActionSpec {
            negated: false,
            patterns: string_list(a, &sub("Action"))?,
        },
        (None, Some(a)) => ActionSpec {
            negated: true,
            patterns: string_list(a, &sub("NotAction"))?,
        },
        (Some(_), Some(_)) => {
            return err(path, "a statement cannot have both Action and NotAction");
        }
        (None, None) => return err(path, "the statement has neither Action nor NotAction"),
    };
    let resources = match (field("Resource"), field("NotResource")) {
        (Some(r), None) => Some(ResourceSpec {
            negated: false,
            patterns: string_list(r, &sub("Resource"))?,
        }),
        (None, Some(r)) => Some(ResourceSpec {
            negated: true,
            patterns: string_list(r, &sub("NotResource"))?,
        }),
        (Some(_), Some(_)) => {
            return err(
                path,
                "a statement cannot have both Resource and NotResource",
            );
        }
        (None, None) => None,
    };
    let (principal, not_principal) = match (field("Principal"), field("NotPrincipal")) {
        (Some(p), None) => (Some(parse_principal(p, &sub("Principal"))?), false),
        (None, Some(p)) => (Some(parse_principal(p, &sub("NotPrincipal"))?), true),
        (Some(_), Some(_)) => {
            return err(
                path,
                "a statement cannot have both Principal and NotPrincipal",
            );
        }
        (None, None) => (None, false),
    };
    let conditions = match field("Condition") {
        Some(c) => parse_conditions(c, &sub("Condition"))?,
        None => Vec::new(),
    };
    let sid = match field("Sid") {
        Some(s) => Some(string(s, &sub("Sid"))?),
        None => None,
    };
    const KNOWN: [&str; 10] = [
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Principal",
        "NotPrincipal",
        "Condition",
        "Id",
    ];
    let unknown_keys = obj
        .keys()
        .filter(|k| !KNOWN.contains(&k.as_str()))
        .cloned()
        .collect();
    Ok(Statement {
        sid,
        effect,
        principal,
        not_principal,
        actions,
        resources,
        conditions,
        unknown_keys,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Policy {
        Policy::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn fails(text: &str, path: &str, fragment: &str) {
        let e = Policy::parse(text).expect_err(text);
        assert_eq!(e.path, path, "{text}: {e}");
        assert!(e.message.contains(fragment), "{text}: {e}");
    }

    #[test]
    fn real_world_forms_parse() {
        let p = ok(r#"{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#);
        assert_eq!(p.version, PolicyVersion::Missing);
        assert_eq!(p.statements.len(), 1);
        let p = ok(
            r#"{"Version":"2008-10-17","Statement":[{"Effect":"Deny","NotAction":["iam:*","sts:*"],"NotResource":"arn:aws:s3:::b"}]}"#,
        );
        assert_eq!(p.version, PolicyVersion::V2008_10_17);
        let s = &p.statements[0];
        assert!(s.actions.negated && s.resources.as_ref().unwrap().negated);
        assert_eq!(s.actions.patterns, ["iam:*", "sts:*"]);
        let p = ok(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"T","Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com","AWS":["123456789012","arn:aws:iam::111122223333:root"]},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"123456789012"},"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"s3:max-keys":10},"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":["a*","b"]}}}]}"#,
        );
        let s = &p.statements[0];
        assert_eq!(s.sid.as_deref(), Some("T"));
        assert!(s.resources.is_none());
        let PrincipalSpec::Map(m) = s.principal.as_ref().unwrap() else {
            panic!()
        };
        assert_eq!(
            m[1],
            (
                PrincipalKind::Aws,
                vec![
                    "123456789012".into(),
                    "arn:aws:iam::111122223333:root".into()
                ]
            )
        );
        assert_eq!(s.conditions.len(), 4);
        assert_eq!(s.conditions[1].values, ["true"]);
        assert_eq!(s.conditions[2].values, ["10"]);
        let op = s.conditions[3].operator;
        assert_eq!(
            (op.base, op.if_exists, op.set),
            (OperatorBase::StringLike, true, SetQualifier::ForAnyValue)
        );
        assert_eq!(op.to_string(), "ForAnyValue:StringLikeIfExists");
        let p = ok(
            r#"{"Statement":[{"Effect":"Deny","NotPrincipal":"*","Action":"*","Resource":"*","FunctionUrlAuthType":"NONE"}]}"#,
        );
        assert!(p.statements[0].not_principal);
        assert_eq!(p.statements[0].unknown_keys, ["FunctionUrlAuthType"]);
    }

    #[test]
    fn malformed_documents_name_the_path() {
        fails("[]", "$", "must be a JSON object");
        fails("{", "$", "invalid JSON");
        fails(r#"{"Version":"2012-10-17"}"#, "$", "no Statement");
        fails(
            r#"{"Version":"2019-01-01","Statement":[]}"#,
            "$.Version",
            "unknown policy version",
        );
        fails(
            r#"{"Statement":[{"Effect":"Allow","Action":"*"},{"Action":"*"}]}"#,
            "$.Statement[1]",
            "no Effect",
        );
        fails(
            r#"{"Statement":[{"Effect":"Maybe","Action":"*"}]}"#,
            "$.Statement[0].Effect",
            "Allow",
        );
        fails(
            r#"{"Statement":[{"Effect":"Allow","Action":["s3:*",7]}]}"#,
            "$.Statement[0].Action[1]",
            "a number",
        );
        fails(
            r#"{"Statement":[{"Effect":"Allow","Action":"*","NotAction":"*"}]}"#,
            "$.Statement[0]",
            "both",
        );
        fails(
            r#"{"Statement":[{"Effect":"Allow","Resource":"*"}]}"#,
            "$.Statement[0]",
            "neither",
        );
        fails(
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Condition":{"StringEqualz":{"a":"b"}}}]}"#,
            "$.Statement[0].Condition.StringEqualz",
            "unknown condition operator",
        );
        fails(
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Condition":{"StringEquals":{"a":{"b":1}}}}]}"#,
            "$.Statement[0].Condition.StringEquals.a",
            "an object",
        );
        fails(
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Principal":"me"}]}"#,
            "$.Statement[0].Principal",
            "\"*\"",
        );
        fails(
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Principal":{"Person":"x"}}]}"#,
            "$.Statement[0].Principal.Person",
            "unknown principal type",
        );
        fails(
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Condition":{"NullIfExists":{"a":"true"}}}]}"#,
            "$.Statement[0].Condition.NullIfExists",
            "unknown condition operator",
        );
    }

    #[test]
    fn a_bare_account_principal_reads_as_an_aws_principal() {
        // moto's AddPermission stores an account principal as a bare id (AWS writes {"AWS": ARN}).
        let p = Policy::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"999988887777","Action":"lambda:InvokeFunction","Resource":"*"}]}"#,
        )
        .unwrap();
        assert_eq!(
            p.statements[0].principal,
            Some(PrincipalSpec::Map(vec![(
                PrincipalKind::Aws,
                vec!["999988887777".to_string()]
            )]))
        );
    }
}

//! Condition operators evaluated against a request context.

use crate::context::{Context, substitute};
use crate::document::{Condition, OperatorBase as Op, SetQualifier};
use crate::wildcard::{Atom, arn_glob, arn_matches, glob, matches_atoms};
use std::net::IpAddr;

/// Evaluate one condition entry. `variables` says whether policy variables are substituted.
pub fn evaluate(cond: &Condition, ctx: &Context, variables: bool) -> bool {
    let op = cond.operator;
    let request = ctx.get(&cond.key);
    if op.base == Op::Null {
        let absent = request.is_none_or(|v| v.is_empty());
        return cond
            .values
            .iter()
            .any(|v| match v.to_ascii_lowercase().as_str() {
                "true" => absent,
                "false" => !absent,
                _ => false,
            });
    }
    let negated = op.base.is_negated();
    // A value whose policy variable the request lacks can match nothing; when the key is present
    // but no value is usable, the condition is false whatever the operator. (A missing key is
    // decided first, by the usual absent-key rules.)
    let vars = variables && op.base.allows_variables();
    let unusable = || {
        vars && cond
            .values
            .iter()
            .all(|v| crate::context::has_variable(v) && substitute(v, ctx, true, false).is_none())
    };
    if request.is_some_and(|v| !v.is_empty()) && unusable() {
        return false;
    }
    // Each request value is decided by the positive form (some policy value matches it) or the
    // negated form (every policy value is comparable and none matches). A value that cannot be
    // read as the operator's type (policy or request side) satisfies neither form.
    let compared = |pv: &String, v: &String| compare(op.base, pv, v, ctx, variables);
    let decide = |v: &String| {
        if negated {
            cond.values.iter().all(|pv| compared(pv, v) == Some(false))
        } else {
            cond.values.iter().any(|pv| compared(pv, v) == Some(true))
        }
    };
    match op.set {
        SetQualifier::Single => match request {
            None | Some([]) => op.if_exists || negated,
            // A single-valued operator on a multi-valued key: the positive form holds if any value
            // satisfies it, the negated form if every value does.
            Some(values) if negated => values.iter().all(decide),
            Some(values) => values.iter().any(decide),
        },
        SetQualifier::ForAnyValue => match request {
            None | Some([]) => op.if_exists,
            Some(values) => values.iter().any(decide),
        },
        SetQualifier::ForAllValues => match request {
            None | Some([]) => true,
            Some(values) => values.iter().all(decide),
        },
    }
}

/// Whether one policy value matches one request value under the positive form of `base`;
/// `None` when either cannot be read as the operator's type (a number, a date, an address).
fn compare(base: Op, pv: &str, value: &str, ctx: &Context, variables: bool) -> Option<bool> {
    let vars = variables && base.allows_variables();
    if !vars || !crate::context::has_variable(pv) {
        // Nothing to substitute: the policy value is compared as it is written.
        match base {
            Op::StringEquals | Op::StringNotEquals => return Some(pv == value),
            Op::StringEqualsIgnoreCase | Op::StringNotEqualsIgnoreCase => {
                return Some(pv.eq_ignore_ascii_case(value));
            }
            Op::StringLike | Op::StringNotLike => return Some(glob(pv, value)),
            Op::ArnEquals | Op::ArnLike | Op::ArnNotEquals | Op::ArnNotLike => {
                return Some(is_arn(value) && arn_glob(pv, value));
            }
            _ => {}
        }
    }
    Some(match base {
        Op::StringEquals | Op::StringNotEquals => {
            literal(pv, ctx, vars).is_some_and(|a| matches_atoms(&a, value, false))
        }
        Op::StringEqualsIgnoreCase | Op::StringNotEqualsIgnoreCase => {
            literal(pv, ctx, vars).is_some_and(|a| matches_atoms(&a, value, true))
        }
        Op::StringLike | Op::StringNotLike => {
            substitute(pv, ctx, vars, true).is_some_and(|a| matches_atoms(&a, value, false))
        }
        Op::ArnEquals | Op::ArnLike | Op::ArnNotEquals | Op::ArnNotLike => {
            substitute(pv, ctx, vars, true).is_some_and(|a| arn_condition_match(&a, value))
        }
        Op::NumericEquals | Op::NumericNotEquals => numeric(pv, value).map(|(p, v)| v == p)?,
        Op::NumericLessThan => numeric(pv, value).map(|(p, v)| v < p)?,
        Op::NumericLessThanEquals => numeric(pv, value).map(|(p, v)| v <= p)?,
        Op::NumericGreaterThan => numeric(pv, value).map(|(p, v)| v > p)?,
        Op::NumericGreaterThanEquals => numeric(pv, value).map(|(p, v)| v >= p)?,
        Op::DateEquals | Op::DateNotEquals => dates(pv, value).map(|(p, v)| v == p)?,
        Op::DateLessThan => dates(pv, value).map(|(p, v)| v < p)?,
        Op::DateLessThanEquals => dates(pv, value).map(|(p, v)| v <= p)?,
        Op::DateGreaterThan => dates(pv, value).map(|(p, v)| v > p)?,
        Op::DateGreaterThanEquals => dates(pv, value).map(|(p, v)| v >= p)?,
        Op::Bool => pv.eq_ignore_ascii_case(value),
        Op::BinaryEquals => pv == value,
        Op::IpAddress | Op::NotIpAddress => ip_in_cidr(pv, value)?,
        Op::Null => false,
    })
}

/// Why a policy value cannot be read by its operator (`None` when it can). Values of the
/// string, ARN, Bool and binary operators are always readable.
pub fn unreadable_value(base: Op, value: &str) -> Option<&'static str> {
    use Op::*;
    match base {
        NumericEquals
        | NumericNotEquals
        | NumericLessThan
        | NumericLessThanEquals
        | NumericGreaterThan
        | NumericGreaterThanEquals => number(value).is_none().then_some("is not a finite number"),
        DateEquals
        | DateNotEquals
        | DateLessThan
        | DateLessThanEquals
        | DateGreaterThan
        | DateGreaterThanEquals => parse_date_millis(value)
            .is_none()
            .then_some("is not a date (ISO 8601 or epoch seconds)"),
        IpAddress | NotIpAddress => cidr(value)
            .is_none()
            .then_some("is not an IP address or CIDR block"),
        _ => None,
    }
}

fn literal(pv: &str, ctx: &Context, vars: bool) -> Option<Vec<Atom>> {
    substitute(pv, ctx, vars, false)
}

/// ArnEquals/ArnLike: the value must be an ARN; segments are matched separately.
fn arn_condition_match(pattern: &[Atom], value: &str) -> bool {
    is_arn(value) && arn_matches(pattern, value)
}

/// A value with the six colon-separated parts of an ARN (what the ARN operators require).
fn is_arn(value: &str) -> bool {
    value.splitn(6, ':').count() == 6
}

fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

fn numeric(policy: &str, value: &str) -> Option<(f64, f64)> {
    Some((number(policy)?, number(value)?))
}

fn dates(policy: &str, value: &str) -> Option<(i64, i64)> {
    Some((parse_date_millis(policy)?, parse_date_millis(value)?))
}

/// Parse an ISO 8601 date or date-time (`2026-01-31`, `2026-01-31T12:00:00Z`,
/// `2026-01-31T12:00:00.123+02:00`) or epoch seconds into epoch milliseconds (UTC).
pub fn parse_date_millis(text: &str) -> Option<i64> {
    rolescope_model::Timestamp::parse_iam_date(text).map(|t| t.millis)
}

/// The condition values of `policy` that their operators cannot read, each with its statement's
/// index and an error naming its JSON path (`$.Statement[0].Condition.NotIpAddress.aws:SourceIp`)
/// and the value. AWS's policy validation reports these as errors; see docs/policy-engine.md
/// for how they evaluate.
pub fn unreadable_values(policy: &crate::Policy) -> Vec<(usize, crate::ParseError)> {
    let mut out = Vec::new();
    for (i, stmt) in policy.statements.iter().enumerate() {
        for c in &stmt.conditions {
            for v in &c.values {
                if let Some(problem) = unreadable_value(c.operator.base, v) {
                    out.push((
                        i,
                        crate::ParseError {
                            path: format!(
                                "$.Statement[{i}].Condition.{}.{}",
                                operator_name(c.operator),
                                c.key
                            ),
                            message: format!("{v:?} {problem}"),
                        },
                    ));
                }
            }
        }
    }
    out
}

/// The operator as written in a policy, e.g. `ForAnyValue:NumericLessThanIfExists`.
pub fn operator_name(op: crate::document::Operator) -> String {
    let set = match op.set {
        SetQualifier::Single => "",
        SetQualifier::ForAnyValue => "ForAnyValue:",
        SetQualifier::ForAllValues => "ForAllValues:",
    };
    let suffix = if op.if_exists { "IfExists" } else { "" };
    format!("{set}{}{suffix}", op.base.name())
}

/// A network in CIDR notation (an address alone is a /32 or /128), or `None` when the text is
/// not one.
fn cidr(text: &str) -> Option<(IpAddr, u32)> {
    let (net, prefix) = match text.trim().split_once('/') {
        Some((n, p)) => (n, Some(p)),
        None => (text.trim(), None),
    };
    let net: IpAddr = net.parse().ok()?;
    let max = if net.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok()?,
        Some(_) => return None,
    };
    (prefix <= max).then_some((net, prefix))
}

/// Whether `ip` lies in `cidr` (an address with optional `/prefix`, IPv4 or IPv6); `None`
/// when either side is not an address. An IPv4 address is never in an IPv6 network and back.
pub fn ip_in_cidr(cidr_text: &str, ip: &str) -> Option<bool> {
    let (net, prefix) = cidr(cidr_text)?;
    let ip: IpAddr = ip.trim().split('/').next().unwrap_or("").parse().ok()?;
    Some(match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix)
            };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - prefix)
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Policy;

    fn conds(json: &str) -> Vec<Condition> {
        let doc = format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"*","Condition":{json}}}}}"#
        );
        Policy::parse(&doc).unwrap().statements.remove(0).conditions
    }

    fn check(cond_json: &str, ctx: &Context, expect: bool) {
        for c in conds(cond_json) {
            assert_eq!(evaluate(&c, ctx, true), expect, "{cond_json} with {ctx:?}");
        }
    }

    #[test]
    fn string_operators() {
        let ctx = Context::new()
            .with("aws:PrincipalTag/team", "Red")
            .with("aws:username", "alice");
        check(
            r#"{"StringEquals":{"aws:PrincipalTag/team":["Blue","Red"]}}"#,
            &ctx,
            true,
        );
        check(
            r#"{"StringEquals":{"aws:PrincipalTag/team":"red"}}"#,
            &ctx,
            false,
        );
        check(
            r#"{"StringEqualsIgnoreCase":{"aws:PrincipalTag/team":"red"}}"#,
            &ctx,
            true,
        );
        check(
            r#"{"StringNotEquals":{"aws:PrincipalTag/team":"Red"}}"#,
            &ctx,
            false,
        );
        check(
            r#"{"StringNotEquals":{"aws:PrincipalTag/team":["Blue","Green"]}}"#,
            &ctx,
            true,
        );
        check(
            r#"{"StringLike":{"aws:PrincipalTag/team":"R?d"}}"#,
            &ctx,
            true,
        );
        check(
            r#"{"StringEquals":{"aws:PrincipalTag/team":"R*"}}"#,
            &ctx,
            false,
        );
        check(
            r#"{"StringNotLike":{"aws:PrincipalTag/team":"B*"}}"#,
            &ctx,
            true,
        );
        check(
            r#"{"StringEquals":{"aws:PrincipalTag/team":"${aws:username}"}}"#,
            &ctx,
            false,
        );
        check(
            r#"{"StringLike":{"aws:username":"${aws:username}"}}"#,
            &ctx,
            true,
        );
        // Missing key: positive false, negated true, IfExists true.
        check(r#"{"StringEquals":{"aws:SourceAccount":"1"}}"#, &ctx, false);
        check(
            r#"{"StringNotEquals":{"aws:SourceAccount":"1"}}"#,
            &ctx,
            true,
        );
        check(
            r#"{"StringEqualsIfExists":{"aws:SourceAccount":"1"}}"#,
            &ctx,
            true,
        );
    }

    #[test]
    fn numeric_date_bool_binary_ip_arn_null() {
        let ctx = Context::new()
            .with("s3:max-keys", "10")
            .with("aws:CurrentTime", "2026-11-28T12:00:00Z")
            .with("aws:SecureTransport", "true")
            .with("aws:SourceIp", "203.0.113.7")
            .with("aws:SourceArn", "arn:aws:s3:::bucket")
            .with("k:bin", "QmluYXJ5");
        check(r#"{"NumericLessThan":{"s3:max-keys":"11"}}"#, &ctx, true);
        check(
            r#"{"NumericLessThanEquals":{"s3:max-keys":10}}"#,
            &ctx,
            true,
        );
        check(
            r#"{"NumericGreaterThan":{"s3:max-keys":"10"}}"#,
            &ctx,
            false,
        );
        check(
            r#"{"NumericNotEquals":{"s3:max-keys":["9","11"]}}"#,
            &ctx,
            true,
        );
        check(r#"{"NumericEquals":{"s3:max-keys":"ten"}}"#, &ctx, false);
        check(
            r#"{"DateGreaterThan":{"aws:CurrentTime":"2026-11-28"}}"#,
            &ctx,
            true,
        );
        check(
            r#"{"DateLessThan":{"aws:CurrentTime":"2026-11-28T13:00:00+02:00"}}"#,
            &ctx,
            false,
        );
        check(
            r#"{"DateEquals":{"aws:CurrentTime":"1795867200"}}"#,
            &ctx,
            true,
        );
        check(r#"{"Bool":{"aws:SecureTransport":false}}"#, &ctx, false);
        check(r#"{"Bool":{"aws:SecureTransport":"true"}}"#, &ctx, true);
        check(r#"{"BinaryEquals":{"k:bin":"QmluYXJ5"}}"#, &ctx, true);
        check(
            r#"{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#,
            &ctx,
            true,
        );
        check(
            r#"{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]}}"#,
            &ctx,
            false,
        );
        check(
            r#"{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
            &ctx,
            true,
        );
        check(
            r#"{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::buck*"}}"#,
            &ctx,
            true,
        );
        check(
            r#"{"ArnEquals":{"aws:SourceArn":"arn:aws:s3:::bucket"}}"#,
            &ctx,
            true,
        );
        check(
            r#"{"ArnNotLike":{"aws:SourceArn":"arn:aws:s3:::b*"}}"#,
            &ctx,
            false,
        );
        check(r#"{"ArnLike":{"s3:max-keys":"*"}}"#, &ctx, false);
        check(r#"{"Null":{"aws:SourceAccount":"true"}}"#, &ctx, true);
        check(r#"{"Null":{"aws:SourceArn":"true"}}"#, &ctx, false);
        check(r#"{"Null":{"aws:SourceArn":"false"}}"#, &ctx, true);
    }

    #[test]
    fn set_operators() {
        let mut ctx = Context::new();
        ctx.insert("aws:TagKeys", vec!["env".into(), "team".into()]);
        check(
            r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team","cost"]}}"#,
            &ctx,
            true,
        );
        check(
            r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["env"]}}"#,
            &ctx,
            false,
        );
        check(
            r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["team"]}}"#,
            &ctx,
            true,
        );
        check(
            r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["x"]}}"#,
            &ctx,
            false,
        );
        check(
            r#"{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["env"]}}"#,
            &ctx,
            true,
        );
        check(
            r#"{"ForAllValues:StringNotEquals":{"aws:TagKeys":["env"]}}"#,
            &ctx,
            false,
        );
        // Missing key: ForAllValues is vacuously true, ForAnyValue false.
        check(
            r#"{"ForAllValues:StringEquals":{"aws:Missing":["x"]}}"#,
            &ctx,
            true,
        );
        check(
            r#"{"ForAnyValue:StringEquals":{"aws:Missing":["x"]}}"#,
            &ctx,
            false,
        );
    }

    #[test]
    fn unreadable_values_satisfy_neither_form() {
        let ctx = Context::new()
            .with("aws:SourceIp", "203.0.113.7")
            .with("aws:CurrentTime", "2026-11-28T12:00:00Z")
            .with("s3:max-keys", "10")
            .with("k:notanumber", "ten");
        for cond in [
            r#"{"IpAddress":{"aws:SourceIp":"300.1.1.1/24"}}"#,
            r#"{"NotIpAddress":{"aws:SourceIp":"300.1.1.1/24"}}"#,
            r#"{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/33"}}"#,
            r#"{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","10.0.0.0/x"]}}"#,
            r#"{"DateLessThan":{"aws:CurrentTime":"2024-02-30"}}"#,
            r#"{"DateNotEquals":{"aws:CurrentTime":"2024-02-30"}}"#,
            r#"{"NumericLessThan":{"s3:max-keys":"1e999"}}"#,
            r#"{"NumericNotEquals":{"s3:max-keys":"1e999"}}"#,
            r#"{"NumericNotEquals":{"k:notanumber":"3"}}"#,
            r#"{"ForAnyValue:NumericNotEquals":{"s3:max-keys":"NaN"}}"#,
        ] {
            check(cond, &ctx, false);
        }
        // A readable value beside an unreadable one still matches under the positive form.
        check(
            r#"{"IpAddress":{"aws:SourceIp":["300.1.1.1/24","203.0.113.0/24"]}}"#,
            &ctx,
            true,
        );
        // The absent-key rules come first: a negated operator on a missing key holds.
        check(
            r#"{"NotIpAddress":{"aws:Missing":"300.1.1.1/24"}}"#,
            &ctx,
            true,
        );
        // 2024 is a leap year; 2023 is not.
        check(
            r#"{"DateGreaterThan":{"aws:CurrentTime":"2024-02-29"}}"#,
            &ctx,
            true,
        );
        check(
            r#"{"DateGreaterThan":{"aws:CurrentTime":"2023-02-29"}}"#,
            &ctx,
            false,
        );
    }

    #[test]
    fn unreadable_values_are_listed_with_their_paths() {
        let p = Policy::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddressIfExists":{"aws:SourceIp":["10.0.0.0/8","300.1.1.1/24"]},"ForAnyValue:DateLessThan":{"k:d":"2024-02-30"},"StringEquals":{"k:s":"1e999"},"NumericEquals":{"k:n":["1e3","-0.5","1e999"]}}}]}"#,
        )
        .unwrap();
        let mut got: Vec<String> = unreadable_values(&p)
            .iter()
            .map(|(i, e)| format!("{i} {e}"))
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                "1 $.Statement[1].Condition.ForAnyValue:DateLessThan.k:d: \"2024-02-30\" is not a date (ISO 8601 or epoch seconds)",
                "1 $.Statement[1].Condition.NotIpAddressIfExists.aws:SourceIp: \"300.1.1.1/24\" is not an IP address or CIDR block",
                "1 $.Statement[1].Condition.NumericEquals.k:n: \"1e999\" is not a finite number",
            ]
        );
    }

    #[test]
    fn dates_parse() {
        assert_eq!(parse_date_millis("1970-01-01"), Some(0));
        assert_eq!(
            parse_date_millis("1970-01-02T00:00:01.5Z"),
            Some(86_401_500)
        );
        assert_eq!(
            parse_date_millis("2000-03-01T00:00:00+01:00"),
            Some(951_865_200_000)
        );
        assert_eq!(parse_date_millis("nope"), None);
        assert_eq!(parse_date_millis("2026-13-01"), None);
        assert_eq!(parse_date_millis("2024-02-30"), None);
        assert_eq!(parse_date_millis("2026-04-31T00:00:00Z"), None);
        assert!(parse_date_millis("2000-02-29").is_some());
        assert_eq!(parse_date_millis("1900-02-29"), None);
    }
}

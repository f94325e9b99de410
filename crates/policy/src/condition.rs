//! Condition operators evaluated against a request context.

use crate::context::{Context, substitute};
use crate::document::{Condition, OperatorBase as Op, SetQualifier};
use crate::wildcard::{Atom, arn_matches, matches_atoms};
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
    match op.set {
        SetQualifier::Single => match request {
            None | Some([]) => op.if_exists || negated,
            // A single-valued operator on a multi-valued key: true if any value satisfies the
            // positive form; the negated form is its complement.
            Some(values) => {
                let positive = values
                    .iter()
                    .any(|v| positive_match(op.base, &cond.values, v, ctx, variables));
                positive != negated
            }
        },
        SetQualifier::ForAnyValue => match request {
            None | Some([]) => op.if_exists,
            Some(values) => values
                .iter()
                .any(|v| positive_match(op.base, &cond.values, v, ctx, variables) != negated),
        },
        SetQualifier::ForAllValues => match request {
            None | Some([]) => true,
            Some(values) => values
                .iter()
                .all(|v| positive_match(op.base, &cond.values, v, ctx, variables) != negated),
        },
    }
}

/// The positive form of the operator: does the request value equal/match/... any policy value?
fn positive_match(
    base: Op,
    policy_values: &[String],
    value: &str,
    ctx: &Context,
    variables: bool,
) -> bool {
    let vars = variables && base.allows_variables();
    policy_values.iter().any(|pv| match base {
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
        Op::NumericEquals | Op::NumericNotEquals => numeric(pv, value).is_some_and(|(p, v)| v == p),
        Op::NumericLessThan => numeric(pv, value).is_some_and(|(p, v)| v < p),
        Op::NumericLessThanEquals => numeric(pv, value).is_some_and(|(p, v)| v <= p),
        Op::NumericGreaterThan => numeric(pv, value).is_some_and(|(p, v)| v > p),
        Op::NumericGreaterThanEquals => numeric(pv, value).is_some_and(|(p, v)| v >= p),
        Op::DateEquals | Op::DateNotEquals => dates(pv, value).is_some_and(|(p, v)| v == p),
        Op::DateLessThan => dates(pv, value).is_some_and(|(p, v)| v < p),
        Op::DateLessThanEquals => dates(pv, value).is_some_and(|(p, v)| v <= p),
        Op::DateGreaterThan => dates(pv, value).is_some_and(|(p, v)| v > p),
        Op::DateGreaterThanEquals => dates(pv, value).is_some_and(|(p, v)| v >= p),
        Op::Bool => pv.eq_ignore_ascii_case(value),
        Op::BinaryEquals => pv == value,
        Op::IpAddress | Op::NotIpAddress => ip_in_cidr(pv, value),
        Op::Null => false,
    })
}

fn literal(pv: &str, ctx: &Context, vars: bool) -> Option<Vec<Atom>> {
    substitute(pv, ctx, vars, false)
}

/// ArnEquals/ArnLike: the value must be an ARN; segments are matched separately.
fn arn_condition_match(pattern: &[Atom], value: &str) -> bool {
    if value.splitn(6, ':').count() != 6 {
        return false;
    }
    arn_matches(pattern, value)
}

fn numeric(policy: &str, value: &str) -> Option<(f64, f64)> {
    Some((policy.trim().parse().ok()?, value.trim().parse().ok()?))
}

fn dates(policy: &str, value: &str) -> Option<(i64, i64)> {
    Some((parse_date_millis(policy)?, parse_date_millis(value)?))
}

/// Parse an ISO 8601 date or date-time (`2026-01-31`, `2026-01-31T12:00:00Z`,
/// `2026-01-31T12:00:00.123+02:00`) or epoch seconds into epoch milliseconds (UTC).
pub fn parse_date_millis(text: &str) -> Option<i64> {
    rolescope_model::Timestamp::parse_iam_date(text).map(|t| t.millis)
}

/// Whether `ip` lies in `cidr` (an address with optional `/prefix`, IPv4 or IPv6).
pub fn ip_in_cidr(cidr: &str, ip: &str) -> bool {
    let (net, prefix) = match cidr.trim().split_once('/') {
        Some((n, p)) => (n, p.parse::<u32>().ok()),
        None => (cidr.trim(), None),
    };
    let (Ok(net), Ok(ip)) = (
        net.parse::<IpAddr>(),
        ip.trim().split('/').next().unwrap_or("").parse::<IpAddr>(),
    ) else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let p = prefix.unwrap_or(32);
            if p > 32 {
                return false;
            }
            let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let p = prefix.unwrap_or(128);
            if p > 128 {
                return false;
            }
            let mask = if p == 0 { 0 } else { u128::MAX << (128 - p) };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
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
    }
}

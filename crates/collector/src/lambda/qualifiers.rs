//! A lane's published versions and aliases: a version as ListFunctions lists it, the aliases of a
//! versioned function with their policies, and both attached to their functions.

use super::{LaneClient, SERVICE, get_policy};
use crate::limiter::RateClass;
use crate::org::next;
use aws_sdk_lambda as lambda;
use rolescope_model::{CollectionError, Function, Qualifier, QualifierKind};
/// A published version from a ListFunctions entry: its qualified ARN, its frozen role, and what of
/// its environment looks like a secret (values dropped here, as for `$LATEST`).
pub(super) fn version_of(f: &lambda::types::FunctionConfiguration, version: &str) -> Version {
    let vars = f.environment().and_then(|e| e.variables());
    let (_, secrets) = crate::secrets::names_and_findings(vars.into_iter().flatten());
    let function = f.function_name().unwrap_or_default().to_string();
    Version {
        arn: f
            .function_arn()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{function}:{version}")),
        function,
        qualifier: Qualifier {
            name: version.to_string(),
            kind: QualifierKind::Version,
            role_arn: f.role().map(str::to_string),
            routing: Vec::new(),
            resource_policy: None,
            unread: Vec::new(),
        },
        secrets,
    }
}

/// A published version as listed: its function's name, its qualified ARN (for errors), the
/// version, and the secret-like variables it holds.
pub(super) struct Version {
    pub(super) function: String,
    pub(super) arn: String,
    pub(super) qualifier: Qualifier,
    pub(super) secrets: Vec<rolescope_model::SecretLike>,
}

/// Attach each version and alias to its function (by name), merging the secret-like variables a
/// version holds into the function's; a function whose aliases could not all be listed is marked
/// so. Versions come first, by number, then aliases by name.
pub(super) fn attach_qualifiers(
    functions: &mut [Function],
    versions: Vec<Version>,
    aliases: std::collections::HashMap<String, (Vec<Qualifier>, bool)>,
) {
    let by_name: std::collections::HashMap<String, usize> = functions
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.clone(), i))
        .collect();
    for v in versions {
        if let Some(&i) = by_name.get(&v.function) {
            let f = &mut functions[i];
            f.qualifiers.push(v.qualifier);
            for s in v.secrets {
                if !f.secret_like_env.contains(&s) {
                    f.secret_like_env.push(s);
                }
            }
            f.secret_like_env.sort();
        }
    }
    for (name, (found, unread)) in aliases {
        if let Some(&i) = by_name.get(&name) {
            functions[i].qualifiers.extend(found);
            if unread {
                functions[i].unread.push("aliases".into());
            }
        }
    }
    for f in functions.iter_mut() {
        f.qualifiers.sort_by(|a, b| {
            let num = |q: &Qualifier| q.name.parse::<u64>().unwrap_or(u64::MAX);
            (a.kind, num(a), &a.name).cmp(&(b.kind, num(b), &b.name))
        });
    }
}

/// ListAliases (with routing weights) of one function, then GetPolicy per alias found. A failure
/// marks what it could not read and names the function (`arn`) or alias; the flag says the
/// aliases could not all be listed.
pub(super) async fn aliases(
    on: &LaneClient,
    name: &str,
    arn: &str,
    errors: &mut Vec<CollectionError>,
) -> (Vec<Qualifier>, bool) {
    let mut unread = false;
    let mut found = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = on
            .ctx
            .call(
                &on.lane,
                RateClass::LambdaControl,
                SERVICE,
                "ListAliases",
                || {
                    on.client
                        .list_aliases()
                        .function_name(name)
                        .set_marker(marker.clone())
                        .customize()
                        .config_override(on.over.clone())
                        .send()
                },
            )
            .await;
        match page {
            Ok(page) => {
                found.extend(page.aliases().iter().map(alias_of));
                marker = next(page.next_marker(), &marker);
                if marker.is_none() {
                    break;
                }
            }
            Err(mut e) => {
                e.resource_arn = Some(arn.to_string());
                errors.push(e);
                unread = true;
                break;
            }
        }
    }
    for q in found.iter_mut() {
        let qualified = format!("{arn}:{}", q.name);
        match get_policy(on, name, Some(&q.name), &qualified).await {
            Ok(policy) => q.resource_policy = policy,
            Err(mut e) => {
                e.resource_arn = Some(qualified);
                errors.push(e);
                q.unread.push("resource_policy".into());
            }
        }
    }
    (found, unread)
}

/// An alias with its routing: the primary version's share is what the additional weights leave,
/// in millionths.
pub(super) fn alias_of(a: &lambda::types::AliasConfiguration) -> Qualifier {
    let extra: Vec<(String, u32)> = a
        .routing_config()
        .and_then(|r| r.additional_version_weights())
        .map(|w| {
            let mut w: Vec<(String, u32)> = w
                .iter()
                .map(|(v, share)| (v.clone(), (share * 1e6).round() as u32))
                .collect();
            w.sort();
            w
        })
        .unwrap_or_default();
    let rest = 1_000_000u32.saturating_sub(extra.iter().map(|(_, s)| s).sum());
    let mut routing = vec![(a.function_version().unwrap_or_default().to_string(), rest)];
    routing.extend(extra);
    Qualifier {
        name: a.name().unwrap_or_default().to_string(),
        kind: QualifierKind::Alias,
        role_arn: None,
        routing,
        resource_policy: None,
        unread: Vec::new(),
    }
}

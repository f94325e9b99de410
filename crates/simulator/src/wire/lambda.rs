//! The Lambda control plane of the simulator: ListFunctions (with `FunctionVersion=ALL`),
//! ListAliases, GetPolicy per qualifier and the function URL calls.

use super::{REST_JSON, json_ok, lambda_time, rest_error};
use crate::world::SimFunction;
use crate::{HttpRequest, HttpResponse, State};
use serde_json::{Value, json};

/// Function index from a name (or ARN) in a path.
fn function_index(name: &str, region: &str) -> Option<usize> {
    let name = name.rsplit(':').next().unwrap_or(name);
    name.strip_prefix(&format!("fn-{region}-"))?.parse().ok()
}

/// A published version's ListFunctions entry: the function's configuration with the version's
/// number, qualified ARN and frozen role.
fn version_json(f: &SimFunction, version: &str, role: &str) -> Value {
    let mut v = function_json(f);
    v["Version"] = json!(version);
    v["FunctionArn"] = json!(format!("{}:{version}", f.arn));
    v["Role"] = json!(role);
    v
}

fn function_json(f: &SimFunction) -> Value {
    let env: serde_json::Map<String, Value> = f
        .environment
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({
        "FunctionName": f.name, "FunctionArn": f.arn, "Runtime": f.runtime, "Role": f.role_arn,
        "Handler": "index.handler", "CodeSize": 1024, "Description": "", "Timeout": 30,
        "MemorySize": 128, "LastModified": lambda_time(f.last_modified),
        "CodeSha256": "c2ltdWxhdGVk", "Version": "$LATEST",
        "Environment": {"Variables": env}, "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": "sim-rev", "PackageType": "Zip", "Architectures": [f.architecture],
        "EphemeralStorage": {"Size": 512},
        "Layers": f.layers.iter().map(|l| json!({"Arn": l, "CodeSize": 100})).collect::<Vec<_>>(),
    })
}

pub(super) fn lambda(
    state: &State,
    req: &HttpRequest,
    account: &str,
    region: &str,
    op: &str,
) -> HttpResponse {
    let w = &state.world;
    let (Some(ai), Some(ri)) = (w.account_index(account), w.region_index(region)) else {
        // An account or region without functions.
        return match op {
            "ListFunctions" => json_ok(REST_JSON, json!({"Functions": []})),
            "ListEventSourceMappings" => json_ok(REST_JSON, json!({"EventSourceMappings": []})),
            _ => rest_error(404, "ResourceNotFoundException", "Function not found"),
        };
    };
    let count = w.accounts[ai].functions[ri];
    let name_in_path = || {
        req.path
            .split('/')
            .skip_while(|s| *s != "functions")
            .nth(1)
            .unwrap_or_default()
            .to_string()
    };
    // GetResourcePolicy names the function by its (percent-encoded) ARN, with the qualifier
    // as the ARN's eighth field.
    let by_arn = req
        .path
        .strip_prefix(super::RESOURCE_POLICY_PATH)
        .map(|arn| {
            arn.replace("%3A", ":")
                .replace("%3a", ":")
                .replace("%24", "$")
        });
    let by_arn: Option<(String, Option<String>)> = by_arn.map(|arn| {
        let mut parts = arn.split(':').skip(6);
        let name = parts.next().unwrap_or_default().to_string();
        (name, parts.next().map(str::to_string))
    });
    let name_in_path = || match &by_arn {
        Some((name, _)) => name.clone(),
        None => name_in_path(),
    };
    let lookup = || function_index(&name_in_path(), region).filter(|&i| i < count);
    match op {
        "ListFunctions" => list_functions(w, ai, ri, count, req),
        "ListEventSourceMappings" => list_mappings(w, ai, ri, count, req),
        "ListAliases" => match lookup().map(|i| w.function(ai, ri, i)) {
            Some(f) => {
                let aliases: Vec<Value> = f
                    .aliases
                    .iter()
                    .map(|(name, version)| {
                        json!({"AliasArn": format!("{}:{name}", f.arn), "Name": name,
                               "FunctionVersion": version, "Description": "",
                               "RevisionId": "sim-rev"})
                    })
                    .collect();
                json_ok(REST_JSON, json!({"Aliases": aliases}))
            }
            None => rest_error(404, "ResourceNotFoundException", "Function not found"),
        },
        "GetPolicy" => match lookup().map(|i| w.function(ai, ri, i)) {
            Some(f) => {
                let qualifier = match &by_arn {
                    Some((_, q)) => q.clone(),
                    None => req.query.get("Qualifier").cloned(),
                };
                get_policy(qualifier.as_deref(), &f)
            }
            None => rest_error(404, "ResourceNotFoundException", "Function not found"),
        },
        "ListFunctionUrlConfigs" => match lookup().map(|i| w.function(ai, ri, i)) {
            Some(f) => url_configs(&f, region),
            None => rest_error(404, "ResourceNotFoundException", "Function not found"),
        },
        _ => rest_error(
            404,
            "ResourceNotFoundException",
            &format!("{op} is not simulated"),
        ),
    }
}

/// The page size a listing asks for (`MaxItems`), within 1 and the operation's largest.
fn max_items(req: &HttpRequest, largest: usize) -> usize {
    req.query
        .get("MaxItems")
        .and_then(|m| m.parse().ok())
        .unwrap_or(largest)
        .clamp(1, largest)
}

/// One page of ListFunctions, with the published versions after each function's `$LATEST`
/// entry when FunctionVersion=ALL.
fn list_functions(
    w: &crate::world::World,
    ai: usize,
    ri: usize,
    count: usize,
    req: &HttpRequest,
) -> HttpResponse {
    let max = max_items(req, 50);
    // The marker is `function.entry`: with FunctionVersion=ALL a function's published
    // versions follow its $LATEST entry, and a page may end between them.
    let (mut i, mut entry) = req
        .query
        .get("Marker")
        .and_then(|m| {
            let (f, e) = m.split_once('.').unwrap_or((m, "0"));
            Some((f.parse().ok()?, e.parse().ok()?))
        })
        .unwrap_or((0usize, 0usize));
    let all = req.query.get("FunctionVersion").map(String::as_str) == Some("ALL");
    let mut functions: Vec<Value> = Vec::with_capacity(max);
    while i < count && functions.len() < max {
        let f = w.function(ai, ri, i);
        let entries = if all { 1 + f.versions.len() } else { 1 };
        while entry < entries && functions.len() < max {
            functions.push(match entry {
                0 => function_json(&f),
                k => version_json(&f, &f.versions[k - 1].0, &f.versions[k - 1].1),
            });
            entry += 1;
        }
        if entry == entries {
            i += 1;
            entry = 0;
        }
    }
    let next = (i < count).then(|| format!("{i}.{entry}"));
    json_ok(
        REST_JSON,
        json!({"Functions": functions, "NextMarker": next}),
    )
}

/// One page of ListEventSourceMappings (at most 100); the marker is the next function's index.
fn list_mappings(
    w: &crate::world::World,
    ai: usize,
    ri: usize,
    count: usize,
    req: &HttpRequest,
) -> HttpResponse {
    let max = max_items(req, 100);
    let mut i: usize = req
        .query
        .get("Marker")
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let mut mappings = Vec::new();
    while i < count && mappings.len() < max {
        if let Some(queue) = w.event_source(ai, ri, i) {
            let f = w.function(ai, ri, i);
            mappings.push(json!({
                "UUID": format!("{:08x}-0000-4000-8000-{i:012}", ai),
                "EventSourceArn": queue,
                "FunctionArn": f.arn,
                "BatchSize": 10,
                "State": "Enabled",
            }));
        }
        i += 1;
    }
    let next = (i < count).then(|| i.to_string());
    json_ok(
        REST_JSON,
        json!({"EventSourceMappings": mappings, "NextMarker": next}),
    )
}

/// GetPolicy of a function or one of its qualifiers.
fn get_policy(qualifier: Option<&str>, f: &SimFunction) -> HttpResponse {
    // Each qualifier has a policy of its own: only alias prod of a versioned function has one
    // here.
    if let Some(q) = qualifier {
        let known = f.aliases.iter().any(|(n, _)| n == q) || f.versions.iter().any(|(n, _)| n == q);
        return match (&f.alias_policy, known) {
            (Some(p), true) if q == "prod" => {
                json_ok(REST_JSON, json!({"Policy": p, "RevisionId": "sim-rev"}))
            }
            _ => rest_error(
                404,
                "ResourceNotFoundException",
                "The resource you requested does not exist.",
            ),
        };
    }
    match &f.policy {
        Some(p) => json_ok(REST_JSON, json!({"Policy": p, "RevisionId": "sim-rev"})),
        None => rest_error(
            404,
            "ResourceNotFoundException",
            &format!(
                "The resource you requested does not exist. (Service: Lambda, function {})",
                f.name
            ),
        ),
    }
}

/// ListFunctionUrlConfigs: the function's own URL and its alias's.
fn url_configs(f: &SimFunction, region: &str) -> HttpResponse {
    let own = f
        .url_auth
        .iter()
        .map(|auth| (f.arn.clone(), f.name.clone(), auth));
    let alias = f
        .alias_url_auth
        .iter()
        .map(|auth| (format!("{}:prod", f.arn), format!("{}-prod", f.name), auth));
    let urls: Vec<Value> = own
        .chain(alias)
        .map(|(arn, host, auth)| {
            json!({"FunctionUrl": format!("https://{host}.lambda-url.{region}.on.aws/"),
                       "FunctionArn": arn, "AuthType": auth,
                       "CreationTime": lambda_time(f.last_modified),
                       "LastModifiedTime": lambda_time(f.last_modified)})
        })
        .collect();
    json_ok(REST_JSON, json!({"FunctionUrlConfigs": urls}))
}

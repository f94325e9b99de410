//! The protocols: routing, errors in each protocol's shape, and one handler per operation.

use crate::{HttpRequest, HttpResponse, MANAGEMENT_ACCESS_KEY, State};
use rolescope_model::Timestamp;
use serde_json::{Value, json};
use std::fmt::Write as _;

const XML: &str = "text/xml";
const AWS_JSON: &str = "application/x-amz-json-1.1";
const REST_JSON: &str = "application/json";
const PAGE_ORGS: usize = 20;

mod iam;
mod lambda;

/// Where GetResourcePolicy's requests go (`/2026-07-09/resource-policy/{ResourceArn}`).
pub const RESOURCE_POLICY_PATH: &str = "/2026-07-09/resource-policy/";

/// The operation a request names.
pub fn operation(service: &str, req: &HttpRequest) -> String {
    match service {
        "sts" | "iam" => req.form().get("Action").cloned().unwrap_or_default(),
        "organizations" => req
            .headers
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or_default()
            .to_string(),
        "lambda" => {
            let p = req.path.trim_end_matches('/');
            // GetResourcePolicy reads the same policy under the same quota: the simulator
            // serves and counts it as GetPolicy.
            if p.ends_with("/policy") || p.starts_with(RESOURCE_POLICY_PATH) {
                "GetPolicy".into()
            } else if p.ends_with("/urls") {
                "ListFunctionUrlConfigs".into()
            } else if p.ends_with("/url") {
                "GetFunctionUrlConfig".into()
            } else if p.ends_with("/functions") {
                "ListFunctions".into()
            } else if p.ends_with("/event-source-mappings") {
                "ListEventSourceMappings".into()
            } else if p.ends_with("/aliases") {
                "ListAliases".into()
            } else {
                format!("{} {}", req.method, req.path)
            }
        }
        "access-analyzer" => match req.path.as_str() {
            "/analyzer" => "ListAnalyzers".into(),
            "/findingv2" => "ListFindingsV2".into(),
            p => format!("{} {p}", req.method),
        },
        "account" => match req.path.as_str() {
            "/listRegions" => "ListRegions".into(),
            p => format!("{} {p}", req.method),
        },
        _ => format!("{} {}", req.method, req.path),
    }
}

/// The rate class of an operation (its token bucket), if any.
pub fn class(service: &str, op: &str) -> Option<&'static str> {
    Some(match (service, op) {
        ("lambda", "GetPolicy") => "lambda-policy",
        ("lambda", _) => "lambda-control",
        ("iam", _) => "iam",
        ("organizations", _) => "organizations",
        ("sts", _) => "sts",
        ("access-analyzer", _) => "access-analyzer",
        ("account", _) => "account",
        _ => return None,
    })
}

/// Requests per second of a rate class at time scale 1: Lambda's documented control-plane
/// quotas; the unpublished IAM/Organizations/STS rates at values AWS tolerates in practice.
pub fn rate(class: &str) -> f64 {
    match class {
        "lambda-policy" | "lambda-control" => 15.0,
        "sts" => 100.0,
        _ => 20.0,
    }
}

/// Global services share one lane per account.
pub fn is_global(service: &str) -> bool {
    matches!(service, "iam" | "organizations" | "sts" | "account")
}

/// The account a request's access key belongs to ("" when unknown).
pub fn account_of(state: &State, key: &str) -> String {
    if key == MANAGEMENT_ACCESS_KEY {
        return state.world.management.to_string();
    }
    match key.strip_prefix("ASIA") {
        Some(rest) if rest.len() >= 12 && rest[..12].bytes().all(|b| b.is_ascii_digit()) => {
            rest[..12].to_string()
        }
        _ => String::new(),
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// Percent-encode like IAM's query API does for policy documents.
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn iso(t: Timestamp) -> String {
    t.to_rfc3339()
}

/// Lambda's LastModified format: `2026-11-01T12:00:00.000+0000`.
fn lambda_time(t: Timestamp) -> String {
    let s = t.to_rfc3339();
    format!("{}+0000", s.trim_end_matches('Z'))
}

fn query_error(status: u16, service: &str, code: &str, message: &str) -> HttpResponse {
    let ns = if service == "sts" {
        "https://sts.amazonaws.com/doc/2011-06-15/"
    } else {
        "https://iam.amazonaws.com/doc/2010-05-08/"
    };
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    HttpResponse {
        status,
        content_type: XML,
        headers: vec![],
        body: format!(
            r#"<ErrorResponse xmlns="{ns}"><Error><Type>{kind}</Type><Code>{code}</Code><Message>{}</Message></Error><RequestId>sim</RequestId></ErrorResponse>"#,
            xml_escape(message)
        ),
    }
}

fn json_error(status: u16, code: &str, message: &str) -> HttpResponse {
    HttpResponse {
        status,
        content_type: AWS_JSON,
        headers: vec![],
        body: json!({"__type": code, "Message": message}).to_string(),
    }
}

fn rest_error(status: u16, code: &str, message: &str) -> HttpResponse {
    HttpResponse {
        status,
        content_type: REST_JSON,
        headers: vec![("x-amzn-errortype", code.to_string())],
        body: json!({"Type": "User", "message": message, "Message": message}).to_string(),
    }
}

/// The error each service answers when it throttles.
pub fn throttled(service: &str) -> HttpResponse {
    match service {
        "sts" | "iam" => query_error(400, service, "Throttling", "Rate exceeded"),
        "organizations" => json_error(400, "TooManyRequestsException", "Rate exceeded"),
        "access-analyzer" => rest_error(429, "ThrottlingException", "Rate exceeded"),
        _ => rest_error(429, "TooManyRequestsException", "Rate exceeded"),
    }
}

/// An injected server-side failure in each service's shape.
pub fn server_error(service: &str) -> HttpResponse {
    match service {
        "sts" | "iam" => query_error(500, service, "InternalFailure", "simulated failure"),
        "organizations" => json_error(500, "ServiceException", "simulated failure"),
        "access-analyzer" | "account" => {
            rest_error(500, "InternalServerException", "simulated failure")
        }
        _ => rest_error(500, "ServiceException", "simulated failure"),
    }
}

/// A refusal of `op` (the audit role lacks the permission).
pub fn access_denied(service: &str, op: &str) -> HttpResponse {
    let msg = format!("the audit role is not authorized to perform {service}:{op} (simulated)");
    match service {
        "sts" | "iam" => query_error(403, service, "AccessDenied", &msg),
        "organizations" => json_error(400, "AccessDeniedException", &msg),
        _ => rest_error(403, "AccessDeniedException", &msg),
    }
}

fn xml_ok(service: &str, op: &str, result: &str) -> HttpResponse {
    let ns = if service == "sts" {
        "https://sts.amazonaws.com/doc/2011-06-15/"
    } else {
        "https://iam.amazonaws.com/doc/2010-05-08/"
    };
    HttpResponse {
        status: 200,
        content_type: XML,
        headers: vec![],
        body: format!(
            r#"<{op}Response xmlns="{ns}"><{op}Result>{result}</{op}Result><ResponseMetadata><RequestId>sim</RequestId></ResponseMetadata></{op}Response>"#
        ),
    }
}

fn json_ok(content_type: &'static str, body: Value) -> HttpResponse {
    HttpResponse {
        status: 200,
        content_type,
        headers: vec![],
        body: body.to_string(),
    }
}

/// Route a request to its handler.
pub fn dispatch(
    state: &State,
    req: &HttpRequest,
    account: &str,
    region: &str,
    service: &str,
    op: &str,
) -> HttpResponse {
    if account.is_empty() {
        return match service {
            "sts" | "iam" => query_error(
                403,
                service,
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
            ),
            "organizations" => json_error(
                400,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ),
            _ => rest_error(
                403,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ),
        };
    }
    let regional = matches!(service, "lambda" | "access-analyzer");
    if regional && state.faults.disabled_regions.contains(region) {
        return rest_error(
            403,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        );
    }
    match service {
        "sts" => sts(state, req, account, op),
        "iam" => iam::iam(state, req, account, op),
        "organizations" => organizations(state, req, account, op),
        "lambda" => lambda::lambda(state, req, account, region, op),
        "access-analyzer" => analyzer(state, req, account, region, op),
        "account" => regions(state, op),
        _ => HttpResponse {
            status: 404,
            content_type: "text/html",
            headers: vec![],
            body: format!("<html>the simulator does not serve {service} {op}</html>"),
        },
    }
}

fn sts(state: &State, req: &HttpRequest, account: &str, op: &str) -> HttpResponse {
    let form = req.form();
    match op {
        "GetCallerIdentity" => {
            let arn = if account == state.world.management.as_str() {
                format!("arn:aws:iam::{account}:user/rolescope-demo")
            } else {
                format!(
                    "arn:aws:sts::{account}:assumed-role/{}/rolescope",
                    state.faults.audit_role
                )
            };
            xml_ok(
                "sts",
                op,
                &format!("<Arn>{arn}</Arn><UserId>AIDASIM</UserId><Account>{account}</Account>"),
            )
        }
        "AssumeRole" => {
            let role_arn = form.get("RoleArn").cloned().unwrap_or_default();
            let target = role_arn.split(':').nth(4).unwrap_or_default().to_string();
            let name = role_arn.rsplit('/').next().unwrap_or_default();
            let known = state.world.account_index(&target).is_some();
            let denied = !known
                || name != state.faults.audit_role
                || state.faults.deny_assume.contains(&target)
                || state.faults.suspended.contains(&target);
            if denied {
                return query_error(
                    403,
                    "sts",
                    "AccessDenied",
                    &format!(
                        "User: arn:aws:iam::{account}:user/rolescope-demo is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
                    ),
                );
            }
            let n = state.next();
            let expiration = Timestamp::from_millis(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(0)
                    + 3_600_000,
            );
            xml_ok(
                "sts",
                op,
                &format!(
                    "<Credentials><AccessKeyId>ASIA{target}{n:04}</AccessKeyId><SecretAccessKey>simulated</SecretAccessKey><SessionToken>sim-session-{n}</SessionToken><Expiration>{}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROASIM:rolescope</AssumedRoleId><Arn>arn:aws:sts::{target}:assumed-role/{name}/rolescope</Arn></AssumedRoleUser>",
                    iso(expiration)
                ),
            )
        }
        _ => query_error(
            400,
            "sts",
            "InvalidAction",
            &format!("{op} is not simulated"),
        ),
    }
}

/// One page of `items` after the page token (an offset), each rendered by `render`, and the next
/// token when more follow. Only the page's items are rendered: ListTargetsForPolicy of an SCP
/// attached to 10,000 accounts renders 20 targets per page, not all of them.
fn page<T>(
    items: impl Iterator<Item = T>,
    token: Option<&str>,
    size: usize,
    render: impl FnMut(T) -> Value,
) -> (Vec<Value>, Option<String>) {
    let start: usize = token.and_then(|t| t.parse().ok()).unwrap_or(0);
    let mut rest = items.skip(start);
    let items: Vec<Value> = rest.by_ref().take(size).map(render).collect();
    let next = rest
        .next()
        .is_some()
        .then(|| (start + items.len()).to_string());
    (items, next)
}

fn organizations(state: &State, req: &HttpRequest, account: &str, op: &str) -> HttpResponse {
    let w = &state.world;
    if account != w.management.as_str() {
        return json_error(
            400,
            "AccessDeniedException",
            "You don't have permissions to access this resource.",
        );
    }
    let body: Value = serde_json::from_str(&req.body).unwrap_or(json!({}));
    let token = body["NextToken"].as_str();
    let mgmt = &w.management;
    let scp_enabled = json!([{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]);
    match op {
        "DescribeOrganization" => json_ok(
            AWS_JSON,
            json!({"Organization": {
                "Id": w.org_id,
                "Arn": format!("arn:aws:organizations::{mgmt}:organization/{}", w.org_id),
                "FeatureSet": "ALL",
                "MasterAccountArn": format!("arn:aws:organizations::{mgmt}:account/{}/{mgmt}", w.org_id),
                "MasterAccountId": mgmt.as_str(),
                "MasterAccountEmail": "management@example.com",
                "AvailablePolicyTypes": scp_enabled,
            }}),
        ),
        "ListRoots" => json_ok(
            AWS_JSON,
            json!({"Roots": [{
                "Id": w.root_id,
                "Arn": format!("arn:aws:organizations::{mgmt}:root/{}/{}", w.org_id, w.root_id),
                "Name": "Root",
                "PolicyTypes": scp_enabled,
            }]}),
        ),
        "ListOrganizationalUnitsForParent" => {
            let parent = body["ParentId"].as_str().unwrap_or_default();
            let children = w
                .ous
                .iter()
                .filter(|o| o.parent_id.as_deref() == Some(parent));
            let (items, next) = page(children, token, PAGE_ORGS, |o| {
                json!({"Id": o.id, "Name": o.name,
                       "Arn": format!("arn:aws:organizations::{mgmt}:ou/{}/{}", w.org_id, o.id)})
            });
            json_ok(
                AWS_JSON,
                json!({"OrganizationalUnits": items, "NextToken": next}),
            )
        }
        "ListAccountsForParent" => {
            let parent = body["ParentId"].as_str().unwrap_or_default();
            let accounts = w.accounts.iter().filter(|a| a.parent_id == parent);
            let (items, next) = page(accounts, token, PAGE_ORGS, |a| {
                let status = if state.faults.suspended.contains(a.id.as_str()) {
                    "SUSPENDED"
                } else {
                    "ACTIVE"
                };
                json!({"Id": a.id.as_str(), "Name": a.name, "Status": status,
                       "Email": format!("{}@example.com", a.name),
                       "Arn": format!("arn:aws:organizations::{mgmt}:account/{}/{}", w.org_id, a.id),
                       "JoinedMethod": "CREATED"})
            });
            json_ok(AWS_JSON, json!({"Accounts": items, "NextToken": next}))
        }
        "ListPolicies" => {
            let filter = body["Filter"].as_str().unwrap_or_default();
            let policies = w
                .policies
                .iter()
                .filter(|_| filter == "SERVICE_CONTROL_POLICY");
            let (items, next) = page(policies, token, PAGE_ORGS, |p| summary(w, p));
            json_ok(AWS_JSON, json!({"Policies": items, "NextToken": next}))
        }
        "DescribePolicy" => {
            let id = body["PolicyId"].as_str().unwrap_or_default();
            match w.policies.iter().find(|p| p.id == id) {
                Some(p) => json_ok(
                    AWS_JSON,
                    json!({"Policy": {"PolicySummary": summary(w, p), "Content": p.document}}),
                ),
                None => json_error(400, "PolicyNotFoundException", "policy not found"),
            }
        }
        "ListTargetsForPolicy" => {
            let id = body["PolicyId"].as_str().unwrap_or_default();
            let Some(p) = w.policies.iter().find(|p| p.id == id) else {
                return json_error(400, "PolicyNotFoundException", "policy not found");
            };
            let (items, next) = page(p.targets.iter(), token, PAGE_ORGS, |t| {
                let kind = if t.starts_with("r-") {
                    "ROOT"
                } else if t.starts_with("ou-") {
                    "ORGANIZATIONAL_UNIT"
                } else {
                    "ACCOUNT"
                };
                json!({"TargetId": t, "Type": kind, "Name": t,
                       "Arn": format!("arn:aws:organizations::{mgmt}:target/{t}")})
            });
            json_ok(AWS_JSON, json!({"Targets": items, "NextToken": next}))
        }
        _ => json_error(400, "InvalidAction", &format!("{op} is not simulated")),
    }
}

fn summary(w: &crate::World, p: &crate::world::SimPolicy) -> Value {
    json!({"Id": p.id, "Name": p.name, "Description": p.name,
           "Type": "SERVICE_CONTROL_POLICY", "AwsManaged": p.id == "p-FullAWSAccess",
           "Arn": format!("arn:aws:organizations::{}:policy/{}/service_control_policy/{}", w.management, w.org_id, p.id)})
}

fn analyzer(
    state: &State,
    req: &HttpRequest,
    account: &str,
    region: &str,
    op: &str,
) -> HttpResponse {
    let w = &state.world;
    let (Some(ai), Some(ri)) = (w.account_index(account), w.region_index(region)) else {
        return json_ok(REST_JSON, json!({"analyzers": [], "findings": []}));
    };
    // One account analyzer per account, in its first region.
    let arn = format!("arn:aws:access-analyzer:{region}:{account}:analyzer/sim-analyzer");
    let created = iso(w.spec.now);
    match op {
        "ListAnalyzers" => {
            let analyzers: Vec<Value> = (ri == 0)
                .then(|| {
                    json!({"arn": arn, "name": "sim-analyzer", "type": "ACCOUNT",
                                "createdAt": created, "status": "ACTIVE"})
                })
                .into_iter()
                .collect();
            json_ok(REST_JSON, json!({"analyzers": analyzers}))
        }
        "ListFindingsV2" => {
            let body: Value = serde_json::from_str(&req.body).unwrap_or(json!({}));
            if body["analyzerArn"].as_str() != Some(arn.as_str()) || ri != 0 {
                return rest_error(404, "ResourceNotFoundException", "analyzer not found");
            }
            let findings = (0..w.accounts[ai].functions[ri])
                .map(|i| w.function(ai, ri, i))
                .filter(|f| {
                    f.policy
                        .as_deref()
                        .is_some_and(|p| p.contains(r#""Principal":"*""#))
                });
            let (items, next) = page(findings, body["nextToken"].as_str(), 50, |f| {
                json!({"id": format!("sim-{}", f.name), "resource": f.arn,
                       "resourceType": "AWS::Lambda::Function", "resourceOwnerAccount": account,
                       "status": "ACTIVE", "createdAt": created, "updatedAt": created,
                       "analyzedAt": created, "findingType": "ExternalAccess"})
            });
            json_ok(REST_JSON, json!({"findings": items, "nextToken": next}))
        }
        _ => rest_error(
            404,
            "ResourceNotFoundException",
            &format!("{op} is not simulated"),
        ),
    }
}

fn regions(state: &State, op: &str) -> HttpResponse {
    if op != "ListRegions" {
        return rest_error(
            404,
            "ResourceNotFoundException",
            &format!("{op} is not simulated"),
        );
    }
    let regions: Vec<Value> = state
        .world
        .spec
        .regions
        .iter()
        .filter(|r| !state.faults.disabled_regions.contains(*r))
        .map(|r| json!({"RegionName": r, "RegionOptStatus": "ENABLED_BY_DEFAULT"}))
        .collect();
    json_ok(REST_JSON, json!({"Regions": regions}))
}

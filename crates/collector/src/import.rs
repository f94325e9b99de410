//! Offline input: the JSON of `aws iam get-account-authorization-details` and
//! `aws lambda list-functions`, the files Cloudsplaining users already have, turned into a
//! snapshot of the same model types a scan produces.

use rolescope_model::snapshot::Snapshot;
use rolescope_model::{
    Account, AccountId, AccountStatus, CollectionError, Function, InlinePolicy, ManagedPolicy,
    OrgUnit, Role, ScanInfo, Timestamp,
};
use serde_json::Value;

/// A file that cannot be imported, naming the file and the JSON path.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {path}: {message}")]
pub struct ImportError {
    /// The file.
    pub file: String,
    /// JSON path of the problem.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// A policy document as the CLI prints it: a JSON object (or, from some tools, URL-encoded text).
fn document(v: &Value) -> Option<String> {
    match v {
        Value::Object(_) => Some(v.to_string()),
        Value::String(s) => {
            Some(rolescope_policy::decode::decode_policy_text(s).unwrap_or_else(|_| s.clone()))
        }
        _ => None,
    }
}

/// The account of an ARN, which must be the one the files are imported for.
fn owner(arn: &str, account: &AccountId) -> Result<AccountId, String> {
    match AccountId::from_arn(arn) {
        Some(a) if &a == account => Ok(a),
        Some(a) => Err(format!(
            "{arn} belongs to account {a}, not to --account-id {account}"
        )),
        None => Err(format!("{arn} names no 12-digit account")),
    }
}

/// Refuse one page of a paginated answer: imported as if whole, it would report every role or
/// function of the other pages as absent.
fn whole(root: &Value, truncated: &str, marker: &str) -> Result<(), (String, String)> {
    if !truncated.is_empty() && root[truncated] == true {
        return Err((
            format!("$.{truncated}"),
            "this is one page of several: export every page (the AWS CLI merges them unless --max-items or --no-paginate is given)".into(),
        ));
    }
    match text(&root[marker]) {
        Some(m) if !m.is_empty() => Err((
            format!("$.{marker}"),
            "this is one page of several (a continuation marker is set): export every page".into(),
        )),
        _ => Ok(()),
    }
}

/// Build a snapshot from get-account-authorization-details output (and optionally the
/// list-functions output of one region) for one account.
pub fn import(
    account: &AccountId,
    gaad_name: &str,
    gaad: &str,
    functions: Option<(&str, &str, &str)>,
) -> Result<Snapshot, ImportError> {
    let root: Value = serde_json::from_str(gaad).map_err(|e| err(gaad_name, "$", e.to_string()))?;
    whole(&root, "IsTruncated", "Marker").map_err(|(path, m)| err(gaad_name, &path, m))?;
    let roles = root["RoleDetailList"].as_array().ok_or_else(|| {
        err(
            gaad_name,
            "$.RoleDetailList",
            "missing: is this get-account-authorization-details output?".into(),
        )
    })?;
    let mut s = Snapshot::default();
    s.org_units.push(OrgUnit {
        id: "r-imported".into(),
        name: "Imported".into(),
        parent_id: None,
        path: "Imported".into(),
    });
    s.accounts.push(Account {
        account_id: account.clone(),
        name: account.to_string(),
        status: AccountStatus::Active,
        parent_id: "r-imported".into(),
        ou_path: "Imported".into(),
        scanned: true,
    });
    s.roles = roles
        .iter()
        .enumerate()
        .map(|(i, r)| role_of(gaad_name, i, r, account))
        .collect::<Result<_, _>>()?;
    s.managed_policies = managed_policies(&root, account);
    if let Some((name, region, json)) = functions {
        s.functions = import_functions(name, region, json, account)?;
    }
    s.collection_errors.push(CollectionError { resource_arn: None,
        account_id: Some(account.clone()),
        region: None,
        service: "rolescope".into(),
        operation: "Import".into(),
        error_code: "OfflineInput".into(),
        message: "imported from files: no organization, SCPs, function policies, URLs or last-accessed data".into(),
    });
    let now = Timestamp::now();
    s.scan = Some(ScanInfo {
        scan_id: format!(
            "import-{}",
            now.to_rfc3339()
                .replace([':', '-', '.'], "")
                .trim_end_matches('Z')
        ),
        started_at: now,
        finished_at: now,
        org_id: None,
        regions: functions
            .map(|(_, r, _)| vec![r.to_string()])
            .unwrap_or_default(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    });
    Ok(s)
}

fn err(file: &str, path: &str, message: String) -> ImportError {
    ImportError {
        file: file.to_string(),
        path: path.to_string(),
        message,
    }
}

/// Entry `i` of `RoleDetailList`.
fn role_of(gaad_name: &str, i: usize, r: &Value, account: &AccountId) -> Result<Role, ImportError> {
    let at = |field: &str| format!("$.RoleDetailList[{i}].{field}");
    let arn = text(&r["Arn"]).ok_or_else(|| err(gaad_name, &at("Arn"), "missing".into()))?;
    let owner = owner(&arn, account).map_err(|m| err(gaad_name, &at("Arn"), m))?;
    Ok(Role {
        account_id: owner,
        name: text(&r["RoleName"]).unwrap_or_default(),
        path: text(&r["Path"]).unwrap_or_else(|| "/".into()),
        trust_policy: document(&r["AssumeRolePolicyDocument"]).unwrap_or_else(|| "{}".into()),
        inline_policies: r["RolePolicyList"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| InlinePolicy {
                name: text(&p["PolicyName"]).unwrap_or_default(),
                document: document(&p["PolicyDocument"]).unwrap_or_else(|| "{}".into()),
            })
            .collect(),
        attached_policy_arns: r["AttachedManagedPolicies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| text(&p["PolicyArn"]))
            .collect(),
        boundary_arn: text(&r["PermissionsBoundary"]["PermissionsBoundaryArn"]),
        tags: r["Tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| Some((text(&t["Key"])?, text(&t["Value"]).unwrap_or_default())))
            .collect(),
        last_used_at: text(&r["RoleLastUsed"]["LastUsedDate"]).and_then(|t| Timestamp::parse(&t)),
        last_used_region: text(&r["RoleLastUsed"]["Region"]),
        created_at: text(&r["CreateDate"]).and_then(|t| Timestamp::parse(&t)),
        arn,
    })
}

/// The customer and AWS managed policies of `Policies`, each with its default version's
/// document (a policy without one is left out).
fn managed_policies(root: &Value, account: &AccountId) -> Vec<ManagedPolicy> {
    let mut out = Vec::new();
    for p in root["Policies"].as_array().into_iter().flatten() {
        let Some(arn) = text(&p["Arn"]) else { continue };
        let default = text(&p["DefaultVersionId"]).unwrap_or_default();
        let version = p["PolicyVersionList"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| {
                v["IsDefaultVersion"] == true
                    || text(&v["VersionId"]).as_deref() == Some(default.as_str())
            });
        let Some(doc) = version.and_then(|v| document(&v["Document"])) else {
            continue;
        };
        out.push(ManagedPolicy {
            account_id: (!arn.contains(":iam::aws:policy/")).then(|| account.clone()),
            name: text(&p["PolicyName"])
                .unwrap_or_else(|| arn.rsplit('/').next().unwrap_or_default().to_string()),
            default_version: default,
            document: doc,
            arn,
        });
    }
    out
}

/// The functions of one region's list-functions output, with their published versions as
/// qualifiers.
fn import_functions(
    name: &str,
    region: &str,
    json: &str,
    account: &AccountId,
) -> Result<Vec<Function>, ImportError> {
    let v: Value = serde_json::from_str(json).map_err(|e| err(name, "$", e.to_string()))?;
    let list = v["Functions"].as_array().ok_or_else(|| {
        err(
            name,
            "$.Functions",
            "missing: is this list-functions output?".into(),
        )
    })?;
    whole(&v, "", "NextMarker").map_err(|(path, m)| err(name, &path, m))?;
    let mut functions = Vec::new();
    let mut versions = Vec::new();
    for (i, f) in list.iter().enumerate() {
        let at = |field: &str| format!("$.Functions[{i}].{field}");
        let arn = text(&f["FunctionArn"])
            .ok_or_else(|| err(name, &at("FunctionArn"), "missing".into()))?;
        let role_arn = text(&f["Role"]).ok_or_else(|| err(name, &at("Role"), "missing".into()))?;
        let owner = owner(&arn, account).map_err(|m| err(name, &at("FunctionArn"), m))?;
        // `list-functions --function-version ALL` lists published versions as entries of
        // their own: kept as qualifiers of the function, with the role frozen into them.
        if let Some(version) = text(&f["Version"]).filter(|v| v != "$LATEST") {
            versions.push((
                text(&f["FunctionName"]).unwrap_or_default(),
                rolescope_model::Qualifier {
                    name: version,
                    kind: rolescope_model::QualifierKind::Version,
                    role_arn: Some(role_arn),
                    routing: Vec::new(),
                    resource_policy: None,
                    unread: vec!["resource_policy".into()],
                },
            ));
            continue;
        }
        functions.push(function_of(f, arn, role_arn, owner, region));
    }
    let by_name: std::collections::HashMap<String, usize> = functions
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.clone(), i))
        .collect();
    for (function, q) in versions {
        match by_name.get(&function) {
            Some(&i) => functions[i].qualifiers.push(q),
            None => {
                return Err(err(
                    name,
                    "$.Functions",
                    format!("version {} of {function} without its $LATEST entry", q.name),
                ));
            }
        }
    }
    Ok(functions)
}

/// A `$LATEST` entry of list-functions.
fn function_of(
    f: &Value,
    arn: String,
    role_arn: String,
    owner: AccountId,
    region: &str,
) -> Function {
    // The file is an edge like the SDK: values are looked at here and dropped.
    let vars: Vec<(String, String)> = f["Environment"]["Variables"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    let (env_var_names, secret_like_env) =
        crate::secrets::names_and_findings(vars.iter().map(|(k, v)| (k, v)));
    drop(vars);
    Function {
        // list-functions carries neither resource policies nor URLs: unknown, not absent.
        unread: vec!["resource_policy".into(), "urls".into()],
        account_id: owner,
        region: arn
            .split(':')
            .nth(3)
            .filter(|r| !r.is_empty())
            .unwrap_or(region)
            .into(),
        name: text(&f["FunctionName"]).unwrap_or_default(),
        role_arn: role_arn.into(),
        runtime: text(&f["Runtime"]).map(Into::into),
        architectures: f["Architectures"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| text(a).map(Into::into))
            .collect(),
        package_type: text(&f["PackageType"]).map(Into::into),
        last_modified: text(&f["LastModified"]).and_then(|t| Timestamp::parse(&t)),
        layers: f["Layers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| text(&l["Arn"]).map(Into::into))
            .collect(),
        env_var_names,
        secret_like_env,
        qualifiers: vec![],
        resource_policy: None,
        urls: vec![],
        config: Box::new(config_of(f)),
        arn,
    }
}

/// The configuration list-functions shows (as [`crate::lambda`] reads it from the SDK).
fn config_of(f: &Value) -> rolescope_model::FunctionConfig {
    let list = |v: &Value, field: &str| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| text(if field.is_empty() { x } else { &x[field] }))
            .collect()
    };
    let name = text(&f["FunctionName"]).unwrap_or_default();
    rolescope_model::FunctionConfig {
        dead_letter_arn: text(&f["DeadLetterConfig"]["TargetArn"]),
        kms_key_arn: text(&f["KMSKeyArn"]),
        tracing_mode: text(&f["TracingConfig"]["Mode"]),
        subnet_ids: list(&f["VpcConfig"]["SubnetIds"], ""),
        file_systems: list(&f["FileSystemConfigs"], "Arn"),
        log_group: crate::lambda::custom_log_group(
            &name,
            text(&f["LoggingConfig"]["LogGroup"]).as_deref(),
        ),
        event_sources: Vec::new(),
        destinations: Vec::new(),
    }
}

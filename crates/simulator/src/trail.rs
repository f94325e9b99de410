//! The simulated organization's CloudTrail: log files in the layout an organization trail
//! delivers (`AWSLogs/<org>/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz`), made of the
//! calls its functions make, with the noise a real trail has around them: people, AWS
//! services, a same-named role of another account, denied calls, records and files outside the
//! window, digest files. Data events are written only for the services the trail selects.
//!
//! Each function calls what its role's last-accessed data says it uses, on the resources its
//! policy allows; `iam:PassRole` and `logs:PutLogEvents` are never logged, as in AWS.

use crate::world::{SimRole, World, mix};
use rolescope_model::Timestamp;
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;

/// What to write.
#[derive(Debug, Clone)]
pub struct TrailSpec {
    /// Days back from the world's `now` (day 1 is yesterday).
    pub days: u32,
    /// Write every `every`-th day (and always the first and last): fewer files, same window.
    pub every: u32,
    /// Calls per function, action and written day.
    pub calls: u32,
    /// Services whose data events the trail selects (`s3`, `dynamodb`, `sqs`, `lambda`).
    pub data_events: Vec<String>,
    /// Add the noise records and files.
    pub noise: bool,
}

impl TrailSpec {
    /// The demo's trail: 90 days (a file a week per account and region), S3 data events.
    pub fn demo() -> TrailSpec {
        TrailSpec {
            days: 89,
            every: 7,
            calls: 2,
            data_events: vec!["s3".into()],
            noise: true,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrailStats {
    /// Log files (digests not counted).
    pub files: u64,
    /// Records.
    pub records: u64,
    /// Bytes of JSON before compression.
    pub bytes: u64,
}

const DAY: i64 = 86_400_000;

/// A call before it becomes a record.
struct Call {
    source: &'static str,
    name: &'static str,
    params: Value,
    resources: Vec<(String, &'static str)>,
    data: bool,
    read_only: bool,
}

/// The call a function of `role` makes for `action` (None: CloudTrail never logs it).
fn call_for(
    action: &str,
    role: &SimRole,
    account: &str,
    region: &str,
    day: &str,
    n: u32,
) -> Option<Call> {
    let bucket = match role.template_name() {
        "orders-fn" => "orders-bucket".to_string(),
        "admin-fn" => format!("admin-{account}"),
        _ => format!("reports-{account}"),
    };
    let object = |prefix: &str| format!("{prefix}/{day}/{n}.json");
    let s3_object = |name: &'static str, key: String, read_only: bool| Call {
        source: "s3.amazonaws.com",
        name,
        params: json!({"bucketName": bucket, "key": key, "Host": format!("{bucket}.s3.{region}.amazonaws.com")}),
        resources: vec![
            (format!("arn:aws:s3:::{bucket}/{key}"), "AWS::S3::Object"),
            (format!("arn:aws:s3:::{bucket}"), "AWS::S3::Bucket"),
        ],
        data: true,
        read_only,
    };
    let table = format!("arn:aws:dynamodb:{region}:{account}:table/orders");
    let queue = format!("https://sqs.{region}.amazonaws.com/{account}/jobs");
    Some(match action {
        "s3:GetObject" => s3_object("GetObject", object("in"), true),
        "s3:PutObject" => s3_object("PutObject", object("out"), false),
        "s3:ListBucket" => Call {
            source: "s3.amazonaws.com",
            name: "ListObjectsV2",
            params: json!({"bucketName": bucket, "list-type": "2", "prefix": ""}),
            resources: vec![(format!("arn:aws:s3:::{bucket}"), "AWS::S3::Bucket")],
            data: true,
            read_only: true,
        },
        "dynamodb:GetItem" | "dynamodb:PutItem" => Call {
            source: "dynamodb.amazonaws.com",
            name: if action.ends_with("GetItem") {
                "GetItem"
            } else {
                "PutItem"
            },
            params: json!({"tableName": "orders", "key": {"id": {"S": format!("{day}-{n}")}}}),
            resources: vec![(table, "AWS::DynamoDB::Table")],
            data: true,
            read_only: action.ends_with("GetItem"),
        },
        "sqs:SendMessage" | "sqs:ReceiveMessage" => Call {
            source: "sqs.amazonaws.com",
            name: if action.ends_with("SendMessage") {
                "SendMessage"
            } else {
                "ReceiveMessage"
            },
            params: json!({"queueUrl": queue}),
            resources: vec![],
            data: true,
            read_only: action.ends_with("ReceiveMessage"),
        },
        "lambda:CreateFunction" => Call {
            source: "lambda.amazonaws.com",
            name: "CreateFunction20150331",
            params: json!({
                "functionName": format!("build-{}-{n}", day.replace('/', "")),
                "runtime": "python3.12",
                "role": format!("arn:aws:iam::{account}:role/service-role/orders-fn"),
                "handler": "app.handler",
            }),
            resources: vec![],
            data: false,
            read_only: false,
        },
        "ssm:GetParameter" => Call {
            source: "ssm.amazonaws.com",
            name: "GetParameter",
            params: json!({"name": "/partner/api-key", "withDecryption": true}),
            resources: vec![],
            data: false,
            read_only: true,
        },
        "kms:Decrypt" => Call {
            source: "kms.amazonaws.com",
            name: "Decrypt",
            params: json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
            resources: vec![(
                format!("arn:aws:kms:{region}:{account}:key/1234abcd-12ab-34cd-56ef-{account}"),
                "AWS::KMS::Key",
            )],
            data: false,
            read_only: true,
        },
        _ => return None,
    })
}

/// Who made a call.
enum Caller<'a> {
    /// A session of a role: (issuer ARN, role name, session name).
    Role(&'a str, &'a str, &'a str),
    /// An IAM user.
    User(&'a str),
    /// An AWS service on the account's behalf.
    Service(&'static str),
}

fn record(
    caller: &Caller<'_>,
    account: &str,
    region: &str,
    at: i64,
    call: &Call,
    error: Option<&str>,
    seq: u64,
) -> Value {
    let h = mix(&[at as u64, seq]);
    let identity = match caller {
        Caller::Role(issuer, role, session) => {
            let issuer_account = issuer.split(':').nth(4).unwrap_or(account);
            json!({
                "type": "AssumedRole",
                "principalId": format!("AROA{:016X}:{session}", h >> 4),
                "arn": format!("arn:aws:sts::{issuer_account}:assumed-role/{role}/{session}"),
                "accountId": issuer_account,
                "accessKeyId": format!("ASIA{:016X}", h),
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": format!("AROA{:016X}", h >> 4),
                        "arn": issuer,
                        "accountId": issuer_account,
                        "userName": role,
                    },
                    "attributes": {"creationDate": Timestamp::from_millis(at - 60_000).to_rfc3339(), "mfaAuthenticated": "false"},
                },
            })
        }
        Caller::User(name) => json!({
            "type": "IAMUser",
            "principalId": format!("AIDA{:016X}", h),
            "arn": format!("arn:aws:iam::{account}:user/{name}"),
            "accountId": account,
            "userName": name,
        }),
        Caller::Service(service) => json!({"type": "AWSService", "invokedBy": service}),
    };
    let time = Timestamp::from_millis(at - at.rem_euclid(1000)).to_rfc3339();
    let mut r = json!({
        "eventVersion": "1.09",
        "userIdentity": identity,
        // CloudTrail writes whole seconds.
        "eventTime": format!("{}Z", &time[..19]),
        "eventSource": call.source,
        "eventName": call.name,
        "awsRegion": region,
        "sourceIPAddress": if matches!(caller, Caller::Service(_)) { Value::from("lambda.amazonaws.com") } else { Value::from(format!("198.51.100.{}", h % 250)) },
        "userAgent": "Boto3/1.38.3 md/Botocore#1.38.3 ua/2.1 os/linux#5.10.240 md/arch#x86_64 lang/python#3.12.9 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy",
        "requestParameters": call.params,
        "responseElements": Value::Null,
        "requestID": format!("{:016x}{:016x}", h, h.rotate_left(17)),
        "eventID": format!("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", h >> 32, h & 0xffff, (h >> 12) & 0xfff, (h >> 24) & 0xfff, h >> 16 & 0xffff_ffff_ffff),
        "readOnly": call.read_only,
        "eventType": "AwsApiCall",
        "managementEvent": !call.data,
        "recipientAccountId": account,
        "eventCategory": if call.data { "Data" } else { "Management" },
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": format!("{}.{region}.amazonaws.com", call.source.trim_end_matches(".amazonaws.com"))},
    });
    if !call.resources.is_empty() {
        r["resources"] = call
            .resources
            .iter()
            .map(|(arn, kind)| json!({"accountId": account, "type": kind, "ARN": arn}))
            .collect();
    }
    if let Some(code) = error {
        r["errorCode"] = code.into();
        r["errorMessage"] = format!(
            "User is not authorized to perform {} on the resource",
            call.name
        )
        .into();
    }
    r
}

/// Write the trail of `world` under `root` (which gets `AWSLogs/…`).
pub fn write_trail(world: &World, root: &Path, spec: &TrailSpec) -> std::io::Result<TrailStats> {
    let now = world.spec.now.millis;
    let mut days: Vec<u32> = (1..=spec.days)
        .filter(|d| *d == 1 || *d == spec.days || d % spec.every.max(1) == 0)
        .collect();
    if spec.noise {
        // A file far outside any window: listing must skip its day without reading it.
        days.push(spec.days + 120);
    }
    let mut stats = TrailStats::default();
    for (a, account) in world.accounts.iter().enumerate() {
        let id = account.id.as_str();
        for (r, region) in world.spec.regions.iter().enumerate() {
            let count = account.functions.get(r).copied().unwrap_or(0);
            if count == 0 {
                continue;
            }
            let functions: Vec<_> = (0..count).map(|i| world.function(a, r, i)).collect();
            for &day in &days {
                let start = now - i64::from(day) * DAY;
                let date = Timestamp::from_millis(start).date();
                let mut records = Vec::new();
                let mut seq = 0u64;
                for f in &functions {
                    let Some(role) = account
                        .roles
                        .iter()
                        .find(|x| f.role_arn.ends_with(&format!("role{}{}", x.path, x.name)))
                    else {
                        continue;
                    };
                    let at = |seq: u64| {
                        let h = mix(&[world.spec.seed, a as u64, u64::from(day), seq]);
                        start + (h % (DAY as u64 - 1000)) as i64
                    };
                    let lane = (id, region.as_str(), date.replace('-', "/"));
                    function_day(spec, f, role, &lane, start, &at, &mut seq, &mut records);
                    if spec.noise && seq % 3 == 1 {
                        seq += 1;
                        records.push(noise_denied(
                            f.role_arn.as_str(),
                            &role.name,
                            &f.name,
                            id,
                            region,
                            start,
                            seq,
                        ));
                    }
                }
                // The trail logs the account's other callers whether or not its functions ran.
                if spec.noise {
                    noise(
                        &mut records,
                        &functions,
                        account,
                        id,
                        region,
                        start,
                        &mut seq,
                    );
                }
                if records.is_empty() {
                    continue;
                }
                records.sort_by(|x, y| x["eventTime"].as_str().cmp(&y["eventTime"].as_str()));
                let dir = root.join(format!(
                    "AWSLogs/{}/{id}/CloudTrail/{region}/{}",
                    world.org_id,
                    date.replace('-', "/")
                ));
                std::fs::create_dir_all(&dir)?;
                let stamp = date.replace('-', "");
                let name = format!(
                    "{id}_CloudTrail_{region}_{stamp}T2355Z_{:016x}.json.gz",
                    mix(&[a as u64, r as u64, day as u64])
                );
                stats.records += records.len() as u64;
                stats.bytes += write_gz(&dir.join(name), &json!({"Records": records}))?;
                stats.files += 1;
                if spec.noise && day == 1 {
                    let digest = root.join(format!(
                        "AWSLogs/{}/{id}/CloudTrail-Digest/{region}/{}",
                        world.org_id,
                        date.replace('-', "/")
                    ));
                    std::fs::create_dir_all(&digest)?;
                    std::fs::write(
                        digest.join(format!(
                            "{id}_CloudTrail-Digest_{region}_{stamp}T2355Z.json.gz"
                        )),
                        b"not a log file",
                    )?;
                }
            }
        }
    }
    Ok(stats)
}

/// One function's calls on one day: what its role's last-accessed data says it uses, unless
/// the role was last used before that day.
#[allow(clippy::too_many_arguments)]
fn function_day(
    spec: &TrailSpec,
    f: &crate::world::SimFunction,
    role: &SimRole,
    (id, region, day): &(&str, &str, String),
    start: i64,
    at: &dyn Fn(u64) -> i64,
    seq: &mut u64,
    records: &mut Vec<Value>,
) {
    if role.last_used.is_none_or(|t| t.millis < start) {
        return;
    }
    for (_, _, actions) in &role.usage {
        for action in actions {
            for n in 0..spec.calls {
                let Some(call) = call_for(action, role, id, region, day, n) else {
                    continue;
                };
                let selected = |s: &String| call.source.starts_with(&format!("{s}."));
                if call.data && !spec.data_events.iter().any(selected) {
                    continue;
                }
                *seq += 1;
                let caller = Caller::Role(&f.role_arn, &role.name, &f.name);
                records.push(record(&caller, id, region, at(*seq), &call, None, *seq));
            }
        }
    }
}

/// A denied call of a function's role (never use): a secret it may not read.
fn noise_denied(
    role_arn: &str,
    role: &str,
    session: &str,
    account: &str,
    region: &str,
    start: i64,
    seq: u64,
) -> Value {
    let call = Call {
        source: "secretsmanager.amazonaws.com",
        name: "GetSecretValue",
        params: json!({"secretId": "prod/admin"}),
        resources: vec![],
        data: false,
        read_only: true,
    };
    record(
        &Caller::Role(role_arn, role, session),
        account,
        region,
        start + 3_600_000,
        &call,
        Some("AccessDenied"),
        seq,
    )
}

/// Calls no role of the organization made, or that must not count: a person, an AWS service,
/// a same-named role of another account, a call months before the window.
fn noise(
    records: &mut Vec<Value>,
    functions: &[crate::world::SimFunction],
    account: &crate::world::SimAccount,
    id: &str,
    region: &str,
    start: i64,
    seq: &mut u64,
) {
    let list_buckets = Call {
        source: "s3.amazonaws.com",
        name: "ListBuckets",
        params: json!({"Host": "s3.amazonaws.com"}),
        resources: vec![],
        data: false,
        read_only: true,
    };
    let assume = Call {
        source: "sts.amazonaws.com",
        name: "AssumeRole",
        params: json!({"roleSessionName": "fn"}),
        resources: vec![],
        data: false,
        read_only: true,
    };
    let get_parameter = Call {
        source: "ssm.amazonaws.com",
        name: "GetParameter",
        params: json!({"name": "/partner/api-key"}),
        resources: vec![],
        data: false,
        read_only: true,
    };
    let mut next = || {
        *seq += 1;
        *seq
    };
    records.push(record(
        &Caller::User("alice"),
        id,
        region,
        start + 7_200_000,
        &list_buckets,
        None,
        next(),
    ));
    records.push(record(
        &Caller::Service("lambda.amazonaws.com"),
        id,
        region,
        start + 7_300_000,
        &assume,
        None,
        next(),
    ));
    let first = functions.first().and_then(|f| {
        let role = account
            .roles
            .iter()
            .find(|x| f.role_arn.ends_with(&format!("/{}", x.name)))?;
        Some((f, role))
    });
    if let Some((f, role)) = first {
        {
            // The same role name and path in another account: not ours.
            let foreign = format!("arn:aws:iam::999988887777:role{}{}", role.path, role.name);
            records.push(record(
                &Caller::Role(&foreign, &role.name, &f.name),
                id,
                region,
                start + 7_400_000,
                &get_parameter,
                None,
                next(),
            ));
            // Our role, long before the window, in a current file.
            records.push(record(
                &Caller::Role(&f.role_arn, &role.name, &f.name),
                id,
                region,
                start - 400 * DAY,
                &get_parameter,
                None,
                next(),
            ));
        }
    }
}

fn write_gz(path: &Path, body: &Value) -> std::io::Result<u64> {
    let text = serde_json::to_vec(body)?;
    let file = std::fs::File::create(path)?;
    let mut gz =
        flate2::write::GzEncoder::new(std::io::BufWriter::new(file), flate2::Compression::fast());
    gz.write_all(&text)?;
    gz.finish()?.flush()?;
    Ok(text.len() as u64)
}

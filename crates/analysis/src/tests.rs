//! Check behaviour on small snapshots: positive, negative and mitigated cases.

use crate::{Settings, Severity, analyze};
use rolescope_model::snapshot::Snapshot;
use rolescope_model::{
    Account, AccountId, AccountStatus, ControlPolicy, ControlPolicyType, Function, FunctionUrl,
    InlinePolicy, ManagedPolicy, OrgUnit, Role, ScanInfo, Timestamp,
};
use rolescope_policy::catalog;

pub(crate) const ACCT: &str = "111122223333";
const LAMBDA_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
pub(crate) const NOW: i64 = 1_800_000_000_000;
/// The two statements a public function URL needs since November 2026.
pub(crate) const URL_PAIR: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"*","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"NONE"}}},{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"*","Condition":{"Bool":{"lambda:InvokedViaFunctionUrl":"true"}}}]}"#;

pub(crate) fn acct() -> AccountId {
    AccountId::new(ACCT).unwrap()
}

pub(crate) fn role(name: &str, inline: &[&str], attached: &[&str], boundary: Option<&str>) -> Role {
    Role {
        account_id: acct(),
        name: name.into(),
        arn: format!("arn:aws:iam::{ACCT}:role/{name}"),
        path: "/".into(),
        trust_policy: LAMBDA_TRUST.into(),
        inline_policies: inline
            .iter()
            .enumerate()
            .map(|(i, d)| InlinePolicy {
                name: format!("p{i}"),
                document: d.to_string(),
            })
            .collect(),
        attached_policy_arns: attached.iter().map(|s| s.to_string()).collect(),
        boundary_arn: boundary.map(str::to_string),
        tags: vec![],
        last_used_at: Some(Timestamp::from_millis(NOW - 86_400_000)),
        last_used_region: None,
        created_at: Some(Timestamp::from_millis(NOW - 400 * 86_400_000)),
    }
}

pub(crate) fn function(name: &str, role: &str) -> Function {
    Function {
        config: Default::default(),
        unread: Vec::new(),
        account_id: acct(),
        region: "eu-west-1".into(),
        name: name.into(),
        arn: format!("arn:aws:lambda:eu-west-1:{ACCT}:function:{name}"),
        role_arn: format!("arn:aws:iam::{ACCT}:role/{role}").into(),
        runtime: Some("python3.12".into()),
        architectures: vec!["x86_64".into()],
        package_type: Some("Zip".into()),
        last_modified: None,
        layers: vec![],
        env_var_names: vec![],
        secret_like_env: vec![],
        qualifiers: vec![],
        resource_policy: None,
        urls: vec![],
    }
}

pub(crate) fn snapshot(
    roles: Vec<Role>,
    functions: Vec<Function>,
    scps: &[&str],
    managed: &[(&str, &str)],
) -> Snapshot {
    let mut s = Snapshot::default();
    s.org_units.push(OrgUnit {
        id: "r-root".into(),
        name: "Root".into(),
        parent_id: None,
        path: "Root".into(),
    });
    s.accounts.push(Account {
        account_id: acct(),
        name: "a".into(),
        status: AccountStatus::Active,
        parent_id: "r-root".into(),
        ou_path: "Root".into(),
        scanned: true,
    });
    for (i, doc) in scps.iter().enumerate() {
        s.control_policies.push(ControlPolicy {
            id: format!("p-{i}"),
            name: format!("scp{i}"),
            policy_type: ControlPolicyType::ServiceControlPolicy,
            document: doc.to_string(),
            targets: vec!["r-root".into()],
        });
    }
    for (arn, doc) in managed {
        s.managed_policies.push(ManagedPolicy {
            account_id: Some(acct()),
            arn: arn.to_string(),
            name: arn.rsplit('/').next().unwrap().into(),
            default_version: "v1".into(),
            document: doc.to_string(),
        });
    }
    s.roles = roles;
    s.functions = functions;
    s.scan = Some(ScanInfo {
        scan_id: "t".into(),
        started_at: Timestamp::from_millis(NOW),
        finished_at: Timestamp::from_millis(NOW),
        org_id: None,
        regions: vec![],
        tool_version: "test".into(),
    });
    s
}

/// (check id, resource suffix, severity) of every finding.
fn found(s: &Snapshot) -> Vec<(String, String, Severity, Option<String>)> {
    analyze(catalog(), s, &Settings::default())
        .findings
        .into_iter()
        .map(|f| {
            let short = f
                .resource_arn
                .rsplit(['/', ':'])
                .next()
                .unwrap_or_default()
                .to_string();
            (f.check_id.to_string(), short, f.severity, f.mitigated_by)
        })
        .collect()
}

fn has(
    found: &[(String, String, Severity, Option<String>)],
    check: &str,
    resource: &str,
) -> Option<(Severity, Option<String>)> {
    found
        .iter()
        .find(|(c, r, _, _)| c == check && r == resource)
        .map(|(_, _, s, m)| (*s, m.clone()))
}

const ALLOW_ALL: &str = r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

#[test]
fn admin_policy_and_star_are_critical_unless_an_scp_gates_them() {
    let s = snapshot(
        vec![role(
            "admin",
            &[ALLOW_ALL],
            &["arn:aws:iam::aws:policy/AdministratorAccess"],
            None,
        )],
        vec![function("f", "admin")],
        &[ALLOW_ALL],
        &[],
    );
    let f = found(&s);
    assert_eq!(
        has(&f, "RS-ADMIN-001", "admin"),
        Some((Severity::Critical, None))
    );
    assert_eq!(
        has(&f, "RS-ADMIN-002", "admin"),
        Some((Severity::Critical, None))
    );
    assert_eq!(
        has(&f, "RS-BOUNDARY-001", "admin").map(|x| x.0),
        Some(Severity::Low)
    );
    // Dozens of unconditional live paths: critical, in one finding listing them all.
    assert_eq!(
        has(&f, "RS-PRIVESC-001", "admin").map(|x| x.0),
        Some(Severity::Critical)
    );
    assert_eq!(f.iter().filter(|x| x.0 == "RS-PRIVESC-001").count(), 1);
    // Version missing in the inline policy.
    assert!(has(&f, "RS-VALID-003", "admin").is_some());

    // An SCP that only allows logs and s3 leaves *:* mostly blocked: mitigated, info.
    let gated = snapshot(
        vec![role("admin", &[ALLOW_ALL], &[], None)],
        vec![function("f", "admin")],
        &[
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:*","s3:*"],"Resource":"*"}]}"#,
        ],
        &[],
    );
    let f = found(&gated);
    assert_eq!(
        has(&f, "RS-ADMIN-002", "admin"),
        Some((Severity::Info, Some("scp".into())))
    );
    assert!(
        f.iter()
            .filter(|x| x.0 == "RS-PRIVESC-001")
            .all(|x| x.2 == Severity::Info)
    );
}

#[test]
fn boundary_mitigates_escalation_and_an_open_boundary_is_reported() {
    let passrole = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:PassRole","lambda:CreateFunction","lambda:InvokeFunction"],"Resource":"*"}]}"#;
    let tight = (
        "arn:aws:iam::111122223333:policy/tight",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:*","Resource":"*"}]}"#,
    );
    let open = ("arn:aws:iam::111122223333:policy/open", ALLOW_ALL);
    let s = snapshot(
        vec![
            role("bounded", &[passrole], &[], Some(tight.0)),
            role("loose", &[passrole], &[], Some(open.0)),
        ],
        vec![function("a", "bounded"), function("b", "loose")],
        &[],
        &[tight, open],
    );
    let f = found(&s);
    let bounded: Vec<_> = f
        .iter()
        .filter(|x| x.0 == "RS-PRIVESC-001" && x.1 == "bounded")
        .collect();
    assert!(!bounded.is_empty());
    assert!(
        bounded
            .iter()
            .all(|x| x.2 == Severity::Info && x.3.as_deref() == Some("permission_boundary"))
    );
    assert!(has(&f, "RS-BOUNDARY-002", "bounded").is_none());
    assert!(has(&f, "RS-BOUNDARY-001", "bounded").is_none());
    assert_eq!(
        has(&f, "RS-BOUNDARY-002", "loose").map(|x| x.0),
        Some(Severity::High)
    );
    assert!(
        f.iter()
            .any(|x| x.0 == "RS-PRIVESC-001" && x.1 == "loose" && x.2 == Severity::High)
    );
    // Credentials exposure: iam:PassRole is not one; nothing reported.
    assert!(has(&f, "RS-CREDS-001", "loose").is_none());
}

#[test]
fn broad_resource_categories_only_fire_on_resource_star() {
    let broad = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutBucketPolicy","iam:CreateAccessKey","dynamodb:PutItem"],"Resource":"*"}]}"#;
    let scoped = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutBucketPolicy","iam:CreateAccessKey","dynamodb:PutItem"],"Resource":["arn:aws:s3:::b/*","arn:aws:dynamodb:eu-west-1:111122223333:table/t"]}]}"#;
    let s = snapshot(
        vec![
            role("broad", &[broad], &[], None),
            role("scoped", &[scoped], &[], None),
        ],
        vec![function("a", "broad"), function("b", "scoped")],
        &[],
        &[],
    );
    let f = found(&s);
    for check in [
        "RS-EXFIL-001",
        "RS-EXPOSE-001",
        "RS-CREDS-001",
        "RS-INFRA-001",
    ] {
        assert!(has(&f, check, "broad").is_some(), "{check} on broad");
        assert!(has(&f, check, "scoped").is_none(), "{check} on scoped");
    }
}

#[test]
fn trust_policies() {
    let mut anyone = role("anyone", &[], &[], None);
    anyone.trust_policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#.into();
    let mut cross = role("cross", &[], &[], None);
    cross.trust_policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x"}}}]}"#.into();
    let mut shared = role("shared", &[], &[], None);
    shared.trust_policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com","ec2.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#.into();
    let idle = role("idle", &[], &[], None);
    let functions = (0..6)
        .map(|i| function(&format!("f{i}"), "shared"))
        .collect();
    let s = snapshot(vec![anyone, cross, shared, idle], functions, &[], &[]);
    let f = found(&s);
    assert_eq!(
        has(&f, "RS-TRUST-001", "anyone").map(|x| x.0),
        Some(Severity::Critical)
    );
    let cross_findings: Vec<_> = f.iter().filter(|x| x.0 == "RS-TRUST-002").collect();
    assert_eq!(
        cross_findings.len(),
        1,
        "the ExternalId-guarded principal is fine: {cross_findings:?}"
    );
    assert!(has(&f, "RS-TRUST-003", "shared").is_some());
    assert!(
        has(&f, "RS-TRUST-004", "shared").is_some(),
        "ec2 trust without SourceAccount"
    );
    assert!(
        has(&f, "RS-TRUST-006", "shared").is_some(),
        "6 functions > 5"
    );
    assert!(has(&f, "RS-TRUST-005", "idle").is_some());
    assert!(has(&f, "RS-TRUST-005", "shared").is_none());
}

#[test]
fn function_exposure() {
    let mut public = function("public", "r");
    public.resource_policy = Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["lambda:InvokeFunction","lambda:InvokeFunctionUrl"],"Resource":"*"}]}"#.into());
    public.urls = vec![FunctionUrl {
        url: "https://x.lambda-url.eu-west-1.on.aws/".into(),
        auth_type: "NONE".into(),
        qualifier: None,
    }];
    public.layers = vec!["arn:aws:lambda:eu-west-1:999999999999:layer:shared:4".into()];
    let mut guarded = function("guarded", "r");
    guarded.resource_policy = Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"*","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::b"}}},{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}]}"#.into());
    guarded.urls = vec![FunctionUrl {
        url: "https://y".into(),
        auth_type: "AWS_IAM".into(),
        qualifier: None,
    }];
    guarded.layers = vec![format!("arn:aws:lambda:eu-west-1:{ACCT}:layer:own:1").into()];
    let mut other = function("other", "r");
    other.resource_policy = Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"lambda:InvokeFunction","Resource":"*"}]}"#.into());
    let s = snapshot(
        vec![role("r", &[], &[], None)],
        vec![public, guarded, other],
        &[],
        &[],
    );
    let f = found(&s);
    assert_eq!(
        has(&f, "RS-PUBLIC-001", "public").map(|x| x.0),
        Some(Severity::Critical)
    );
    assert_eq!(
        has(&f, "RS-PUBLIC-003", "public").map(|x| x.0),
        Some(Severity::High)
    );
    assert!(has(&f, "RS-LAYER-001", "public").is_some());
    for check in [
        "RS-PUBLIC-001",
        "RS-PUBLIC-002",
        "RS-PUBLIC-003",
        "RS-LAYER-001",
    ] {
        assert!(has(&f, check, "guarded").is_none(), "{check} on guarded");
    }
    assert_eq!(
        has(&f, "RS-PUBLIC-002", "other").map(|x| x.0),
        Some(Severity::High),
        "outside the organization"
    );
}

#[test]
fn validation_and_unused() {
    let typo = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObjekt","logs:CreateLogStream"],"Resource":"*"}]}"#;
    let mut old = role(
        "old",
        &[typo, "{not json"],
        &["arn:aws:iam::111122223333:policy/missing"],
        None,
    );
    old.last_used_at = None;
    let s = snapshot(vec![old], vec![], &["{broken"], &[]);
    let f = found(&s);
    assert!(f.iter().any(|x| x.0 == "RS-VALID-002" && x.1 == "old"));
    let invalid: Vec<_> = f.iter().filter(|x| x.0 == "RS-VALID-001").collect();
    // The broken inline policy, the uncollected managed policy, and the SCP (once).
    assert_eq!(invalid.len(), 3, "{invalid:?}");
    assert!(
        has(&f, "RS-UNUSED-001", "old").is_some(),
        "created 400 days ago, never used"
    );
}

#[test]
fn same_snapshot_same_findings_and_stable_ids() {
    let s = snapshot(
        vec![role(
            "admin",
            &[ALLOW_ALL],
            &["arn:aws:iam::aws:policy/AdministratorAccess"],
            None,
        )],
        vec![function("f", "admin")],
        &[],
        &[],
    );
    let a = analyze(catalog(), &s, &Settings::default());
    let b = analyze(catalog(), &s, &Settings::default());
    assert_eq!(a.findings, b.findings);
    let ids: std::collections::BTreeSet<_> = a.findings.iter().map(|f| &f.finding_id).collect();
    assert_eq!(ids.len(), a.findings.len(), "finding ids are unique");
}

#[test]
fn scores_rank_roles_and_roll_up_to_accounts_and_ous() {
    let passrole = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:PassRole","lambda:CreateFunction","lambda:InvokeFunction"],"Resource":"*"}]}"#;
    let tight = (
        "arn:aws:iam::111122223333:policy/tight",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:*","Resource":"*"}]}"#,
    );
    let logs = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/f:*"}]}"#;
    let mut public = function("public", "small");
    public.resource_policy = Some(URL_PAIR.into());
    public.urls = vec![FunctionUrl {
        url: "https://p".into(),
        auth_type: "NONE".into(),
        qualifier: None,
    }];
    let s = snapshot(
        vec![
            role(
                "admin",
                &[ALLOW_ALL],
                &["arn:aws:iam::aws:policy/AdministratorAccess"],
                None,
            ),
            role("bounded", &[passrole], &[], Some(tight.0)),
            role("loose", &[passrole], &[], None),
            role("small", &[logs], &[], Some(tight.0)),
        ],
        vec![
            function("a", "admin"),
            function("b", "bounded"),
            function("c", "loose"),
            public,
        ],
        &[],
        &[tight],
    );
    let a = analyze(catalog(), &s, &Settings::default());
    let score = |name: &str| {
        a.roles
            .iter()
            .find(|r| r.role_arn.ends_with(&format!("/{name}")))
            .map(|r| r.score.clone())
            .unwrap()
    };
    let (admin, bounded, loose, small) = (
        score("admin"),
        score("bounded"),
        score("loose"),
        score("small"),
    );
    assert_eq!(admin.level, "critical", "{admin:?}");
    assert!(
        loose.score > bounded.score,
        "a boundary lowers the score: {loose:?} vs {bounded:?}"
    );
    assert!(admin.score > loose.score);
    // The public URL raises the tiny role's score through its function.
    assert!(
        small
            .contributions
            .iter()
            .any(|c| c.factor == "public_function")
    );
    assert!(
        admin
            .contributions
            .iter()
            .any(|c| c.factor == "finding:RS-ADMIN-001")
    );
    // Roll-ups: the account and the root carry the worst score.
    assert_eq!(a.accounts.len(), 1);
    assert_eq!(
        a.accounts[0].score,
        a.roles
            .iter()
            .map(|r| r.score.score)
            .chain(a.functions.iter().map(|f| f.score))
            .max()
            .unwrap()
    );
    assert_eq!(a.org_units[0].score, a.accounts[0].score);
    let public_fn = a
        .functions
        .iter()
        .find(|f| f.id.ends_with(":public"))
        .unwrap();
    assert!(
        public_fn.score > small.score,
        "the function's own finding adds to its role's score"
    );
}

#[test]
fn checks_doc_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/checks.md");
    let want = crate::checks::checks_markdown();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(path, &want).unwrap();
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "docs/checks.md is stale: run `UPDATE_DOCS=1 cargo test -p rolescope-analysis checks_doc`"
    );
}

#[test]
fn every_check_id_is_unique_and_every_list_action_exists() {
    let ids: std::collections::BTreeSet<_> = crate::CHECKS.iter().map(|c| c.id).collect();
    assert_eq!(ids.len(), crate::CHECKS.len());
    for a in crate::checks::DATA_EXFILTRATION_ACTIONS
        .iter()
        .chain(crate::checks::BULK_READ_ACTIONS)
        .chain(crate::checks::CREDENTIAL_ACTIONS)
    {
        assert!(catalog().action(a).is_some(), "{a} is not in the catalog");
    }
}

#[test]
fn least_privilege_suggestion_keeps_only_what_was_used_and_never_widens() {
    use rolescope_model::LastAccessed;
    let policy = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"Objects","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::bucket/*"},
        {"Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:PutItem"],"Resource":"arn:aws:dynamodb:eu-west-1:111122223333:table/t"},
        {"Effect":"Allow","Action":"ec2:*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}},
        {"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}"#;
    let mut s = snapshot(
        vec![role("app", &[policy], &[], None)],
        vec![function("f", "app")],
        &[],
        &[],
    );
    let arn = format!("arn:aws:iam::{ACCT}:role/app");
    let recent = Some(Timestamp::from_millis(NOW - 5 * 86_400_000));
    let la = |service: &str, at: Option<Timestamp>, actions: Vec<(String, Option<Timestamp>)>| {
        LastAccessed {
            role_arn: arn.clone(),
            service: service.into(),
            last_accessed_at: at,
            actions,
        }
    };
    s.last_accessed = vec![
        la(
            "s3",
            recent,
            vec![
                ("s3:GetObject".into(), recent),
                ("s3:PutObject".into(), None),
            ],
        ),
        la("dynamodb", recent, vec![]),
        la("ec2", None, vec![]),
    ];
    let a = analyze(catalog(), &s, &Settings::default());
    let r = &a.roles[0];
    assert_eq!(r.unused_services.as_deref(), Some(&["ec2".to_string()][..]));
    let text = r.suggested_policy.as_deref().expect("a suggestion");
    let suggestion: serde_json::Value = serde_json::from_str(text).unwrap();
    let stmts = suggestion["Statement"].as_array().unwrap();
    assert_eq!(stmts.len(), 3, "ec2 (unused) dropped: {suggestion:#}");
    let s3 = &stmts[0];
    assert_eq!(
        s3["Resource"], "arn:aws:s3:::bucket/*",
        "resources stay as narrow as they were"
    );
    let s3_actions: Vec<&str> = s3["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(s3_actions.contains(&"s3:GetObject"));
    assert!(!s3_actions.contains(&"s3:PutObject"), "tracked and unused");
    assert!(!s3_actions.contains(&"s3:*"));
    assert_eq!(
        stmts[1]["Action"],
        serde_json::json!(["dynamodb:GetItem", "dynamodb:PutItem"])
    );
    assert_eq!(stmts[2]["Effect"], "Deny");
    // Valid for our own parser, and the engine agrees it allows nothing new.
    let parsed = rolescope_policy::Policy::parse(text).unwrap();
    let current = rolescope_policy::Policy::parse(policy).unwrap();
    assert!(crate::suggest::is_subset(
        catalog(),
        std::slice::from_ref(&current),
        &parsed
    ));
    let wider = rolescope_policy::Policy::parse(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}]}"#).unwrap();
    assert!(
        !crate::suggest::is_subset(catalog(), &[current], &wider),
        "the check can fail"
    );
    // Unused ec2 is also a finding.
    assert!(found(&s).iter().any(|f| f.0 == "RS-UNUSED-002"));
}

#[test]
fn bulk_reads_and_access_analyzer_findings() {
    use rolescope_model::AccessFinding;
    let bulk = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Decrypt","dynamodb:Scan"],"Resource":"*"}]}"#;
    let scoped = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Decrypt","dynamodb:Scan"],"Resource":["arn:aws:kms:eu-west-1:111122223333:key/k","arn:aws:dynamodb:eu-west-1:111122223333:table/t"]}]}"#;
    let mut s = snapshot(
        vec![
            role("bulk", &[bulk], &[], None),
            role("scoped", &[scoped], &[], None),
        ],
        vec![function("a", "bulk"), function("b", "scoped")],
        &[],
        &[],
    );
    let finding = |id: &str, status: &str, kind: &str| AccessFinding {
        account_id: acct(),
        region: "eu-west-1".into(),
        id: id.into(),
        resource_arn: format!("arn:aws:lambda:eu-west-1:{ACCT}:function:a"),
        finding_type: kind.into(),
        status: status.into(),
        detail: "{}".into(),
    };
    s.access_findings = vec![
        finding("f-1", "ACTIVE", "ExternalAccess"),
        finding("f-2", "ARCHIVED", "ExternalAccess"),
        finding("f-3", "ACTIVE", "UnusedPermission"),
    ];
    let f = found(&s);
    assert_eq!(
        has(&f, "RS-EXFIL-002", "bulk").map(|x| x.0),
        Some(Severity::Low)
    );
    assert!(has(&f, "RS-EXFIL-002", "scoped").is_none());
    assert!(
        has(&f, "RS-EXFIL-001", "bulk").is_none(),
        "kms/dynamodb are not the classic list"
    );
    let aa: Vec<_> = f.iter().filter(|x| x.0 == "RS-AA-001").collect();
    assert_eq!(aa.len(), 2, "archived findings are not reported: {aa:?}");
    assert!(aa.iter().any(|x| x.2 == Severity::High));
    assert!(
        aa.iter().any(|x| x.2 == Severity::Low),
        "unused-access findings rank low"
    );
}

#[test]
fn resource_of_another_service_is_a_validation_finding() {
    let wrong = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:s3:::bucket/*"}]}"#;
    let right = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","s3:GetObject"],"Resource":["arn:aws:iam::111122223333:role/x","arn:aws:s3:::bucket/*"]}]}"#;
    let unrestrictable = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"arn:aws:iam::111122223333:role/x"}]}"#;
    let s = snapshot(
        vec![
            role("wrong", &[wrong], &[], None),
            role("right", &[right], &[], None),
            role("noarn", &[unrestrictable], &[], None),
        ],
        vec![],
        &[],
        &[],
    );
    let f = found(&s);
    assert!(has(&f, "RS-VALID-004", "wrong").is_some());
    assert!(has(&f, "RS-VALID-004", "right").is_none());
    // Actions the reference lists without resource types: no opinion (AWS's own policies scope
    // some of them to ARNs).
    assert!(has(&f, "RS-VALID-004", "noarn").is_none());
}

#[test]
fn grant_rows_label_status_level_scope_and_last_use() {
    use rolescope_model::LastAccessed;
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::b/*"},{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}]}"#;
    let boundary = (
        "arn:aws:iam::111122223333:policy/b",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
    );
    let mut s = snapshot(
        vec![role("app", &[policy], &[], Some(boundary.0))],
        vec![],
        &[],
        &[boundary],
    );
    let arn = format!("arn:aws:iam::{ACCT}:role/app");
    let used = Timestamp::from_millis(NOW - 86_400_000);
    s.last_accessed = vec![LastAccessed {
        role_arn: arn.clone(),
        service: "s3".into(),
        last_accessed_at: Some(used),
        actions: vec![
            ("s3:GetObject".into(), Some(used)),
            ("s3:PutObject".into(), None),
        ],
    }];
    let rows = crate::role_grants(catalog(), &s, &arn).unwrap();
    assert_eq!(rows.len(), 3);
    let row = |a: &str| rows.iter().find(|r| r.action == a).unwrap();
    let get = row("s3:GetObject");
    assert_eq!(get.access_level, "Read");
    assert_eq!(get.resources, vec!["arn:aws:s3:::b/*"]);
    assert_eq!(get.last_used_at, Some(used));
    assert_eq!(get.granted_by, vec!["p0"]);
    assert_eq!(
        row("s3:PutObject").last_used_at,
        None,
        "tracked and never used"
    );
    let pass = row("iam:PassRole");
    assert_eq!(
        pass.status,
        rolescope_policy::summary::GrantStatus::BlockedByBoundary
    );
    assert_eq!(pass.resources, vec!["*"]);
    assert!(crate::role_grants(catalog(), &s, "arn:aws:iam::1:role/none").is_none());
}

#[test]
fn a_role_says_what_of_it_could_not_be_read() {
    let s3 = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    let missing = format!("arn:aws:iam::{ACCT}:policy/never-collected");
    let mut s = snapshot(
        vec![
            role("whole", &[s3], &[], None),
            role("no-policy", &[s3], &[&missing], None),
            role("no-report", &[s3], &[], None),
            role(
                "malformed",
                &[r#"{"Statement":[{"Effect":"Allow"}]}"#],
                &[],
                None,
            ),
        ],
        vec![],
        &[],
        &[],
    );
    let report_failed = |arn: &str, op: &str| rolescope_model::CollectionError {
        account_id: Some(acct()),
        region: None,
        service: "iam".into(),
        operation: op.into(),
        error_code: "Timeout".into(),
        message: "job not finished".into(),
        resource_arn: Some(arn.into()),
    };
    s.collection_errors = vec![
        report_failed(
            &format!("arn:aws:iam::{ACCT}:role/no-report"),
            "GetServiceLastAccessedDetails",
        ),
        // About the managed policy, not a role: it marks no role by itself.
        report_failed(&missing, "GetPolicy"),
    ];
    let a = analyze(catalog(), &s, &Settings::default());
    let unread: Vec<(&str, Vec<&str>)> = a
        .roles
        .iter()
        .map(|r| {
            (
                r.role_arn.rsplit('/').next().unwrap(),
                r.unread.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        unread,
        [
            ("malformed", vec![]),
            ("no-policy", vec!["policies"]),
            ("no-report", vec!["last_accessed"]),
            ("whole", vec![]),
        ],
        "a malformed document is read (and judged RS-VALID-001); a missing one is unknown"
    );
}

#[test]
fn a_public_alias_counts_for_the_role_of_the_version_it_runs() {
    use rolescope_model::{Qualifier, QualifierKind};
    let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
    let scoped = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"arn:aws:dynamodb:eu-west-1:111122223333:table/orders"}]}"#;
    let mut f = function("orders", "scoped");
    f.qualifiers = vec![
        Qualifier {
            name: "1".into(),
            kind: QualifierKind::Version,
            role_arn: Some(format!("arn:aws:iam::{ACCT}:role/old-admin")),
            routing: vec![],
            resource_policy: None,
            unread: vec![],
        },
        Qualifier {
            name: "prod".into(),
            kind: QualifierKind::Alias,
            role_arn: None,
            routing: vec![("1".into(), 1_000_000)],
            resource_policy: Some(URL_PAIR.into()),
            unread: vec![],
        },
    ];
    f.urls = vec![FunctionUrl {
        url: "https://orders.lambda-url.eu-west-1.on.aws/".into(),
        auth_type: "NONE".into(),
        qualifier: Some("prod".into()),
    }];
    let s = snapshot(
        vec![
            role("scoped", &[scoped], &[], None),
            role("old-admin", &[], &[admin], None),
        ],
        vec![f],
        &[],
        &[],
    );
    let a = analyze(catalog(), &s, &Settings::default());
    let score = |name: &str| {
        a.roles
            .iter()
            .find(|r| r.role_arn.ends_with(&format!("/{name}")))
            .unwrap()
    };
    let factors = |name: &str| -> Vec<String> {
        score(name)
            .score
            .contributions
            .iter()
            .map(|c| c.factor.clone())
            .collect()
    };
    // The URL on alias prod invokes version 1, which runs as old-admin: old-admin is the role of
    // a public function, and it is in use (no "used by no function" finding); $LATEST's role is not public.
    assert!(factors("old-admin").contains(&"public_function".to_string()));
    assert!(!factors("scoped").contains(&"public_function".to_string()));
    assert_eq!(score("old-admin").function_count, 1);
    assert!(
        !a.findings
            .iter()
            .any(|f| f.check_id == "RS-TRUST-005" && f.resource_arn.ends_with("/old-admin"))
    );
    let url = a
        .findings
        .iter()
        .find(|f| f.check_id == "RS-PUBLIC-003")
        .unwrap();
    assert_eq!(
        url.resource_arn,
        format!("arn:aws:lambda:eu-west-1:{ACCT}:function:orders:prod")
    );
    // The function is as risky as the riskiest role it runs as.
    let function = &a.functions[0];
    assert!(
        function.score >= score("old-admin").score.score,
        "{function:?}"
    );
}

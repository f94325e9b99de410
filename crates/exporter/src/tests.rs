//! Schemas, generated files, round trips and atomic writes.

use crate::table::{Row, Value, batch};
use crate::tables::*;
use crate::{Destination, ddl, export, writer};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rolescope_model::snapshot::Snapshot;
use rolescope_model::{
    Account, AccountId, AccountStatus, Function, LastAccessed, OrgUnit, Role, ScanInfo, Timestamp,
};
use std::path::PathBuf;

fn temp(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("rolescope-exporter-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Evaluate and export, as the pipeline does.
fn export_all(
    s: &Snapshot,
    a: &rolescope_analysis::Analysis,
    out: &Destination,
) -> Result<Vec<String>, crate::ExportError> {
    let ev = rolescope_analysis::Evaluated::new(cat(), s, 90);
    let mut files = export(&ev, a, None, out)?;
    files.push(crate::commit(&ev, a, out)?);
    Ok(files)
}

fn cat() -> &'static rolescope_policy::Catalog {
    rolescope_policy::catalog()
}

fn read_table(out: &std::path::Path, table: &str) -> Vec<arrow_array::RecordBatch> {
    let path = out.join(writer::table_key(table, "2027-01-15", "scan-1"));
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap())
        .unwrap()
        .with_batch_size(1 << 20)
        .build()
        .unwrap();
    reader.map(|b| b.unwrap()).collect()
}

fn snapshot() -> Snapshot {
    let acct = AccountId::new("000123456789").unwrap();
    let mut s = Snapshot::default();
    s.org_units.push(OrgUnit {
        id: "r-1".into(),
        name: "Root".into(),
        parent_id: None,
        path: "Root".into(),
    });
    s.accounts.push(Account {
        account_id: acct.clone(),
        name: "prod".into(),
        status: AccountStatus::Active,
        parent_id: "r-1".into(),
        ou_path: "Root".into(),
        scanned: true,
    });
    s.roles.push(Role {
        account_id: acct.clone(),
        name: "app".into(),
        arn: "arn:aws:iam::000123456789:role/app".into(),
        path: "/".into(),
        trust_policy: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#.into(),
        inline_policies: vec![rolescope_model::InlinePolicy {
            name: "all".into(),
            document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#.into(),
        }],
        attached_policy_arns: vec![],
        boundary_arn: None,
        tags: vec![],
        last_used_at: Some(Timestamp::from_millis(1_790_000_000_123)),
        last_used_region: None,
        created_at: None,
    });
    s.roles.push(Role {
        name: "narrow".into(),
        arn: "arn:aws:iam::000123456789:role/narrow".into(),
        inline_policies: vec![rolescope_model::InlinePolicy {
            name: "reader".into(),
            document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket","iam:PassRole"],"Resource":"*"}]}"#.into(),
        }],
        ..s.roles[0].clone()
    });
    s.last_accessed.push(LastAccessed {
        role_arn: "arn:aws:iam::000123456789:role/narrow".into(),
        service: "s3".into(),
        last_accessed_at: Some(Timestamp::from_millis(1_799_000_000_000)),
        actions: vec![
            (
                "s3:GetObject".into(),
                Some(Timestamp::from_millis(1_799_000_000_000)),
            ),
            ("s3:ListBucket".into(), None),
        ],
    });
    s.functions.push(Function {
        config: Default::default(),
        unread: Vec::new(),
        account_id: acct,
        region: "eu-west-1".into(),
        name: "f".into(),
        arn: "arn:aws:lambda:eu-west-1:000123456789:function:f".into(),
        role_arn: "arn:aws:iam::000123456789:role/app".into(),
        runtime: Some("python3.12".into()),
        architectures: vec!["arm64".into()],
        package_type: Some("Zip".into()),
        last_modified: Some(Timestamp::from_millis(1_790_000_000_456)),
        layers: vec![],
        env_var_names: vec!["STAGE".into()],
        secret_like_env: vec![],
        qualifiers: vec![],
        // What a public URL needs since November 2026: both statements.
        resource_policy: Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"*","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"NONE"}}},{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"*","Condition":{"Bool":{"lambda:InvokedViaFunctionUrl":"true"}}}]}"#.into()),
        urls: vec![rolescope_model::FunctionUrl {
            url: "https://u".into(),
            auth_type: "NONE".into(),
            qualifier: None,
        }],
    });
    s.scan = Some(ScanInfo {
        scan_id: "scan-1".into(),
        started_at: Timestamp::from_millis(1_800_000_000_000),
        finished_at: Timestamp::from_millis(1_800_000_060_000),
        org_id: Some("o-abc".into()),
        regions: vec!["eu-west-1".into()],
        tool_version: "test".into(),
    });
    s
}

#[test]
fn every_batch_carries_its_tables_schema() {
    let s = snapshot();
    let a = rolescope_analysis::analyze(rolescope_policy::catalog(), &s, &Default::default());
    let out = temp("schemas");
    let files = export_all(&s, &a, &Destination::local(&out)).unwrap();
    // scp_recommendations is written by `scp::export_scp`, tested below.
    let tables: Vec<_> = TABLES
        .iter()
        .filter(|t| t.name != "scp_recommendations")
        .collect();
    assert_eq!(files.len(), tables.len());
    // scan_runs, the commit record, is the last file written.
    assert!(files.last().unwrap().contains("scan_runs"), "{files:?}");
    for def in tables {
        let dir = out.join(def.name).join("dt=2027-01-15");
        let file = files
            .iter()
            .find(|f| std::path::Path::new(f).starts_with(&dir))
            .unwrap_or_else(|| panic!("no file for {}", def.name));
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(file).unwrap()).unwrap();
        assert_eq!(reader.schema().as_ref(), &def.schema(), "{}", def.name);
    }
}

#[test]
fn round_trip_keeps_ids_types_and_values() {
    let s = snapshot();
    let a = rolescope_analysis::analyze(rolescope_policy::catalog(), &s, &Default::default());
    let out = temp("roundtrip");
    export_all(&s, &a, &Destination::local(&out)).unwrap();
    let read = |table: &str| read_table(&out, table);
    use arrow_array::{Array, BooleanArray, StringArray, TimestampMillisecondArray};
    let accounts = read("accounts");
    let ids = accounts[0]
        .column(1)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!(
        ids.value(0),
        "000123456789",
        "leading zeros survive: account ids are strings"
    );
    let functions = read("functions");
    let f = &functions[0];
    let modified = f
        .column_by_name("last_modified")
        .unwrap()
        .as_any()
        .downcast_ref::<TimestampMillisecondArray>()
        .unwrap();
    assert_eq!(modified.value(0), 1_790_000_000_456);
    let public = f
        .column_by_name("public_access")
        .unwrap()
        .as_any()
        .downcast_ref::<BooleanArray>()
        .unwrap();
    assert!(public.value(0), "URL with AuthType NONE");
    let findings = read("findings");
    assert_eq!(findings[0].num_rows(), a.findings.len());
    let roles = read("roles");
    let level = roles[0]
        .column_by_name("risk_level")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!(level.value(0), "critical");
    assert!(
        roles[0]
            .column_by_name("suggested_policy")
            .unwrap()
            .is_null(0)
    );
}

#[test]
fn rerun_with_the_same_scan_id_replaces_and_failed_writes_leave_nothing() {
    let s = snapshot();
    let a = rolescope_analysis::analyze(rolescope_policy::catalog(), &s, &Default::default());
    let out = temp("rerun");
    let first = export_all(&s, &a, &Destination::local(&out)).unwrap();
    let second = export_all(&s, &a, &Destination::local(&out)).unwrap();
    assert_eq!(first, second);
    let parquet_files = |dir: &std::path::Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".parquet")
            })
            .count()
    };
    assert_eq!(
        parquet_files(std::path::Path::new(&first[0]).parent().unwrap()),
        1,
        "replaced, not duplicated"
    );

    // A plain file where the table folder should be: the write fails and leaves no file behind.
    let blocked = temp("blocked");
    std::fs::write(blocked.join("scan_runs"), b"").unwrap();
    let err = export_all(&s, &a, &Destination::local(&blocked))
        .unwrap_err()
        .to_string();
    assert!(err.contains("scan_runs"), "{err}");
    assert!(
        !blocked
            .join(writer::table_key("scan_runs", "2027-01-15", "scan-1"))
            .exists()
    );
}

#[test]
fn triage_rerun_replaces_an_earlier_layouts_asff_batches_and_keeps_other_scans() {
    let s = snapshot();
    let a = rolescope_analysis::analyze(rolescope_policy::catalog(), &s, &Default::default());
    let out = temp("asff-layout");
    let dest = Destination::local(&out);
    // What a build before the one-object layout left for this scan id, and another scan's file.
    let earlier = out.join("asff/dt=2027-01-15/scan-1");
    std::fs::create_dir_all(&earlier).unwrap();
    std::fs::write(earlier.join("batch-00000.json"), b"[]").unwrap();
    std::fs::write(earlier.join("batch-00001.json"), b"[]").unwrap();
    std::fs::write(out.join("asff/dt=2027-01-15/scan-0.jsonl"), b"").unwrap();

    let written = crate::triage::export_triage(&s, &a, None, &dest).unwrap();
    assert_eq!(written.len(), 2, "{written:?}");
    let mut keys = dest.list("asff/").unwrap();
    keys.sort();
    assert_eq!(
        keys,
        [
            "asff/dt=2027-01-15/scan-0.jsonl",
            "asff/dt=2027-01-15/scan-1.jsonl"
        ]
    );
    let text = std::fs::read_to_string(out.join("asff/dt=2027-01-15/scan-1.jsonl")).unwrap();
    let findings: usize = text
        .lines()
        .map(|line| {
            let request: serde_json::Value = serde_json::from_str(line).unwrap();
            request["Findings"].as_array().unwrap().len()
        })
        .sum();
    assert_eq!(findings, a.findings.len());
    assert!(findings > 0);
}

#[derive(Debug)]
struct Broken;

impl Row for Broken {
    const TABLE: crate::table::TableDef = CollectionErrorRow::TABLE;
    fn cells(&self, mut each: impl FnMut(Value<'_>)) {
        // A string where the table wants a string, then an integer where it wants a string.
        for value in [
            Value::Str(Some("s")),
            Value::Str(None),
            Value::Str(None),
            Value::Str(Some("lambda")),
            Value::Int(Some(1)),
            Value::Str(Some("x")),
            Value::Str(Some("y")),
            Value::Str(None),
        ] {
            each(value);
        }
    }
}

/// A row with one cell fewer than its table has columns.
#[derive(Debug)]
struct Short;

impl Row for Short {
    const TABLE: crate::table::TableDef = OrgUnitRow::TABLE;
    fn cells(&self, mut each: impl FnMut(Value<'_>)) {
        let columns = OrgUnitRow::TABLE.columns;
        for column in &columns[..columns.len() - 1] {
            each(match column.kind {
                crate::table::Kind::Int64 => Value::Int(Some(1)),
                _ => Value::Str(Some("x")),
            });
        }
    }
}

#[test]
fn a_row_with_too_few_cells_is_an_error_counting_them() {
    let n = OrgUnitRow::TABLE.columns.len();
    let err = batch(&[Short]).unwrap_err().to_string();
    assert!(
        err.contains("org_units") && err.contains(&format!("{} values for {n} columns", n - 1)),
        "{err}"
    );
}

#[test]
fn a_value_that_does_not_fit_its_column_is_an_error_naming_it() {
    let err = batch(&[Broken]).unwrap_err().to_string();
    assert!(
        err.contains("collection_errors") && err.contains("operation"),
        "{err}"
    );
}

#[test]
fn generated_files_are_current() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let deploy = crate::cfn::deploy_files(std::path::Path::new(root)).unwrap();
    for (path, want) in [
        (format!("{root}/docs/schema.md"), ddl::schema_md(TABLES)),
        (format!("{root}/athena/tables.sql"), ddl::tables_sql(TABLES)),
    ]
    .into_iter()
    .chain(
        deploy
            .into_iter()
            .map(|(p, w)| (p.display().to_string(), w)),
    ) {
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::create_dir_all(std::path::Path::new(&path).parent().unwrap()).unwrap();
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{path} is stale: run `UPDATE_DOCS=1 cargo test -p rolescope-exporter generated`"
        );
    }
}

fn strings(b: &arrow_array::RecordBatch, column: &str) -> Vec<Option<String>> {
    use arrow_array::{Array, StringArray};
    let a = b
        .column_by_name(column)
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    (0..a.len())
        .map(|i| (!a.is_null(i)).then(|| a.value(i).to_string()))
        .collect()
}

fn ints(b: &arrow_array::RecordBatch, column: &str) -> Vec<Option<i64>> {
    use arrow_array::{Array, Int64Array};
    let a = b
        .column_by_name(column)
        .unwrap()
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    (0..a.len())
        .map(|i| (!a.is_null(i)).then(|| a.value(i)))
        .collect()
}

#[test]
fn role_permissions_compress_whole_services_and_list_the_rest() {
    let s = snapshot();
    let a = rolescope_analysis::analyze(cat(), &s, &Default::default());
    let out = temp("permissions");
    export_all(&s, &a, &Destination::local(&out)).unwrap();
    let batches = read_table(&out, "role_permissions");
    assert_eq!(batches.len(), 1);
    let b = batches[0].clone();
    let roles = strings(&b, "role_arn");
    let patterns = strings(&b, "action_pattern");
    let counts = ints(&b, "action_count");

    // `*` on `*`: one row per catalog service, each the pattern `service:*`, no action list;
    // except that KMS and STS split in two, the actions on keys and on roles to assume being
    // those that also need the key's or the role's own policy.
    let admin: Vec<usize> = (0..b.num_rows())
        .filter(|&i| roles[i].as_deref() == Some("arn:aws:iam::000123456789:role/app"))
        .collect();
    assert_eq!(admin.len(), cat().services.len() + 2);
    let services = strings(&b, "service");
    let depends = strings(&b, "depends_on");
    for &i in &admin {
        let split = matches!(services[i].as_deref(), Some("kms" | "sts"));
        assert_eq!(patterns[i].is_none(), split, "{:?}", services[i]);
    }
    let gated: Vec<(Option<String>, Option<String>)> = admin
        .iter()
        .filter(|&&i| depends[i].is_some())
        .map(|&i| (services[i].clone(), depends[i].clone()))
        .collect();
    assert_eq!(
        gated,
        [
            (Some("kms".into()), Some("key_policy".into())),
            (Some("sts".into()), Some("trust_policy".into()))
        ]
    );
    let total: i64 = admin.iter().map(|&i| counts[i].unwrap()).sum();
    assert_eq!(
        total as usize,
        cat().actions.len(),
        "every action, compressed"
    );

    // Three named actions: listed, grouped per service.
    let narrow: Vec<usize> = (0..b.num_rows())
        .filter(|&i| roles[i].as_deref() == Some("arn:aws:iam::000123456789:role/narrow"))
        .collect();
    assert_eq!(narrow.len(), 2, "iam and s3");
    let list = b
        .column_by_name("actions")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow_array::ListArray>()
        .unwrap();
    let actions: Vec<Vec<String>> = narrow
        .iter()
        .map(|&i| {
            let v = list.value(i);
            let v = v
                .as_any()
                .downcast_ref::<arrow_array::StringArray>()
                .unwrap();
            (0..arrow_array::Array::len(v))
                .map(|j| v.value(j).to_string())
                .collect()
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            vec!["iam:PassRole".to_string()],
            vec!["s3:GetObject".to_string(), "s3:ListBucket".to_string()]
        ]
    );
    assert!(narrow.iter().all(|&i| patterns[i].is_none()));

    // Service access: s3 Read has GetObject used; List has ListBucket granted but unused.
    let batches = read_table(&out, "role_service_access");
    assert_eq!(batches.len(), 1);
    let b = batches[0].clone();
    let roles = strings(&b, "role_arn");
    let services = strings(&b, "service");
    let levels = strings(&b, "access_level");
    let granted = ints(&b, "actions_granted");
    let used = ints(&b, "actions_used");
    let row = |service: &str, level: &str| {
        (0..b.num_rows())
            .find(|&i| {
                roles[i].as_deref() == Some("arn:aws:iam::000123456789:role/narrow")
                    && services[i].as_deref() == Some(service)
                    && levels[i].as_deref() == Some(level)
            })
            .unwrap_or_else(|| panic!("{service} {level}"))
    };
    assert_eq!(
        (granted[row("s3", "Read")], used[row("s3", "Read")]),
        (Some(1), Some(1))
    );
    assert_eq!(
        (granted[row("s3", "List")], used[row("s3", "List")]),
        (Some(1), Some(0))
    );
    let iam = row(
        "iam",
        cat().action("iam:PassRole").unwrap().level().as_str(),
    );
    assert_eq!(used[iam], None, "no last-accessed data for iam");
}

#[test]
fn scp_recommendations_are_written_as_files_table_summary_and_script() {
    use rolescope_analysis::scp::{ScpSettings, recommend};
    let s = snapshot();
    let ev = rolescope_analysis::Evaluated::new(cat(), &s, 90);
    let a = rolescope_analysis::analyze_evaluated(&ev, &Default::default());
    let settings = ScpSettings::default();
    let plan = recommend(&ev, &a, &settings);
    assert!(!plan.recommendations.is_empty());
    let out = temp("scp");
    let written = crate::scp::export_scp(
        &plan,
        &settings,
        "scan-1",
        "2027-01-15",
        &Destination::local(&out),
    )
    .unwrap();
    let script = std::fs::read_to_string(out.join("scp/apply.sh")).unwrap();
    let readme = std::fs::read_to_string(out.join("scp/README.md")).unwrap();
    for r in &plan.recommendations {
        let file = out.join(format!("scp/{}/{}.json", r.target_id, r.name));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), r.policy_json);
        let line = script
            .lines()
            .find(|l| {
                l.contains(&format!(
                    "create_and_attach '{}'",
                    crate::scp::policy_name(&r.name, &r.target_id)
                ))
            })
            .unwrap_or_else(|| panic!("{} not in the script", r.name));
        assert_eq!(
            line.starts_with('#'),
            !r.safe,
            "unsafe ones are commented out"
        );
        assert!(readme.contains(&format!("`{}`", r.name)));
    }
    // The admin role of the snapshot runs a public function: that is reported, not hidden.
    assert!(readme.contains("**review**"), "{readme}");
    let rows = read_table(&out, "scp_recommendations");
    assert_eq!(
        rows[0].schema().as_ref(),
        &ScpRecommendationRow::TABLE.schema()
    );
    assert_eq!(rows[0].num_rows(), plan.recommendations.len());
    assert_eq!(
        strings(&rows[0], "policy_json")[0].as_deref(),
        Some(plan.recommendations[0].policy_json.as_str())
    );
    assert!(written.len() > plan.recommendations.len() + 2);
}

#[test]
fn a_table_larger_than_a_batch_is_streamed_into_one_file_in_order() {
    let out = temp("streamed");
    let dest = Destination::local(&out);
    let n = 40_000;
    let rows = (0..n).map(|i| CollectionErrorRow {
        resource_arn: None,
        scan_id: "scan-1".into(),
        account_id: Some(format!("{i:012}")),
        region: (i % 3 == 0).then(|| "eu-west-1".to_string()),
        service: "lambda".into(),
        operation: "GetPolicy".into(),
        error_code: "Throttling".into(),
        message: format!("row {i}"),
    });
    crate::write_rows(&dest, "2027-01-15", "scan-1", rows).unwrap();
    let batches = read_table(&out, "collection_errors");
    let accounts: Vec<Option<String>> = batches
        .iter()
        .flat_map(|b| strings(b, "account_id"))
        .collect();
    assert_eq!(accounts.len(), n, "every row, once");
    for (i, account) in accounts.iter().enumerate() {
        assert_eq!(account.as_deref(), Some(format!("{i:012}").as_str()));
    }
    let regions: Vec<Option<String>> = batches.iter().flat_map(|b| strings(b, "region")).collect();
    assert_eq!(
        regions.iter().filter(|r| r.is_some()).count(),
        n.div_ceil(3)
    );
}

#[test]
fn wide_rows_are_batched_by_bytes_and_all_come_back_in_order() {
    let row = |i: usize, width: usize| CollectionErrorRow {
        resource_arn: None,
        scan_id: "scan-1".into(),
        account_id: Some(format!("{i:012}")),
        region: None,
        service: "lambda".into(),
        operation: "GetPolicy".into(),
        error_code: "Throttling".into(),
        message: format!("{i}:{}", "x".repeat(width)),
    };
    // The builder counts what it holds and starts over at each batch.
    let mut b = crate::table::BatchBuilder::<CollectionErrorRow>::new();
    b.push(&row(1, 1000)).unwrap();
    let one = b.bytes();
    assert!(one > 1000, "the message's bytes are counted: {one}");
    b.push(&row(2, 3000)).unwrap();
    assert!(b.bytes() >= one + 3000);
    let batch = b.finish().unwrap();
    assert_eq!(batch.num_rows(), 2);
    assert_eq!((b.rows(), b.bytes()), (0, 0));
    assert_eq!(b.finish().unwrap().num_rows(), 0);

    // 12 MB of rows: several byte-bounded batches, one file, every row in order.
    let out = temp("wide");
    let dest = Destination::local(&out);
    let n = 120;
    crate::write_rows(
        &dest,
        "2027-01-15",
        "scan-1",
        (0..n).map(|i| row(i, 100_000)),
    )
    .unwrap();
    let messages: Vec<Option<String>> = read_table(&out, "collection_errors")
        .iter()
        .flat_map(|b| strings(b, "message"))
        .collect();
    assert_eq!(messages.len(), n);
    for (i, m) in messages.iter().enumerate() {
        let m = m.as_deref().unwrap();
        assert!(m.starts_with(&format!("{i}:")) && m.len() == 100_001 + i.to_string().len());
    }
}

#[test]
fn an_object_writer_dropped_before_commit_leaves_nothing() {
    use std::io::Write;
    let out = temp("dropped");
    let dest = Destination::local(&out);
    {
        let mut object = dest.writer("t/dt=2027-01-15/x.parquet").unwrap();
        object.write_all(&[1u8; 4096]).unwrap();
        // A failure between here and commit (a panic, an encoder error) drops the writer.
    }
    let mut left = Vec::new();
    for entry in walk(&out) {
        left.push(entry);
    }
    assert!(left.is_empty(), "left behind: {left:?}");
    let mut object = dest.writer("t/dt=2027-01-15/x.parquet").unwrap();
    object.write_all(b"whole").unwrap();
    let at = object.commit().unwrap();
    assert_eq!(std::fs::read(&at).unwrap(), b"whole");
    assert_eq!(walk(&out).len(), 1);
}

/// Every file under `dir`, hidden ones included.
fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn a_line_break_in_a_value_never_starts_a_command_in_apply_sh() {
    let script = crate::scp::apply_script(
        &rolescope_analysis::scp::ScpPlan::default(),
        "s\nrm -rf ~\r# ",
    );
    for line in script.lines() {
        assert!(!line.starts_with("rm"), "{script}");
    }
    assert!(script.contains("scan s rm -rf ~"), "{script}");
}

#[test]
fn a_function_whose_policy_could_not_be_read_is_not_reported_as_private() {
    use arrow_array::{Array, BooleanArray};
    let mut s = snapshot();
    let read_whole = s.functions[0].clone();
    let mut unknown = read_whole.clone();
    unknown.name = "unknown".into();
    unknown.arn = read_whole.arn.replace(&read_whole.name, "unknown");
    unknown.resource_policy = None;
    unknown.urls = vec![];
    unknown.unread = vec!["resource_policy".into()];
    let mut public_anyway = unknown.clone();
    public_anyway.name = "public-anyway".into();
    public_anyway.arn = read_whole.arn.replace(&read_whole.name, "public-anyway");
    public_anyway.urls = vec![rolescope_model::FunctionUrl {
        url: "https://x.lambda-url.eu-west-1.on.aws/".into(),
        auth_type: "NONE".into(),
        qualifier: None,
    }];
    let mut private = unknown.clone();
    private.name = "private".into();
    private.arn = read_whole.arn.replace(&read_whole.name, "private");
    private.unread = vec![];
    s.functions = vec![unknown, public_anyway, private];
    let a = rolescope_analysis::analyze(cat(), &s, &Default::default());
    let out = temp("unknown-policy");
    export_all(&s, &a, &Destination::local(&out)).unwrap();
    let batch = &read_table(&out, "functions")[0];
    let names = strings(batch, "function_name");
    let public = batch
        .column_by_name("public_access")
        .unwrap()
        .as_any()
        .downcast_ref::<BooleanArray>()
        .unwrap();
    let of = |name: &str| {
        let i = names
            .iter()
            .position(|n| n.as_deref() == Some(name))
            .unwrap();
        (!public.is_null(i)).then(|| public.value(i))
    };
    assert_eq!(of("unknown"), None, "unknown is not absent");
    assert_eq!(
        of("public-anyway"),
        None,
        "a URL with AuthType NONE is public only if its policy lets anyone invoke it: unread policy, unknown"
    );
    assert_eq!(of("private"), Some(false));
}

#[test]
fn an_ou_name_with_line_breaks_or_html_adds_nothing_to_the_scp_readme() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/demo.jsonl");
    let mut s = Snapshot::read(&path).unwrap();
    let clean = {
        let ev = rolescope_analysis::Evaluated::new(cat(), &s, 90);
        let a = rolescope_analysis::analyze_evaluated(&ev, &Default::default());
        let plan = rolescope_analysis::scp::recommend(&ev, &a, &Default::default());
        crate::scp::summary_markdown(&plan, &Default::default(), "x")
    };
    for unit in &mut s.org_units {
        unit.name = format!(
            "{}\n# Injected heading\n<img src=x onerror=alert(1)>\u{202E}",
            unit.name
        );
    }
    let ev = rolescope_analysis::Evaluated::new(cat(), &s, 90);
    let a = rolescope_analysis::analyze_evaluated(&ev, &Default::default());
    let plan = rolescope_analysis::scp::recommend(&ev, &a, &Default::default());
    assert!(!plan.recommendations.is_empty());
    let md = crate::scp::summary_markdown(&plan, &Default::default(), "x");
    let headings = |text: &str| text.lines().filter(|l| l.starts_with('#')).count();
    assert_eq!(headings(&md), headings(&clean), "{md}");
    assert!(!md.contains("<img"), "raw HTML passed into the Markdown");
    assert!(!md.contains('\u{202E}'));
}

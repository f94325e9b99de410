//! The generated parts of the deployment templates (`deploy/`): one Glue table per dataset
//! (partition projection on `dt`, the columns of the table definitions), one Athena named query
//! per view of `athena/views.sql`, the Step Functions definition from
//! `deploy/state-machine.asl.json`, and the audit-role template a StackSet deploys.
//!
//! Each sits between `# BEGIN GENERATED <name>` and `# END GENERATED <name>` in a hand-written
//! template; [`splice`] replaces what is between, and a test fails when a template is stale
//! (`UPDATE_DOCS=1 cargo test -p rolescope-exporter generated` rewrites it).

use crate::table::TableDef;

/// A string as a YAML double-quoted scalar (JSON's escapes are YAML's).
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

/// `role_permissions` → `RolePermissions`.
fn camel(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// At most `max` characters (Glue's limits on comments and descriptions).
fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// One `AWS::Glue::Table` per dataset, indented as resources of a template. The template
/// defines `GlueDatabase`, `DataBucket` and the `Prefix` parameter (no leading or trailing `/`).
pub fn glue_tables(tables: &[TableDef]) -> String {
    let mut out = String::new();
    for t in tables {
        let location = format!("s3://${{DataBucket}}/${{Prefix}}/{}/", t.name);
        out.push_str(&format!(
            "  Table{camel}:\n    Type: AWS::Glue::Table\n    Properties:\n      CatalogId: !Ref AWS::AccountId\n      DatabaseName: !Ref GlueDatabase\n      TableInput:\n        Name: {name}\n        Description: {doc}\n        TableType: EXTERNAL_TABLE\n        Parameters:\n          classification: parquet\n          parquet.compression: ZSTD\n          projection.enabled: \"true\"\n          projection.dt.type: date\n          projection.dt.format: yyyy-MM-dd\n          projection.dt.range: 2024-01-01,NOW\n          projection.dt.interval: \"1\"\n          projection.dt.interval.unit: DAYS\n          storage.location.template: !Sub \"{location}dt=${{!dt}}/\"\n        PartitionKeys:\n          - Name: dt\n            Type: string\n            Comment: Scan date, YYYY-MM-DD\n        StorageDescriptor:\n          Location: !Sub \"{location}\"\n          InputFormat: org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat\n          OutputFormat: org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat\n          SerdeInfo:\n            SerializationLibrary: org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe\n          Columns:\n",
            camel = camel(t.name),
            name = t.name,
            doc = quoted(&cut(t.doc, 2048)),
        ));
        for c in t.columns {
            out.push_str(&format!(
                "            - Name: {}\n              Type: {}\n              Comment: {}\n",
                c.name,
                c.kind.athena(),
                quoted(&cut(c.doc, 255))
            ));
        }
    }
    out
}

/// The views of `athena/views.sql` as (name, statement), `${DATABASE}` kept.
pub fn views(sql: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for statement in sql.split(';') {
        let body: Vec<&str> = statement
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect();
        let body = body.join("\n").trim().to_string();
        let Some(rest) = body.strip_prefix("CREATE OR REPLACE VIEW ${DATABASE}.") else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        out.push((name, format!("{body};")));
    }
    out
}

/// One `AWS::Athena::NamedQuery` per view, in the template's workgroup and database.
pub fn named_queries(views_sql: &str) -> String {
    let mut out = String::new();
    for (name, statement) in views(views_sql) {
        // Only ${DATABASE} is a variable of the Sub; any other ${ is literal SQL.
        let statement = statement
            .replace("${", "${!")
            .replace("${!DATABASE}", "${DATABASE}");
        out.push_str(&format!(
            "  View{camel}:\n    Type: AWS::Athena::NamedQuery\n    Properties:\n      Name: rolescope-{name}\n      Description: Creates the view {name} (athena/views.sql); run once, then after upgrades\n      Database: !Ref GlueDatabase\n      WorkGroup: !Ref Workgroup\n      QueryString: !Sub\n        - |\n",
            camel = camel(name.trim_start_matches("v_")),
        ));
        for line in statement.lines() {
            out.push_str(&format!("          {line}\n").replace("          \n", "\n"));
        }
        out.push_str("        - DATABASE: !Ref GlueDatabase\n");
    }
    out
}

/// A JSON document as a YAML flow value at `indent` spaces (JSON is YAML).
pub fn embedded_json(json: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    json.trim_end()
        .lines()
        .map(|l| format!("{pad}{l}\n"))
        .collect()
}

/// The scanner's policy as docs/permissions.md documents it (the block after
/// `<!-- scanner-policy -->`), with the audit role's ARN taken from the template's parameters.
pub fn scanner_policy(permissions_md: &str) -> Option<String> {
    let after = permissions_md.split("<!-- scanner-policy -->").nth(1)?;
    let json = after.split("```json").nth(1)?.split("```").next()?;
    let mut policy: serde_json::Value = serde_json::from_str(json).ok()?;
    for statement in policy["Statement"].as_array_mut()? {
        if statement["Action"] == "sts:AssumeRole" {
            statement["Resource"] = serde_json::json!({
                "Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${AuditRoleName}"
            });
        }
    }
    serde_json::to_string_pretty(&policy).ok()
}

/// Replace the block between `# BEGIN GENERATED <name>` and `# END GENERATED <name>` (the
/// marker lines kept); `None` when the markers are missing.
pub fn splice(template: &str, name: &str, block: &str) -> Option<String> {
    let begin = format!("# BEGIN GENERATED {name}");
    let end = format!("# END GENERATED {name}");
    let b = template.find(&begin)?;
    let after_begin = b + template[b..].find('\n')? + 1;
    let e = template[after_begin..].find(&end)? + after_begin;
    let end_line_start = template[..e].rfind('\n').map_or(0, |i| i + 1);
    Some(format!(
        "{}{}{}",
        &template[..after_begin],
        block,
        &template[end_line_start..]
    ))
}

/// The deployment templates with their generated parts current: (path under the repository
/// root, expected content), or the path and what is wrong.
pub fn deploy_files(root: &std::path::Path) -> Result<Vec<(std::path::PathBuf, String)>, String> {
    let read = |p: &str| std::fs::read_to_string(root.join(p)).map_err(|e| format!("{p}: {e}"));
    let scanner = read("deploy/scanner.yaml")?;
    let asl = read("deploy/state-machine.asl.json")?;
    let audit = read("docs/cloudformation/rolescope-audit-role.json")?;
    let stackset = read("deploy/audit-role-stackset.yaml")?;
    let policy = scanner_policy(&read("docs/permissions.md")?)
        .ok_or("docs/permissions.md: no scanner-policy JSON block")?;
    let mut want = scanner;
    for (name, block) in [
        ("scanner-policy", embedded_json(&policy, 12)),
        ("glue-tables", glue_tables(crate::tables::TABLES)),
        ("named-queries", named_queries(crate::ddl::VIEWS_SQL)),
        ("state-machine", embedded_json(&asl, 8)),
    ] {
        want = splice(&want, name, &block)
            .ok_or_else(|| format!("deploy/scanner.yaml: no GENERATED {name} markers"))?;
    }
    let body = format!("      TemplateBody: |\n{}", embedded_json(&audit, 8));
    let stackset = splice(&stackset, "audit-role-template", &body)
        .ok_or("deploy/audit-role-stackset.yaml: no GENERATED audit-role-template markers")?;
    Ok(vec![
        (root.join("deploy/scanner.yaml"), want),
        (root.join("deploy/audit-role-stackset.yaml"), stackset),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_only_between_its_markers() {
        let t = "a\n  # BEGIN GENERATED x\nold\n  # END GENERATED x\nb\n";
        assert_eq!(
            splice(t, "x", "new\n").unwrap(),
            "a\n  # BEGIN GENERATED x\nnew\n  # END GENERATED x\nb\n"
        );
        assert!(splice(t, "y", "new\n").is_none());
    }

    #[test]
    fn every_view_becomes_a_named_query() {
        let views = views(crate::ddl::VIEWS_SQL);
        let count = crate::ddl::VIEWS_SQL
            .matches("CREATE OR REPLACE VIEW")
            .count();
        assert_eq!(views.len(), count);
        assert!(views.iter().any(|(n, _)| n == "v_top_roles"));
        let yaml = named_queries(crate::ddl::VIEWS_SQL);
        assert_eq!(yaml.matches("AWS::Athena::NamedQuery").count(), count);
        assert_eq!(
            glue_tables(crate::tables::TABLES)
                .matches("AWS::Glue::Table")
                .count(),
            crate::tables::TABLES.len()
        );
    }
}

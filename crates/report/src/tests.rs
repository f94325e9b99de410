//! The page against the analysis it is drawn from, on the demo organization's golden snapshot.

use super::*;
use crate::view::SHOWN_CHARS;
use rolescope_model::snapshot::Snapshot;

fn golden() -> Snapshot {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/demo.jsonl");
    Snapshot::read(&path).unwrap()
}

/// Render a snapshot as the pipeline does.
fn render_snapshot(s: &Snapshot, limits: Limits) -> (String, Analysis) {
    render_at(s, limits, "/tmp/out")
}

/// [`render_snapshot`] for datasets at `location`.
fn render_at(s: &Snapshot, limits: Limits, location: &str) -> (String, Analysis) {
    let cat = rolescope_policy::catalog();
    let settings = rolescope_analysis::Settings::default();
    let ev = Evaluated::new(cat, s, settings.unused_days);
    let analysis = rolescope_analysis::analyze_evaluated(&ev, &settings);
    let plan = rolescope_analysis::scp::recommend(&ev, &analysis, &Default::default());
    let html = render(&Input {
        ev: &ev,
        analysis: &analysis,
        plan: &plan,
        changes: None,
        location,
        limits,
    });
    (html, analysis)
}

/// The text of the element carrying `data-figure="name"` (its first text run).
fn figure(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("data-figure=\"{name}\""))
        .unwrap_or_else(|| panic!("no figure {name}"));
    let rest = &html[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest[start..].find('<').unwrap() + start;
    rest[start..end].to_string()
}

#[test]
fn the_figures_on_the_page_are_the_analysis_counts() {
    let s = golden();
    let (html, analysis) = render_snapshot(&s, Limits::default());
    let mut live = [0usize; 5];
    let mut mitigated = 0;
    for f in &analysis.findings {
        match f.mitigated_by {
            Some(_) => mitigated += 1,
            None => live[f.severity as usize] += 1,
        }
    }
    assert!(live[0] > 0, "the demo has critical findings");
    for (sev, n) in view::SEVERITIES.iter().zip(live) {
        assert_eq!(
            figure(&html, &format!("live-{}", sev.as_str())),
            n.to_string()
        );
    }
    assert_eq!(figure(&html, "mitigated"), mitigated.to_string());
    assert_eq!(
        figure(&html, "accounts-listed"),
        s.accounts.len().to_string()
    );
    assert_eq!(figure(&html, "functions"), s.functions.len().to_string());
    let top = analysis.roles_by_risk()[0];
    // The organization scores as its worst account (roles and functions).
    let worst = analysis.accounts.iter().map(|a| a.score).max().unwrap();
    assert!(worst >= top.score.score);
    assert_eq!(figure(&html, "org-score"), worst.to_string());
    // The riskiest role comes first in its table and opens the cards.
    let first_row = html.find("data-role=").unwrap();
    assert!(html[first_row..].starts_with(&format!("data-role=\"{}\"", top.role_arn)));
    let first_card = html.find("data-card=").unwrap();
    assert!(html[first_card..].starts_with(&format!("data-card=\"{}\"", top.role_arn)));
    // Every public function of the analysis is listed.
    let public: std::collections::BTreeSet<&str> = analysis
        .findings
        .iter()
        .filter(|f| f.makes_public())
        .map(|f| rolescope_model::unqualified_function_arn(&f.resource_arn))
        .collect();
    assert!(!public.is_empty());
    assert_eq!(figure(&html, "public-functions"), public.len().to_string());
    for arn in public {
        assert!(html.contains(&format!("data-public=\"{arn}:")), "{arn}");
    }
}

#[test]
fn the_page_asks_for_nothing_outside_itself() {
    let (html, _) = render_snapshot(&golden(), Limits::default());
    for banned in [
        "<link", " src=", "url(", "@import", "<iframe", "<object", "<img",
    ] {
        assert!(!html.contains(banned), "the page contains {banned}");
    }
    // Every link is to an anchor of the page.
    for (at, _) in html.match_indices(" href=\"") {
        let target = &html[at + 7..];
        assert!(
            target.starts_with('#'),
            "link to {}",
            &target[..40.min(target.len())]
        );
    }
    // The policy names the exact style and script the page carries.
    assert!(html.contains(&format!("style-src 'sha256-{}'", digest(CSS))));
    assert!(html.contains(&format!("script-src 'sha256-{}'", digest(SCRIPT))));
    assert!(html.contains(&format!("<script>{SCRIPT}</script>")));
    assert!(html.contains(&format!("<style>{CSS}</style>")));
}

#[test]
fn names_from_the_accounts_cannot_add_markup() {
    let mut s = golden();
    let hostile = "<script>alert(1)</script>\"'&";
    let arn = s.functions[0].role_arn.clone();
    for r in s.roles.iter_mut().filter(|r| r.arn == arn) {
        r.name = hostile.into();
    }
    s.accounts[0].name = hostile.into();
    let (html, _) = render_snapshot(&s, Limits::default());
    assert!(!html.contains(hostile));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;'&amp;"));
    assert_eq!(
        html.matches("<script>").count(),
        1,
        "only the page's own script"
    );
}

#[test]
fn a_large_scan_keeps_the_worst_and_names_the_query_for_the_rest() {
    let limits = Limits {
        roles_in_full: 2,
        roles_listed: 3,
        findings_listed: 5,
        findings_per_role: 2,
        ..Limits::default()
    };
    let (html, analysis) = render_snapshot(&golden(), limits);
    assert_eq!(html.matches("data-card=").count(), 2);
    assert_eq!(html.matches("data-role=").count(), 3);
    let findings = html.split("id=\"t-findings\"").nth(1).unwrap();
    let findings = findings.split("</table>").next().unwrap();
    assert_eq!(
        findings.matches("<tr>").count(),
        1 + 5,
        "header and five rows"
    );
    let live = analysis
        .findings
        .iter()
        .filter(|f| f.mitigated_by.is_none())
        .count();
    assert!(html.contains(&format!("{} more live findings are not listed", live - 5)));
    assert!(html.contains("read_parquet('/tmp/out/findings/dt=*/*.parquet'"));
    assert!(html.contains("read_parquet('/tmp/out/roles/dt=*/*.parquet'"));
}

#[test]
fn the_top_role_card_explains_its_score_and_its_suggestion() {
    let (html, analysis) = render_snapshot(&golden(), Limits::default());
    let top = analysis.roles_by_risk()[0];
    let card = html
        .split(&format!("data-card=\"{}\"", top.role_arn))
        .nth(1)
        .unwrap();
    let card = card.split("</details>").next().unwrap();
    assert_eq!(
        card.matches("<meter").count(),
        top.score.contributions.len(),
        "one bar per factor"
    );
    // Cards of roles with a suggestion show it as a diff that takes something away.
    let with_suggestion = analysis
        .roles_by_risk()
        .into_iter()
        .take(Limits::default().roles_in_full)
        .find(|r| r.suggested_policy.is_some())
        .expect("a top role with a suggestion");
    let card = html
        .split(&format!("data-card=\"{}\"", with_suggestion.role_arn))
        .nth(1)
        .unwrap();
    let card = card.split("</details>").next().unwrap();
    assert!(card.contains("<pre class=\"diff\">"));
    assert!(card.contains("<span class=\"del\">"));
    // It says what the suggestion rests on, how much it removes, where its files are, and
    // carries the policy for the copy button.
    let e = &with_suggestion.suggestion.evidence;
    assert!(card.contains("data-suggestion=\"suggested\""));
    assert!(
        card.contains(&format!("<strong>{} removed</strong>", e.removed_actions())),
        "{card}"
    );
    assert!(card.contains(&format!("/remediation/{}/", with_suggestion.account_id)));
    assert!(
        card.contains("data-copy=\"{\n  &quot;Statement&quot;")
            || card.contains("data-copy=\"{\n  &quot;Version&quot;"),
        "{card}"
    );
    // A card of a role without a suggestion says why.
    let without = analysis
        .roles_by_risk()
        .into_iter()
        .take(Limits::default().roles_in_full)
        .find(|r| r.suggested_policy.is_none())
        .expect("a top role without a suggestion");
    let card = html
        .split(&format!("data-card=\"{}\"", without.role_arn))
        .nth(1)
        .unwrap();
    let card = card.split("</details>").next().unwrap();
    assert!(
        card.contains(&format!(
            "No suggestion ({})",
            without.suggestion.status.as_str()
        )),
        "{card}"
    );
}

#[test]
fn base64_is_the_standard_alphabet_with_padding() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
}

#[test]
fn the_listed_findings_are_the_worst_in_order_and_each_listed_role_counts_all_its_live_findings() {
    let s = golden();
    let cat = rolescope_policy::catalog();
    let settings = rolescope_analysis::Settings::default();
    let ev = Evaluated::new(cat, &s, settings.unused_days);
    let analysis = rolescope_analysis::analyze_evaluated(&ev, &settings);
    let worst = |a: &&rolescope_analysis::Finding, b: &&rolescope_analysis::Finding| {
        (
            a.severity as usize,
            a.check_id,
            &a.resource_arn,
            &a.finding_id,
        )
            .cmp(&(
                b.severity as usize,
                b.check_id,
                &b.resource_arn,
                &b.finding_id,
            ))
    };
    let mut live: Vec<&rolescope_analysis::Finding> = analysis
        .findings
        .iter()
        .filter(|f| f.mitigated_by.is_none())
        .collect();
    live.sort_by(worst);
    assert!(live.len() > 10);
    for listed in [0, 1, 7, live.len() - 1, live.len(), live.len() + 3] {
        let limits = Limits {
            findings_listed: listed,
            roles_listed: 4,
            ..Limits::default()
        };
        let view = crate::view::View::new(&ev, &analysis, None, limits);
        let expected: Vec<&str> = live
            .iter()
            .take(listed)
            .map(|f| f.finding_id.as_str())
            .collect();
        let got: Vec<&str> = view
            .findings
            .iter()
            .map(|f| f.finding_id.as_str())
            .collect();
        assert_eq!(got, expected, "{listed} listed");
        assert_eq!(view.findings_more, live.len().saturating_sub(listed));
        assert_eq!(view.roles.len(), 4);
        for (role, _, count) in &view.roles {
            let all = live
                .iter()
                .filter(|f| f.resource_arn == role.role_arn)
                .count();
            assert_eq!(*count, all, "{}", role.role_arn);
        }
    }
}

#[test]
fn a_right_to_left_override_or_a_huge_name_does_not_reach_the_page_as_it_is() {
    let mut s = golden();
    // Account names come from member accounts: a bidi override, a line break, 200,000 characters.
    s.accounts[0].name = "prod\u{202E}gnp.exe\nnext".into();
    s.accounts[1].name = "x".repeat(200_000);
    let (html, _) = render_snapshot(&s, Limits::default());
    assert!(
        !html.contains('\u{202E}'),
        "a bidi override reached the page"
    );
    assert!(html.contains("prod\u{FFFD}gnp.exe\u{FFFD}next"));
    assert!(
        !html.contains(&"x".repeat(SHOWN_CHARS + 1)),
        "a huge name shown whole"
    );
    assert!(html.contains(&format!("{}…", "x".repeat(SHOWN_CHARS))));
}

#[test]
fn the_shown_duckdb_query_escapes_a_quote_in_the_output_path() {
    let limits = Limits {
        findings_listed: 5,
        ..Limits::default()
    };
    let (html, _) = render_at(&golden(), limits, "/tmp/it's here");
    // maud writes ' as &#39;: the SQL has the quote doubled.
    let at = html.find("read_parquet(").expect("a query is shown");
    let shown = &html[at..at + 60];
    assert!(
        shown.contains("/tmp/it&#39;&#39;s here/") || shown.contains("/tmp/it''s here/"),
        "the quote is not escaped: {shown}"
    );
}

//! The risk model (docs/scoring.md): every role gets a score 0–100 from independent risk
//! factors combined like probabilities, `100 × (1 − Π(1 − wᵢ))`. One factor alone never exceeds its
//! weight, adding a factor never lowers a score, and the result stays below 100.

use crate::findings::{Finding, Severity};
use serde::Serialize;

/// Weight of one live finding, by severity.
pub fn severity_weight(s: Severity) -> f64 {
    match s {
        Severity::Critical => 0.5,
        Severity::High => 0.25,
        Severity::Medium => 0.1,
        Severity::Low => 0.03,
        Severity::Info => 0.0,
    }
}

/// Weight of a public function (resource policy `*` or URL without auth) running as the role.
pub const PUBLIC_FUNCTION_WEIGHT: f64 = 0.3;
/// Maximum weight of reach: the share of all catalog actions the role effectively has.
pub const REACH_WEIGHT: f64 = 0.3;
/// Weight per extra function sharing the role, capped at [`SHARING_CAP`].
pub const SHARING_WEIGHT: f64 = 0.02;
/// Cap of the sharing factor.
pub const SHARING_CAP: f64 = 0.1;
/// Maximum weight of the least-privilege gap (share of granted services never used).
pub const GAP_WEIGHT: f64 = 0.1;

/// One factor's contribution, for the explanation of a score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    /// What it is (`finding:RS-…`, `public_function`, `reach`, `sharing`, `least_privilege_gap`).
    pub factor: String,
    /// Its weight in 0..1.
    pub weight: f64,
}

/// A score with its level and explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// 0–100, rounded to an integer.
    pub score: i32,
    /// `critical` ≥ 80, `high` ≥ 60, `medium` ≥ 30, `low` > 0, `none`.
    pub level: &'static str,
    /// The factors, largest first.
    pub contributions: Vec<Contribution>,
}

impl Score {
    /// The factor that weighs most (the first of equals, as the explanation lists them), the
    /// one-line reason of a score; `None` for a score of nothing.
    pub fn main_factor(&self) -> Option<&str> {
        self.contributions.first().map(|c| c.factor.as_str())
    }
}

/// The level for a score.
pub fn level(score: i32) -> &'static str {
    match score {
        80.. => "critical",
        60..=79 => "high",
        30..=59 => "medium",
        1..=29 => "low",
        _ => "none",
    }
}

/// Combine contributions into a score.
pub fn combine(mut contributions: Vec<Contribution>) -> Score {
    contributions.retain(|c| c.weight > 0.0);
    contributions.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.factor.cmp(&b.factor)));
    let keep = contributions
        .iter()
        .fold(1.0, |acc, c| acc * (1.0 - c.weight.clamp(0.0, 0.99)));
    let score = ((1.0 - keep) * 100.0).round() as i32;
    Score {
        score,
        level: level(score),
        contributions,
    }
}

/// What the role score is made of.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoleInputs {
    /// Functions using the role.
    pub functions: usize,
    /// Of which publicly invocable.
    pub public_functions: usize,
    /// Share of catalog actions effectively allowed (0..1).
    pub reach: f64,
    /// Share of granted services never used, when last-accessed data exists.
    pub unused_share: Option<f64>,
}

/// Score one role from its live findings and inputs.
pub fn role_score(findings: &[&Finding], inputs: RoleInputs) -> Score {
    let mut c: Vec<Contribution> = findings
        .iter()
        .filter(|f| f.mitigated_by.is_none())
        .map(|f| Contribution {
            factor: format!("finding:{}", f.check_id),
            weight: severity_weight(f.severity),
        })
        .collect();
    if inputs.public_functions > 0 {
        c.push(Contribution {
            factor: "public_function".into(),
            weight: PUBLIC_FUNCTION_WEIGHT,
        });
    }
    c.push(Contribution {
        factor: "reach".into(),
        weight: REACH_WEIGHT * inputs.reach.clamp(0.0, 1.0),
    });
    if inputs.functions > 1 {
        c.push(Contribution {
            factor: "sharing".into(),
            weight: (SHARING_WEIGHT * (inputs.functions - 1) as f64).min(SHARING_CAP),
        });
    }
    if let Some(unused) = inputs.unused_share {
        c.push(Contribution {
            factor: "least_privilege_gap".into(),
            weight: GAP_WEIGHT * unused.clamp(0.0, 1.0),
        });
    }
    combine(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(factor: &str, weight: f64) -> Contribution {
        Contribution {
            factor: factor.into(),
            weight,
        }
    }

    #[test]
    fn combination_is_bounded_monotonic_and_explained() {
        assert_eq!(combine(vec![]).score, 0);
        assert_eq!(combine(vec![]).level, "none");
        let one = combine(vec![w("a", 0.5)]);
        assert_eq!((one.score, one.level), (50, "medium"));
        let two = combine(vec![w("a", 0.5), w("b", 0.5)]);
        assert_eq!((two.score, two.level), (75, "high"));
        let many = combine((0..50).map(|i| w(&format!("f{i}"), 0.5)).collect());
        assert!(many.score <= 100 && many.score >= 99);
        assert_eq!(two.contributions[0].factor, "a");
    }

    #[test]
    fn levels() {
        assert_eq!(level(80), "critical");
        assert_eq!(level(79), "high");
        assert_eq!(level(30), "medium");
        assert_eq!(level(1), "low");
    }
}

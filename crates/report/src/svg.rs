//! The charts, drawn as inline SVG here: findings by severity, the distribution of role
//! scores, and the risk map (a squarified treemap of the OU tree, each account's area its
//! number of roles and its colour its score).

use crate::view::{Node, SEVERITIES};
use maud::{Markup, html};

/// The colour of a score's level (the same scale as the page's badges).
pub fn level_colour(level: &str) -> &'static str {
    match level {
        "critical" => "#b3261e",
        "high" => "#e8590c",
        "medium" => "#f59f00",
        "low" => "#ffd43b",
        _ => "#dee2e6",
    }
}

/// A rectangle of the treemap.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rect {
    /// Left.
    pub x: f64,
    /// Top.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

/// Horizontal bars: live findings by severity and the mitigated ones.
pub fn severity_bars(live: &[usize; 5], mitigated: usize) -> Markup {
    let rows: Vec<(&str, usize, &str)> = SEVERITIES
        .iter()
        .zip(live)
        .map(|(s, n)| {
            let colour = match s.as_str() {
                "info" => "#74c0fc",
                other => level_colour(other),
            };
            (s.as_str(), *n, colour)
        })
        .chain(std::iter::once(("mitigated", mitigated, "#adb5bd")))
        .collect();
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1) as f64;
    let (label_w, bar_w, row_h) = (90.0, 300.0, 22.0);
    let height = row_h * rows.len() as f64;
    html! {
        svg class="chart" viewBox={"0 0 " (label_w + bar_w + 70.0) " " (height)} role="img"
            aria-label="Findings by severity" {
            @for (i, (name, n, colour)) in rows.iter().enumerate() {
                @let y = i as f64 * row_h;
                @let w = if *n == 0 { 0.0 } else { (bar_w * *n as f64 / max).max(2.0) };
                text x=(label_w - 8.0) y=(y + 15.0) text-anchor="end" { (name) }
                rect x=(label_w) y=(y + 4.0) width=(fmt(w)) height=(row_h - 8.0) fill=(colour) {}
                text x=(label_w + w + 6.0) y=(y + 15.0) { (n) }
            }
        }
    }
}

/// Vertical bars: how many roles score 0–9, 10–19, …, 90–100.
pub fn score_histogram(buckets: &[usize; 10]) -> Markup {
    let max = buckets.iter().copied().max().unwrap_or(0).max(1) as f64;
    let (bar, gap, plot_h) = (36.0, 6.0, 120.0);
    let width = (bar + gap) * 10.0;
    html! {
        svg class="chart" viewBox={"0 0 " (width) " " (plot_h + 36.0)} role="img"
            aria-label="Roles by score" {
            @for (i, n) in buckets.iter().enumerate() {
                @let h = if *n == 0 { 0.0 } else { (plot_h * *n as f64 / max).max(2.0) };
                @let x = i as f64 * (bar + gap);
                @let level = rolescope_analysis::score::level((i * 10 + 5) as i32);
                rect x=(x) y=(fmt(plot_h - h + 14.0)) width=(bar) height=(fmt(h))
                    fill=(level_colour(if i == 0 { "none" } else { level })) {
                    title { (i * 10) "–" (if i == 9 { 100 } else { i * 10 + 9 }) ": " (n) " roles" }
                }
                text x=(x + bar / 2.0) y=(fmt(plot_h - h + 10.0)) text-anchor="middle" class="small" { (n) }
                text x=(x + bar / 2.0) y=(plot_h + 30.0) text-anchor="middle" class="small" { (i * 10) }
            }
        }
    }
}

/// The risk map of the OU tree.
pub fn treemap(roots: &[Node]) -> Markup {
    let (w, h) = (960.0, 420.0);
    let weights: Vec<f64> = roots.iter().map(weight).collect();
    let rects = squarify(
        &weights,
        Rect {
            x: 0.0,
            y: 0.0,
            w,
            h,
        },
    );
    html! {
        svg class="map" viewBox={"0 0 " (w) " " (h)} role="img" aria-label="Risk map: OUs and accounts" {
            @for (node, r) in roots.iter().zip(rects) { (draw(node, r, 0)) }
        }
    }
}

/// A node's area: its roles, at least one so an empty account still shows.
fn weight(n: &Node) -> f64 {
    if n.account {
        n.roles.max(1) as f64
    } else {
        n.children.iter().map(weight).sum::<f64>().max(1.0)
    }
}

/// One node and, for a unit, its children inside it under a label strip.
fn draw(node: &Node, r: Rect, depth: usize) -> Markup {
    if r.w < 1.0 || r.h < 1.0 {
        return html! {};
    }
    let level = rolescope_analysis::score::level(node.score);
    if node.account || node.children.is_empty() {
        let label = r.w > 60.0 && r.h > 16.0;
        return html! {
            g class="acct" {
                rect x=(fmt(r.x)) y=(fmt(r.y)) width=(fmt(r.w)) height=(fmt(r.h))
                    fill=(level_colour(level)) stroke="#fff" {
                    title { (node.name) " (" (node.id) "): score " (node.score) ", " (node.roles) " roles"
                        @if !node.scanned { " — not scanned" } }
                }
                @if label {
                    text x=(fmt(r.x + 3.0)) y=(fmt(r.y + 12.0))
                        class={"small" @if matches!(level, "critical" | "high") { " on-dark" }} { (clip(&node.name, r.w)) }
                }
            }
        };
    }
    let header = if r.h > 30.0 && r.w > 50.0 { 14.0 } else { 0.0 };
    let pad = if depth == 0 { 0.0 } else { 2.0 };
    let inner = Rect {
        x: r.x + pad,
        y: r.y + pad + header,
        w: (r.w - 2.0 * pad).max(0.0),
        h: (r.h - 2.0 * pad - header).max(0.0),
    };
    let weights: Vec<f64> = node.children.iter().map(weight).collect();
    let rects = squarify(&weights, inner);
    html! {
        g class="unit" {
            rect x=(fmt(r.x)) y=(fmt(r.y)) width=(fmt(r.w)) height=(fmt(r.h)) fill="#f8f9fa" stroke="#868e96" {
                title { (node.name) " (" (node.id) "): score " (node.score) }
            }
            @if header > 0.0 {
                text x=(fmt(r.x + 4.0)) y=(fmt(r.y + 11.0)) class="small strong" {
                    (clip(&node.name, r.w - 30.0)) " · " (node.score)
                }
            }
            @for (child, cr) in node.children.iter().zip(rects) { (draw(child, cr, depth + 1)) }
        }
    }
}

/// A label cut to what fits in `width` pixels (about 6 per character).
fn clip(text: &str, width: f64) -> String {
    let fits = (width / 6.0).max(0.0) as usize;
    if text.chars().count() <= fits {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(fits.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// A coordinate with one decimal.
fn fmt(v: f64) -> String {
    format!("{:.1}", v)
}

/// Squarified treemap layout (Bruls, Huizing, van Wijk): rectangles for `weights` filling `r`,
/// each with an area proportional to its weight and as close to square as rows allow. The
/// output is in the order of `weights`.
pub fn squarify(weights: &[f64], r: Rect) -> Vec<Rect> {
    let mut out = vec![Rect::default(); weights.len()];
    let total: f64 = weights.iter().filter(|w| **w > 0.0).sum();
    if total <= 0.0 || r.w <= 0.0 || r.h <= 0.0 {
        return out;
    }
    let scale = r.w * r.h / total;
    let mut order: Vec<usize> = (0..weights.len()).filter(|i| weights[*i] > 0.0).collect();
    order.sort_by(|a, b| weights[*b].total_cmp(&weights[*a]).then(a.cmp(b)));
    let area = |i: usize| weights[i] * scale;
    // The worst aspect ratio of a row of areas laid along a side.
    let worst = |sum: f64, min: f64, max: f64, side: f64| {
        let s2 = side * side;
        (s2 * max / (sum * sum)).max(sum * sum / (s2 * min))
    };
    let mut rest = r;
    let mut i = 0;
    while i < order.len() {
        let side = rest.w.min(rest.h);
        let (mut sum, mut min, mut max) = (area(order[i]), area(order[i]), area(order[i]));
        let mut j = i + 1;
        while j < order.len() {
            let a = area(order[j]);
            if worst(sum + a, min.min(a), max.max(a), side) > worst(sum, min, max, side) {
                break;
            }
            sum += a;
            min = min.min(a);
            max = max.max(a);
            j += 1;
        }
        // A strip along the shorter side: the left edge of a wide rectangle, the top edge of
        // a tall one, laid out as the left edge of the transposed rectangle.
        let wide = rest.w >= rest.h;
        let flip = |r: Rect| {
            if wide {
                r
            } else {
                Rect {
                    x: r.y,
                    y: r.x,
                    w: r.h,
                    h: r.w,
                }
            }
        };
        let mut view = flip(rest);
        let strip = if j == order.len() {
            view.w
        } else {
            sum / view.h
        };
        let mut y = view.y;
        for &k in &order[i..j] {
            let h = area(k) / sum * view.h;
            out[k] = flip(Rect {
                x: view.x,
                y,
                w: strip,
                h,
            });
            y += h;
        }
        view.x += strip;
        view.w -= strip;
        rest = flip(view);
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_treemap_fills_its_rectangle_in_proportion_without_overlap() {
        let weights = [6.0, 6.0, 4.0, 3.0, 2.0, 2.0, 1.0, 0.0];
        let r = Rect {
            x: 0.0,
            y: 0.0,
            w: 600.0,
            h: 400.0,
        };
        let rects = squarify(&weights, r);
        let total: f64 = weights.iter().sum();
        for (w, rect) in weights.iter().zip(&rects) {
            let expected = w / total * r.w * r.h;
            assert!(
                (rect.w * rect.h - expected).abs() < 1e-6,
                "{rect:?} for {w}"
            );
            assert!(rect.x >= -1e-9 && rect.y >= -1e-9);
            assert!(rect.x + rect.w <= r.w + 1e-6 && rect.y + rect.h <= r.h + 1e-6);
        }
        for (i, a) in rects.iter().enumerate() {
            for b in rects.iter().skip(i + 1) {
                let overlap_w = (a.x + a.w).min(b.x + b.w) - a.x.max(b.x);
                let overlap_h = (a.y + a.h).min(b.y + b.h) - a.y.max(b.y);
                assert!(
                    overlap_w <= 1e-6 || overlap_h <= 1e-6,
                    "{a:?} overlaps {b:?}"
                );
            }
        }
        // Squarified: no sliver thinner than a tenth of its length.
        for rect in rects.iter().filter(|r| r.w > 0.0) {
            assert!(rect.w.min(rect.h) / rect.w.max(rect.h) > 0.1, "{rect:?}");
        }
        assert!(squarify(&[0.0, 0.0], r).iter().all(|r| r.w == 0.0));
    }

    #[test]
    fn labels_are_cut_to_their_box() {
        assert_eq!(clip("production", 120.0), "production");
        assert_eq!(clip("production", 30.0), "prod…");
    }
}

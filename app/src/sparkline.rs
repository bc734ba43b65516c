//! Small SVG sparklines for live figures: the last [`HISTORY`] samples, newest on the right.

use leptos::prelude::*;

/// Samples a sparkline shows.
pub const HISTORY: usize = 60;

/// An SVG polyline of `values`, scaled to `max` (or their own maximum).
pub fn sparkline(values: Vec<f64>, max: Option<f64>) -> impl IntoView {
    let top = max
        .unwrap_or_else(|| values.iter().cloned().fold(0.0, f64::max))
        .max(f64::EPSILON);
    let step = 120.0 / (HISTORY - 1) as f64;
    let offset = HISTORY.saturating_sub(values.len());
    let points = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "{:.1},{:.1}",
                (offset + i) as f64 * step,
                31.0 - (v / top).clamp(0.0, 1.0) * 30.0
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    view! {
        <svg class="sparkline" viewBox="0 0 120 32" preserveAspectRatio="none" aria-hidden="true">
            <polyline points=points />
        </svg>
    }
}

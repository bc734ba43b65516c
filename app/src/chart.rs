//! Live charts drawn as SVG: a fixed window of the last [`HISTORY`] samples starting at the
//! left edge from the first sample, a y scale in the figure's unit, the current value, and
//! the value under the pointer. Every part has a fixed size, so samples arriving never move
//! the page.

use crate::format;
use leptos::prelude::*;
use std::collections::VecDeque;

/// Samples a chart shows.
pub const HISTORY: usize = 60;

/// The drawing's coordinate box; the SVG stretches it to the chart's box.
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 100.0;

/// What a chart's figures are.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unit {
    Percent,
    Bytes,
    BytesPerSec,
    /// A plain number: processes, load.
    Count,
}

impl Unit {
    pub fn show(self, value: f64) -> String {
        match self {
            Unit::Percent => format!("{} %", trim(value)),
            Unit::Bytes => format::bytes(value as i64),
            Unit::BytesPerSec => format!("{}/s", format::bytes(value as i64)),
            Unit::Count => trim(value),
        }
    }

    /// A scale's figure: round, so without the decimal sizes carry (`512 KiB`).
    fn scale(self, value: f64) -> String {
        self.show(value).replace(".0 ", " ")
    }

    /// The smallest scale: a flat line of zeros is drawn against "1 %" or "1 KiB", not
    /// stretched to fill the chart.
    fn least(self) -> f64 {
        match self {
            Unit::Percent | Unit::Count => 1.0,
            Unit::Bytes | Unit::BytesPerSec => 1024.0,
        }
    }

    /// Sizes step in powers of 1024 so the scale reads "512 KiB", never "488.3 KiB".
    fn binary(self) -> bool {
        matches!(self, Unit::Bytes | Unit::BytesPerSec)
    }
}

/// A figure without needless decimals: `12`, `2.5`, `0.25`.
fn trim(value: f64) -> String {
    let text = match value.abs() {
        v if v >= 10.0 || v == v.trunc() => format!("{value:.0}"),
        v if v >= 1.0 => format!("{value:.1}"),
        _ => format!("{value:.2}"),
    };
    match text.contains('.') {
        true => text.trim_end_matches('0').trim_end_matches('.').to_string(),
        false => text,
    }
}

/// The round figure at or above `max` the scale ends at: 1, 2 or 5 times a power of ten
/// (times a power of 1024 for sizes).
pub fn scale_top(max: f64, unit: Unit) -> f64 {
    let max = if max.is_finite() { max } else { 0.0 }.max(unit.least());
    let (mut base, mut rest) = (1.0, max);
    if unit.binary() {
        while rest > 1024.0 {
            base *= 1024.0;
            rest /= 1024.0;
        }
    }
    let decade = 10f64.powf(rest.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * decade)
        .find(|top| *top >= rest * (1.0 - 1e-9))
        .unwrap_or(10.0 * decade);
    // Past 500 of a unit the next step is the next unit: 1 MiB, not "1000 KiB".
    let step = if unit.binary() && step >= 1000.0 {
        1024.0
    } else {
        step
    };
    step * base
}

/// A chart's content: up to two lines over the same samples, oldest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plot {
    pub lines: Vec<(&'static str, Vec<f64>)>,
    /// Each sample's age in seconds at the newest one, oldest first (as long as the lines).
    pub ages: Vec<f64>,
}

impl Plot {
    /// One line.
    pub fn one(name: &'static str, values: Vec<f64>, ages: Vec<f64>) -> Self {
        Self {
            lines: vec![(name, values)],
            ages,
        }
    }

    fn len(&self) -> usize {
        self.lines.iter().map(|(_, v)| v.len()).max().unwrap_or(0)
    }

    fn highest(&self) -> f64 {
        self.lines
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .fold(0.0, f64::max)
    }

    /// Sample `i`'s figures: `12 %`, or each line's name (in its colour) and figure.
    fn read(&self, i: usize, unit: Unit) -> Vec<(Option<(usize, &'static str)>, String)> {
        let figure = |v: &Vec<f64>| v.get(i).map_or_else(|| "—".to_string(), |v| unit.show(*v));
        match self.lines.as_slice() {
            [(_, values)] => vec![(None, figure(values))],
            lines => lines
                .iter()
                .enumerate()
                .map(|(n, (name, values))| (Some((n, *name)), figure(values)))
                .collect(),
        }
    }
}

/// The last [`HISTORY`] samples as they arrived, with the browser's clock at each, so a
/// chart can say how old a sample under the pointer is.
#[derive(Clone, Debug)]
pub struct Window<T> {
    samples: VecDeque<(f64, T)>,
    keep: usize,
}

impl<T> Window<T> {
    /// Keeps `keep` samples (one more than a chart shows when it draws rates between them).
    pub fn new(keep: usize) -> Self {
        Self {
            samples: VecDeque::with_capacity(keep),
            keep,
        }
    }

    pub fn push(&mut self, at_ms: f64, sample: T) {
        if self.samples.len() == self.keep {
            self.samples.pop_front();
        }
        self.samples.push_back((at_ms, sample));
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn latest(&self) -> Option<&T> {
        self.samples.back().map(|(_, s)| s)
    }

    pub fn series(&self, pick: impl Fn(&T) -> f64) -> Vec<f64> {
        self.samples.iter().map(|(_, s)| pick(s)).collect()
    }

    /// The growth of a counter between consecutive samples (one fewer than the samples).
    pub fn deltas(&self, pick: impl Fn(&T) -> u64) -> Vec<f64> {
        let samples = || self.samples.iter().map(|(_, s)| pick(s));
        samples()
            .zip(samples().skip(1))
            .map(|(a, b)| b.saturating_sub(a) as f64)
            .collect()
    }

    /// Each sample's age at the newest, oldest first; `skip` leaves out the first ones (for
    /// deltas).
    pub fn ages(&self, skip: usize) -> Vec<f64> {
        let newest = self.samples.back().map_or(0.0, |(at, _)| *at);
        self.samples
            .iter()
            .skip(skip)
            .map(|(at, _)| ((newest - at) / 1000.0).max(0.0))
            .collect()
    }
}

/// The browser's clock in milliseconds (0 on the server, which never pushes samples).
pub fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

/// The SVG points of `values`: sample `i` at slot `i`, the first at the left edge.
fn points(values: &[f64], top: f64) -> String {
    let step = WIDTH / (HISTORY - 1) as f64;
    values
        .iter()
        .take(HISTORY)
        .enumerate()
        .map(|(i, v)| {
            let y = HEIGHT - (v / top).clamp(0.0, 1.0) * HEIGHT;
            format!("{:.1},{:.1}", i as f64 * step, y)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The slot under a pointer `fraction` of the way across, as a sample that exists.
fn slot(fraction: f64, len: usize) -> Option<usize> {
    if len == 0 || !fraction.is_finite() {
        return None;
    }
    let slot = (fraction.clamp(0.0, 1.0) * (HISTORY - 1) as f64).round() as usize;
    Some(slot.min(len - 1))
}

/// A live chart. `top` fixes the scale (100 for a share); without it the scale is the round
/// figure above the highest sample shown.
#[component]
pub fn Chart(
    /// Names the chart for tests (`chart-{id}`) and assistive technology.
    id: &'static str,
    unit: Unit,
    #[prop(optional)] top: Option<f64>,
    #[prop(into)] plot: Signal<Plot>,
) -> impl IntoView {
    let hover = RwSignal::new(None::<f64>);
    let area = NodeRef::<leptos::html::Div>::new();
    let scale =
        Memo::new(move |_| top.unwrap_or_else(|| plot.with(|p| scale_top(p.highest(), unit))));
    let under = move || hover.get().and_then(|f| plot.with(|p| slot(f, p.len())));
    let readout = move || {
        plot.with(|p| {
            let (when, i) = match (under(), p.len()) {
                (_, 0) => return view! { "waiting for the first sample" }.into_any(),
                (Some(i), _) => match p.ages.get(i).copied().unwrap_or(0.0) {
                    age if age < 0.5 => ("now".to_string(), i),
                    age => (format!("{age:.0} s ago"), i),
                },
                (None, n) => ("now".to_string(), n - 1),
            };
            let parts = p
                .read(i, unit)
                .into_iter()
                .enumerate()
                .map(|(k, (line, figure))| {
                    let name = line.map(|(n, name)| {
                        view! { <span class=format!("key key-{n}")>{name}</span> " " }
                    });
                    view! { {(k > 0).then_some(" · ")} {name} {figure} }
                })
                .collect_view();
            view! { {when} ": " {parts} }.into_any()
        })
    };
    let lines = move || {
        let top = scale.get();
        plot.with(|p| {
            p.lines
                .iter()
                .enumerate()
                .map(|(n, (_, values))| {
                    view! { <polyline class=format!("line line-{n}") points=points(values, top) /> }
                })
                .collect_view()
        })
    };
    let cursor = move || {
        under().map(|i| {
            let x = format!("{:.1}", i as f64 * WIDTH / (HISTORY - 1) as f64);
            view! { <line class="cursor" x1=x.clone() x2=x y1="0" y2=HEIGHT.to_string() /> }
        })
    };
    let track = move |ev: leptos::ev::PointerEvent| {
        #[cfg(feature = "hydrate")]
        if let Some(area) = area.get_untracked() {
            let rect = area.get_bounding_client_rect();
            let fraction = (f64::from(ev.client_x()) - rect.left()) / rect.width();
            hover.set(Some(fraction));
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, area);
    };
    view! {
        <figure class="chart" data-testid=format!("chart-{id}")>
            <div class="chart-frame">
                <span class="chart-y chart-top">{move || unit.scale(scale.get())}</span>
                <span class="chart-y chart-mid">{move || unit.scale(scale.get() / 2.0)}</span>
                <span class="chart-y chart-zero">{unit.scale(0.0)}</span>
                <div
                    class="chart-area"
                    node_ref=area
                    on:pointermove=track
                    on:pointerdown=track
                    on:pointerleave=move |_| hover.set(None)
                >
                    <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") preserveAspectRatio="none" aria-hidden="true">
                        <line class="grid" x1="0" x2=WIDTH.to_string() y1="0.5" y2="0.5" />
                        <line class="grid" x1="0" x2=WIDTH.to_string() y1=(HEIGHT / 2.0).to_string() y2=(HEIGHT / 2.0).to_string() />
                        <line class="grid" x1="0" x2=WIDTH.to_string() y1=(HEIGHT - 0.5).to_string() y2=(HEIGHT - 0.5).to_string() />
                        {lines}
                        {cursor}
                    </svg>
                </div>
            </div>
            <figcaption class="chart-readout" aria-live="off">
                <span data-testid="chart-readout">{readout}</span>
            </figcaption>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_ends_at_a_round_figure_in_the_unit() {
        assert_eq!(scale_top(0.0, Unit::Percent), 1.0);
        assert_eq!(scale_top(3.2, Unit::Percent), 5.0);
        assert_eq!(scale_top(17.0, Unit::Percent), 20.0);
        assert_eq!(scale_top(20.0, Unit::Percent), 20.0);
        assert_eq!(scale_top(140.0, Unit::Percent), 200.0);
        assert_eq!(scale_top(0.3, Unit::Count), 1.0);
        assert_eq!(scale_top(7.0, Unit::Count), 10.0);
        assert_eq!(scale_top(0.0, Unit::BytesPerSec), 1024.0);
        assert_eq!(scale_top(300.0 * 1024.0, Unit::Bytes), 500.0 * 1024.0);
        assert_eq!(scale_top(900.0 * 1024.0, Unit::Bytes), 1024.0 * 1024.0);
        assert_eq!(scale_top(3.5 * 1048576.0, Unit::Bytes), 5.0 * 1048576.0);
        assert_eq!(
            Unit::Bytes.show(scale_top(300_000.0, Unit::Bytes)),
            "500.0 KiB"
        );
        assert_eq!(Unit::Percent.show(50.0), "50 %");
        assert_eq!(Unit::Count.show(0.25), "0.25");
        assert_eq!(Unit::Count.show(2.5), "2.5");
    }

    #[test]
    fn samples_are_drawn_from_the_left_edge_one_slot_each() {
        let drawn = points(&[0.0, 5.0, 10.0], 10.0);
        assert_eq!(drawn, "0.0,100.0 10.2,50.0 20.3,0.0");
        // The pointer reads the nearest sample that exists.
        assert_eq!(slot(0.0, 3), Some(0));
        assert_eq!(slot(1.0 / 59.0, 3), Some(1));
        assert_eq!(slot(0.9, 3), Some(2));
        assert_eq!(slot(0.5, 0), None);
    }

    #[test]
    fn a_window_keeps_the_last_samples_with_their_ages() {
        let mut window = Window::new(3);
        for (at, n) in [(0.0, 10u64), (1000.0, 15), (2000.0, 15), (3500.0, 40)] {
            window.push(at, n);
        }
        assert_eq!(window.series(|n| *n as f64), vec![15.0, 15.0, 40.0]);
        assert_eq!(window.deltas(|n| *n), vec![0.0, 25.0]);
        assert_eq!(window.ages(0), vec![2.5, 1.5, 0.0]);
        assert_eq!(window.ages(1), vec![1.5, 0.0]);
        let plot = Plot {
            lines: vec![("in", vec![1024.0]), ("out", vec![0.0])],
            ages: vec![0.0],
        };
        assert_eq!(
            plot.read(0, Unit::BytesPerSec),
            [
                (Some((0, "in")), "1.0 KiB/s".to_string()),
                (Some((1, "out")), "0 B/s".to_string())
            ]
        );
        assert_eq!(Unit::BytesPerSec.scale(512.0 * 1024.0), "512 KiB/s");
        assert_eq!(Unit::Bytes.scale(1.5 * 1048576.0), "1.5 MiB");
    }
}

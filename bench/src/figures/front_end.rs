//! Figure 8: the front end, the Wasm and JS bundles' sizes (raw, gzip, brotli) and
//! `/containers` with 200 containers: its time to first byte, and in Chromium to hydration.

use crate::fixtures::{Fixtures, docker};
use crate::stats::median;
use crate::{Table, clients, step};

fn compressed_sizes(path: &str) -> Result<(usize, usize, usize), String> {
    use std::io::Write;
    let raw = std::fs::read(path)
        .map_err(|e| format!("{path}: {e} (run `cargo leptos build --release`)"))?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&raw).map_err(|e| e.to_string())?;
    let gz = gz.finish().map_err(|e| e.to_string())?;
    let mut br = Vec::new();
    brotli::BrotliCompress(
        &mut raw.as_slice(),
        &mut br,
        &brotli::enc::BrotliEncoderParams {
            quality: 11,
            ..Default::default()
        },
    )
    .map_err(|e| e.to_string())?;
    Ok((raw.len(), gz.len(), br.len()))
}

fn kib(n: usize) -> String {
    format!("{:.0} KiB", n as f64 / 1024.0)
}

/// Loads `url` in Chromium through the Playwright script; medians of TTFB and hydration (ms).
fn browser_timings(url: &str, runs: usize) -> Result<(f64, f64), String> {
    let result = super::node_script("hydrate.mjs", &[url, &runs.to_string()])?;
    let series = |key: &str| -> Vec<f64> {
        result[key]
            .as_array()
            .map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect())
            .unwrap_or_default()
    };
    Ok((median(&mut series("ttfb")), median(&mut series("hydrated"))))
}

/// Runs figure 8; its 200 containers stay until the end of the run.
pub async fn run(addr: &str, fixtures: &Fixtures, table: &mut Table) {
    step("8. front end: bundle sizes, /containers with 200 containers");
    let mut sizes = Vec::new();
    for (label, path) in [
        ("Wasm", "target/site/pkg/berth.wasm"),
        ("JS", "target/site/pkg/berth.js"),
    ] {
        sizes.push(match compressed_sizes(path) {
            Ok((raw, gz, br)) => format!(
                "{label} {} raw, {} gzip, {} brotli",
                kib(raw),
                kib(gz),
                kib(br)
            ),
            Err(e) => format!("{label}: {e}"),
        });
    }
    let existing = docker(&["ps", "-aq"]).unwrap_or_default().lines().count();
    let _listed = fixtures.many(
        "listed",
        200usize.saturating_sub(existing),
        false,
        &["true"],
    );
    let (_, list, _) = clients::http_get(addr, "/api/containers")
        .await
        .unwrap_or_default();
    let listed = serde_json::from_str::<serde_json::Value>(&list)
        .ok()
        .and_then(|v| v.as_array().map(Vec::len))
        .unwrap_or(0);
    let mut ttfb = Vec::new();
    for _ in 0..10 {
        if let Ok((200, _, t)) = clients::http_get(addr, "/containers").await {
            ttfb.push(t.as_secs_f64() * 1000.0);
        }
    }
    let browser = match browser_timings(&format!("http://{addr}/containers"), 5) {
        Ok((ttfb, hydrated)) => {
            format!("in Chromium: TTFB {ttfb:.0} ms, hydrated {hydrated:.0} ms")
        }
        Err(e) => format!("browser timings n/a: {e}"),
    };
    table.add(
        "8. Front end",
        format!(
            "{}; /containers with {listed} containers: TTFB {:.0} ms (HTTP, median of 10), {browser} (median of 5)",
            sizes.join("; "),
            median(&mut ttfb)
        ),
        "no published anchor",
    );
}

//! Figure 10: the browser under a torrent, one viewer of a container printing about 20,000
//! lines a second for 10 s, through the Playwright script.

use super::shell;
use crate::clients::metric;
use crate::fixtures::Fixtures;
use crate::{Table, step};

/// Lines the torrent container of figure 10 prints (200 every 10 ms, about 20,000 a second).
const TORRENT_LINES: u64 = 200_000;

/// Figure 10 through the Playwright script: the longest main-thread task, the clicks, and
/// how many lines were shown and skipped.
fn torrent_in_browser(base: &str, container: &str, seconds: u64) -> Result<String, String> {
    let r = super::node_script("torrent.mjs", &[base, container, &seconds.to_string()])?;
    let n = |key: &str| r[key].as_f64().unwrap_or(f64::NAN);
    let clicks: Vec<String> = r["clicks_ms"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(serde_json::Value::as_f64)
                .map(|ms| format!("{ms:.0} ms"))
                .collect()
        })
        .unwrap_or_default();
    let (received, lagged, dropped) = (n("received"), n("lagged"), n("dropped"));
    let total = TORRENT_LINES as f64;
    let longest = match n("long_tasks") {
        0.0 => "no main-thread task over 50 ms".to_string(),
        count => format!(
            "longest main-thread task {:.0} ms ({count} over 50 ms)",
            n("longest_task_ms")
        ),
    };
    let share = |lines: f64| lines / total * 100.0;
    Ok(format!(
        "{longest}; Pause and Resume answered in {}; of {TORRENT_LINES} lines {:.1} % drawn, {:.1} % dropped in the page, {:.1} % missed at the server, {:.1} % still on their way 3 s after the 10 s; {} rows held at the end",
        if clicks.is_empty() {
            "n/a".to_string()
        } else {
            clicks.join(" and ")
        },
        share(received - dropped),
        share(dropped),
        share(lagged),
        share(total - received - lagged),
        n("rows"),
    ))
}

/// Runs figure 10, with its own container, removed at the end.
pub async fn run(addr: &str, fixtures: &Fixtures, table: &mut Table) {
    step("10. browser: a container printing 20,000 lines/s for 10 s");
    let torrent = fixtures.container(
        "torrent",
        true,
        &[],
        &shell(&format!(
            "until [ -e /go ]; do sleep 0.1; done; i=0; while [ $i -lt {TORRENT_LINES} ]; do seq $i $((i+199)); i=$((i+200)); usleep 10000; done; sleep 3600"
        )),
    );
    let browser = match torrent_in_browser(&format!("http://{addr}"), &torrent, 10) {
        Ok(figure) => figure,
        Err(e) => format!("n/a: {e}"),
    };
    table.add(
        "10. Browser, one viewer of a container printing ~20,000 lines/s for 10 s",
        browser,
        "goal: no main-thread task over 50 ms; a click answers within 100 ms",
    );
    fixtures.remove(&[torrent]);
    let _ = metric(addr, "berth_hubs", None).await;
}

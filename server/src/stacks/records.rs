//! A stack's runs as kept beside it, `.berth/runs/N.json`: written when a run starts and
//! again when it ends, so a run Berth did not see end (it was stopped) still shows, without
//! an end. The newest [`KEEP`] are kept.

use super::folder::{BERTH_DIR, Folder};
use crate::error::Error;
use app::model::StackRun;

/// Runs kept per stack.
pub const KEEP: usize = 50;

/// Runs listed per stack.
pub const LISTED: usize = 20;

const RUNS: &str = ".berth/runs";

/// The run numbers kept, oldest first.
pub fn numbers(folder: &Folder) -> Result<Vec<u64>, Error> {
    folder.numbered(RUNS)
}

/// The next run's number.
pub fn next(folder: &Folder) -> Result<u64, Error> {
    Ok(numbers(folder)?.last().map_or(1, |n| n + 1))
}

/// Run `n`, if kept.
pub fn get(folder: &Folder, n: u64) -> Result<Option<StackRun>, Error> {
    let Some(text) = folder.read(&format!("{RUNS}/{n}.json"))? else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Error::new(500, format!("run {n} of this stack is unreadable: {e}")))
}

/// The newest runs first.
pub fn list(folder: &Folder) -> Result<Vec<StackRun>, Error> {
    let mut runs = Vec::new();
    for n in numbers(folder)?.into_iter().rev().take(LISTED) {
        runs.extend(get(folder, n)?);
    }
    Ok(runs)
}

/// Writes `run` (again, as it ends); past [`KEEP`], the oldest go.
pub fn write(folder: &Folder, run: &StackRun) -> Result<(), Error> {
    folder.subdir(BERTH_DIR)?;
    folder.subdir(RUNS)?;
    let text = serde_json::to_string(run).unwrap_or_default();
    folder.write(&format!("{RUNS}/{}.json", run.n), &text)?;
    let numbers = numbers(folder)?;
    let excess = numbers.len().saturating_sub(KEEP);
    for old in numbers.into_iter().take(excess) {
        folder.remove(&format!("{RUNS}/{old}.json"))?;
    }
    Ok(())
}

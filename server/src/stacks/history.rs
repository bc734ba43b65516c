//! A stack's versions, kept beside it in `.berth/versions/`: `N.json` holds who made
//! version N, when and how (small, for the list), `N.compose` and `N.env` its files as
//! they were. The newest is
//! the current files; a folder edited by hand gets a version `found on disk` before Berth
//! writes over it, so no text is ever lost. The oldest go past [`KEEP`].

use super::folder::{BERTH_DIR, Folder};
use crate::error::Error;
use app::model::{StackFiles, StackVersion, StackVersionFiles};

/// Versions kept per stack.
pub const KEEP: usize = 200;

const VERSIONS: &str = ".berth/versions";

/// The version numbers kept, oldest first.
pub fn numbers(folder: &Folder) -> Result<Vec<u64>, Error> {
    folder.numbered(VERSIONS)
}

/// The versions, newest first.
pub fn list(folder: &Folder) -> Result<Vec<StackVersion>, Error> {
    let mut versions = Vec::new();
    for n in numbers(folder)?.into_iter().rev() {
        if let Some(version) = meta(folder, n)? {
            versions.push(version);
        }
    }
    Ok(versions)
}

/// Version `n` with its files; 404 when it is not kept.
pub fn get(folder: &Folder, n: u64) -> Result<StackVersionFiles, Error> {
    let missing = || Error::not_found(format!("no version {n} of this stack"));
    let version = meta(folder, n)?.ok_or_else(missing)?;
    let files = StackFiles {
        compose: folder
            .read(&format!("{VERSIONS}/{n}.compose"))?
            .ok_or_else(missing)?,
        env: folder
            .read(&format!("{VERSIONS}/{n}.env"))?
            .unwrap_or_default(),
    };
    Ok(StackVersionFiles { version, files })
}

/// The newest version's number and files, if any.
pub fn newest(folder: &Folder) -> Result<Option<StackVersionFiles>, Error> {
    match numbers(folder)?.last() {
        Some(&n) => get(folder, n).map(Some),
        None => Ok(None),
    }
}

/// Keeps `files` as the next version, made by `by` as `what`; past [`KEEP`], the oldest go.
pub fn record(
    folder: &Folder,
    files: &StackFiles,
    by: &str,
    what: &str,
) -> Result<StackVersion, Error> {
    folder.subdir(BERTH_DIR)?;
    folder.subdir(VERSIONS)?;
    let numbers = numbers(folder)?;
    let version = StackVersion {
        n: numbers.last().map_or(1, |n| n + 1),
        at_ms: crate::now_ms(),
        by: by.to_string(),
        what: what.to_string(),
    };
    let n = version.n;
    // The files first: a version listed always has them.
    folder.write(&format!("{VERSIONS}/{n}.compose"), &files.compose)?;
    if !files.env.is_empty() {
        folder.write(&format!("{VERSIONS}/{n}.env"), &files.env)?;
    }
    folder.write(&format!("{VERSIONS}/{n}.json"), &to_json(&version))?;
    let excess = (numbers.len() + 1).saturating_sub(KEEP);
    for old in numbers.into_iter().take(excess) {
        folder.remove(&format!("{VERSIONS}/{old}.json"))?;
        folder.remove(&format!("{VERSIONS}/{old}.compose"))?;
        folder.remove(&format!("{VERSIONS}/{old}.env"))?;
    }
    Ok(version)
}

fn meta(folder: &Folder, n: u64) -> Result<Option<StackVersion>, Error> {
    let Some(text) = folder.read(&format!("{VERSIONS}/{n}.json"))? else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Error::new(500, format!("version {n} of this stack is unreadable: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

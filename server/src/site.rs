//! The Leptos site options `berth` serves with: Leptos.toml when present, LEPTOS_* variables
//! over it (cargo-leptos sets those when it runs the server).

use leptos::config::{LeptosOptions, get_configuration};
use std::path::Path;

pub fn load(path: &Path) -> Result<LeptosOptions, String> {
    let configuration = if path.exists() {
        let text = path
            .to_str()
            .ok_or_else(|| format!("site options path {} is not UTF-8", path.display()))?;
        get_configuration(Some(text))
    } else {
        get_configuration(None)
    };
    configuration
        .map(|c| c.leptos_options)
        .map_err(|e| format!("cannot read site options from {}: {e}", path.display()))
}

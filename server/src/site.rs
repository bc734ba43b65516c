//! The Leptos site options `berth` serves with: Leptos.toml when present, LEPTOS_* variables
//! over it (cargo-leptos sets those when it runs the server); else the compiled site in a
//! `site/` directory next to the binary (an installed Berth, run from any directory).

use leptos::config::{Env, LeptosOptions, get_configuration};
use std::path::{Path, PathBuf};

/// The compiled site's name (Cargo.toml's `[[workspace.metadata.leptos]] name`).
const OUTPUT_NAME: &str = "berth";

pub fn load(path: &Path) -> Result<LeptosOptions, String> {
    let configuration = if path.exists() {
        let text = path
            .to_str()
            .ok_or_else(|| format!("site options path {} is not UTF-8", path.display()))?;
        get_configuration(Some(text))
    } else if std::env::var_os("LEPTOS_OUTPUT_NAME").is_some() {
        get_configuration(None)
    } else {
        return beside_binary(path);
    };
    configuration
        .map(|c| c.leptos_options)
        .map_err(|e| format!("cannot read site options from {}: {e}", path.display()))
}

/// The site options for knowing where Berth serves (`berth health`): as [`load`] finds
/// them, else the defaults (127.0.0.1:3000), since asking needs no site.
pub fn address_options(path: &Path) -> LeptosOptions {
    load(path).unwrap_or_else(|_| LeptosOptions::builder().output_name(OUTPUT_NAME).build())
}

/// The site next to the running binary, by absolute path: files are served from it
/// whatever the working directory.
fn beside_binary(config: &Path) -> Result<LeptosOptions, String> {
    let site = site_dir()?;
    if !site.join("pkg").is_dir() {
        return Err(format!(
            "no compiled site: neither {} here, nor LEPTOS_* variables, nor {}",
            config.display(),
            site.join("pkg").display()
        ));
    }
    let root = site
        .to_str()
        .ok_or_else(|| format!("site path {} is not UTF-8", site.display()))?;
    Ok(LeptosOptions::builder()
        .output_name(OUTPUT_NAME)
        .site_root(root)
        .env(Env::PROD)
        .build())
}

/// `site/` beside the binary, links followed (a binary linked into PATH finds its own).
fn site_dir() -> Result<PathBuf, String> {
    let binary = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| format!("cannot tell where the berth binary is: {e}"))?;
    Ok(binary.with_file_name("site"))
}

//! Which engines Berth watches: an engines file (`--engines FILE`, TOML) and/or repeated
//! `--engine NAME=URL`, else `local` at `DOCKER_HOST`. Everything is checked at start (names,
//! schemes, that certificate and key files exist and parse), so a bad setting stops Berth
//! with its reason instead of becoming an engine that is down forever.
//!
//! ```toml
//! [[engine]]
//! name = "prod"
//! url = "tcp://prod.example:2376"
//! tls = { ca = "prod/ca.pem", cert = "prod/cert.pem", key = "prod/key.pem" }
//!
//! [[engine]]
//! name = "edge"
//! url = "ssh://deploy@edge.example"
//! identity = "/etc/berth/id_ed25519"      # optional; ssh's own default otherwise
//! known_hosts = "/etc/berth/known_hosts"  # optional; ~/.ssh/known_hosts otherwise
//! ```
//! Relative paths are read from the file's directory.

use super::Engines;
use crate::docker::{
    EngineName,
    dial::Dialer,
    endpoint::{Endpoint, TlsFiles},
};
use serde::Deserialize;
use std::{
    collections::HashSet,
    path::{Path, PathBuf},
};

/// `NAME=URL`, as `--engine` takes it.
pub fn parse_engine_flag(text: &str) -> Result<(EngineName, Endpoint), String> {
    let (name, url) = text
        .split_once('=')
        .ok_or_else(|| format!("--engine takes NAME=URL, not {text:?}"))?;
    let name = EngineName::parse(name).map_err(|e| e.to_string())?;
    Ok((name, Endpoint::parse(url)?))
}

/// The engines of the file (in its order) then of the flags, or `local` at `docker_host`
/// when neither names one. The first is the default engine. Refused: a name given twice,
/// and an endpoint whose files cannot be read or parsed.
pub fn configured(
    file: Option<&Path>,
    flags: &[(EngineName, Endpoint)],
    docker_host: &Endpoint,
) -> Result<Vec<(EngineName, Endpoint)>, String> {
    let mut engines = match file {
        Some(path) => read_file(path)?,
        None => Vec::new(),
    };
    engines.extend(flags.iter().cloned());
    if engines.is_empty() {
        engines.push((Engines::local(), docker_host.clone()));
    }
    let mut seen = HashSet::new();
    for (name, endpoint) in &engines {
        if !seen.insert(name) {
            return Err(format!(
                "the engine name {name} is given twice: names must be unique"
            ));
        }
        Dialer::new(endpoint, Default::default()).map_err(|e| format!("engine {name}: {e}"))?;
    }
    Ok(engines)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    engine: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    url: String,
    tls: Option<Tls>,
    identity: Option<PathBuf>,
    known_hosts: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tls {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn read_file(path: &Path) -> Result<Vec<(EngineName, Endpoint)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the engines file {}: {e}", path.display()))?;
    let file: File =
        toml::from_str(&text).map_err(|e| format!("the engines file {}: {e}", path.display()))?;
    if file.engine.is_empty() {
        return Err(format!(
            "the engines file {} names no engine (add [[engine]] entries with name and url)",
            path.display()
        ));
    }
    let base = path.parent().unwrap_or(Path::new("."));
    file.engine
        .into_iter()
        .map(|entry| {
            let name = entry.name.clone();
            entry
                .endpoint(base)
                .map_err(|e| format!("the engines file {}, engine {name:?}: {e}", path.display()))
        })
        .collect()
}

impl Entry {
    fn endpoint(self, base: &Path) -> Result<(EngineName, Endpoint), String> {
        let name = EngineName::parse(&self.name).map_err(|e| e.to_string())?;
        let endpoint = match self.tls {
            Some(tls) => Endpoint::with_tls(
                &self.url,
                TlsFiles {
                    ca: base.join(tls.ca),
                    cert: base.join(tls.cert),
                    key: base.join(tls.key),
                },
            )?,
            None => Endpoint::parse(&self.url)?,
        };
        let endpoint = match endpoint {
            Endpoint::Ssh(mut target) => {
                target.identity = self.identity.map(|p| base.join(p));
                target.known_hosts = self.known_hosts.map(|p| base.join(p));
                Endpoint::Ssh(target)
            }
            other if self.identity.is_some() || self.known_hosts.is_some() => {
                return Err(format!(
                    "identity and known_hosts are for ssh:// engines, not {other}"
                ));
            }
            other => other,
        };
        Ok((name, endpoint))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempdir::Dir, PathBuf) {
        let dir = tempdir::Dir::new();
        let path = dir.0.join("engines.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    /// A directory removed on drop (std has no temp dir type).
    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Self {
                let path = std::env::temp_dir().join(format!(
                    "berth-engines-{}-{}",
                    std::process::id(),
                    rand::random::<u64>()
                ));
                std::fs::create_dir_all(&path).unwrap();
                Self(path)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    fn local() -> Endpoint {
        Endpoint::parse("unix:///var/run/docker.sock").unwrap()
    }

    #[test]
    fn without_file_or_flags_there_is_local() {
        let engines = configured(None, &[], &local()).unwrap();
        assert_eq!(engines, vec![(Engines::local(), local())]);
    }

    #[test]
    fn the_file_comes_first_then_the_flags() {
        let (_dir, path) = file(
            "[[engine]]\nname = \"a\"\nurl = \"unix:///run/a.sock\"\n\n[[engine]]\nname = \"edge\"\nurl = \"ssh://deploy@edge.example:2222\"\n",
        );
        let flags = [parse_engine_flag("b=tcp://127.0.0.1:2375").unwrap()];
        let engines = configured(Some(&path), &flags, &local()).unwrap();
        let names: Vec<_> = engines.iter().map(|(n, e)| format!("{n}={e}")).collect();
        assert_eq!(
            names,
            [
                "a=unix:///run/a.sock",
                "edge=ssh://deploy@edge.example:2222",
                "b=tcp://127.0.0.1:2375"
            ]
        );
    }

    #[test]
    fn bad_settings_are_refused_with_their_reason() {
        let cases = [
            (
                "[[engine]]\nname = \"A\"\nurl = \"unix:///a\"\n",
                "engine name",
            ),
            (
                "[[engine]]\nname = \"a\"\nurl = \"ftp://x\"\n",
                "unsupported",
            ),
            (
                "[[engine]]\nname = \"a\"\nurl = \"unix:///a\"\ncolour = 1\n",
                "unknown field",
            ),
            ("", "names no engine"),
            (
                "[[engine]]\nname = \"a\"\nurl = \"tcp://10.1.2.3:2376\"\n",
                "refused beyond loopback",
            ),
            (
                "[[engine]]\nname = \"a\"\nurl = \"tcp://h:2376\"\ntls = { ca = \"nope/ca.pem\", cert = \"c.pem\", key = \"k.pem\" }\n",
                "cannot read the TLS CA",
            ),
            (
                "[[engine]]\nname = \"a\"\nurl = \"unix:///a\"\nidentity = \"id\"\n",
                "for ssh:// engines",
            ),
            (
                "[[engine]]\nname = \"a\"\nurl = \"ssh://h\"\nidentity = \"missing_id\"\n",
                "cannot read the ssh identity",
            ),
            (
                "[[engine]]\nname = \"a\"\nurl = \"unix:///a\"\n[[engine]]\nname = \"a\"\nurl = \"unix:///b\"\n",
                "given twice",
            ),
        ];
        for (text, wanted) in cases {
            let (_dir, path) = file(text);
            let error = configured(Some(&path), &[], &local()).unwrap_err();
            assert!(error.contains(wanted), "{text:?}: {error}");
        }
        let missing = configured(Some(Path::new("/nonexistent/engines.toml")), &[], &local());
        assert!(
            missing
                .unwrap_err()
                .contains("cannot read the engines file")
        );
    }

    #[test]
    fn tls_files_must_parse_as_pem() {
        let (dir, path) = file(
            "[[engine]]\nname = \"a\"\nurl = \"tcp://127.0.0.1:2376\"\ntls = { ca = \"ca.pem\", cert = \"cert.pem\", key = \"key.pem\" }\n",
        );
        for f in ["ca.pem", "cert.pem", "key.pem"] {
            std::fs::write(dir.0.join(f), "not a certificate\n").unwrap();
        }
        let error = configured(Some(&path), &[], &local()).unwrap_err();
        assert!(error.contains("holds no certificate"), "{error}");
    }
}

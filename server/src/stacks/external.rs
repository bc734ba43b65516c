//! An external project's compose file, read-only: the path its containers' labels name,
//! read only when that path is one a compose file can have on this machine. The labels
//! are whatever the container's creator wrote, so the path is checked as a grammar before
//! anything is opened: absolute, no `.` or `..`, a `.yml`/`.yaml` name, no link on the way
//! (each folder is what its path says), a plain file of at most 1 MiB.

use super::folder::read_file;
use crate::{
    docker::{endpoint::Endpoint, engine::Engine, mapping},
    error::Error,
};
use app::model::ExternalFile;
use std::{
    collections::HashMap,
    fs,
    path::{Component, Path, PathBuf},
};

/// The labels Compose (v1 and v2) writes on each container of a project.
const CONFIG_FILES_LABEL: &str = "com.docker.compose.project.config_files";
const WORKING_DIR_LABEL: &str = "com.docker.compose.project.working_dir";

/// The compose file of the project `container` belongs to, as its labels name it.
pub async fn file(engine: &Engine, container: &str) -> Result<ExternalFile, Error> {
    let inspected = mapping::inspect(engine, container).await?;
    let labels = inspected.config.and_then(|c| c.labels).unwrap_or_default();
    let path = match path_of(&labels) {
        Ok(path) => path,
        Err(why) => {
            return Ok(ExternalFile {
                path: labels.get(CONFIG_FILES_LABEL).cloned(),
                text: None,
                unreadable: Some(why),
            });
        }
    };
    if !local(engine.endpoint()) {
        return Ok(ExternalFile {
            path: Some(path.display().to_string()),
            text: None,
            unreadable: Some(format!(
                "the engine is on another machine ({}): the file is there, not here",
                engine.endpoint()
            )),
        });
    }
    tokio::task::spawn_blocking(move || read(&path))
        .await
        .map_err(|e| Error::new(500, format!("reading the compose file failed: {e}")))
}

/// Whether a path the engine names is one on Berth's own machine: a local socket, or TCP,
/// which Berth allows only to loopback.
fn local(endpoint: &Endpoint) -> bool {
    matches!(endpoint, Endpoint::Unix(_) | Endpoint::Tcp(_))
}

/// The compose file a container's labels name (the first of several `-f`), or why it is
/// not one Berth reads.
fn path_of(labels: &HashMap<String, String>) -> Result<PathBuf, String> {
    let files = labels
        .get(CONFIG_FILES_LABEL)
        .filter(|f| !f.is_empty())
        .ok_or("the containers do not say where their compose file is")?;
    let first = files.split(',').next().unwrap_or_default().trim();
    let path = match Path::new(first).is_absolute() {
        true => PathBuf::from(first),
        false => {
            let dir = labels
                .get(WORKING_DIR_LABEL)
                .ok_or("the containers name their compose file without its folder")?;
            Path::new(dir).join(first)
        }
    };
    checked(&path).map(|()| path)
}

/// The grammar: absolute, plain components only, a YAML file's name.
fn checked(path: &Path) -> Result<(), String> {
    let shown = path.display();
    if !path.is_absolute() {
        return Err(format!("{shown} is not an absolute path"));
    }
    if path
        .components()
        .any(|c| !matches!(c, Component::RootDir | Component::Normal(_)))
    {
        return Err(format!("{shown} has '.' or '..' in it"));
    }
    let yaml = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e == "yml" || e == "yaml");
    match yaml {
        true => Ok(()),
        false => Err(format!(
            "{shown} is not a compose file's name (.yml or .yaml)"
        )),
    }
}

/// Reads the file at a checked path. Blocking: run it on the blocking pool.
fn read(path: &Path) -> ExternalFile {
    let shown = Some(path.display().to_string());
    let text = (|| {
        // A link anywhere on the way would make the path mean another file.
        let parent = path.parent().ok_or("no folder")?;
        match fs::canonicalize(parent) {
            Ok(real) if real == parent => {}
            Ok(_) => return Err(format!("{} goes through a link", parent.display())),
            Err(e) => return Err(format!("{} cannot be read here: {e}", parent.display())),
        }
        match read_file(path) {
            Ok(Some(text)) => Ok(text),
            Ok(None) => Err(format!("{} is not on Berth's machine", path.display())),
            Err(e) => Err(e.to_string()),
        }
    })();
    match text {
        Ok(text) => ExternalFile {
            path: shown,
            text: Some(text),
            unreadable: None,
        },
        Err(why) => ExternalFile {
            path: shown,
            text: None,
            unreadable: Some(why),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(files: &str, dir: Option<&str>) -> HashMap<String, String> {
        let mut labels = HashMap::from([(CONFIG_FILES_LABEL.to_string(), files.to_string())]);
        if let Some(dir) = dir {
            labels.insert(WORKING_DIR_LABEL.into(), dir.into());
        }
        labels
    }

    #[test]
    fn only_a_plain_absolute_yaml_path_is_read() {
        let ok = |files, dir| path_of(&labels(files, dir)).map(|p| p.display().to_string());
        assert_eq!(
            ok("/srv/app/compose.yaml", None).unwrap(),
            "/srv/app/compose.yaml"
        );
        assert_eq!(
            ok("docker-compose.yml", Some("/srv/app")).unwrap(),
            "/srv/app/docker-compose.yml"
        );
        assert_eq!(ok("/a/b.yml,/a/c.yml", None).unwrap(), "/a/b.yml");
        // `.` changes nothing (Path drops it); `..` could go anywhere.
        assert_eq!(
            ok("./compose.yaml", Some("/srv")).unwrap(),
            "/srv/./compose.yaml"
        );
        for (files, dir) in [
            ("/etc/shadow", None),
            ("/srv/../etc/x.yml", None),
            ("compose.yaml", Some("relative/dir")),
            ("compose.yaml", None),
            ("", None),
            ("/srv/app/", None),
        ] {
            assert!(ok(files, dir).is_err(), "{files} in {dir:?}");
        }
    }

    #[test]
    fn links_on_the_way_are_not_followed() {
        let dir = std::env::temp_dir().join(format!("berth-external-{}", std::process::id()));
        let real = dir.join("real");
        fs::create_dir_all(&real).unwrap();
        fs::write(real.join("compose.yaml"), "services: {}\n").unwrap();
        std::os::unix::fs::symlink(&real, dir.join("via")).unwrap();
        let dir = fs::canonicalize(&dir).unwrap();
        let direct = read(&dir.join("real/compose.yaml"));
        assert_eq!(direct.text.as_deref(), Some("services: {}\n"));
        let linked = read(&dir.join("via/compose.yaml"));
        assert!(linked.text.is_none());
        assert!(linked.unreadable.unwrap().contains("link"));
        let missing = read(&dir.join("real/gone.yaml"));
        assert!(
            missing
                .unreadable
                .unwrap()
                .contains("not on Berth's machine")
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}

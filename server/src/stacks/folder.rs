//! A stack's folder on disk, read and written so that nothing outside it is ever touched
//! through it: the folder must be a real directory (not a link), every file is opened
//! without following links and refused when it has other names (a hard link), reads stop
//! at the size limit, and every write goes to a new temporary file that is then renamed
//! over the old one (a crash leaves the old file or the new one, never half of either).
//!
//! Blocking: callers run these on the blocking pool.

use crate::error::Error;
use app::model::MAX_STACK_FILE;
use std::{
    fs::{self, File, OpenOptions},
    io::{self, Read, Write},
    os::unix::fs::{MetadataExt, OpenOptionsExt},
    path::{Path, PathBuf},
};

/// The compose file names a folder may hold, in the order Compose looks for them.
pub const COMPOSE_FILES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// The environment file beside it.
pub const ENV_FILE: &str = ".env";

/// Berth's own folder inside a stack: the engine it belongs to, its versions, its runs.
pub const BERTH_DIR: &str = ".berth";

/// A stack's folder: `name` is already checked against the stack name grammar.
#[derive(Clone, Debug)]
pub struct Folder {
    pub path: PathBuf,
}

impl Folder {
    pub fn new(root: &Path, name: &str) -> Self {
        Self {
            path: root.join(name),
        }
    }

    /// Whether it exists as a real directory; a link or a file in its place is refused.
    pub fn exists(&self) -> Result<bool, Error> {
        match fs::symlink_metadata(&self.path) {
            Ok(meta) if meta.file_type().is_dir() => Ok(true),
            Ok(_) => Err(Error::new(
                409,
                format!(
                    "{} is not a folder (a link or a file): Berth does not follow it",
                    self.path.display()
                ),
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error(&self.path, e)),
        }
    }

    /// The compose file it holds, by name, if any.
    pub fn compose_file(&self) -> Option<&'static str> {
        COMPOSE_FILES.into_iter().find(|file| {
            fs::symlink_metadata(self.path.join(file)).is_ok_and(|m| m.file_type().is_file())
        })
    }

    /// `relative` in the folder, once every folder on the way (`.berth`, `.berth/runs`) is
    /// a real directory: a link there would lead out of the stack.
    fn inside(&self, relative: &str) -> Result<PathBuf, Error> {
        let mut path = self.path.clone();
        let mut parts = relative.split('/').peekable();
        while let Some(part) = parts.next() {
            if part.is_empty() || part == "." || part == ".." {
                return Err(Error::new(
                    500,
                    format!("not a path in a stack: {relative:?}"),
                ));
            }
            path.push(part);
            if parts.peek().is_some() {
                match fs::symlink_metadata(&path) {
                    Ok(meta) if meta.file_type().is_dir() => {}
                    Ok(_) => {
                        return Err(Error::new(
                            409,
                            format!(
                                "{} is not a folder: Berth does not follow it",
                                path.display()
                            ),
                        ));
                    }
                    // Missing: nothing to read there, and a write fails on it plainly.
                    Err(_) => {}
                }
            }
        }
        Ok(path)
    }

    /// A file in the folder (or in `.berth/…`), or `None` when it does not exist.
    pub fn read(&self, relative: &str) -> Result<Option<String>, Error> {
        read_file(&self.inside(relative)?)
    }

    /// Replaces a file in the folder with `text`, through a temporary file and a rename.
    pub fn write(&self, relative: &str, text: &str) -> Result<(), Error> {
        write_file(&self.inside(relative)?, text)
    }

    /// Removes a file in the folder; one already gone is fine.
    pub fn remove(&self, relative: &str) -> Result<(), Error> {
        let path = self.inside(relative)?;
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error(&path, e)),
            _ => Ok(()),
        }
    }

    /// The numbers `N` of the files `N.json` in a sub-folder, smallest first (none when the
    /// sub-folder does not exist).
    pub fn numbered(&self, relative: &str) -> Result<Vec<u64>, Error> {
        let dir = self.inside(relative)?;
        if fs::symlink_metadata(&dir).is_ok_and(|m| !m.file_type().is_dir()) {
            return Err(Error::new(
                409,
                format!(
                    "{} is not a folder: Berth does not follow it",
                    dir.display()
                ),
            ));
        }
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error(&dir, e)),
        };
        let mut numbers: Vec<u64> = entries
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".json")?.parse().ok()
            })
            .collect();
        numbers.sort_unstable();
        Ok(numbers)
    }

    /// A sub-folder (`.berth`, `.berth/versions`), made when missing; a link there is refused.
    pub fn subdir(&self, relative: &str) -> Result<PathBuf, Error> {
        let path = self.inside(relative)?;
        match fs::create_dir(&path) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
                return Err(io_error(&path, e));
            }
            _ => {}
        }
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_dir() => Ok(path),
            Ok(_) => Err(Error::new(
                409,
                format!(
                    "{} is not a folder: Berth does not follow it",
                    path.display()
                ),
            )),
            Err(e) => Err(io_error(&path, e)),
        }
    }
}

/// A file's text: `None` when missing; refused when it is a link, has other names, is
/// larger than a stack file may be, or is not UTF-8.
pub fn read_file(path: &Path) -> Result<Option<String>, Error> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(Error::new(
                409,
                format!("{} is a link: Berth does not follow it", path.display()),
            ));
        }
        Err(e) => return Err(io_error(path, e)),
    };
    let meta = file.metadata().map_err(|e| io_error(path, e))?;
    if !meta.is_file() || meta.nlink() > 1 {
        return Err(Error::new(
            409,
            format!(
                "{} is not a plain file of its own (a device, a pipe or a hard link): Berth does not read it",
                path.display()
            ),
        ));
    }
    let mut text = Vec::new();
    // One byte past the limit tells a file at the limit from one over it.
    file.take(MAX_STACK_FILE as u64 + 1)
        .read_to_end(&mut text)
        .map_err(|e| io_error(path, e))?;
    if text.len() > MAX_STACK_FILE {
        return Err(Error::new(
            413,
            format!("{} is larger than 1 MiB", path.display()),
        ));
    }
    String::from_utf8(text)
        .map(Some)
        .map_err(|_| Error::new(422, format!("{} is not UTF-8 text", path.display())))
}

/// Writes `text` to a new temporary file beside `path`, flushes it to disk and renames it
/// over `path` (which replaces a link there rather than following it).
pub fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temporary = dir.join(format!(".{name}.berth-{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .mode(0o644)
            .open(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&temporary, path)?;
        // The rename itself is on disk once the folder is.
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result.map_err(|e| io_error(path, e))
}

/// A new folder of Berth's alone in the temporary folder: a name nobody can guess, made
/// with mode 0700 and refused if anything is already there (so never someone else's).
pub fn scratch_dir(tag: &str) -> Result<PathBuf, Error> {
    use std::os::unix::fs::DirBuilderExt;
    let path = std::env::temp_dir().join(format!("berth-{tag}-{:016x}", rand::random::<u64>()));
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&path)
        .map_err(|e| io_error(&path, e))?;
    Ok(path)
}

/// A failure on disk, as the 500 the user sees (the path says where).
pub fn io_error(path: &Path, e: io::Error) -> Error {
    Error::new(500, format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("berth-folder-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn writes_replace_and_reads_refuse_links_and_large_files() {
        let dir = scratch("files");
        let folder = Folder::new(&dir, "web");
        assert!(!folder.exists().unwrap());
        fs::create_dir(&folder.path).unwrap();
        folder.write("compose.yaml", "services: {}\n").unwrap();
        folder
            .write("compose.yaml", "services:\n  a: {}\n")
            .unwrap();
        assert_eq!(
            folder.read("compose.yaml").unwrap().as_deref(),
            Some("services:\n  a: {}\n")
        );
        assert_eq!(folder.compose_file(), Some("compose.yaml"));
        assert_eq!(folder.read(".env").unwrap(), None);
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(&folder.path).unwrap().count(), 1);

        let secret = dir.join("secret");
        fs::write(&secret, "outside").unwrap();
        std::os::unix::fs::symlink(&secret, folder.path.join(".env")).unwrap();
        assert_eq!(folder.read(".env").map_err(|e| e.status()), Err(409));
        fs::remove_file(folder.path.join(".env")).unwrap();
        fs::hard_link(&secret, folder.path.join(".env")).unwrap();
        assert_eq!(folder.read(".env").map_err(|e| e.status()), Err(409));
        // Writing over the link replaces it; the file it named is untouched.
        folder.write(".env", "A=1\n").unwrap();
        assert_eq!(fs::read_to_string(&secret).unwrap(), "outside");

        fs::write(folder.path.join("big.yaml"), vec![b'a'; MAX_STACK_FILE + 1]).unwrap();
        assert_eq!(folder.read("big.yaml").map_err(|e| e.status()), Err(413));
        fs::write(folder.path.join("full.yaml"), vec![b'a'; MAX_STACK_FILE]).unwrap();
        assert_eq!(
            folder.read("full.yaml").unwrap().map(|t| t.len()),
            Some(MAX_STACK_FILE)
        );

        // A `.berth` that is a link leads nowhere.
        let elsewhere = dir.join("elsewhere");
        fs::create_dir_all(elsewhere.join("versions")).unwrap();
        fs::write(elsewhere.join("versions/1.json"), "{}").unwrap();
        std::os::unix::fs::symlink(&elsewhere, folder.path.join(".berth")).unwrap();
        assert_eq!(
            folder
                .read(".berth/versions/1.json")
                .map_err(|e| e.status()),
            Err(409)
        );
        assert_eq!(
            folder.numbered(".berth/versions").map_err(|e| e.status()),
            Err(409)
        );
        assert_eq!(
            folder.write(".berth/engine", "x").map_err(|e| e.status()),
            Err(409)
        );
        assert!(!elsewhere.join("engine").exists());

        std::os::unix::fs::symlink(&dir, dir.join("linked")).unwrap();
        assert_eq!(
            Folder::new(&dir, "linked").exists().map_err(|e| e.status()),
            Err(409)
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}

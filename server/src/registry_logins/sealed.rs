//! Secrets sealed at rest: ChaCha20-Poly1305 under a 32-byte key Berth keeps in a file
//! (`--secret-key-file`, else `DATA_DIR/secret.key`, made on first use, readable by its
//! owner only). A sealed value is `v1:` and the base64 of a random nonce, the ciphertext
//! and its tag; what it belongs to (a registry's name and user) is bound in as associated
//! data, so a value copied to another row does not open. The key is made only to seal:
//! reading finds it or says it is missing (a lost key is never replaced silently).

use base64::{Engine as _, engine::general_purpose::STANDARD};
use ring::{
    aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    rand::{SecureRandom, SystemRandom},
};
use std::{
    io::Write,
    os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    sync::{Mutex, OnceLock},
};

const PREFIX: &str = "v1:";
const KEY_BYTES: usize = 32;

/// The key, read (or made) when first needed.
pub struct Sealer {
    /// `None`: no data directory (nothing can be sealed).
    file: Option<PathBuf>,
    /// Made when missing: only for the default file (a key named by a flag that is not
    /// there is a mistake to report, not to paper over with a new key).
    make: bool,
    key: OnceLock<LessSafeKey>,
    /// One first load at a time (two first seals must not make two keys).
    loading: Mutex<()>,
}

impl Sealer {
    pub fn new(file: Option<PathBuf>, make: bool) -> Self {
        Self {
            file,
            make,
            key: OnceLock::new(),
            loading: Mutex::new(()),
        }
    }

    /// The key; made first when `make` and this sealer may (only sealing makes one).
    fn key(&self, make: bool) -> Result<&LessSafeKey, String> {
        if let Some(key) = self.key.get() {
            return Ok(key);
        }
        let _loading = self.loading.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(key) = self.key.get() {
            return Ok(key);
        }
        let file = self
            .file
            .as_deref()
            .ok_or("no data directory holds a secret key")?;
        let bytes = read_or_make(file, make && self.make)?;
        let key = UnboundKey::new(&CHACHA20_POLY1305, &bytes)
            .map_err(|_| "the secret key is not 32 bytes".to_string())?;
        Ok(self.key.get_or_init(|| LessSafeKey::new(key)))
    }

    /// Seals `plain` for `owner`.
    pub fn seal(&self, plain: &str, owner: &str) -> Result<String, String> {
        let key = self.key(true)?;
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| "no randomness for a nonce".to_string())?;
        let mut sealed = plain.as_bytes().to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(owner.as_bytes()),
            &mut sealed,
        )
        .map_err(|_| "cannot seal the secret".to_string())?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(format!("{PREFIX}{}", STANDARD.encode(out)))
    }

    /// Opens what [`Self::seal`] made for `owner`; `Err` when this key did not seal it
    /// for `owner` (another key, another row, altered).
    pub fn open(&self, sealed: &str, owner: &str) -> Result<String, String> {
        let key = self.key(false)?;
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| STANDARD.decode(b).ok())
            .filter(|b| b.len() > NONCE_LEN)
            .ok_or_else(|| "not a sealed secret".to_string())?;
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| "bad nonce")?;
        let mut rest = rest.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(owner.as_bytes()), &mut rest)
            .map_err(|_| {
                "sealed with another key (replicas must share --secret-key-file)".to_string()
            })?;
        String::from_utf8(plain.to_vec()).map_err(|_| "not text".to_string())
    }
}

/// The key in `file` (64 hex digits), made there when it is missing and `make`.
fn read_or_make(file: &Path, make: bool) -> Result<Vec<u8>, String> {
    match std::fs::read_to_string(file) {
        Ok(text) => {
            let loose = std::fs::metadata(file).is_ok_and(|m| m.permissions().mode() & 0o077 != 0);
            if loose {
                tracing::warn!(
                    "the secret key {} is readable by others than its owner: chmod 600 it",
                    file.display()
                );
            }
            decode_hex(text.trim()).ok_or_else(|| {
                format!(
                    "{}: the secret key must be {} hex digits",
                    file.display(),
                    KEY_BYTES * 2
                )
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && make => match make_key(file) {
            Ok(key) => Ok(key),
            // Another process made it first: theirs is the key.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_or_make(file, false),
            Err(e) => Err(format!(
                "cannot write the secret key {}: {e} (or give one with --secret-key-file)",
                file.display()
            )),
        },
        Err(e) => Err(format!(
            "cannot read the secret key {}: {e}",
            file.display()
        )),
    }
}

/// A new key, written whole to a file of its own (0600, synced) and only then linked in
/// at `file`, which must not exist: a reader never sees half a key, a crash never leaves
/// an empty one, and of two makers one wins (`AlreadyExists` for the other).
fn make_key(file: &Path) -> std::io::Result<Vec<u8>> {
    let mut key = [0u8; KEY_BYTES];
    SystemRandom::new()
        .fill(&mut key)
        .map_err(|_| std::io::Error::other("no randomness for a key"))?;
    // A name of its own (two Berths in containers are both PID 1).
    let mut tag = [0u8; 8];
    SystemRandom::new()
        .fill(&mut tag)
        .map_err(|_| std::io::Error::other("no randomness for a name"))?;
    let scratch = file.with_extension(format!("new-{}", crate::accounts::sessions::hex(&tag)));
    // Its folder may not exist yet (the data directory, with `--database-url` elsewhere).
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&scratch)
        .and_then(|mut f| {
            f.write_all(format!("{}\n", crate::accounts::sessions::hex(&key)).as_bytes())?;
            f.sync_all()
        })
        .and_then(|()| std::fs::hard_link(&scratch, file));
    let _ = std::fs::remove_file(&scratch);
    written?;
    if let Some(dir) = file.parent() {
        std::fs::File::open(dir).and_then(|d| d.sync_all())?;
    }
    Ok(key.to_vec())
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() != KEY_BYTES * 2 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("berth-sealed-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("secret.key")
    }

    #[test]
    fn a_sealed_secret_opens_with_its_key_and_owner_only() {
        let file = temp("open");
        let sealer = Sealer::new(Some(file.clone()), true);
        let missing = sealer.open("v1:AAAA", "x").unwrap_err();
        assert!(
            missing.contains("cannot read"),
            "reading makes no key: {missing}"
        );
        assert!(!file.exists());
        let sealed = sealer.seal("hunter2", "registry.example").unwrap();
        assert!(!sealed.contains("hunter2"));
        assert_ne!(sealed, sealer.seal("hunter2", "registry.example").unwrap());
        assert_eq!(sealer.open(&sealed, "registry.example").unwrap(), "hunter2");
        assert!(sealer.open(&sealed, "other.example").is_err());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // The same file, read again by another process: the same key.
        assert_eq!(
            Sealer::new(Some(file.clone()), true)
                .open(&sealed, "registry.example")
                .unwrap(),
            "hunter2"
        );
        // Another key does not open it.
        let other = Sealer::new(Some(temp("other")), true);
        assert!(other.open(&sealed, "registry.example").is_err());
        // A key named by a flag is never made up.
        let missing = Sealer::new(Some(temp("missing")), false);
        assert!(missing.seal("x", "y").unwrap_err().contains("cannot read"));
        std::fs::write(&file, "short").unwrap();
        assert!(Sealer::new(Some(file), false).seal("x", "y").is_err());
    }

    #[test]
    fn a_key_is_made_in_a_folder_that_does_not_exist_yet() {
        let file = temp("folder").with_file_name("data").join("secret.key");
        let sealer = Sealer::new(Some(file.clone()), true);
        let sealed = sealer.seal("hunter2", "registry.example").unwrap();
        assert_eq!(sealer.open(&sealed, "registry.example").unwrap(), "hunter2");
        let dir = std::fs::metadata(file.parent().unwrap()).unwrap();
        assert_eq!(dir.permissions().mode() & 0o777, 0o700);
    }
}

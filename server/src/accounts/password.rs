//! Password hashing: argon2id in PHC form (`password-auth`), run on the blocking pool so a
//! sign-in never stalls the workers that carry live streams, one hash per core at a time.
//!
//! Each hash takes 19 MiB for ~20 ms. Measured before these bounds (release build, `curl`
//! sign-ins): 50 in a row left the process at 135 MiB, 50 eight at a time at 836 MiB, and
//! it never gave the memory back. Two causes, two fixes below.

use crate::error::Error;
use std::sync::{Once, OnceLock};
use tokio::sync::Semaphore;

/// The hash to store.
pub async fn hash(password: String) -> Result<String, Error> {
    bounded(move || password_auth::generate_hash(password))
        .await
        .map_err(|e| Error::new(500, format!("hashing failed: {e}")))
}

/// Whether `password` matches `hash`. A malformed hash never matches.
pub async fn verify(password: String, hash: String) -> bool {
    bounded(move || password_auth::verify_password(password, &hash).is_ok())
        .await
        .unwrap_or(false)
}

/// Runs `work` on the blocking pool once a hashing slot is free. Without the bound, a burst
/// of sign-ins (wrong passwords included: they are limited only after they fail) takes 19
/// MiB and a thread each, all at once; with it, they queue.
async fn bounded<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    let slots = SLOTS.get_or_init(|| {
        Semaphore::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    });
    let _slot = slots
        .acquire()
        .await
        .expect("the semaphore is never closed");
    keep_large_blocks_mapped();
    tokio::task::spawn_blocking(work).await
}

/// glibc raises its mmap threshold to the size of the first large block freed, so every
/// later 19 MiB block comes from (and stays in) a heap arena, one per blocking thread. A
/// fixed threshold keeps blocks above 1 MiB mapped on their own and unmapped when freed.
fn keep_large_blocks_mapped() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only sets an allocator parameter; glibc takes its own lock.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
        }
    });
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_hash_is_argon2id_and_verifies_only_its_password() {
        let hash = super::hash("correct horse battery".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("correct horse"));
        assert!(super::verify("correct horse battery".into(), hash.clone()).await);
        assert!(!super::verify("wrong horse battery".into(), hash).await);
        assert!(!super::verify("x".into(), "not a hash".into()).await);
    }
}

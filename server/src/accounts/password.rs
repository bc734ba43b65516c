//! Password hashing: argon2id in PHC form (`password-auth`), run on the blocking pool so a
//! sign-in never stalls the workers that carry live streams.

use app::model::ApiError;

/// The hash to store.
pub async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || password_auth::generate_hash(password))
        .await
        .map_err(|e| ApiError::new(500, format!("hashing failed: {e}")))
}

/// Whether `password` matches `hash`. A malformed hash never matches.
pub async fn verify(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || password_auth::verify_password(password, &hash).is_ok())
        .await
        .unwrap_or(false)
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

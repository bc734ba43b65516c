//! Accounts: who may use Berth and with which [`Role`]. `users` keeps them in the
//! [`crate::store`]; `password` hashes with argon2id off the async workers. Every error is
//! an [`Error`] with the status the HTTP API answers (the CLI prints the same message).

pub mod attempts;
pub mod audit;
pub mod gate;
pub mod password;
pub mod sessions;
pub mod tokens;
pub mod users;

use crate::error::Error;
use app::model::Role;

/// Names: lowercase letters, digits, `.`, `_`, `-`; 1 to 64 of them.
pub fn validate_name(name: &str) -> Result<(), Error> {
    if app::model::is_plain_name(name) {
        Ok(())
    } else {
        Err(Error::bad_request(format!(
            "a user name is 1 to 64 of a-z, 0-9, '.', '_' and '-', not {name:?}"
        )))
    }
}

pub const MIN_PASSWORD: usize = 12;
pub const MAX_PASSWORD: usize = 1024;

/// Passwords: 12 to 1024 bytes (the upper bound keeps hashing cheap to ask for).
pub fn validate_password(password: &str) -> Result<(), Error> {
    if (MIN_PASSWORD..=MAX_PASSWORD).contains(&password.len()) {
        Ok(())
    } else {
        Err(Error::bad_request(format!(
            "a password is {MIN_PASSWORD} to {MAX_PASSWORD} bytes long, not {}",
            password.len()
        )))
    }
}

/// A database failure, as the API reports it (details go to the log, not the client).
pub(crate) fn store_error(e: sqlx::Error) -> Error {
    tracing::error!("database: {e}");
    Error::new(500, "the accounts database failed; see the server log")
}

pub fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_passwords() {
        for good in ["a", "ops.team-1_x", &"z".repeat(64)] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Admin", "a b", "é", &"z".repeat(65), "x/y"] {
            assert_eq!(validate_name(bad).unwrap_err().status(), 400, "{bad}");
        }
        assert!(validate_password(&"p".repeat(12)).is_ok());
        assert!(validate_password(&"p".repeat(1024)).is_ok());
        assert!(validate_password(&"p".repeat(11)).is_err());
        assert!(validate_password(&"p".repeat(1025)).is_err());
    }
}

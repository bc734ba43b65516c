//! The error both the API and the pages report: an HTTP status and a message.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An error as both the API and the pages report it: an HTTP status and a message.
/// On the wire the API body is `{"error": "..."}`; the status travels as the HTTP status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub status: u16,
    pub error: String,
}

impl ApiError {
    pub fn new(status: u16, error: impl Into<String>) -> Self {
        Self {
            status,
            error: error.into(),
        }
    }
    pub fn bad_request(error: impl Into<String>) -> Self {
        Self::new(400, error)
    }
    pub fn not_found(error: impl Into<String>) -> Self {
        Self::new(404, error)
    }
    pub fn unavailable(error: impl Into<String>) -> Self {
        Self::new(503, error)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.error, self.status)
    }
}

impl std::error::Error for ApiError {}

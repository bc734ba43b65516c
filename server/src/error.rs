//! The server's one error type: what went wrong, as the HTTP status a client is answered
//! with. Handlers return it and `IntoResponse` writes `{"error": "..."}`. The wire type
//! [`ApiError`] appears only at the edges with the shared `app` crate: the reads a page
//! rendered on the server asks hand one over, and the model's validators hand one in (`From`).

use app::model::ApiError;
use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// 400: the request itself is wrong; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid session or token.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: signed in, but the role does not allow it, or a cross-site request.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 408: the request's body did not arrive in time.
    #[error("{0}")]
    RequestTimeout(String),
    /// 409: the state forbids it (the last admin, a name taken, an ambiguous id prefix).
    #[error("{0}")]
    Conflict(String),
    /// 413: the request's body is larger than the route reads.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 422: the body is well-formed but its content cannot be used (a compose file that is
    /// not YAML); the message names the line where it can.
    #[error("{0}")]
    Unprocessable(String),
    /// 421: a Host that is not one of Berth's (DNS rebinding).
    #[error("{0}")]
    MisdirectedHost(String),
    /// 426: a stream's path asked for without a WebSocket upgrade.
    #[error("{0}")]
    UpgradeRequired(String),
    /// 429: over a limit; the answer says when to try again where it knows.
    #[error("{0}")]
    TooMany(String),
    /// 500: a failure in Berth; the message is safe to show (details go to the log).
    #[error("{0}")]
    Internal(String),
    /// 502: the Docker engine answered something Berth cannot use.
    #[error("{0}")]
    BadGateway(String),
    /// 503: the Docker engine (or the host's statistics) cannot be reached now.
    #[error("{0}")]
    Unavailable(String),
}

impl Error {
    /// By status, so a call site reads like the answer it gives (`Error::new(409, …)`); a
    /// status Berth does not use becomes 500.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        let message = message.into();
        match status {
            400 => Self::BadRequest(message),
            401 => Self::Unauthorized(message),
            403 => Self::Forbidden(message),
            404 => Self::NotFound(message),
            405 => Self::MethodNotAllowed(message),
            408 => Self::RequestTimeout(message),
            409 => Self::Conflict(message),
            413 => Self::PayloadTooLarge(message),
            421 => Self::MisdirectedHost(message),
            422 => Self::Unprocessable(message),
            426 => Self::UpgradeRequired(message),
            429 => Self::TooMany(message),
            502 => Self::BadGateway(message),
            503 => Self::Unavailable(message),
            _ => Self::Internal(message),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::Unavailable(message.into())
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Unauthorized(_) => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound(_) => 404,
            Self::MethodNotAllowed(_) => 405,
            Self::RequestTimeout(_) => 408,
            Self::Conflict(_) => 409,
            Self::PayloadTooLarge(_) => 413,
            Self::MisdirectedHost(_) => 421,
            Self::Unprocessable(_) => 422,
            Self::UpgradeRequired(_) => 426,
            Self::TooMany(_) => 429,
            Self::Internal(_) => 500,
            Self::BadGateway(_) => 502,
            Self::Unavailable(_) => 503,
        }
    }

    /// As the shared crate and the browser see it.
    pub fn into_wire(self) -> ApiError {
        ApiError::new(self.status(), self.to_string())
    }
}

impl From<ApiError> for Error {
    fn from(error: ApiError) -> Self {
        Self::new(error.status, error.error)
    }
}

/// For extractors that cannot fail.
impl From<std::convert::Infallible> for Error {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_goes_through_the_wire_type_unchanged() {
        for status in [
            400, 401, 403, 404, 405, 408, 409, 413, 421, 426, 429, 500, 502, 503,
        ] {
            let wire = Error::new(status, "why").into_wire();
            assert_eq!((wire.status, wire.error.as_str()), (status, "why"));
            assert_eq!(Error::from(wire).status(), status);
        }
        assert_eq!(Error::new(418, "teapot").status(), 500);
    }
}

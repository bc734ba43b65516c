//! A request's body must arrive within `--body-timeout-ms` of the request reaching Berth,
//! however slowly it trickles: a client that announces a body and never sends it would
//! otherwise hold its handler, and one of the connection slots, for ever. Past the
//! deadline the body ends with an error, which a handler answers 408 ([`refusal`]: a body
//! that could not be read is 408 when late, 413 when too large, else 400, always as JSON).

use crate::error::Error;
use axum::{
    body::{Body, Bytes},
    extract::{
        Request, State,
        rejection::{BytesRejection, JsonRejection},
    },
    http::StatusCode,
    middleware::Next,
    response::Response,
};
use http_body::{Body as _, Frame, SizeHint};
use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};
use tokio::time::Sleep;

/// The error a late body ends with.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub struct TooSlow(Duration);

/// A body that errs once its deadline passes.
struct Deadline {
    inner: Body,
    sleep: Pin<Box<Sleep>>,
    limit: Duration,
}

impl http_body::Body for Deadline {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(TooSlow(self.limit))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The middleware: every body that is not empty gets the deadline.
pub async fn deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let body = match body.is_end_stream() {
        true => body,
        false => Body::new(Deadline {
            inner: body,
            sleep: Box::pin(tokio::time::sleep(limit)),
            limit,
        }),
    };
    next.run(Request::from_parts(parts, body)).await
}

/// How a body that could not be read is answered: 408 when its deadline passed, 413 when
/// it is over the route's limit, else 400 with what was wrong.
fn refusal(status: StatusCode, text: String, error: &(dyn std::error::Error + 'static)) -> Error {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.downcast_ref::<TooSlow>().is_some() {
            return Error::new(408, text);
        }
        cause = e.source();
    }
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => Error::new(413, text),
        _ => Error::bad_request(text),
    }
}

impl From<BytesRejection> for Error {
    fn from(e: BytesRejection) -> Self {
        refusal(e.status(), e.body_text(), &e)
    }
}

impl From<JsonRejection> for Error {
    fn from(e: JsonRejection) -> Self {
        refusal(e.status(), e.body_text(), &e)
    }
}

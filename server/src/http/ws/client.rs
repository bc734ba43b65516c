//! One WebSocket client: forwards its hub's frames, answers liveness, and ends on the first
//! of: the client leaves, the stream ends, the client is too slow, the client stops
//! answering pings, the server shuts down, the session that opened it ends. Every wait and
//! every send, its prelude's included, races the last two. Everything it holds
//! (subscription, permit, ownership) is released by `Drop` when it returns, whichever way
//! that is.

use super::{
    limits::Permit,
    owners::{CLOSE_SESSION_ENDED, Ownership},
};
use crate::live::hub::Subscription;
use crate::live::hub::queue::RecvError;
use app::frames::{Frame, StreamKind};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures::{SinkExt, StreamExt, future::BoxFuture, stream::SplitSink};
use std::{future::Future, pin::Pin, time::Duration};
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Lag events in a row (without catching up) before a client is closed.
    pub max_lags: u32,
    /// A single send may take this long before the client counts as stalled.
    pub send_timeout: Duration,
    pub ping_interval: Duration,
    /// No pong for this long closes the socket.
    pub pong_timeout: Duration,
}

/// Close codes: 1000 normal (stream ended), 1001 going away (shutdown), 4008 too slow.
pub const CLOSE_TOO_SLOW: u16 = 4008;

enum Exit {
    /// The client closed, vanished, or errored: nothing more to send.
    Gone,
    Close(u16, &'static str),
    /// The session that opened the socket ended (why): `end`, then 4401.
    SessionEnded(String),
}

type Sink = SplitSink<WebSocket, Message>;

/// Why a send did not go through.
pub(super) enum Unsent {
    /// Not written within the timeout: the client is not reading.
    Stalled,
    /// The connection broke or the client closed it.
    Broken,
    /// The server began shutting down meanwhile.
    ShuttingDown,
}

impl Unsent {
    /// How the client ends after a failed send.
    fn exit(self, kind: StreamKind) -> Exit {
        match self {
            Self::Stalled => {
                tracing::info!(%kind, "closing a WebSocket client: a send stalled");
                Exit::Close(CLOSE_TOO_SLOW, "send stalled")
            }
            Self::Broken => Exit::Gone,
            Self::ShuttingDown => Exit::Close(1001, SHUTTING_DOWN),
        }
    }
}

/// Sends one message within `timeout`. For everything but the goodbye, shutdown interrupts
/// it: a client that does not read must never hold shutdown up.
pub(super) async fn send(
    sink: &mut Sink,
    message: Message,
    timeout: Duration,
    shutdown: &CancellationToken,
) -> Result<(), Unsent> {
    tokio::select! {
        sent = tokio::time::timeout(timeout, sink.send(message)) => match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Unsent::Broken),
            Err(_) => Err(Unsent::Stalled),
        },
        () = shutdown.cancelled() => Err(Unsent::ShuttingDown),
    }
}

/// The most bytes of frames written together with one flush: a busy stream costs one
/// write per batch of frames, not one per frame.
const WRITE_BYTES: usize = 256 * 1024;

/// Writes `messages` and flushes once, all within `timeout`; `cancelled` (the server's
/// shutdown, made once per client) interrupts it.
async fn send_all(
    sink: &mut Sink,
    messages: impl IntoIterator<Item = Message>,
    timeout: Duration,
    cancelled: Pin<&mut WaitForCancellationFuture<'_>>,
) -> Result<(), Unsent> {
    let write = async {
        for message in messages {
            sink.feed(message).await?;
        }
        sink.flush().await
    };
    tokio::select! {
        sent = tokio::time::timeout(timeout, write) => match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Unsent::Broken),
            Err(_) => Err(Unsent::Stalled),
        },
        () = cancelled => Err(Unsent::ShuttingDown),
    }
}

fn frame(frame: &Frame) -> Message {
    Message::Text(text(frame))
}

/// A frame as the text a socket sends.
pub fn text(frame: &Frame) -> Utf8Bytes {
    serde_json::to_string(frame).unwrap_or_default().into()
}

const SHUTTING_DOWN: &str = "server shutting down";
/// How long the goodbye (`end`, then the close frame) may take at shutdown.
const GOODBYE: Duration = Duration::from_secs(1);

/// What a client is sent before its hub's frames, worked out with its place in the hub at
/// hand: a log viewer's history (waiting for a hub that is starting, placing its cursor,
/// fetching older lines for it alone), a list's snapshot.
pub type Prelude =
    Box<dyn for<'a> FnOnce(&'a mut Subscription) -> BoxFuture<'a, Vec<Utf8Bytes>> + Send>;

/// How a send that also watched the session's end came out.
enum Sent {
    Done,
    Unsent(Unsent),
    /// The session ended first (why).
    SessionEnded(String),
}

/// [`send_all`], unless the session that opened the socket ends first: a signed-out user's
/// slow client is not written to for a send timeout longer.
async fn send_or_end<F: Future<Output = String>>(
    sink: &mut Sink,
    messages: impl IntoIterator<Item = Message>,
    timeout: Duration,
    cancelled: Pin<&mut WaitForCancellationFuture<'_>>,
    session_ended: Pin<&mut F>,
) -> Sent {
    tokio::select! {
        biased;
        reason = session_ended => Sent::SessionEnded(reason),
        sent = send_all(sink, messages, timeout, cancelled) => match sent {
            Ok(()) => Sent::Done,
            Err(unsent) => Sent::Unsent(unsent),
        },
    }
}

/// The whole state again, sent instead of `lagged` to a client of a stream of changes that
/// fell behind; `None` when there is none to send (the `lagged` frame goes instead).
pub type Resync = std::sync::Arc<dyn Fn() -> Option<Utf8Bytes> + Send + Sync>;

/// A client's place in its hub, what it is owed before the hub's backlog, and what it is
/// sent instead of `lagged` when it falls behind (a stream whose frames are changes needs
/// the whole state again).
pub struct Joined {
    pub subscription: Subscription,
    pub prelude: Option<Prelude>,
    pub resync: Option<Resync>,
}

impl From<Subscription> for Joined {
    fn from(subscription: Subscription) -> Self {
        Self {
            subscription,
            prelude: None,
            resync: None,
        }
    }
}

pub async fn run(
    socket: WebSocket,
    joined: Joined,
    permit: Permit,
    ownership: Option<Ownership>,
    config: ClientConfig,
    shutdown: CancellationToken,
) {
    let Joined {
        mut subscription,
        prelude,
        resync,
    } = joined;
    let kind = subscription.kind();
    let (mut sink, mut incoming) = socket.split();
    let never = CancellationToken::new();
    // Made once: every wait and write of the client watches the same shutdown future.
    let cancelled = shutdown.cancelled();
    tokio::pin!(cancelled);
    // Created once: resolves when the session that opened this socket ends.
    let ended = ownership.as_ref().map(|o| o.ended.clone());
    let session_ended = async move {
        match ended {
            Some(ended) => ended.wait().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(session_ended);
    let exit = 'client: {
        if let Some(prelude) = prelude {
            // The hub keeps this client's place meanwhile; what it asked for is history, read
            // at its own pace like the backlog.
            let frames = tokio::select! {
                biased;
                () = cancelled.as_mut() => break 'client Exit::Close(1001, SHUTTING_DOWN),
                reason = &mut session_ended => break 'client Exit::SessionEnded(reason),
                frames = prelude(&mut subscription) => frames,
            };
            for text in frames {
                match send_or_end(
                    &mut sink,
                    [Message::Text(text)],
                    config.send_timeout,
                    cancelled.as_mut(),
                    session_ended.as_mut(),
                )
                .await
                {
                    Sent::Done => {}
                    Sent::Unsent(unsent) => break 'client unsent.exit(kind),
                    Sent::SessionEnded(reason) => break 'client Exit::SessionEnded(reason),
                }
            }
        }
        let mut ping =
            tokio::time::interval_at(Instant::now() + config.ping_interval, config.ping_interval);
        let mut last_pong = Instant::now();
        let mut lags = 0;
        loop {
            tokio::select! {
                // Shutdown first: a client with frames always ready must not starve it.
                biased;
                () = cancelled.as_mut() => break 'client Exit::Close(1001, SHUTTING_DOWN),
                reason = &mut session_ended => break 'client Exit::SessionEnded(reason),
                received = subscription.cursor.recv() => match received {
                    Ok(text) => {
                        // With everything else already waiting, up to a write's worth.
                        let mut frames = vec![text];
                        frames.extend(subscription.cursor.ready(WRITE_BYTES));
                        if subscription.cursor.is_empty() {
                            lags = 0;
                        }
                        // Nothing follows an end (its hub has closed).
                        let end = frames.iter().position(|f| f.ending().is_some());
                        frames.truncate(end.map_or(frames.len(), |i| i + 1));
                        let messages = frames.into_iter().map(|f| Message::Text(f.into_text()));
                        match send_or_end(&mut sink, messages, config.send_timeout, cancelled.as_mut(), session_ended.as_mut()).await {
                            Sent::Done => {}
                            Sent::Unsent(unsent) => break unsent.exit(kind),
                            Sent::SessionEnded(reason) => break Exit::SessionEnded(reason),
                        }
                        if end.is_some() {
                            break Exit::Close(1000, "stream ended");
                        }
                    }
                    Err(RecvError::Lagged { missed, history }) => {
                        subscription.count_lagged(missed);
                        // History the client asked for is sent as fast as it reads; losing
                        // some of it to the budget is reported, never held against it.
                        if !history {
                            lags += 1;
                        }
                        let told = resync
                            .as_ref()
                            .and_then(|resync| resync())
                            .map_or_else(|| frame(&Frame::Lagged { missed }), Message::Text);
                        match send_or_end(&mut sink, [told], config.send_timeout, cancelled.as_mut(), session_ended.as_mut()).await {
                            Sent::Done => {}
                            Sent::Unsent(unsent) => break unsent.exit(kind),
                            Sent::SessionEnded(reason) => break Exit::SessionEnded(reason),
                        }
                        if lags >= config.max_lags {
                            tracing::info!(%kind, lags, "closing a WebSocket client that keeps falling behind");
                            break Exit::Close(CLOSE_TOO_SLOW, "too slow: fell behind repeatedly");
                        }
                    }
                    // The hub closed without an `end`: cancelled at shutdown.
                    Err(RecvError::Closed) => break Exit::Close(1001, if shutdown.is_cancelled() { SHUTTING_DOWN } else { "stream closed" }),
                },
                message = incoming.next() => match message {
                    Some(Ok(Message::Pong(_))) => last_pong = Instant::now(),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break Exit::Gone,
                    // Pings are answered by the protocol layer; clients have nothing to say.
                    Some(Ok(_)) => {}
                },
                _ = ping.tick() => {
                    if last_pong.elapsed() > config.pong_timeout {
                        tracing::info!(%kind, "closing a WebSocket client that stopped answering pings");
                        break Exit::Gone;
                    }
                    let ping = Message::Ping(Default::default());
                    match send_or_end(&mut sink, [ping], config.send_timeout, cancelled.as_mut(), session_ended.as_mut()).await {
                        Sent::Done => {}
                        Sent::Unsent(unsent) => break unsent.exit(kind),
                        Sent::SessionEnded(reason) => break Exit::SessionEnded(reason),
                    }
                }
            }
        }
    };
    if let Exit::SessionEnded(reason) = exit {
        let goodbye = Frame::End {
            reason,
            retry: false,
        };
        if send(&mut sink, frame(&goodbye), GOODBYE, &never)
            .await
            .is_ok()
        {
            let close = Message::Close(Some(CloseFrame {
                code: CLOSE_SESSION_ENDED,
                reason: Utf8Bytes::from_static("session ended"),
            }));
            let _ = send(&mut sink, close, GOODBYE, &never).await;
        }
    } else if let Exit::Close(code, reason) = exit {
        if code == 1001 {
            // Told like every other ending: why, and that coming back later will work.
            let goodbye = Frame::End {
                reason: reason.into(),
                retry: true,
            };
            if send(&mut sink, frame(&goodbye), GOODBYE, &never)
                .await
                .is_err()
            {
                return;
            }
        }
        // A client closed as too slow has a full socket: its close frame queues behind what
        // it has not read, so it gets as long as any other send before the socket drops.
        let patience = if code == CLOSE_TOO_SLOW {
            subscription.count_slow_close();
            config.send_timeout
        } else {
            GOODBYE
        };
        let close = Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        }));
        let _ = send(&mut sink, close, patience, &never).await;
    }
    drop(subscription);
    drop(permit);
    drop(ownership);
}

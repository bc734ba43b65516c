//! One terminal's socket: the TTY's output to the browser as binary frames, the browser's
//! keystrokes (binary) and resizes (JSON text) to the process, until the first of: the
//! process exits (`exited` with its code, then 1000), the browser leaves or stops answering
//! pings, a send stalls (4008), nobody types for `--exec-idle-secs` (4009), the session
//! that opened it ends (4401), Berth shuts down (1001). The two directions are separate
//! futures of one task, so a process that stops reading its input never holds up its
//! output. The caller then ends the process ([`crate::docker::exec::Exec::reap`]).

use super::{
    client::{self, ClientConfig, Unsent},
    owners::{CLOSE_SESSION_ENDED, Ownership},
};
use crate::docker::exec::{Exec, Input, Output};
use app::terminal::{CLOSE_IDLE, TerminalInput, TerminalOutput};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures::StreamExt;
use std::{
    fmt,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};
use tokio::{io::AsyncWriteExt, time::Instant};
use tokio_util::sync::CancellationToken;

/// The largest message a browser may send: a paste is cut into pieces of this size.
pub const MAX_INPUT: usize = 64 * 1024;
/// How long the goodbye may take.
const GOODBYE: Duration = Duration::from_secs(1);

/// What a terminal's socket runs with.
pub struct TerminalClient {
    pub config: ClientConfig,
    pub idle: Option<Duration>,
    pub shutdown: CancellationToken,
    pub ownership: Option<Ownership>,
}

/// Why a terminal ended, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    Exited(Option<i64>),
    /// The browser closed the socket, vanished, or stopped answering.
    Left,
    Stalled,
    Idle,
    Session,
    ShuttingDown,
}

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ended::Exited(Some(code)) => write!(f, "exited with code {code}"),
            Ended::Exited(None) => f.write_str("exited"),
            Ended::Left => f.write_str("closed by the browser"),
            Ended::Stalled => f.write_str("the browser stopped reading"),
            Ended::Idle => f.write_str("idle"),
            Ended::Session => f.write_str("the session ended"),
            Ended::ShuttingDown => f.write_str("Berth shut down"),
        }
    }
}

/// When something last happened, shared by the two directions of one task (a `Cell` would
/// do, but the task must be `Send`).
struct Moment {
    base: Instant,
    millis: AtomicU64,
}

impl Moment {
    fn now() -> Self {
        Self {
            base: Instant::now(),
            millis: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let millis = self.base.elapsed().as_millis() as u64;
        self.millis.store(millis, Ordering::Relaxed);
    }

    fn get(&self) -> Instant {
        self.base + Duration::from_millis(self.millis.load(Ordering::Relaxed))
    }
}

/// How the loop ended, before the goodbye.
enum Exit {
    OutputEnded,
    Left,
    Stalled,
    Idle,
    SessionEnded(String),
    ShuttingDown,
}

impl From<Unsent> for Exit {
    fn from(unsent: Unsent) -> Self {
        match unsent {
            Unsent::Stalled => Exit::Stalled,
            Unsent::Broken => Exit::Left,
            Unsent::ShuttingDown => Exit::ShuttingDown,
        }
    }
}

fn text(message: &TerminalOutput) -> Message {
    Message::Text(serde_json::to_string(message).unwrap_or_default().into())
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

/// A terminal whose process could not start: why, then 1011.
pub async fn refuse(socket: WebSocket, reason: &str) {
    let (mut sink, _) = socket.split();
    let never = CancellationToken::new();
    let end = TerminalOutput::End {
        reason: format!("the terminal could not start: {reason}"),
    };
    if client::send(&mut sink, text(&end), GOODBYE, &never)
        .await
        .is_ok()
    {
        let _ = client::send(&mut sink, close(1011, "could not start"), GOODBYE, &never).await;
    }
}

impl TerminalClient {
    /// Runs the terminal until it ends, closes its TTY and says goodbye; the process may
    /// still be running (the caller reaps it).
    pub async fn run(self, socket: WebSocket, exec: &Exec, output: Output, input: Input) -> Ended {
        let (mut sink, mut incoming) = socket.split();
        let (mut output, mut input) = (output, input);
        let config = &self.config;
        let last_pong = Moment::now();
        let last_input = Moment::now();
        let ended = self.ownership.as_ref().map(|o| o.ended.clone());
        let exit = {
            let to_browser = async {
                let mut ping = tokio::time::interval_at(
                    Instant::now() + config.ping_interval,
                    config.ping_interval,
                );
                loop {
                    tokio::select! {
                        chunk = output.next() => match chunk {
                            Some(Ok(chunk)) => {
                                let bytes = Message::Binary(chunk.into_bytes());
                                if let Err(unsent) = client::send(&mut sink, bytes, config.send_timeout, &self.shutdown).await {
                                    return Exit::from(unsent);
                                }
                            }
                            Some(Err(_)) | None => return Exit::OutputEnded,
                        },
                        _ = ping.tick() => {
                            if last_pong.get().elapsed() > config.pong_timeout {
                                return Exit::Left;
                            }
                            let ping = Message::Ping(Default::default());
                            if let Err(unsent) = client::send(&mut sink, ping, config.send_timeout, &self.shutdown).await {
                                return Exit::from(unsent);
                            }
                        }
                    }
                }
            };
            let from_browser = async {
                loop {
                    match incoming.next().await {
                        Some(Ok(Message::Binary(bytes))) => {
                            last_input.touch();
                            let written = async {
                                input.write_all(&bytes).await?;
                                input.flush().await
                            };
                            if written.await.is_err() {
                                return Exit::OutputEnded;
                            }
                        }
                        Some(Ok(Message::Text(text))) => {
                            match serde_json::from_str::<TerminalInput>(&text) {
                                Ok(TerminalInput::Resize { cols, rows }) => {
                                    if let Err(e) = exec.resize(cols.max(1), rows.max(1)).await {
                                        tracing::debug!("cannot resize a terminal: {e}");
                                    }
                                }
                                Err(e) => tracing::debug!("a terminal sent {text:?}: {e}"),
                            }
                        }
                        Some(Ok(Message::Pong(_))) => last_pong.touch(),
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Exit::Left,
                        Some(Ok(_)) => {}
                    }
                }
            };
            let idle = async {
                let Some(limit) = self.idle else {
                    return std::future::pending().await;
                };
                loop {
                    let due = last_input.get() + limit;
                    if Instant::now() >= due {
                        return;
                    }
                    tokio::time::sleep_until(due).await;
                }
            };
            let session_ended = async {
                match &ended {
                    Some(ended) => ended.wait().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                () = self.shutdown.cancelled() => Exit::ShuttingDown,
                reason = session_ended => Exit::SessionEnded(reason),
                exit = to_browser => exit,
                exit = from_browser => exit,
                () = idle => Exit::Idle,
            }
        };
        // Close the TTY first: Docker then stops copying, and a shell that reads its end
        // may go by itself.
        drop(output);
        let _ = tokio::time::timeout(GOODBYE, input.shutdown()).await;
        drop(input);
        let never = CancellationToken::new();
        let (goodbye, closing, ended) = match exit {
            Exit::OutputEnded => {
                let code = exec.exit_code().await;
                (
                    Some(TerminalOutput::Exited { code }),
                    Some(close(1000, "process exited")),
                    Ended::Exited(code),
                )
            }
            Exit::Left => (None, None, Ended::Left),
            Exit::Stalled => (
                None,
                Some(close(client::CLOSE_TOO_SLOW, "send stalled")),
                Ended::Stalled,
            ),
            Exit::Idle => (
                Some(TerminalOutput::End {
                    reason: "closed after no input for too long".into(),
                }),
                Some(close(CLOSE_IDLE, "idle")),
                Ended::Idle,
            ),
            Exit::SessionEnded(reason) => (
                Some(TerminalOutput::End { reason }),
                Some(close(CLOSE_SESSION_ENDED, "session ended")),
                Ended::Session,
            ),
            Exit::ShuttingDown => (
                Some(TerminalOutput::End {
                    reason: "server shutting down".into(),
                }),
                Some(close(1001, "server shutting down")),
                Ended::ShuttingDown,
            ),
        };
        let said = match goodbye {
            Some(goodbye) => client::send(&mut sink, text(&goodbye), GOODBYE, &never)
                .await
                .is_ok(),
            None => true,
        };
        if said && let Some(closing) = closing {
            let _ = client::send(&mut sink, closing, GOODBYE, &never).await;
        }
        drop(self.ownership);
        ended
    }
}

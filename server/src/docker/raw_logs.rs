//! A container's log read straight from the engine's HTTP body, in pieces no larger than the
//! engine sends them. bollard's decoder holds a TTY container's output until a newline with
//! no limit (a container printing 100 MB without one cost 100 MB and a rescan of the buffer
//! per chunk); here only the 8-byte frame header is ever held, and lines are bounded by the
//! line splitter that reads these pieces (`live/upstream/lines.rs`). The same plain HTTP also reads
//! the odd JSON answer whose shape bollard's models do not fit on every engine
//! ([`LogsApi::get_json`]).

use crate::docker::dial::Dialer;
use app::frames::LogStream;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use http_body_util::BodyExt;
use hyper::{Request, body::Incoming, client::conn::http1};
use hyper_util::rt::TokioIo;
use std::{future::Future, pin::Pin};

/// How to reach the engine's HTTP API for logs.
#[derive(Clone)]
pub struct LogsApi {
    pub dialer: Dialer,
    /// The negotiated API version, e.g. `1.41`.
    pub version: String,
}

/// One `GET /containers/{id}/logs` (or a service's).
#[derive(Clone, Debug)]
pub struct LogsQuery {
    pub follow: bool,
    /// A line count or `all`.
    pub tail: String,
    /// Unix seconds; 0 for all.
    pub since: i64,
    pub timestamps: bool,
}

/// Why a log stream could not start or stopped early.
#[derive(Debug)]
pub enum LogsError {
    /// The engine answered with an error status (404: no such container).
    Status(u16, String),
    /// Connecting or reading failed.
    Io(String),
}

/// A piece of one stream's output, as it came.
pub type Piece = (LogStream, Bytes);

type Connection = Pin<Box<dyn Future<Output = Result<(), hyper::Error>> + Send>>;

struct Reader {
    connection: Option<Connection>,
    body: Incoming,
    demux: Demux,
}

/// Docker multiplexes stdout and stderr of a non-TTY container: an 8-byte header (stream,
/// 0, 0, 0, big-endian length), then that many bytes. A TTY container's output is raw.
enum Demux {
    /// Not known yet: decided by the first 4 bytes (held until they came).
    Detect(Vec<u8>),
    Raw,
    Header(Vec<u8>),
    Payload(LogStream, u32),
}

impl Demux {
    /// Splits a body frame into pieces, holding at most a partial header.
    fn split(&mut self, mut data: Bytes, out: &mut Vec<Piece>) {
        while !data.is_empty() {
            match self {
                Demux::Detect(first) => {
                    let need = (4 - first.len()).min(data.len());
                    first.extend_from_slice(&data.split_to(need));
                    if first.len() < 4 {
                        return;
                    }
                    let multiplexed = first[0] <= 2 && first[1..4].iter().all(|&b| b == 0);
                    let held = Bytes::from(std::mem::take(first));
                    *self = if multiplexed {
                        Demux::Header(Vec::with_capacity(8))
                    } else {
                        Demux::Raw
                    };
                    self.split(held, out);
                }
                Demux::Raw => {
                    out.push((LogStream::Stdout, std::mem::take(&mut data)));
                }
                Demux::Header(header) => {
                    let need = (8 - header.len()).min(data.len());
                    header.extend_from_slice(&data.split_to(need));
                    if header.len() == 8 {
                        let stream = if header[0] == 2 {
                            LogStream::Stderr
                        } else {
                            LogStream::Stdout
                        };
                        let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
                        *self = Demux::Payload(stream, len);
                    }
                }
                Demux::Payload(stream, left) => {
                    let take = (*left as usize).min(data.len());
                    out.push((*stream, data.split_to(take)));
                    *left -= take as u32;
                    if *left == 0 {
                        *self = Demux::Header(Vec::with_capacity(8));
                    }
                }
            }
        }
        if let Demux::Payload(_, 0) = self {
            *self = Demux::Header(Vec::with_capacity(8));
        }
    }
}

type Sender = http1::SendRequest<http_body_util::Empty<Bytes>>;

/// HTTP/1 over a connected socket, whichever kind.
async fn handshake<S>(socket: S) -> Result<(Sender, Connection), LogsError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = http1::handshake(TokioIo::new(socket))
        .await
        .map_err(|e| LogsError::Io(e.to_string()))?;
    Ok((sender, Box::pin(connection)))
}

impl LogsApi {
    /// The container's log as pieces of output; ends when the engine ends it (container
    /// stopped, or not following). Dropping the stream closes the connection.
    pub async fn open(
        &self,
        id: &str,
        query: &LogsQuery,
        tty: Option<bool>,
    ) -> Result<BoxStream<'static, Result<Piece, LogsError>>, LogsError> {
        let id = crate::docker::path::path(crate::docker::path::Kind::Container, id)
            .map_err(|e| LogsError::Status(400, e.to_string()))?;
        self.open_at(&format!("containers/{id}/logs?"), query, tty)
            .await
    }

    /// A swarm service's merged log (`GET /services/{id}/logs`), every line led by its
    /// details (`com.docker.swarm.task.id=…,…`) so it can be told which task printed it.
    pub async fn open_service(
        &self,
        id: &str,
        query: &LogsQuery,
    ) -> Result<BoxStream<'static, Result<Piece, LogsError>>, LogsError> {
        let id = crate::docker::path::path(crate::docker::path::Kind::Service, id)
            .map_err(|e| LogsError::Status(400, e.to_string()))?;
        self.open_at(&format!("services/{id}/logs?details=1&"), query, None)
            .await
    }

    /// `path` is the endpoint under the API version, ending in `?` or `&`.
    async fn open_at(
        &self,
        path: &str,
        query: &LogsQuery,
        tty: Option<bool>,
    ) -> Result<BoxStream<'static, Result<Piece, LogsError>>, LogsError> {
        let uri = format!(
            "/v{}/{path}follow={}&stdout=1&stderr=1&timestamps={}&tail={}&since={}",
            self.version, query.follow, query.timestamps, query.tail, query.since
        );
        let (response, connection) = self.get(&uri).await?;
        let demux = match tty {
            Some(true) => Demux::Raw,
            Some(false) => Demux::Header(Vec::with_capacity(8)),
            None => Demux::Detect(Vec::with_capacity(4)),
        };
        let reader = Reader {
            connection: Some(connection),
            body: response.into_body(),
            demux,
        };
        Ok(stream::unfold(Some(reader), read_pieces)
            .flat_map(stream::iter)
            .boxed())
    }
}

impl LogsApi {
    /// Sends `GET uri` on a connection of its own: the response once its head came (an error
    /// status is a [`LogsError::Status`] with the engine's message), and the connection to
    /// drive while the body is read.
    async fn get(&self, uri: &str) -> Result<(hyper::Response<Incoming>, Connection), LogsError> {
        let io = |e: std::io::Error| LogsError::Io(format!("cannot reach the engine: {e}"));
        let (mut sender, mut connection) = handshake(self.dialer.dial().await.map_err(io)?).await?;
        let request = Request::get(uri)
            .header("host", self.dialer.host_header())
            .body(http_body_util::Empty::<Bytes>::new())
            .map_err(|e| LogsError::Io(e.to_string()))?;
        let response = {
            let send = sender.send_request(request);
            tokio::pin!(send);
            tokio::select! {
                response = &mut send => response.map_err(|e| LogsError::Io(e.to_string()))?,
                ended = &mut connection => {
                    return Err(LogsError::Io(match ended {
                        Ok(()) => "the engine closed the connection".into(),
                        Err(e) => e.to_string(),
                    }));
                }
            }
        };
        let status = response.status().as_u16();
        if status != 200 {
            let body = read_body(response, &mut connection, 64 * 1024)
                .await
                .unwrap_or_default();
            let message = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            return Err(LogsError::Status(status, message));
        }
        Ok((response, connection))
    }

    /// The engine's JSON answer to `GET /v{version}/{path}`, for answers whose shape depends
    /// on the engine's API version more than bollard's models allow (`/system/df` changed
    /// in 1.52). At most `limit` bytes are read.
    pub async fn get_json(&self, path: &str, limit: usize) -> Result<serde_json::Value, LogsError> {
        let (response, mut connection) = self.get(&format!("/v{}/{path}", self.version)).await?;
        let body = read_body(response, &mut connection, limit).await?;
        serde_json::from_slice(&body)
            .map_err(|e| LogsError::Io(format!("unexpected answer from the engine: {e}")))
    }
}

/// A whole body of at most `limit` bytes, driving the connection alongside.
async fn read_body(
    response: hyper::Response<Incoming>,
    connection: &mut Connection,
    limit: usize,
) -> Result<Bytes, LogsError> {
    let limited = http_body_util::Limited::new(response.into_body(), limit);
    let collect = limited.collect();
    tokio::pin!(collect);
    let body = tokio::select! {
        body = &mut collect => body,
        // The connection may finish first (the body is buffered by then): read on.
        ended = &mut *connection => {
            ended.map_err(|e| LogsError::Io(e.to_string()))?;
            collect.await
        }
    };
    body.map(|b| b.to_bytes())
        .map_err(|e| LogsError::Io(format!("reading the engine's answer: {e}")))
}

/// The next body frame's pieces, driving the connection alongside.
async fn read_pieces(
    reader: Option<Reader>,
) -> Option<(Vec<Result<Piece, LogsError>>, Option<Reader>)> {
    let mut reader = reader?;
    loop {
        let frame = match reader.connection.as_mut() {
            Some(connection) => tokio::select! {
                frame = reader.body.frame() => frame,
                ended = connection => {
                    reader.connection = None;
                    if let Err(e) = ended {
                        return Some((vec![Err(LogsError::Io(e.to_string()))], None));
                    }
                    continue;
                }
            },
            None => reader.body.frame().await,
        };
        match frame {
            None => return None,
            Some(Err(e)) => return Some((vec![Err(LogsError::Io(e.to_string()))], None)),
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else {
                    continue; // trailers
                };
                let mut pieces = Vec::new();
                reader.demux.split(data, &mut pieces);
                if !pieces.is_empty() {
                    return Some((pieces.into_iter().map(Ok).collect(), Some(reader)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(demux: &mut Demux, chunks: &[&[u8]]) -> Vec<(LogStream, Vec<u8>)> {
        let mut out = Vec::new();
        for chunk in chunks {
            demux.split(Bytes::copy_from_slice(chunk), &mut out);
        }
        out.into_iter().map(|(s, b)| (s, b.to_vec())).collect()
    }

    #[test]
    fn multiplexed_frames_split_anywhere() {
        let mut data = vec![1, 0, 0, 0, 0, 0, 0, 3];
        data.extend_from_slice(b"ab\n");
        data.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 2]);
        data.extend_from_slice(b"e\n");
        // Every split point at once: one byte per chunk.
        let chunks: Vec<&[u8]> = data.chunks(1).collect();
        let mut demux = Demux::Detect(Vec::new());
        let got = pieces(&mut demux, &chunks);
        let mut out = Vec::<u8>::new();
        let mut err = Vec::<u8>::new();
        for (stream, bytes) in got {
            match stream {
                LogStream::Stdout => out.extend(bytes),
                LogStream::Stderr => err.extend(bytes),
            }
        }
        assert_eq!(
            (out.as_slice(), err.as_slice()),
            (&b"ab\n"[..], &b"e\n"[..])
        );
    }

    #[test]
    fn raw_output_passes_through() {
        let mut demux = Demux::Detect(Vec::new());
        let got = pieces(&mut demux, &[b"hel", b"lo", b" tty\n"]);
        let text: Vec<u8> = got.iter().flat_map(|(_, b)| b.clone()).collect();
        assert_eq!(text, b"hello tty\n");
        assert!(got.iter().all(|(s, _)| *s == LogStream::Stdout));
    }
}

//! A real WebSocket client, and the log lines of the frames it read.

use super::*;
use std::time::Duration;

/// A real WebSocket client.
pub struct WsClient {
    stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

/// How a socket ended, as the client saw it.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Closed(Option<u16>),
    TimedOut,
}

impl WsClient {
    /// Connects; a refused upgrade comes back as its HTTP status and JSON body.
    pub async fn connect(url: &str) -> Result<Self, (u16, serde_json::Value)> {
        Self::connect_with(url, &[]).await
    }

    pub async fn connect_with(
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<Self, (u16, serde_json::Value)> {
        use tokio_tungstenite::tungstenite::{Error, client::IntoClientRequest};
        let mut request = url.into_client_request().unwrap();
        for (name, value) in headers {
            let name =
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                    .unwrap();
            request.headers_mut().insert(name, value.parse().unwrap());
        }
        let connected =
            tokio::time::timeout(REQUEST_TIMEOUT, tokio_tungstenite::connect_async(request))
                .await
                .unwrap_or_else(|_| panic!("{url}: no answer within {REQUEST_TIMEOUT:?}"));
        match connected {
            Ok((stream, _)) => Ok(Self { stream }),
            Err(Error::Http(response)) => {
                let status = response.status().as_u16();
                let body = response.body().clone().unwrap_or_default();
                let json = serde_json::from_slice(&body).unwrap_or_else(|e| {
                    panic!(
                        "{url}: {status} with a non-JSON body ({e}): {}",
                        String::from_utf8_lossy(&body)
                    )
                });
                Err((status, json))
            }
            Err(e) => panic!("{url}: {e}"),
        }
    }

    /// Connects over a socket whose receive buffer is `bytes` (set before connecting, so
    /// the kernel neither scales the window past it nor autotunes it). A client that stops
    /// reading then backs the server's sends up after a few hundred KiB, whatever the
    /// machine's `tcp_rmem` allows (up to 32 MiB on some: a flood slowed by load fills that
    /// only after the test's wait).
    pub async fn connect_with_receive_buffer(url: &str, bytes: u32) -> Self {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let request = url.into_client_request().unwrap();
        let uri = request.uri();
        let address = format!(
            "{}:{}",
            uri.host().expect("a host"),
            uri.port_u16().expect("a port")
        );
        let address: std::net::SocketAddr = address.parse().expect("a numeric address");
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(bytes).unwrap();
        let tcp = tokio::time::timeout(REQUEST_TIMEOUT, socket.connect(address))
            .await
            .expect("connected in time")
            .unwrap();
        let (stream, _) = tokio::time::timeout(
            REQUEST_TIMEOUT,
            tokio_tungstenite::client_async(request, tokio_tungstenite::MaybeTlsStream::Plain(tcp)),
        )
        .await
        .unwrap_or_else(|_| panic!("{url}: no answer within {REQUEST_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("{url}: {e}"));
        Self { stream }
    }

    /// The next frame, or how the socket ended. Pings are answered by the library.
    pub async fn next(&mut self, timeout: Duration) -> Result<app::frames::Frame, Ended> {
        let text = self.next_text(timeout).await?;
        Ok(serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad frame {text}: {e}")))
    }

    /// The next frame's text, unparsed: for tests with hundreds of readers in one process,
    /// where parsing every frame would make the readers the bottleneck under test.
    pub async fn next_text(&mut self, timeout: Duration) -> Result<String, Ended> {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return Err(Ended::TimedOut),
                Ok(None) | Ok(Some(Err(_))) => return Err(Ended::Closed(None)),
                Ok(Some(Ok(Message::Text(text)))) => return Ok(text.to_string()),
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Err(Ended::Closed(frame.map(|f| f.code.into())));
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Frames until `stop` says enough, the socket ends, or `timeout` passes.
    pub async fn collect(
        &mut self,
        timeout: Duration,
        mut stop: impl FnMut(&[app::frames::Frame]) -> bool,
    ) -> Vec<app::frames::Frame> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut frames = Vec::new();
        while !stop(&frames) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Ok(frame) => frames.push(frame),
                Err(_) => break,
            }
        }
        frames
    }

    /// Reads until an `end` frame and returns its reason and whether to retry; panics with
    /// the frames read when the socket ends, or `timeout` passes, without one.
    pub async fn end(&mut self, timeout: Duration) -> (String, bool) {
        use app::frames::Frame;
        let frames = self
            .collect(timeout, |f| matches!(f.last(), Some(Frame::End { .. })))
            .await;
        let Some(Frame::End { reason, retry }) = frames.last() else {
            panic!("an end frame: {frames:?}")
        };
        (reason.clone(), *retry)
    }

    /// The reason of the `end` frame [`WsClient::end`] reads.
    pub async fn end_reason(&mut self, timeout: Duration) -> String {
        self.end(timeout).await.0
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }

    pub async fn send_binary(&mut self, bytes: &[u8]) {
        use futures::SinkExt;
        let message = tokio_tungstenite::tungstenite::Message::Binary(bytes.to_vec().into());
        self.stream.send(message).await.unwrap();
    }

    pub async fn send_text(&mut self, text: &str) {
        use futures::SinkExt;
        let message = tokio_tungstenite::tungstenite::Message::Text(text.into());
        self.stream.send(message).await.unwrap();
    }

    /// A terminal's output (binary frames; text frames appended as a line of their own)
    /// until it holds `wanted` or the socket ends: everything read, and how it ended.
    pub async fn read_until(&mut self, wanted: &str, timeout: Duration) -> (String, Option<Ended>) {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + timeout;
        let mut read = String::new();
        while !read.contains(wanted) {
            let ended = match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => Ended::TimedOut,
                Ok(Some(Ok(Message::Binary(bytes)))) => {
                    read.push_str(&String::from_utf8_lossy(&bytes));
                    continue;
                }
                Ok(Some(Ok(Message::Text(text)))) => {
                    read.push_str(&format!("\n{text}\n"));
                    continue;
                }
                Ok(Some(Ok(Message::Close(frame)))) => Ended::Closed(frame.map(|f| f.code.into())),
                Ok(Some(Ok(_))) => continue,
                Ok(None) | Ok(Some(Err(_))) => Ended::Closed(None),
            };
            return (read, Some(ended));
        }
        (read, None)
    }
}

impl TestServer {
    /// A socket to one of a container's streams (`logs`, `stats`) on this server.
    pub async fn container_ws(&self, id: &str, stream: &str) -> WsClient {
        self.open_ws(&format!("/ws/containers/{id}/{stream}")).await
    }

    /// A socket to `path` on this server, which must accept it: most tests open streams
    /// this way, and only a refusal is worth a `match`.
    pub async fn open_ws(&self, path: &str) -> WsClient {
        WsClient::connect(&self.ws_url(path))
            .await
            .unwrap_or_else(|refused| panic!("{path} refused: {refused:?}"))
    }
}

/// Every log line in `frames`, batches opened up, in order.
pub fn lines(frames: &[app::frames::Frame]) -> Vec<app::frames::LogLine> {
    frames
        .iter()
        .filter_map(|f| match f {
            app::frames::Frame::Logs(batch) => Some(batch.clone().into_lines()),
            _ => None,
        })
        .flatten()
        .collect()
}

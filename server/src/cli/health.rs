//! `berth health`: asks the Berth serving on this machine whether it answers, for a
//! container image's HEALTHCHECK (the image has no curl) and for scripts. Exit 0 when it
//! answers `/api/health` (the engine's state is printed: an engine that is down is a state
//! Berth shows, not a Berth failure), 1 when it does not answer in time or answers otherwise.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::{Request, StatusCode, header::HOST};
use hyper_util::rt::TokioIo;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// A HEALTHCHECK's own timeout is longer; a server that takes this long is not healthy.
const TIMEOUT: Duration = Duration::from_secs(5);
/// `/api/health` is a few hundred bytes.
const MAX_BODY: usize = 64 * 1024;

/// Where to ask: the served address, loopback when Berth listens on every address.
fn target(served: SocketAddr) -> SocketAddr {
    match served.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, served.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, served.port()).into(),
        _ => served,
    }
}

/// Asks the server at `served` and says what it answered.
pub async fn run(served: SocketAddr) -> Result<(), String> {
    let target = target(served);
    let (status, body) = tokio::time::timeout(TIMEOUT, ask(target))
        .await
        .map_err(|_| format!("no answer from http://{target} within {TIMEOUT:?}"))??;
    let health: app::model::Health = match status {
        StatusCode::OK | StatusCode::SERVICE_UNAVAILABLE => serde_json::from_slice(&body)
            .map_err(|e| format!("http://{target}/api/health is not Berth's: {e}"))?,
        other => return Err(format!("http://{target}/api/health answered {other}")),
    };
    let engine = match (&health.engine_version, &health.error) {
        (Some(version), _) if health.reachable => format!("Docker {version}"),
        _ if health.reachable => "up".to_string(),
        (_, Some(error)) => format!("unreachable: {error}"),
        _ => "unreachable".to_string(),
    };
    // With accounts on, a caller that is not signed in is told only whether it is up.
    let at = match health.endpoint.as_str() {
        "" => String::new(),
        endpoint => format!(" at {endpoint}"),
    };
    println!(
        "berth {} serves at http://{target}; its default engine{at} is {engine}",
        health.berth_version
    );
    Ok(())
}

async fn ask(target: SocketAddr) -> Result<(StatusCode, Bytes), String> {
    let failed = |e: &dyn std::fmt::Display| format!("asking http://{target}/api/health: {e}");
    let stream = tokio::net::TcpStream::connect(target)
        .await
        .map_err(|e| failed(&e))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| failed(&e))?;
    let request = Request::get("/api/health")
        .header(HOST, target.to_string())
        .body(Empty::<Bytes>::new())
        .map_err(|e| failed(&e))?;
    // The connection is driven beside the request; it ends with the response.
    let exchange = async {
        let response = sender.send_request(request).await.map_err(|e| failed(&e))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| failed(&*e))?
            .to_bytes();
        Ok((status, body))
    };
    tokio::select! {
        biased;
        result = exchange => result,
        ended = connection => Err(match ended {
            Ok(()) => failed(&"the connection closed before an answer"),
            Err(e) => failed(&e),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_address_is_asked_on_loopback() {
        let any: SocketAddr = "0.0.0.0:3000".parse().unwrap();
        assert_eq!(target(any), "127.0.0.1:3000".parse().unwrap());
        let any6: SocketAddr = "[::]:3000".parse().unwrap();
        assert_eq!(target(any6), "[::1]:3000".parse().unwrap());
        let one: SocketAddr = "127.0.0.2:4000".parse().unwrap();
        assert_eq!(target(one), one);
    }
}

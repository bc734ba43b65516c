//! Who a client is, for limits: the peer address, or behind trusted proxies the address the
//! nearest untrusted hop names. Addresses are normalised (IPv4-mapped IPv6 is IPv4) and an
//! IPv6 client counts as its /64, the block one customer usually holds.

use axum::http::HeaderMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// `::ffff:10.0.0.1` is `10.0.0.1`.
pub fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// One X-Forwarded-For entry: `ip`, `ip:port`, `[v6]` or `[v6]:port`; anything else
/// (`unknown`, an obfuscated name) is `None`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<Ipv6Addr>()
                .ok()
                .map(IpAddr::V6)
        })
        .map(normalize)
}

/// Whether `peer` is one of the `trusted` proxies (both normalised).
pub fn is_trusted(peer: IpAddr, trusted: &[IpAddr]) -> bool {
    let peer = normalize(peer);
    trusted.iter().any(|t| normalize(*t) == peer)
}

/// The client's address. From a trusted proxy, X-Forwarded-For is read from the right (the
/// hop nearest us first): trusted proxies are skipped, and the first untrusted entry is the
/// client. An entry that does not parse ends the search at the proxy that wrote it, so a
/// client can never reach past it into values it wrote itself to pick whose slots it uses.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let peer = normalize(peer);
    let is_trusted = |ip: &IpAddr| is_trusted(*ip, trusted);
    if !is_trusted(&peer) {
        return peer;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.to_str().unwrap_or("unknown"))
        .flat_map(|v| v.split(','))
        .collect();
    let mut nearest = peer;
    for entry in entries.iter().rev() {
        match parse_entry(entry) {
            Some(ip) if is_trusted(&ip) => nearest = ip,
            Some(ip) => return ip,
            None => return nearest,
        }
    }
    nearest
}

/// The key limits count by: an IPv4 address, or an IPv6 address's /64.
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match normalize(ip) {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

/// The client address of a request (see [`client_ip`]), for the audit log; `None` where
/// the connection's peer is not known (a request built in a test).
pub fn of_request(parts: &axum::http::request::Parts, trusted: &[IpAddr]) -> Option<IpAddr> {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|axum::extract::ConnectInfo(peer)| client_ip(peer.ip(), &parts.headers, trusted))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let headers = xff("203.0.113.9, 10.0.0.2");
        let proxy = ip("127.0.0.1");
        assert_eq!(client_ip(proxy, &headers, &[]), proxy);
        assert_eq!(client_ip(proxy, &headers, &[proxy]), ip("10.0.0.2"));
        assert_eq!(
            client_ip(proxy, &headers, &[proxy, ip("10.0.0.2")]),
            ip("203.0.113.9")
        );
    }

    /// Issue 9, item 8.
    #[test]
    fn mapped_addresses_are_normalised() {
        let headers = xff("203.0.113.9");
        assert_eq!(
            client_ip(ip("::ffff:10.0.0.1"), &headers, &[ip("10.0.0.1")]),
            ip("203.0.113.9"),
            "a mapped peer matches a trusted IPv4 proxy"
        );
        assert_eq!(
            client_ip(
                ip("10.0.0.1"),
                &xff("::ffff:198.51.100.1"),
                &[ip("10.0.0.1")]
            ),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn entries_with_ports_parse_and_garbage_stops_the_search() {
        let proxy = ip("10.0.0.1");
        assert_eq!(
            client_ip(proxy, &xff("198.51.100.7:5555"), &[proxy]),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_ip(proxy, &xff("[2001:db8::5]:443"), &[proxy]),
            ip("2001:db8::5")
        );
        assert_eq!(
            client_ip(proxy, &xff("[2001:db8::6]"), &[proxy]),
            ip("2001:db8::6")
        );
        // The client wrote "victim, unknown": the proxy appended nothing parseable after
        // it, so the search stops at the proxy rather than reaching the victim's value.
        assert_eq!(
            client_ip(proxy, &xff("192.0.2.50, unknown"), &[proxy]),
            proxy
        );
        // A trusted inner proxy, then garbage: stop at the inner proxy.
        let inner = ip("10.0.0.2");
        assert_eq!(
            client_ip(
                proxy,
                &xff("192.0.2.50, garbage, 10.0.0.2"),
                &[proxy, inner]
            ),
            inner
        );
    }

    #[test]
    fn ipv6_counts_per_64() {
        assert_eq!(limit_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            limit_key(ip("2001:db8:1:2:ffff::9")),
            limit_key(ip("2001:db8:1:2::1"))
        );
        assert_ne!(
            limit_key(ip("2001:db8:1:3::1")),
            limit_key(ip("2001:db8:1:2::1"))
        );
        assert_eq!(limit_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    }
}

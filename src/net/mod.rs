//! The one HTTP client of the program (live verification, and the listing
//! of an organisation's repositories). Nothing else opens a connection,
//! and nothing builds a [`Client`] unless the user asked for the network
//! (`--verify`, or an org-listing flag of `keytrace sweep`).
//!
//! Safe by construction: HTTPS only, TLS verified by rustls against the
//! Mozilla roots (or the user's own CA file), no redirect followed, no body
//! read past a cap, connect and whole-request timeouts, and after DNS no
//! address in loopback, private, link-local, CGNAT, multicast or reserved
//! ranges ([`is_public`]), except for the hosts of API base URLs the user
//! gave ([`Client::for_hosts`]: a self-hosted server on a private network;
//! plain `http://` only to a loopback address). `HTTPS_PROXY` / `ALL_PROXY` / `NO_PROXY` are
//! honoured; the proxy is the user's choice, so its own address is not
//! checked. Errors are [`NetError`]s: a class and a fixed text, never a
//! URL, header or body (which may hold a secret).
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use crate::rules::verify::Reply;

/// Requests every [`Client`] of this process has begun: a guard the tests
/// read to show that a scan without `--verify` sends nothing.
static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// How many requests this process has begun.
pub fn requests_begun() -> u64 {
    REQUESTS.load(Ordering::Relaxed)
}

/// Why a request got no reply. The text is fixed: it never holds the URL,
/// a header or the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    #[error("timed out")]
    Timeout,
    #[error("the host's address is private, loopback or reserved: refused")]
    PrivateAddress,
    #[error("the host name did not resolve")]
    Dns,
    #[error("the connection failed (no route, refused or reset)")]
    Connect,
    #[error("TLS failed (the certificate did not verify, or the handshake broke)")]
    Tls,
    #[error("the proxy failed or is misconfigured")]
    Proxy,
    #[error("the reply was not valid HTTP")]
    Protocol,
    #[error("only https:// is allowed")]
    NotHttps,
}

/// The client's settings.
#[derive(Debug, Clone)]
pub struct NetOptions {
    pub connect_timeout: Duration,
    /// For a whole request: resolve, connect, send, and read the reply.
    pub request_timeout: Duration,
    /// Bytes of a reply body kept; the rest is not read.
    pub body_cap: usize,
    /// PEM file of the only CAs trusted (a TLS-inspecting proxy's, a
    /// private server's). None: the Mozilla roots built in.
    pub ca_file: Option<std::path::PathBuf>,
}

impl Default for NetOptions {
    fn default() -> Self {
        NetOptions {
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(8),
            body_cap: 64 * 1024,
            ca_file: None,
        }
    }
}

/// The HTTP client. Cheap to share between threads (`&Client`).
pub struct Client {
    agent: ureq::Agent,
    body_cap: usize,
    /// `host:port` pairs `http://` may reach: loopback ones the user named.
    plain: Vec<String>,
}

/// The resolver: the system's, then [`is_public`] on every address.
#[derive(Debug)]
struct Policy {
    inner: DefaultResolver,
    /// The proxy's host: the user's own, not checked.
    proxy_host: Option<String>,
    /// Hosts of base URLs the user gave: their addresses are not checked.
    trusted: Vec<String>,
    /// Test builds: names answered without DNS. Loopback addresses among
    /// them are let through (the tests' mock servers); others are checked
    /// like any.
    #[cfg(any(test, feature = "testkit"))]
    fixed: Vec<(String, SocketAddr)>,
}

impl Resolver for Policy {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().unwrap_or_default();
        #[cfg(any(test, feature = "testkit"))]
        if let Some((_, addr)) = self.fixed.iter().find(|(h, _)| h == host) {
            if !addr.ip().is_loopback() && !is_public(addr.ip()) {
                return Err(refused());
            }
            let mut out = self.empty();
            out.push(*addr);
            return Ok(out);
        }
        let found = self.inner.resolve(uri, config, timeout)?;
        if self.proxy_host.as_deref() == Some(host) || self.trusted.iter().any(|t| t == host) {
            return Ok(found);
        }
        let mut out = self.empty();
        for a in found.iter().filter(|a| is_public(a.ip())) {
            out.push(*a);
        }
        if out.is_empty() {
            return Err(refused());
        }
        Ok(out)
    }
}

/// The marker error of a refused address, told apart in [`classify`].
fn refused() -> ureq::Error {
    ureq::Error::Io(std::io::Error::new(
        std::io::ErrorKind::PermissionDenied,
        "keytrace: address refused by policy",
    ))
}

impl Client {
    /// A client with the system's DNS and the given settings. Fails only on
    /// an unreadable CA file.
    pub fn new(opts: &NetOptions) -> Result<Client, String> {
        Self::build(opts, Vec::new(), ureq::Proxy::try_from_env(), &[])
    }

    /// A client for the API servers at `bases` (base URLs the user gave or
    /// the defaults): their hosts may resolve to private addresses (a
    /// self-hosted server), and one given as `http://` must be a loopback
    /// address (a local mirror, a test), checked here. Every other URL is
    /// held to the rules of [`Client::new`].
    pub fn for_hosts(opts: &NetOptions, bases: &[&str]) -> Result<Client, String> {
        let mut plain = Vec::new();
        for base in bases {
            let uri: ureq::http::Uri = base.parse().map_err(|_| format!("{base}: not a URL"))?;
            match uri.scheme_str() {
                Some("https") => {}
                Some("http") if uri.host().is_some_and(is_loopback_host) => {
                    let port = uri.port_u16().unwrap_or(80);
                    plain.push(format!("{}:{port}", uri.host().unwrap_or_default()));
                }
                _ => {
                    return Err(format!(
                        "{base}: an API URL must be https:// (http:// only to a loopback address)"
                    ))
                }
            }
        }
        let mut client = Self::build(opts, Vec::new(), ureq::Proxy::try_from_env(), bases)?;
        client.plain = plain;
        Ok(client)
    }

    /// A client whose resolver answers `fixed` names itself: the tests'
    /// stand-in for providers (a mock on 127.0.0.1 under a real host name,
    /// so URL, SNI and Host header are the provider's).
    #[cfg(any(test, feature = "testkit"))]
    pub fn with_fixed_hosts(
        opts: &NetOptions,
        fixed: Vec<(String, SocketAddr)>,
    ) -> Result<Client, String> {
        // The tests' own: a proxy in the environment would take them elsewhere.
        Self::build(opts, fixed, None, &[])
    }

    #[allow(unused_variables)]
    fn build(
        opts: &NetOptions,
        fixed: Vec<(String, SocketAddr)>,
        proxy: Option<ureq::Proxy>,
        bases: &[&str],
    ) -> Result<Client, String> {
        use ureq::tls::{Certificate, RootCerts, TlsConfig};
        let mut tls = TlsConfig::builder();
        if let Some(path) = &opts.ca_file {
            let pem = read_ca(path)?;
            let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err(format!("{}: no PEM certificate in it", path.display()));
            }
            tls = tls.root_certs(RootCerts::new_with_certs(&certs));
        }
        let proxy_host = proxy.as_ref().map(|p| p.host().to_string());
        let trusted: Vec<String> = bases
            .iter()
            .filter_map(|b| {
                b.parse::<ureq::http::Uri>()
                    .ok()?
                    .host()
                    .map(str::to_string)
            })
            .collect();
        let config = ureq::Agent::config_builder()
            // `send` holds plain http:// to the loopback hosts allowed.
            .https_only(bases.is_empty())
            .max_redirects(0)
            .http_status_as_error(false)
            .save_redirect_history(false)
            .timeout_resolve(Some(opts.connect_timeout))
            .timeout_connect(Some(opts.connect_timeout))
            .timeout_global(Some(opts.request_timeout))
            .user_agent(concat!("keytrace/", env!("CARGO_PKG_VERSION")))
            .proxy(proxy)
            .tls_config(tls.build())
            .build();
        let resolver = Policy {
            inner: DefaultResolver::default(),
            proxy_host,
            trusted,
            #[cfg(any(test, feature = "testkit"))]
            fixed,
        };
        Ok(Client {
            agent: ureq::Agent::with_parts(config, DefaultConnector::default(), resolver),
            body_cap: opts.body_cap,
            plain: Vec::new(),
        })
    }

    /// Sends one request and reads at most the body cap of its reply.
    pub fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Option<&[u8]>,
    ) -> Result<Reply, NetError> {
        if !url.starts_with("https://") && !self.plain_allowed(url) {
            return Err(NetError::NotHttps);
        }
        REQUESTS.fetch_add(1, Ordering::Relaxed);
        let mut req = ureq::http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let sent = match body {
            Some(b) => req
                .body(b.to_vec())
                .map_err(|_| NetError::Protocol)
                .and_then(|r| self.agent.run(r).map_err(|e| classify(&e))),
            None => req
                .body(())
                .map_err(|_| NetError::Protocol)
                .and_then(|r| self.agent.run(r).map_err(|e| classify(&e))),
        };
        let mut res = sent?;
        let status = res.status().as_u16();
        let headers = res
            .headers()
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().ok()?.to_string(),
                ))
            })
            .collect();
        let mut body = Vec::new();
        res.body_mut()
            .as_reader()
            .take(self.body_cap as u64)
            .read_to_end(&mut body)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::TimedOut => NetError::Timeout,
                _ => NetError::Protocol,
            })?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}

impl Client {
    /// Whether `url` is `http://` to a loopback host:port this client
    /// was built to allow.
    fn plain_allowed(&self, url: &str) -> bool {
        let Some(rest) = url.strip_prefix("http://") else {
            return false;
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return false;
        }
        let with_port = if authority
            .rsplit_once(':')
            .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        self.plain.contains(&with_port)
    }
}

/// `localhost`, or a loopback IP literal (`127.0.0.0/8`, `[::1]`).
fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn read_ca(path: &Path) -> Result<Vec<u8>, String> {
    crate::base::files::read_capped_text(path, 4 << 20)
        .map(String::into_bytes)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The class of a transport error: its text may hold the URL, so only the
/// class goes on.
fn classify(e: &ureq::Error) -> NetError {
    use ureq::Error as E;
    match e {
        E::Timeout(_) => NetError::Timeout,
        E::HostNotFound => NetError::Dns,
        E::Io(io) if io.kind() == std::io::ErrorKind::PermissionDenied => NetError::PrivateAddress,
        E::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => NetError::Timeout,
        // rustls reports a failed handshake (a certificate that does not
        // verify) as an I/O error around its own.
        E::Io(io)
            if io.kind() == std::io::ErrorKind::InvalidData
                || io
                    .get_ref()
                    .is_some_and(|e| e.downcast_ref::<rustls::Error>().is_some()) =>
        {
            NetError::Tls
        }
        E::Io(_) | E::ConnectionFailed => NetError::Connect,
        E::Tls(_) | E::Pem(_) | E::Rustls(_) => NetError::Tls,
        E::InvalidProxyUrl | E::ConnectProxyFailed(_) => NetError::Proxy,
        E::RequireHttpsOnly(_) => NetError::NotHttps,
        _ => NetError::Protocol,
    }
}

/// Whether an address is on the public internet: not loopback, private
/// (RFC 1918, IPv6 unique local), link-local, CGNAT (100.64/10),
/// unspecified, multicast, broadcast, documentation or reserved.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (18..20).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || s[0] == 0x2001 && s[1] == 0x0db8
                // NAT64 (64:ff9b::/96) and IPv4-compatible: judged as the IPv4 inside.
                || (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4])
                    && !is_public(IpAddr::V4(std::net::Ipv4Addr::new(
                        (s[6] >> 8) as u8,
                        s[6] as u8,
                        (s[7] >> 8) as u8,
                        s[7] as u8,
                    ))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges_are_refused() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(!is_public(a.parse().unwrap()), "{a}");
        }
        for a in [
            "140.82.112.3",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(a.parse().unwrap()), "{a}");
        }
    }

    #[test]
    fn plain_http_is_refused_before_any_connection() {
        let c = Client::new(&NetOptions::default()).unwrap();
        let before = requests_begun();
        assert_eq!(
            c.send("GET", "http://api.github.com/", &[], None)
                .unwrap_err(),
            NetError::NotHttps
        );
        assert_eq!(requests_begun(), before);
    }

    #[test]
    fn plain_http_only_to_a_loopback_base() {
        let opts = NetOptions::default();
        assert!(Client::for_hosts(&opts, &["http://10.0.0.5/api"]).is_err());
        assert!(Client::for_hosts(&opts, &["ftp://127.0.0.1/"]).is_err());
        let c =
            Client::for_hosts(&opts, &["http://127.0.0.1:8080/api", "https://ghe.corp"]).unwrap();
        assert!(c.plain_allowed("http://127.0.0.1:8080/api/v3/orgs"));
        assert!(!c.plain_allowed("http://127.0.0.1:8081/"));
        assert!(!c.plain_allowed("http://user@127.0.0.1:8080/"));
        assert!(!c.plain_allowed("http://ghe.corp/"));
        let before = requests_begun();
        assert_eq!(
            c.send("GET", "http://example.com/", &[], None).unwrap_err(),
            NetError::NotHttps
        );
        assert_eq!(requests_begun(), before);
    }
}

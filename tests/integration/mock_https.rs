//! A local HTTPS server standing in for providers: a test CA made at test
//! time (rcgen) signs a certificate for the providers' real host names, and
//! keytrace's test-only resolver sends those names to 127.0.0.1. It records
//! every request and the most connections it served at once.
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A request as the mock read it.
#[derive(Debug, Clone)]
pub struct Hit {
    pub method: String,
    pub path: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When the request was read.
    pub at: std::time::Instant,
}

impl Hit {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the mock answers.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Waited before answering.
    pub delay: Duration,
}

impl Answer {
    pub fn new(status: u16, body: &str) -> Answer {
        Answer {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Answer {
        self.headers.retain(|(n, _)| n != name);
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn after(mut self, delay: Duration) -> Answer {
        self.delay = delay;
        self
    }
}

type Handler = dyn Fn(&Hit) -> Answer + Send + Sync;

pub struct Mock {
    pub addr: SocketAddr,
    /// The test CA's certificate, PEM: what keytrace is told to trust.
    pub ca_pem: String,
    pub hits: Arc<Mutex<Vec<Hit>>>,
    /// The most requests in flight at once: read, and not yet answered.
    pub peak: Arc<AtomicUsize>,
}

impl Mock {
    /// Serves `hosts` (certificate names) on 127.0.0.1 with `handler`.
    pub fn start(hosts: &[&str], handler: impl Fn(&Hit) -> Answer + Send + Sync + 'static) -> Mock {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "keytrace test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        // ring, as keytrace's client uses; post-quantum key exchange is
        // beside the point of these tests.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap();
        let mut mock = Self::listen(Some(Arc::new(config)), handler);
        mock.ca_pem = ca_cert.pem();
        mock
    }

    /// Serves plain HTTP on 127.0.0.1 with `handler` (a local mirror of an
    /// API, which keytrace reaches over `http://` only on loopback).
    pub fn start_plain(handler: impl Fn(&Hit) -> Answer + Send + Sync + 'static) -> Mock {
        Self::listen(None, handler)
    }

    fn listen(
        config: Option<Arc<rustls::ServerConfig>>,
        handler: impl Fn(&Hit) -> Answer + Send + Sync + 'static,
    ) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(Mutex::new(Vec::new()));
        let peak = Arc::new(AtomicUsize::new(0));
        let open = Arc::new(AtomicUsize::new(0));
        let handler: Arc<Handler> = Arc::new(handler);
        {
            let (hits, peak) = (hits.clone(), peak.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    let (config, hits, peak, open, handler) = (
                        config.clone(),
                        hits.clone(),
                        peak.clone(),
                        open.clone(),
                        handler.clone(),
                    );
                    std::thread::spawn(move || {
                        let _ = serve(stream, config, &hits, &*handler, (&open, &peak));
                    });
                }
            });
        }
        Mock {
            addr,
            ca_pem: String::new(),
            hits,
            peak,
        }
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}

/// One connection, one request (the reply closes it).
fn serve(
    stream: TcpStream,
    config: Option<Arc<rustls::ServerConfig>>,
    hits: &Mutex<Vec<Hit>>,
    handler: &Handler,
    (open, peak): (&AtomicUsize, &AtomicUsize),
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let Some(config) = config else {
        return answer(stream, hits, handler, (open, peak));
    };
    let conn = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, stream);
    answer(&mut tls, hits, handler, (open, peak))?;
    tls.conn.send_close_notify();
    let _ = tls.flush();
    Ok(())
}

/// Reads one request from `tls` (or a plain stream) and writes the answer.
fn answer(
    mut tls: impl Read + Write,
    hits: &Mutex<Vec<Hit>>,
    handler: &Handler,
    (open, peak): (&AtomicUsize, &AtomicUsize),
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = tls.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_string();
    let path = first.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = tls.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(len);
    let hit = Hit {
        method,
        path,
        headers,
        body,
        at: std::time::Instant::now(),
    };
    hits.lock().unwrap().push(hit.clone());
    // In flight from here until the reply is about to go: the client
    // cannot have sent its next request before that.
    let now = open.fetch_add(1, Ordering::SeqCst) + 1;
    peak.fetch_max(now, Ordering::SeqCst);
    let answer = handler(&hit);
    std::thread::sleep(answer.delay);
    open.fetch_sub(1, Ordering::SeqCst);
    let mut out = format!("HTTP/1.1 {} Mock\r\n", answer.status);
    for (k, v) in &answer.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n{}",
        answer.body.len(),
        answer.body
    ));
    tls.write_all(out.as_bytes())?;
    tls.flush()
}

//! Forwarding to the upstream: bodies stream both ways (nothing is buffered), hop-by-hop
//! headers stay on their hop, `X-Forwarded-For/-Proto/-Host` and the request id are set,
//! WebSocket (and any other) upgrades are spliced through (at most `max_upgraded_connections`
//! at once, each closed after `upgraded_idle_timeout` of silence), and failures answer in
//! OpenStack's JSON error shape: 502 when the upstream cannot be reached, 504 when it does not
//! answer in time.
//!
//! **Architecture invariant:** no request body is buffered. Bodies stream from the client to
//! the upstream and back, whatever their size.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Semaphore;

use crate::metrics::Outcome;
use crate::{json_error, with_outcome};

/// Headers that belong to one hop (RFC 9110, 7.6.1), never forwarded.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_OPENSTACK_REQUEST_ID: HeaderName = HeaderName::from_static("x-openstack-request-id");

/// The upstream service and the client that reaches it.
#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    client: Client<HttpConnector, Body>,
    /// `http://host:port`.
    origin: String,
    /// A path prefix, without its trailing slash (`""` for none).
    prefix: String,
    /// `host:port`, the `Host` the upstream is sent.
    authority: HeaderValue,
    timeout: Duration,
    /// Permits for upgraded connections, one held by each splice.
    upgrades: Arc<Semaphore>,
    upgraded_idle_timeout: Duration,
}

/// How the upstream is reached and how long it may take.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UpstreamLimits {
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) http2: bool,
    pub(crate) max_upgraded: usize,
    pub(crate) upgraded_idle_timeout: Duration,
}

impl Upstream {
    /// A client for `url` (checked when the configuration loaded).
    pub(crate) fn new(url: &str, limits: UpstreamLimits) -> Result<Self, String> {
        let UpstreamLimits {
            connect_timeout,
            timeout,
            http2,
            ..
        } = limits;
        let parsed = url::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
        let host = parsed.host_str().ok_or_else(|| format!("{url}: no host"))?;
        let authority = match parsed.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .http2_only(http2)
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(Upstream {
            client,
            origin: format!("http://{authority}"),
            prefix: parsed.path().trim_end_matches('/').to_owned(),
            authority: HeaderValue::from_str(&authority).map_err(|e| format!("{url}: {e}"))?,
            timeout,
            upgrades: Arc::new(Semaphore::new(
                limits.max_upgraded.clamp(1, Semaphore::MAX_PERMITS),
            )),
            upgraded_idle_timeout: limits.upgraded_idle_timeout,
        })
    }

    /// Sends `req` upstream and gives back its answer, streaming.
    pub(crate) async fn forward(
        &self,
        mut req: Request<Body>,
        client: Option<SocketAddr>,
        request_id: Option<&str>,
    ) -> Response<Body> {
        let path_and_query = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let uri: Uri = match format!("{}{}{path_and_query}", self.origin, self.prefix).parse() {
            Ok(u) => u,
            Err(_) => return json_error(StatusCode::BAD_REQUEST, "The request's path is invalid."),
        };
        let upgrade = upgrade_protocol(req.headers());
        let permit = match upgrade {
            None => None,
            Some(_) => match self.upgrades.clone().try_acquire_owned() {
                Ok(p) => Some(p),
                Err(_) => {
                    tracing::warn!("too many upgraded connections: an upgrade was refused");
                    return with_outcome(
                        json_error(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "Too many upgraded connections are open; try again later.",
                        ),
                        Outcome::UpstreamError,
                    );
                }
            },
        };
        let client_side = upgrade.is_some().then(|| hyper::upgrade::on(&mut req));
        let (mut parts, body) = req.into_parts();
        parts.uri = uri;
        parts.version = axum::http::Version::HTTP_11;
        prepare_headers(&mut parts.headers, client, request_id, &self.authority);
        if let Some(protocol) = &upgrade {
            parts
                .headers
                .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            parts.headers.insert(header::UPGRADE, protocol.clone());
        }
        let upstream_req = Request::from_parts(parts, body);
        let answer = match tokio::time::timeout(self.timeout, self.client.request(upstream_req))
            .await
        {
            Err(_) => {
                tracing::warn!(timeout = ?self.timeout, "the upstream did not answer in time");
                return with_outcome(
                    json_error(
                        StatusCode::GATEWAY_TIMEOUT,
                        "The upstream service did not answer in time.",
                    ),
                    Outcome::UpstreamError,
                );
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, upstream = %self.origin, "the upstream cannot be reached");
                return with_outcome(
                    json_error(
                        StatusCode::BAD_GATEWAY,
                        "The upstream service cannot be reached.",
                    ),
                    Outcome::UpstreamError,
                );
            }
            Ok(Ok(a)) => a,
        };
        let (mut parts, body) = answer.into_parts();
        if parts.status == StatusCode::SWITCHING_PROTOCOLS
            && let Some(client_side) = client_side
        {
            let mut for_upgrade = Response::from_parts(parts.clone(), ());
            let upstream_side = hyper::upgrade::on(&mut for_upgrade);
            let idle = self.upgraded_idle_timeout;
            tokio::spawn(async move {
                let _permit = permit;
                match (client_side.await, upstream_side.await) {
                    (Ok(a), Ok(b)) => splice(TokioIo::new(a), TokioIo::new(b), idle).await,
                    (Err(e), _) | (_, Err(e)) => {
                        tracing::debug!(error = %e, "an upgrade did not complete");
                    }
                }
            });
            return Response::from_parts(parts, Body::empty());
        }
        strip_hop_by_hop(&mut parts.headers);
        Response::from_parts(parts, Body::new(body))
    }
}

/// Copies both ways until either side closes or neither sends a byte for `idle`.
async fn splice<A, B>(a: A, b: B, idle: Duration)
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let started = Instant::now();
    // milliseconds since `started` of the last byte read on either side
    let last = Arc::new(AtomicU64::new(0));
    let mut a = Active {
        io: a,
        started,
        last: last.clone(),
    };
    let mut b = Active {
        io: b,
        started,
        last: last.clone(),
    };
    let watchdog = async {
        loop {
            let quiet = started
                .elapsed()
                .saturating_sub(Duration::from_millis(last.load(Ordering::Relaxed)));
            if quiet >= idle {
                tracing::debug!(?idle, "an upgraded connection was silent: closed");
                return;
            }
            tokio::time::sleep(idle - quiet).await;
        }
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut a, &mut b) => {}
        () = watchdog => {}
    }
}

/// An upgraded connection that notes when it last read a byte.
struct Active<T> {
    io: T,
    started: Instant,
    last: Arc<AtomicU64>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Active<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.last.store(now, Ordering::Relaxed);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Active<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The protocol a request asks to upgrade to (`Connection: upgrade` with `Upgrade`).
fn upgrade_protocol(headers: &HeaderMap) -> Option<HeaderValue> {
    let asks = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    asks.then(|| headers.get(header::UPGRADE).cloned())
        .flatten()
}

/// Removes the hop-by-hop headers, those `Connection` names included.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
}

/// The upstream request's headers: hop-by-hop ones removed, `Host` the upstream's (the
/// client's in `X-Forwarded-Host`), the client's address appended to `X-Forwarded-For`, the
/// request id kept.
fn prepare_headers(
    headers: &mut HeaderMap,
    client: Option<SocketAddr>,
    request_id: Option<&str>,
    authority: &HeaderValue,
) {
    strip_hop_by_hop(headers);
    if let Some(host) = headers.remove(header::HOST)
        && !headers.contains_key(X_FORWARDED_HOST)
    {
        headers.insert(X_FORWARDED_HOST, host);
    }
    headers.insert(header::HOST, authority.clone());
    if !headers.contains_key(X_FORWARDED_PROTO) {
        headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
    }
    if let Some(addr) = client {
        let ip = addr.ip().to_string();
        let chain = match headers.get(X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
            Some(before) => format!("{before}, {ip}"),
            None => ip,
        };
        if let Ok(v) = HeaderValue::from_str(&chain) {
            headers.insert(X_FORWARDED_FOR, v);
        }
    }
    if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(id).ok()) {
        headers.insert(X_OPENSTACK_REQUEST_ID, id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_stay_and_forwarding_headers_are_set() {
        let mut h = HeaderMap::new();
        h.insert(
            "connection",
            HeaderValue::from_static("keep-alive, x-private"),
        );
        h.insert("x-private", HeaderValue::from_static("secret-hop"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("te", HeaderValue::from_static("trailers"));
        h.insert("host", HeaderValue::from_static("api.example"));
        h.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.7"));
        h.insert("x-auth-token", HeaderValue::from_static("kept"));
        let client: SocketAddr = "198.51.100.2:4000".parse().unwrap();
        prepare_headers(
            &mut h,
            Some(client),
            Some("req-1"),
            &HeaderValue::from_static("10.0.0.5:8000"),
        );
        for gone in ["connection", "x-private", "keep-alive", "te"] {
            assert!(!h.contains_key(gone), "{gone}");
        }
        assert_eq!(h["host"], "10.0.0.5:8000");
        assert_eq!(h["x-forwarded-host"], "api.example");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-for"], "203.0.113.7, 198.51.100.2");
        assert_eq!(h["x-openstack-request-id"], "req-1");
        assert_eq!(h["x-auth-token"], "kept");
    }

    #[test]
    fn an_upgrade_is_told_by_connection_and_upgrade_together() {
        let mut h = HeaderMap::new();
        h.insert("upgrade", HeaderValue::from_static("websocket"));
        assert!(upgrade_protocol(&h).is_none());
        h.insert(
            "connection",
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        assert_eq!(upgrade_protocol(&h).unwrap(), "websocket");
    }
}

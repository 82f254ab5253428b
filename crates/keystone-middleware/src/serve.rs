//! Serving an application the way a service in the field must be served, which `axum::serve`
//! does not do: every connection is bounded in time and in number, and a shutdown ends.
//!
//! - A connection must send each request's head within `header_read_timeout`, counted from
//!   when it starts waiting for one: right after it is accepted, and after each answer on a
//!   kept-alive connection. So a client that trickles its headers a byte at a time (slowloris),
//!   one that never sends a byte, and an idle kept-alive connection are all closed after it.
//! - At most `max_connections` connections are open at once. Beyond that, new connections wait
//!   in the listen queue and are accepted as others close; those in use keep being served.
//! - After the shutdown signal, the server stops accepting, lets requests in progress finish,
//!   closes idle connections, and after `graceful_shutdown_timeout` closes whatever is left.
//! - Each request carries the peer's address as axum's `ConnectInfo<SocketAddr>`.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use axum::{Router, routing::get};
//! use keystone_middleware::config::ServerConfig;
//!
//! let app: Router = Router::new().route("/", get(|| async { "ok" }));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let stop = async { let _ = tokio::signal::ctrl_c().await; };
//! keystone_middleware::serve(listener, app, &ServerConfig::default(), stop).await
//! # }
//! ```

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::config::ServerConfig;

/// How long to wait before accepting again after `accept` failed (out of file descriptors,
/// say), so that the failure does not turn into a busy loop.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `app` on `listener` until `shutdown` resolves, then shuts down gracefully within
/// `config.graceful_shutdown_timeout` (see the module's documentation).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    config: &ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout())
        .keep_alive(config.keep_alive);
    let cap = usize::try_from(config.max_connections).unwrap_or(usize::MAX);
    let permits = Arc::new(Semaphore::new(cap.clamp(1, Semaphore::MAX_PERMITS)));
    // tells every connection to finish its request in progress and close
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // reap finished connections, so that the set holds only open ones
        while connections.try_join_next().is_some() {}
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = app.clone().map_request(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            req
        });
        let connection = http
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .with_upgrades();
        let mut stopping = stopping.clone();
        connections.spawn(async move {
            tokio::pin!(connection);
            let done = tokio::select! {
                done = connection.as_mut() => done,
                () = async { let _ = stopping.wait_for(|s| *s).await; } => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = done {
                tracing::debug!(%peer, error = %e, "connection closed");
            }
            drop(permit);
        });
    }
    drop(listener);
    let open = connections.len();
    tracing::info!(
        open,
        "shutting down: no new connections, finishing the requests in progress"
    );
    let _ = stop.send(true);
    let all_closed = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(config.graceful_shutdown_timeout(), all_closed)
        .await
        .is_err()
    {
        tracing::warn!(
            left = connections.len(),
            "graceful shutdown timed out: closing the remaining connections"
        );
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Resolves when the process is asked to stop: Ctrl-C, or SIGTERM on Unix. Pass it to
/// [`serve`] as its `shutdown`.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// The peer's address of a request's connection, when [`serve`] (or axum's
/// `into_make_service_with_connect_info`) served it.
pub(crate) fn peer_addr<B>(req: &axum::http::Request<B>) -> Option<SocketAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
}

//! `serve` under hostile clients, over real sockets on 127.0.0.1: slow and silent clients and
//! idle kept-alive connections are closed after the header read timeout, open connections are
//! capped while those in use keep being served, and a shutdown ends within its deadline even
//! while a client holds a half-sent request.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use keystone_middleware::config::{Config, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn config(text: &str) -> ServerConfig {
    Config::from_ini_str(&format!("[server]\n{text}"))
        .unwrap()
        .server
}

/// A server with `server` options, its address, and the sender that stops it.
async fn start(
    server: ServerConfig,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let app = Router::new()
        .route("/", get(|| async { "ok" }))
        .route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(600)).await;
                "slow"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        keystone_middleware::serve(listener, app, &server, async {
            let _ = stopped.await;
        })
        .await
    });
    (addr, stop, task)
}

/// Sends one request on `stream` and reads its answer (the connection kept alive).
async fn ask(stream: &mut TcpStream, path: &str) -> String {
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = vec![0; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Whether the server closed `stream` within `within` (a read returning 0 bytes or an error).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0; 512];
    loop {
        match tokio::time::timeout(within, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            // an answer (a 408, say) before the close
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn slow_silent_and_idle_connections_are_closed_after_the_header_read_timeout() {
    let (addr, _stop, _task) = start(config("header_read_timeout = 1\n")).await;

    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut slowloris = TcpStream::connect(addr).await.unwrap();
    let mut idle = TcpStream::connect(addr).await.unwrap();
    assert!(ask(&mut idle, "/").await.starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    let trickle = tokio::spawn(async move {
        // one byte of the request's head every 200 ms: never a whole head
        for b in b"GET / HTTP/1.1\r\nhost: x\r\nx-long: aaaaaaaaaaaaaaaaaaaaaaaa" {
            if slowloris.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        closed_within(&mut slowloris, Duration::from_secs(3)).await
    });
    assert!(closed_within(&mut silent, Duration::from_secs(3)).await);
    assert!(closed_within(&mut idle, Duration::from_secs(3)).await);
    assert!(
        trickle.await.unwrap(),
        "the slowloris connection stays open"
    );
    assert!(started.elapsed() < Duration::from_secs(4));

    // meanwhile and after, the server answers
    let mut fresh = TcpStream::connect(addr).await.unwrap();
    let answer = ask(&mut fresh, "/peer").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("127.0.0.1:"), "the peer address: {answer}");
}

#[tokio::test]
async fn beyond_max_connections_new_ones_wait_while_those_in_use_are_served() {
    let (addr, _stop, _task) =
        start(config("max_connections = 2\nheader_read_timeout = 30\n")).await;
    let mut first = TcpStream::connect(addr).await.unwrap();
    let mut second = TcpStream::connect(addr).await.unwrap();
    assert!(ask(&mut first, "/").await.starts_with("HTTP/1.1 200"));
    assert!(ask(&mut second, "/").await.starts_with("HTTP/1.1 200"));

    // a third connection is made (the kernel queues it) but not served while two are open
    let mut third = TcpStream::connect(addr).await.unwrap();
    third
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0; 512];
    assert!(
        tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf))
            .await
            .is_err(),
        "a third connection was served beyond max_connections = 2"
    );
    // the connections in use keep being served
    assert!(ask(&mut first, "/").await.starts_with("HTTP/1.1 200"));
    // when one closes, the waiting one is accepted and answered
    drop(second);
    let n = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf))
        .await
        .expect("the waiting connection is served once another closes")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn shutdown_finishes_requests_in_progress_and_ends_by_its_deadline() {
    let (addr, stop, task) = start(config(
        "graceful_shutdown_timeout = 1\nheader_read_timeout = 30\n",
    ))
    .await;
    // a client that sent part of a request and stopped
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    // a request in progress
    let mut busy = TcpStream::connect(addr).await.unwrap();
    busy.write_all(b"GET /slow HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let started = Instant::now();
    stop.send(()).unwrap();
    // the request in progress is answered
    let mut buf = vec![0; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), busy.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("slow"));
    // and the server ends by the deadline, the half-sent request notwithstanding
    tokio::time::timeout(Duration::from_secs(3), task)
        .await
        .expect("serve returns within the shutdown deadline")
        .unwrap()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(closed_within(&mut half, Duration::from_secs(1)).await);
    // nothing listens any more
    assert!(TcpStream::connect(addr).await.is_err());
}

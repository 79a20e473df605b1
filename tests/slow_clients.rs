//! Slow and idle clients: a half-sent header, a silent socket and an idle keep-alive connection
//! are closed on time, and hundreds of them do not keep a normal request from an answer.

mod common;

use std::time::{Duration, Instant};

use common::spawn_app_with;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn host(addr: &str) -> String {
    addr.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the socket; how long that took, or `None` after `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    })
    .await
    .ok()
    .map(|_| start.elapsed())
}

#[tokio::test]
async fn a_half_sent_header_and_a_silent_socket_are_closed_at_the_header_timeout() {
    let app = spawn_app_with(|c| {
        c.connections.header_timeout = 1;
        c.connections.idle_timeout = 30;
    })
    .await;
    let mut half = TcpStream::connect(host(&app.addr)).await.expect("connect");
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
        .await
        .expect("write");
    let mut silent = TcpStream::connect(host(&app.addr)).await.expect("connect");

    let (half_took, silent_took) = tokio::join!(
        closed_within(&mut half, Duration::from_secs(8)),
        closed_within(&mut silent, Duration::from_secs(8))
    );
    let half_took = half_took.expect("a half-sent header still held the socket after 8 s");
    let silent_took = silent_took.expect("a silent socket was still open after 8 s");
    eprintln!("header timeout 1 s: half-sent header closed after {half_took:?}, silent socket after {silent_took:?}");
    assert!(half_took < Duration::from_secs(4), "took {half_took:?}");
    assert!(silent_took < Duration::from_secs(4), "took {silent_took:?}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_at_the_idle_timeout() {
    let app = spawn_app_with(|c| {
        c.connections.idle_timeout = 1;
    })
    .await;
    let mut conn = TcpStream::connect(host(&app.addr)).await.expect("connect");
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("write");
    let mut buf = vec![0u8; 4096];
    let n = conn.read(&mut buf).await.expect("an answer");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let took = closed_within(&mut conn, Duration::from_secs(10))
        .await
        .expect("an idle keep-alive connection was still open after 10 s");
    eprintln!("idle timeout 1 s: keep-alive connection closed {took:?} after its answer");
    assert!(took < Duration::from_secs(4), "took {took:?}");
}

#[tokio::test]
async fn a_normal_request_is_answered_while_500_slow_connections_are_held() {
    let app = spawn_app_with(|c| {
        // Long enough that every slow connection is still held when the real request comes.
        c.connections.header_timeout = 60;
    })
    .await;
    let mut slow = Vec::new();
    for i in 0..500 {
        let mut s = TcpStream::connect(host(&app.addr)).await.expect("connect");
        s.write_all(format!("GET /?n={i} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").as_bytes())
            .await
            .expect("write");
        slow.push(s);
    }
    let start = Instant::now();
    let res = app
        .anon
        .get(app.url("/healthz"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("a normal request is answered while 500 slow clients hold connections");
    let took = start.elapsed();
    assert_eq!(res.status().as_u16(), 200);
    eprintln!("500 slow connections held: a normal request answered in {took:?}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    drop(slow);
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

#[tokio::test]
async fn connections_past_the_cap_wait_instead_of_taking_descriptors() {
    let app = spawn_app_with(|c| {
        c.connections.max_connections = 40;
        c.connections.header_timeout = 60;
    })
    .await;
    let before = open_descriptors();
    let mut held = Vec::new();
    for _ in 0..120 {
        held.push(TcpStream::connect(host(&app.addr)).await.expect("connect"));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // 120 client sockets live in this process too; the server may hold only 40 of its own.
    let grown = open_descriptors().saturating_sub(before);
    eprintln!("cap 40, 120 clients: {grown} new descriptors in the process (120 are the clients')");
    assert!(
        grown <= 120 + 40 + 8,
        "{grown} new descriptors for 120 clients: the server took more than its cap of 40"
    );
}

//! A real memcached for a test: Debian's `memcached` on a free loopback port, stopped when
//! dropped (`.ci/run` installs it). Shared by the tests that need one (included by path from
//! other crates' tests too).

#![allow(dead_code, unreachable_pub)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A memcached process.
pub struct Memcached {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

impl Memcached {
    /// Starts one and waits until it accepts connections.
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("memcached")
            // -u matters only as root, which memcached refuses without it; -U 0: no UDP
            .args([
                "-l",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "0",
                "-u",
                "root",
            ])
            .args(["-m", "64"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("memcached starts (Debian's memcached package; .ci/run installs it)");
        let addr = format!("127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "memcached did not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Memcached { child, addr }
    }

    /// Stops it now.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The raw value stored under `key`, read with memcached's text protocol.
    pub fn raw_get(&self, key: &str) -> Option<Vec<u8>> {
        use std::io::{BufRead, BufReader, Read, Write};
        let mut s = std::net::TcpStream::connect(&self.addr).expect("connect");
        s.write_all(format!("get {key}\r\n").as_bytes())
            .expect("write");
        let mut r = BufReader::new(s);
        let mut header = String::new();
        r.read_line(&mut header).expect("read");
        let len: usize = header
            .strip_prefix("VALUE ")?
            .split(' ')
            .nth(2)?
            .trim()
            .parse()
            .ok()?;
        let mut value = vec![0; len];
        r.read_exact(&mut value).expect("value");
        Some(value)
    }

    /// Stores `value` under `key` (flags 0), as another writer would.
    pub fn raw_set(&self, key: &str, value: &[u8]) {
        use std::io::{BufRead, BufReader, Write};
        let mut s = std::net::TcpStream::connect(&self.addr).expect("connect");
        s.write_all(format!("set {key} 0 300 {}\r\n", value.len()).as_bytes())
            .expect("write");
        s.write_all(value).expect("write");
        s.write_all(b"\r\n").expect("write");
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).expect("read");
        assert_eq!(line.trim(), "STORED");
    }

    /// The keys stored (memcached's `lru_crawler metadump`).
    pub fn keys(&self) -> Vec<String> {
        use std::io::{BufRead, BufReader, Write};
        let mut s = std::net::TcpStream::connect(&self.addr).expect("connect");
        s.write_all(b"lru_crawler metadump all\r\n").expect("write");
        let mut keys = vec![];
        for line in BufReader::new(s).lines() {
            let line = line.expect("read");
            if line == "END" {
                break;
            }
            if let Some(k) = line.strip_prefix("key=") {
                let k = k.split(' ').next().unwrap_or_default();
                keys.push(percent_decode(k));
            }
        }
        keys
    }
}

/// metadump percent-encodes keys.
fn percent_decode(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Drop for Memcached {
    fn drop(&mut self) {
        self.stop();
    }
}

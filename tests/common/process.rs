//! The real `faultbook` binary as a child process: started on a free port, its output read
//! line by line, stopped by signal or killed when dropped.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_faultbook");
pub const CONTENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/content");
pub const PASSWORD: &str = "cabinet lamp orange 42";

/// A line the server printed, on stdout or stderr. The two streams are read by two threads,
/// so lines of one may arrive before earlier lines of the other.
#[derive(Debug)]
pub enum Line {
    Out(String),
    Err(String),
}

impl Line {
    pub fn text(&self) -> &str {
        match self {
            Line::Out(s) | Line::Err(s) => s,
        }
    }
}

/// A running `faultbook serve`; killed when dropped, also when a test panics.
pub struct Server {
    pub child: Child,
    lines: Receiver<Line>,
    /// Every line read so far, for failure messages.
    pub seen: Vec<Line>,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// The binary with a clean environment for the settings the tests choose themselves.
pub fn faultbook(data: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    for var in [
        "DATABASE_URL",
        "FAULTBOOK_ADDR",
        "FAULTBOOK_DATA",
        "FAULTBOOK_CONTENT",
        "FAULTBOOK_PHOTOS",
        "FAULTBOOK_BASE_URL",
    ] {
        cmd.env_remove(var);
    }
    cmd.arg("--data-dir").arg(data);
    if let Some(url) = super::database::url_for(data) {
        cmd.env("DATABASE_URL", url);
    }
    cmd
}

fn forward(stream: impl std::io::Read + Send + 'static, tx: mpsc::Sender<Line>, out: bool) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let line = if out {
                Line::Out(line)
            } else {
                Line::Err(line)
            };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
}

impl Server {
    /// Starts `faultbook serve` on a free port with the shipped guides.
    pub fn start(data: &Path) -> Server {
        Server::start_with(data, &[])
    }

    /// Starts `faultbook serve` on a free port with the shipped guides and more flags.
    pub fn start_with(data: &Path, flags: &[&str]) -> Server {
        let port = free_port();
        let mut child = faultbook(data)
            .arg("--content-dir")
            .arg(CONTENT)
            .arg("--addr")
            .arg(format!("127.0.0.1:{port}"))
            .args(flags)
            .arg("serve")
            .env("RUST_LOG", "info,tantivy=warn,sqlx=warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the faultbook binary starts");
        let (tx, lines) = mpsc::channel();
        forward(child.stdout.take().expect("stdout"), tx.clone(), true);
        forward(child.stderr.take().expect("stderr"), tx, false);
        Server {
            child,
            lines,
            seen: Vec::new(),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The first line, read before or arriving within `limit`, that satisfies `want`; panics
    /// with everything seen when there is none.
    pub fn wait_for(
        &mut self,
        what: &str,
        limit: Duration,
        want: impl Fn(&Line) -> bool,
    ) -> String {
        if let Some(line) = self.seen.iter().find(|l| want(l)) {
            return line.text().to_string();
        }
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = want(&line);
                    let text = line.text().to_string();
                    self.seen.push(line);
                    if hit {
                        return text;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "waited {limit:?} for {what} from faultbook serve; it printed:\n{:#?}",
                    self.seen
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "faultbook serve ended ({:?}) before printing {what}; it printed:\n{:#?}",
                    self.child.try_wait(),
                    self.seen
                ),
            }
        }
    }

    /// Whatever arrives within `d`, without waiting for anything in particular.
    pub fn drain(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.seen.push(line);
        }
    }

    /// The first-run link from stdout.
    pub fn setup_url(&mut self) -> String {
        let line = self.wait_for(
            "the setup link on stdout",
            Duration::from_secs(60),
            |l| matches!(l, Line::Out(s) if s.contains("/setup/")),
        );
        let url = line.trim().to_string();
        let token = url
            .strip_prefix(&format!("{}/setup/", self.base))
            .unwrap_or_else(|| panic!("`{url}` is not a setup link on {}", self.base));
        assert_eq!(token.len(), 48, "{url}");
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{url}");
        url
    }

    /// Sends SIGTERM, as systemd does to stop a service.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits up to `limit` for the process to end; its exit status, or `None` if it still runs.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every line printed so far, for assertions and failure messages.
    pub fn output(&mut self) -> String {
        self.drain(Duration::from_millis(50));
        self.seen
            .iter()
            .map(Line::text)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits for the log line saying the server listens (the log goes to stderr).
    pub fn listening(&mut self) {
        self.wait_for(
            "the `listening` log line on stderr",
            Duration::from_secs(60),
            |l| matches!(l, Line::Err(s) if s.contains("listening on")),
        );
    }
}

/// Runs a subcommand to its end, with `stdin` piped in.
pub fn run(data: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = faultbook(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the faultbook binary starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("faultbook ends")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs a subcommand that must succeed; returns its stdout.
pub fn run_ok(data: &Path, args: &[&str], stdin: &str) -> String {
    let out = run(data, args, stdin);
    assert!(
        out.status.success(),
        "faultbook {args:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

//! A `fjord broker` child process on an ephemeral port, for tests of the binary itself.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running `fjord broker` process; killed (SIGKILL) when dropped.
pub struct BrokerProcess {
    /// The child process.
    pub child: Child,
    /// `127.0.0.1:PORT` it listens on, parsed from its ready line.
    pub bootstrap: String,
    _dir: Option<tempfile::TempDir>,
}

impl BrokerProcess {
    /// Starts a broker on a temporary data dir, with extra `fjord broker` arguments.
    pub fn start(extra: &[&str]) -> BrokerProcess {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut p = BrokerProcess::start_in(dir.path(), extra);
        p._dir = Some(dir);
        p
    }

    /// Starts a broker on the given data dir (which outlives the process).
    pub fn start_in(data_dir: &Path, extra: &[&str]) -> BrokerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fjord"))
            .args(["broker", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env("FJORD_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn fjord broker");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let bootstrap = loop {
            let line = lines
                .next()
                .expect("broker exited before it was ready")
                .expect("read stderr");
            if let Some(rest) = line.split("address=").nth(1) {
                break rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
            }
        };
        // Keep draining stderr so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        BrokerProcess {
            child,
            bootstrap,
            _dir: None,
        }
    }

    /// SIGKILL, then reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill(); // Child::kill sends SIGKILL on Unix
        let _ = self.child.wait();
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `fjord streams run APP` child process (a Streams app instance); SIGKILLed on drop.
pub struct StreamsInstance(pub Child);

impl StreamsInstance {
    /// Starts `fjord streams run app` against `bs` with `-c KEY=VALUE` configs.
    pub fn spawn(app: &str, bs: &str, app_id: &str, state: &Path, config: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fjord"));
        cmd.args([
            "streams",
            "run",
            app,
            "--bootstrap-server",
            bs,
            "--application-id",
            app_id,
            "--state-dir",
        ])
        .arg(state)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        for (k, v) in config {
            cmd.arg("-c").arg(format!("{k}={v}"));
        }
        StreamsInstance(cmd.spawn().expect("spawn fjord streams run"))
    }
}

impl Drop for StreamsInstance {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

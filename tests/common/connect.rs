//! A `fjord connect` worker child process, and Kafka's quickstart files prepared for a test.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The repository's `examples/config/` directory.
pub fn example_config(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/config")
        .join(name)
}

/// A copy of an example worker file in `dir`, pointed at this broker, an ephemeral REST port
/// and offsets in `dir`, with `extra` lines appended (later keys win).
pub fn worker_file(dir: &Path, example: &str, bootstrap: &str, extra: &[(&str, &str)]) -> PathBuf {
    let text = std::fs::read_to_string(example_config(example)).expect("example worker file");
    let mut out = String::new();
    for line in text.lines() {
        let key = line.split('=').next().unwrap_or_default().trim();
        match key {
            "bootstrap.servers" => out.push_str(&format!("bootstrap.servers={bootstrap}\n")),
            "offset.storage.file.filename" => out.push_str(&format!(
                "offset.storage.file.filename={}\n",
                dir.join("connect.offsets").display()
            )),
            "listeners" => {}
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out.push_str("listeners=http://127.0.0.1:0\n");
    for (k, v) in extra {
        out.push_str(&format!("{k}={v}\n"));
    }
    let path = dir.join(example);
    std::fs::write(&path, out).expect("write worker file");
    path
}

/// A running `fjord connect` process; SIGKILLed when dropped.
pub struct ConnectProcess {
    /// The child.
    pub child: Child,
    /// The REST API's base URL, from the ready line.
    pub rest_url: String,
    /// Every stderr line after the ready line.
    pub log: mpsc::Receiver<String>,
}

impl ConnectProcess {
    /// Starts `fjord connect <args>` in `cwd` and waits for its ready line.
    pub fn start(cwd: &Path, args: &[&str]) -> ConnectProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fjord"))
            .arg("connect")
            .args(args)
            .current_dir(cwd)
            .env("FJORD_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn fjord connect");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = Vec::new();
        let rest_url = loop {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    if let Some(url) = line.split("REST API on ").nth(1) {
                        break url.split_whitespace().next().unwrap_or_default().to_owned();
                    }
                    seen.push(line);
                }
                Err(_) => panic!(
                    "fjord connect did not get ready; its log:\n{}",
                    seen.join("\n")
                ),
            }
        };
        ConnectProcess {
            child,
            rest_url,
            log: rx,
        }
    }

    /// SIGTERM, then waits (up to 30 s) for a clean exit; returns whether it exited 0.
    pub fn stop(&mut self) -> bool {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..300 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.kill();
        false
    }

    /// SIGKILL, then reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The log lines received so far.
    pub fn drain_log(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }
}

impl Drop for ConnectProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

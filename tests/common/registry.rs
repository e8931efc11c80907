//! A schema registry for a test, and the Python registry client program
//! (`tests/python/registry_avro.py`) run against it.

use std::process::Stdio;
use std::time::Duration;

use fjord_registry::{Registry, RegistryConfig};

use super::python::{python, repo_root};

/// A registry on `127.0.0.1:0` keeping its state on the cluster at `bootstrap`.
pub async fn registry(bootstrap: &str) -> Registry {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Registry::start(RegistryConfig::new(bootstrap), listener)
        .await
        .unwrap()
}

/// Runs `registry_avro.py MODE` (confluent-kafka's registry client and Avro serdes) against
/// `bootstrap` and `registry`; its stdout. Fails the test when the program fails.
pub async fn python_avro(
    mode: &str,
    bootstrap: &str,
    registry: &str,
    topic: &str,
    count: usize,
) -> String {
    let python = python().await;
    let child = tokio::process::Command::new(&python)
        .arg(repo_root().join("tests/python/registry_avro.py"))
        .arg(mode)
        .env("BOOTSTRAP", bootstrap)
        .env("REGISTRY_URL", registry)
        .env("TOPIC", topic)
        .env("COUNT", count.to_string())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("the Python program finishes")
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "registry_avro.py {mode} failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

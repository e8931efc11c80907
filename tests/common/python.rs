//! The Python clients' venv for the tests that run kafka-python and confluent-kafka
//! programs: made by `scripts/python-env.sh`, at most once per test process.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;

/// The repository root (where `scripts/` and `tests/python/` are).
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's python, after `scripts/python-env.sh` made sure it has the pinned clients.
/// Runs the script at most once per test process: tests running in parallel wait for the
/// first one's result. The tests fail, never skip, without it.
pub async fn python() -> PathBuf {
    static ENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let result = tokio::task::spawn_blocking(|| ENV.get_or_init(prepare_python_env).clone())
        .await
        .expect("python env task");
    result.unwrap_or_else(|e| panic!("{e}"))
}

fn prepare_python_env() -> Result<PathBuf, String> {
    let script = repo_root().join("scripts/python-env.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed ({}); the Python client tests need .venv with kafka-python and \
             confluent-kafka from PyPI. Its output:\n{}{}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        ));
    }
    let python = repo_root().join(".venv/bin/python");
    if !python.exists() {
        return Err(format!(
            "{} succeeded but {} is missing",
            script.display(),
            python.display()
        ));
    }
    Ok(python)
}

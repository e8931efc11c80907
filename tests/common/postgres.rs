//! A real PostgreSQL for end-to-end tests: `initdb` into a temp dir with `wal_level=logical`,
//! replication slots and WAL senders, a free loopback port, `pg_ctl` start, stop and restart.
//!
//! The binaries are found in `$FJORD_PG_BIN`, then the newest `/usr/lib/postgresql/*/bin`,
//! then `pg_config --bindir`, then `PATH`. When none has `initdb`, the test fails saying so and
//! how to install them (`scripts/postgres.sh`, which runs `apt-get install postgresql`).
//! Postgres refuses to run as root: when the tests run as root (CI does), the server runs as
//! the `postgres` user through `runuser`, and its directory is handed to that user.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool};

/// The superuser the tests connect as.
pub const USER: &str = "fjord";
/// Its password.
pub const PASSWORD: &str = "fjord-secret";

/// Where the PostgreSQL server binaries are, or why they are not.
pub fn bin_dir() -> Result<PathBuf, String> {
    let has_initdb = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Ok(dir) = std::env::var("FJORD_PG_BIN") {
        let dir = PathBuf::from(dir);
        if has_initdb(&dir) {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_initdb(&bin).then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_initdb(&dir) {
            return Ok(dir);
        }
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if has_initdb(&dir) {
            return Ok(dir);
        }
    }
    Err(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found in $FJORD_PG_BIN, \
         /usr/lib/postgresql/*/bin, pg_config --bindir or PATH; install them with \
         `scripts/postgres.sh` (apt-get install postgresql) or point FJORD_PG_BIN at them"
            .to_owned(),
    )
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// A PostgreSQL server of its own for one test; stopped (immediately) when dropped.
pub struct PgServer {
    /// The temp dir holding the data dir and the log.
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_postgres: bool,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
}

impl PgServer {
    /// initdb, configure for logical replication, start. Panics with a plain reason when the
    /// binaries are missing.
    pub fn start() -> PgServer {
        Self::start_with(&[])
    }

    /// As [`PgServer::start`], with extra `postgresql.conf` lines (`("wal_level", "replica")`).
    pub fn start_with(settings: &[(&str, &str)]) -> PgServer {
        let bin = bin_dir().unwrap_or_else(|reason| panic!("{reason}"));
        let as_postgres = running_as_root();
        let dir = tempfile::Builder::new()
            .prefix("fjord-pg")
            .tempdir()
            .expect("temp dir");
        let server = PgServer {
            dir,
            bin,
            as_postgres,
            port: free_port(),
        };
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(server.dir.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown of the Postgres temp dir failed");
        }
        let pwfile = server.dir.path().join("pwfile");
        std::fs::write(&pwfile, PASSWORD).expect("pwfile");
        if as_postgres {
            let _ = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&pwfile)
                .status();
        }
        server.run(
            "initdb",
            &[
                "-D",
                &server.data_dir().display().to_string(),
                "-U",
                USER,
                "--pwfile",
                &pwfile.display().to_string(),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        let mut conf = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = ''\n\
             wal_level = logical\nmax_replication_slots = 20\nmax_wal_senders = 20\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n\
             shared_buffers = 64MB\nmax_connections = 100\nwal_sender_timeout = 60s\n",
            server.port
        );
        for (k, v) in settings {
            conf.push_str(&format!("{k} = {v}\n"));
        }
        let conf_path = server.data_dir().join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf_path).expect("postgresql.conf");
        text.push_str(&conf);
        std::fs::write(&conf_path, text).expect("write postgresql.conf");
        server.pg_ctl_start();
        server
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(&self, program: &str, args: &[&str]) {
        let exe = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = command
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", exe.display()));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn pg_ctl_start(&self) {
        let data = self.data_dir().display().to_string();
        let log = self.dir.path().join("postgres.log").display().to_string();
        self.run(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-w", "-t", "60", "start"],
        );
    }

    /// Stops the server (fast shutdown: sessions are ended, as an admin's restart does).
    pub fn stop(&self) {
        let data = self.data_dir().display().to_string();
        self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]);
    }

    /// Starts the stopped server again on the same port.
    pub fn start_again(&self) {
        self.pg_ctl_start();
    }

    /// Restarts the server.
    pub fn restart(&self) {
        self.stop();
        self.pg_ctl_start();
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }

    /// A `postgres://` URL of a database as the superuser.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{USER}:{PASSWORD}@127.0.0.1:{}/{db}", self.port)
    }

    /// Connection options of a database as the superuser.
    pub fn options(&self, db: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .host("127.0.0.1")
            .port(self.port)
            .username(USER)
            .password(PASSWORD)
            .database(db)
    }

    /// A small pool on a database.
    pub async fn pool(&self, db: &str) -> PgPool {
        PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(self.options(db))
            .await
            .unwrap_or_else(|e| panic!("connect to {db}: {e}\n{}", self.log()))
    }

    /// Creates a database and returns a pool on it.
    pub async fn create_database(&self, db: &str) -> PgPool {
        let admin = self.pool("postgres").await;
        admin
            .execute(format!("CREATE DATABASE \"{db}\"").as_str())
            .await
            .unwrap_or_else(|e| panic!("create database {db}: {e}"));
        admin.close().await;
        self.pool(db).await
    }

    /// The connector keys that point a Postgres source at a database of this server.
    pub fn source_keys(&self, db: &str) -> Vec<(String, String)> {
        vec![
            ("database.hostname".into(), "127.0.0.1".into()),
            ("database.port".into(), self.port.to_string()),
            ("database.user".into(), USER.into()),
            ("database.password".into(), PASSWORD.into()),
            ("database.dbname".into(), db.into()),
        ]
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.data_dir().display().to_string();
        let exe = self.bin.join("pg_ctl");
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let _ = command
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
    }
}

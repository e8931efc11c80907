//! The `fjord:dev` image as a `testcontainers` [`Image`]: the familiar path for tests that
//! want the platform in a container (broker, schema registry and a Connect worker, as
//! `fjord dev` runs them), built locally by `scripts/build-image.sh`.
//!
//! Kafka clients reach a broker at the address it advertises, so the broker's port is the
//! same inside and outside the container: [`FjordImage::new`] picks a free host port `P`, the
//! broker listens on `0.0.0.0:P` in the container and advertises `127.0.0.1:P`, and the host's
//! `P` is mapped to the container's `P`. The in-container registry and Connect worker reach
//! the broker at that same `127.0.0.1:P` (their own loopback). The registry (8081) and the
//! Connect REST API (8083) are mapped to other free host ports; their URLs need no
//! advertising. Picking a free port and mapping it is not atomic: another process could take
//! it in between, which on a test machine is rare and fails loudly (`docker run` cannot bind).
//!
//! The container is ready when `fjord dev` prints its ready line, after every part serves.
//!
//! ```no_run
//! use fjord::testing::container::{docker_unavailable, FjordContainer, FjordImage};
//! use testcontainers::clients::Cli;
//!
//! if let Some(why) = docker_unavailable(FjordImage::DEFAULT_TAG) {
//!     eprintln!("skipped: {why}");
//!     return;
//! }
//! let docker = Cli::default();
//! let image = FjordImage::new().expect("a free port");
//! let fjord = FjordContainer::start(&docker, image);
//! let bootstrap = fjord.bootstrap_servers(); // "127.0.0.1:P" for any Kafka client
//! let registry = fjord.registry_url();       // "http://127.0.0.1:R"
//! let connect = fjord.connect_url();         // "http://127.0.0.1:C"
//! ```

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use testcontainers::clients::Cli;
use testcontainers::core::WaitFor;
use testcontainers::{Container, Image, RunnableImage};

/// The registry's port inside the container.
pub const REGISTRY_PORT: u16 = 8081;
/// The Connect REST API's port inside the container.
pub const CONNECT_PORT: u16 = 8083;
/// Where the image keeps its data (a volume).
pub const DATA_DIR: &str = "/data";
/// The line `fjord dev` prints on stderr once every part serves.
pub const READY_LINE: &str = "fjord dev ready";

/// The `fjord:dev` image, configured for clients on the host.
#[derive(Debug, Clone)]
pub struct FjordImage {
    tag: String,
    kafka_port: u16,
    registry_host_port: u16,
    connect_host_port: u16,
    env: BTreeMap<String, String>,
    volumes: BTreeMap<String, String>,
}

impl FjordImage {
    /// The tag `scripts/build-image.sh` builds.
    pub const DEFAULT_TAG: &'static str = "dev";

    /// `fjord:dev` on free host ports (see the module docs).
    ///
    /// # Errors
    /// No free loopback port could be bound.
    pub fn new() -> std::io::Result<FjordImage> {
        let kafka_port = free_port()?;
        let mut env = BTreeMap::new();
        env.insert(
            "FJORD_LISTENERS".to_owned(),
            format!("0.0.0.0:{kafka_port}"),
        );
        env.insert(
            "FJORD_ADVERTISED_LISTENERS".to_owned(),
            format!("127.0.0.1:{kafka_port}"),
        );
        Ok(FjordImage {
            tag: FjordImage::DEFAULT_TAG.to_owned(),
            kafka_port,
            registry_host_port: free_port()?,
            connect_host_port: free_port()?,
            env,
            volumes: BTreeMap::new(),
        })
    }

    /// Another tag of the `fjord` image.
    #[must_use]
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = tag.into();
        self
    }

    /// Keeps the data in the named Docker volume `name` (created on first use), so a later
    /// container on the same volume finds every acknowledged record.
    #[must_use]
    pub fn with_data_volume(mut self, name: impl Into<String>) -> Self {
        self.volumes.insert(name.into(), DATA_DIR.to_owned());
        self
    }

    /// One more environment variable (e.g. `KAFKA_NUM_PARTITIONS=3`, `FJORD_LOG=debug`).
    #[must_use]
    pub fn with_env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// The host (and container) port of the broker.
    pub fn kafka_port(&self) -> u16 {
        self.kafka_port
    }

    /// The image with its ports mapped, for [`Cli::run`].
    pub fn runnable(self) -> RunnableImage<FjordImage> {
        let (kafka, registry, connect) = (
            self.kafka_port,
            self.registry_host_port,
            self.connect_host_port,
        );
        RunnableImage::from(self)
            .with_mapped_port((kafka, kafka))
            .with_mapped_port((registry, REGISTRY_PORT))
            .with_mapped_port((connect, CONNECT_PORT))
    }
}

impl Image for FjordImage {
    type Args = ();

    fn name(&self) -> String {
        "fjord".to_owned()
    }

    fn tag(&self) -> String {
        self.tag.clone()
    }

    fn ready_conditions(&self) -> Vec<WaitFor> {
        vec![WaitFor::message_on_stderr(READY_LINE)]
    }

    fn env_vars(&self) -> Box<dyn Iterator<Item = (&String, &String)> + '_> {
        Box::new(self.env.iter())
    }

    fn volumes(&self) -> Box<dyn Iterator<Item = (&String, &String)> + '_> {
        Box::new(self.volumes.iter())
    }
}

/// A running `fjord:dev` container; removed (with `docker rm -f -v`) when dropped. Named
/// volumes stay.
pub struct FjordContainer<'d> {
    container: Container<'d, FjordImage>,
}

impl std::fmt::Debug for FjordContainer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FjordContainer")
            .field("id", &self.container.id())
            .field("bootstrap_servers", &self.bootstrap_servers())
            .finish_non_exhaustive()
    }
}

impl<'d> FjordContainer<'d> {
    /// Starts the image and waits for its ready line.
    ///
    /// # Panics
    /// As `testcontainers` does: the container cannot start, or exits before it is ready.
    pub fn start(docker: &'d Cli, image: FjordImage) -> FjordContainer<'d> {
        FjordContainer {
            container: docker.run(image.runnable()),
        }
    }

    /// `127.0.0.1:P`, for `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> String {
        format!("127.0.0.1:{}", self.container.image().kafka_port)
    }

    /// The registry's URL on the host (`schema.registry.url`).
    pub fn registry_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}",
            self.container.get_host_port_ipv4(REGISTRY_PORT)
        )
    }

    /// The Connect REST API's URL on the host.
    pub fn connect_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}",
            self.container.get_host_port_ipv4(CONNECT_PORT)
        )
    }

    /// The container, for its id, `stop`, `start` and the rest of `testcontainers`' API.
    pub fn container(&self) -> &Container<'d, FjordImage> {
        &self.container
    }
}

/// Why a container test cannot run here, or `None` when it can: no `docker` CLI, no engine
/// answering it, or no `fjord:TAG` image (build it with `scripts/build-image.sh`).
pub fn docker_unavailable(tag: &str) -> Option<String> {
    let run = |args: &[&str]| {
        Command::new("docker")
            .args(args)
            .stdin(Stdio::null())
            .output()
    };
    match run(&["version", "--format", "{{.Server.Version}}"]) {
        Err(e) => return Some(format!("no docker CLI ({e})")),
        Ok(out) if !out.status.success() => {
            return Some(format!(
                "no Docker engine answers: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
        Ok(_) => {}
    }
    let image = format!("fjord:{tag}");
    match run(&["image", "inspect", "--format", "{{.Id}}", &image]) {
        Ok(out) if out.status.success() => None,
        _ => Some(format!(
            "the Docker engine has no image {image}; build it with scripts/build-image.sh"
        )),
    }
}

/// A port no one listens on now (bound on loopback, then released).
fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

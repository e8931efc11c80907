//! `fjord perf baseline`: what this machine can do without a broker, measured in the same
//! run as the broker figures so they can be read as fractions of it.
//!
//! - Loopback TCP: a writer thread sends 256 KiB writes over a 127.0.0.1 connection to a
//!   reader thread that reads and discards them, for `--tcp-seconds`. The ceiling for any
//!   broker's network path on this machine (a broker must also parse, store and answer).
//! - Sequential disk write: `--disk-mib` MiB written in 1 MiB chunks to a new file in
//!   `--dir`, then one fsync; the rate counts the fsync, and the page-cache rate (before the
//!   fsync) is reported beside it. The ceiling for durable appends. The file is removed.
//! - Fresh memory (`--warm-memory-gib`, first; 0 skips it): maps that much new memory, writes
//!   one byte per 4 KiB page twice, and frees it, timing each pass. The first pass pays the
//!   fault of every new page; in a virtual machine whose host backs guest memory lazily (and
//!   takes freed pages back) that fault is several µs, and the kernel pays it for every new
//!   page-cache page too, so it bounds how fast any broker can append into the page cache.
//!   The second pass is the cost of the same writes to memory already there.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use super::produce::pseudo_random_bytes;
use super::report::{Summary, MB};

/// Bytes per `write` on the loopback connection.
const TCP_WRITE: usize = 256 * 1024;
/// Bytes per `write` to the disk file.
const DISK_CHUNK: usize = 1024 * 1024;

/// `fjord perf baseline`.
#[derive(clap::Args, Debug)]
pub struct BaselineArgs {
    /// Directory for the disk test's file (use the broker's data disk) [default: the temp dir]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// How long to stream over loopback TCP, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    pub tcp_seconds: u64,
    /// How much to write to disk, in MiB (1 MiB per write)
    #[arg(long, value_name = "MIB", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub disk_mib: u64,
    /// Time the first and second touch of this much new memory, in GiB (0: skip)
    #[arg(long, value_name = "GIB", default_value_t = 0)]
    pub warm_memory_gib: u64,
}

/// Runs both baselines and returns their summary.
///
/// # Errors
/// The loopback socket or the disk file cannot be used.
pub fn run(args: &BaselineArgs, shutdown: &CancellationToken) -> anyhow::Result<Summary> {
    let warm = warm_memory(args.warm_memory_gib)?;
    let tcp = loopback_tcp(Duration::from_secs(args.tcp_seconds), shutdown)?;
    let dir = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let disk = sequential_write(&dir, args.disk_mib, shutdown)?;
    let mut summary = Summary::new("baseline");
    summary
        .count(
            "warm_memory_gib",
            "fresh memory touched",
            "GiB",
            args.warm_memory_gib,
        )
        .real(
            "warm_first_touch_s",
            "memory first touch",
            "s",
            warm.0.as_secs_f64(),
            3,
        )
        .real(
            "warm_second_touch_s",
            "memory second touch",
            "s",
            warm.1.as_secs_f64(),
            3,
        )
        .real("tcp_loopback_mb_per_s", "loopback TCP", "MB/s", tcp, 1)
        .text("disk_dir", "disk test dir", dir.display().to_string())
        .count("disk_bytes", "disk bytes written", "B", disk.bytes)
        .real(
            "disk_write_fsync_mb_per_s",
            "disk write + fsync",
            "MB/s",
            disk.bytes as f64 / MB / disk.total.as_secs_f64(),
            1,
        )
        .real(
            "disk_write_page_cache_mb_per_s",
            "disk write (page cache)",
            "MB/s",
            disk.bytes as f64 / MB / disk.write.as_secs_f64(),
            1,
        )
        .real(
            "disk_fsync_s",
            "final fsync",
            "s",
            (disk.total - disk.write).as_secs_f64(),
            3,
        );
    Ok(summary)
}

/// Writes one byte per 4 KiB page of `gib` GiB of new memory, twice, then frees it; returns
/// the time of each pass.
fn warm_memory(gib: u64) -> anyhow::Result<(Duration, Duration)> {
    if gib == 0 {
        return Ok((Duration::ZERO, Duration::ZERO));
    }
    let len = usize::try_from(gib << 30).context("--warm-memory-gib is too large here")?;
    // Zeroed allocations this large are fresh mappings: no page is touched before the passes.
    let mut memory = vec![0u8; len];
    let mut pass = |value: u8| {
        let started = Instant::now();
        for page in memory.chunks_mut(4096) {
            page[0] = value;
        }
        started.elapsed()
    };
    let (first, second) = (pass(1), pass(2));
    std::hint::black_box(&memory);
    Ok((first, second))
}

/// Streams over a loopback connection for `duration`; returns MB/s received.
fn loopback_tcp(duration: Duration, shutdown: &CancellationToken) -> anyhow::Result<f64> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot listen on 127.0.0.1")?;
    let addr = listener.local_addr()?;
    let reader = std::thread::Builder::new()
        .name("baseline-tcp-reader".into())
        .spawn(move || -> std::io::Result<(u64, Duration)> {
            let (mut stream, _) = listener.accept()?;
            let mut buf = vec![0u8; TCP_WRITE];
            let mut total = 0u64;
            let mut first = None;
            loop {
                match stream.read(&mut buf)? {
                    0 => break,
                    n => {
                        first.get_or_insert_with(Instant::now);
                        total += n as u64;
                    }
                }
            }
            Ok((total, first.map_or(Duration::ZERO, |t| t.elapsed())))
        })?;
    let mut stream = TcpStream::connect(addr).context("cannot connect over loopback")?;
    stream.set_nodelay(true)?;
    let chunk = pseudo_random_bytes(TCP_WRITE, 0x7c9);
    let started = Instant::now();
    while started.elapsed() < duration && !shutdown.is_cancelled() {
        stream.write_all(&chunk)?;
    }
    drop(stream);
    let (bytes, elapsed) = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the loopback reader panicked"))??;
    Ok(bytes as f64 / MB / elapsed.as_secs_f64().max(1e-9))
}

/// Timings of the disk baseline.
struct DiskRun {
    bytes: u64,
    /// Writing into the page cache.
    write: Duration,
    /// Writing plus the fsync.
    total: Duration,
}

fn sequential_write(
    dir: &std::path::Path,
    mib: u64,
    shutdown: &CancellationToken,
) -> anyhow::Result<DiskRun> {
    let path = dir.join(format!("fjord-baseline-{}.tmp", std::process::id()));
    let result = write_and_sync(&path, mib, shutdown);
    let _ = std::fs::remove_file(&path);
    result.with_context(|| format!("disk baseline in {}", dir.display()))
}

fn write_and_sync(
    path: &std::path::Path,
    mib: u64,
    shutdown: &CancellationToken,
) -> std::io::Result<DiskRun> {
    let chunk = pseudo_random_bytes(DISK_CHUNK, 0xd15c);
    let mut file = File::create(path)?;
    let started = Instant::now();
    let mut bytes = 0u64;
    for _ in 0..mib {
        if shutdown.is_cancelled() {
            break;
        }
        file.write_all(&chunk)?;
        bytes += DISK_CHUNK as u64;
    }
    let write = started.elapsed();
    file.sync_all()?;
    Ok(DiskRun {
        bytes,
        write,
        total: started.elapsed(),
    })
}

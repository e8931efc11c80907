//! The trending-hashtags example on the feed: simulator -> HttpFeedSource -> `posts` ->
//! the Streams app -> `trending-hashtags`, whose counts must equal those computed from the
//! simulator's seed.

use std::time::Duration;

use crate::common;
use crate::harness::{simulator, Feed};
use crate::trending_app as app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trending_counts_equal_the_counts_of_the_seed() {
    let broker = common::broker().await;
    let bs = broker.bootstrap_servers();
    let posts = 1000;
    let sim = simulator(posts, "duplicate:11,disconnect:300", None).await;
    let track = "#rust,#kafka,#streaming,#fjord";
    common::create_topic(&bs, app::INPUT, 1, &[]).await;
    common::create_topic(&bs, app::OUTPUT, 1, &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let feed = Feed::start_named(
        dir.path(),
        &bs,
        &sim.url("/2/stream"),
        "stream",
        app::INPUT,
        &[("track", track)],
    )
    .await;
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let config = app::streams_config(&bs, &common::unique("trending"), &state);
    let streams = tokio::task::spawn_blocking(move || app::start_app(config))
        .await
        .unwrap()
        .unwrap();
    // The seed is the 2026 of harness::simulator.
    let want = app::expected(2026, posts, track);
    assert!(
        want.len() > 10 && want.values().sum::<i64>() > 200,
        "{want:?}"
    );
    let (b, goal) = (bs.clone(), want.clone());
    let counts = tokio::task::spawn_blocking(move || {
        app::read_counts(&b, 1, Duration::from_secs(60), |c| *c == goal).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        counts,
        want,
        "app {:?} {:?}, {} posts, connector {}, requests {:?}",
        streams.state(),
        streams.error(),
        crate::harness::high_watermark(&bs, app::INPUT),
        feed.status().await,
        sim.requests()
    );
    tokio::task::spawn_blocking(move || streams.close(Duration::from_secs(30)))
        .await
        .unwrap();
    feed.stop().await;
    sim.shutdown().await;
}

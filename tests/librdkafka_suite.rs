//! `scripts/librdkafka-suite.sh` gives each test's broker the settings its allowlist line
//! asks for, also when the test number is given on the command line. It did not: run alone,
//! 0118 got the suite's `group.initial.rebalance.delay.ms=0` instead of its list line's 3000,
//! its two consumers joined in different generations, and it failed on a commit Kafka takes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// The script's `--show-settings` output: test number -> its broker's settings, the last
/// setting of a key winning (as the broker applies them).
fn settings(args: &[&str]) -> BTreeMap<String, BTreeMap<String, String>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/librdkafka-suite.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("--show-settings")
        .args(args)
        .output()
        .expect("run the suite script");
    assert!(
        out.status.success(),
        "{} --show-settings {args:?}: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (num, rest) = line.split_once(": ").expect("NNNN: settings");
            let mut kv = BTreeMap::new();
            let mut words = rest.split_whitespace();
            while let Some(flag) = words.next() {
                assert_eq!(flag, "-o", "{line}");
                let (k, v) = words.next().unwrap().split_once('=').unwrap();
                kv.insert(k.to_string(), v.to_string());
            }
            (num.to_string(), kv)
        })
        .collect()
}

fn delay(settings: &BTreeMap<String, String>) -> &str {
    &settings["group.initial.rebalance.delay.ms"]
}

#[test]
fn a_test_run_alone_gets_its_allowlist_settings() {
    let alone = settings(&["0118", "1"]);
    assert_eq!(alone.keys().collect::<Vec<_>>(), ["0001", "0118"]);
    assert_eq!(delay(&alone["0118"]), "3000", "0118's list line wins");
    assert_eq!(delay(&alone["0001"]), "0", "the suite's default");
    assert_eq!(alone["0001"]["num.partitions"], "4");
}

#[test]
fn the_full_run_and_a_single_run_agree() {
    let full = settings(&[]);
    for (num, wanted) in &full {
        assert_eq!(&settings(&[num.as_str()])[num], wanted, "test {num}");
    }
    for num in ["0102", "0113", "0118"] {
        assert_eq!(delay(&full[num]), "3000", "test {num}");
    }
}

use super::*;

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Sale {
    product: String,
    quantity: i64,
}

#[test]
fn integers_and_doubles_are_big_endian_like_kafkas_serdes() {
    // Kafka's LongSerializer writes 1 as 00..01; IntegerSerializer 256 as 00 00 01 00.
    assert_eq!(
        Int64.serialize("t", &1).unwrap(),
        Some(vec![0, 0, 0, 0, 0, 0, 0, 1])
    );
    assert_eq!(Int32.serialize("t", &256).unwrap(), Some(vec![0, 0, 1, 0]));
    assert_eq!(
        Float64.serialize("t", &1.5).unwrap(),
        Some(1.5f64.to_be_bytes().to_vec())
    );
    assert_eq!(
        Int64
            .deserialize("t", Some(&[0, 0, 0, 0, 0, 0, 1, 0]))
            .unwrap(),
        256
    );
    assert_eq!(
        Float64
            .deserialize("t", Some(&2.25f64.to_be_bytes()))
            .unwrap(),
        2.25
    );
}

#[test]
fn a_wrong_width_names_the_topic_and_the_expected_width() {
    let err = Int64.deserialize("counts", Some(&[1, 2, 3])).unwrap_err();
    assert_eq!(err.topic, "counts");
    assert!(err.to_string().contains("expected 8 bytes"), "{err}");
}

#[test]
fn null_is_refused_unless_nullable() {
    assert!(Utf8.deserialize("t", None).is_err());
    assert!(Json::<Sale>::new().deserialize("t", None).is_err());
    assert_eq!(Nullable(Utf8).deserialize("t", None).unwrap(), None);
    assert_eq!(Nullable(Utf8).serialize("t", &None).unwrap(), None);
    assert_eq!(
        Nullable(Utf8).deserialize("t", Some(b"k")).unwrap(),
        Some("k".to_string())
    );
    assert_eq!(Unit.deserialize("t", Some(b"anything")).unwrap(), ());
}

#[test]
fn json_round_trips_and_reports_malformed_input() {
    let serde = Json::<Sale>::new();
    let sale = Sale {
        product: "apples".into(),
        quantity: 3,
    };
    let bytes = serde.serialize("sales", &sale).unwrap().unwrap();
    assert_eq!(serde.deserialize("sales", Some(&bytes)).unwrap(), sale);
    let err = serde.deserialize("sales", Some(b"{not json")).unwrap_err();
    assert_eq!(err.direction, "deserialize");
    assert!(err.to_string().contains("{not json"), "{err}");
}

#[test]
fn strings_must_be_utf8() {
    let err = Utf8.deserialize("t", Some(&[0xff, 0xfe])).unwrap_err();
    assert!(err.to_string().contains("not UTF-8"), "{err}");
}

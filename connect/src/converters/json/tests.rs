//! Exact JSON against what Kafka's JsonConverter writes (examples from Kafka's quickstart and
//! `JsonConverterTest`), reading Kafka's envelopes back, and the errors for bad input.

use super::*;
use crate::data::logical;
use crate::data::{SchemaType, Struct};

fn schemas_on() -> JsonConverter {
    JsonConverter::with_schemas(true)
}

fn text(converter: &JsonConverter, schema: Option<&Schema>, value: &Value) -> String {
    let bytes = converter.to_bytes("t", schema, value).unwrap().unwrap();
    String::from_utf8(bytes).unwrap()
}

fn read(converter: &JsonConverter, json: &str) -> Result<SchemaAndValue> {
    converter.to_connect("t", Some(json.as_bytes()))
}

#[test]
fn the_quickstart_line_is_kafkas_envelope() {
    // Kafka's quickstart: the file source with the JsonConverter writes each line like this.
    let json = text(&schemas_on(), Some(&Schema::string()), &"foo".into());
    assert_eq!(
        json,
        r#"{"schema":{"type":"string","optional":false},"payload":"foo"}"#
    );
}

#[test]
fn primitives_and_nulls() {
    let c = schemas_on();
    let boolean = Schema::primitive(SchemaType::Boolean);
    assert_eq!(
        text(&c, Some(&boolean), &true.into()),
        r#"{"schema":{"type":"boolean","optional":false},"payload":true}"#
    );
    let float = Schema::primitive(SchemaType::Float32);
    assert_eq!(
        text(&c, Some(&float), &Value::Float32(12.34)),
        r#"{"schema":{"type":"float","optional":false},"payload":12.34}"#
    );
    let double = Schema::primitive(SchemaType::Float64);
    assert_eq!(
        text(&c, Some(&double), &Value::Float64(1.0)),
        r#"{"schema":{"type":"double","optional":false},"payload":1.0}"#
    );
    let bytes = Schema::primitive(SchemaType::Bytes);
    assert_eq!(
        text(&c, Some(&bytes), &Value::Bytes(b"test-string".to_vec())),
        r#"{"schema":{"type":"bytes","optional":false},"payload":"dGVzdC1zdHJpbmc="}"#
    );
    assert_eq!(
        text(&c, None, &true.into()),
        r#"{"schema":null,"payload":true}"#
    );
    let optional = Schema::optional_string();
    assert_eq!(
        text(&c, Some(&optional), &Value::Null),
        r#"{"schema":{"type":"string","optional":true},"payload":null}"#
    );
    assert_eq!(c.to_bytes("t", None, &Value::Null).unwrap(), None);
    let err = c
        .to_bytes("t", Some(&Schema::string()), &Value::Null)
        .unwrap_err();
    assert!(matches!(err, ConnectError::Data(_)), "{err}");
}

#[test]
fn structs_write_fields_in_kafkas_member_order() {
    let schema = Schema::struct_builder()
        .name("com.example.User")
        .version(2)
        .doc("a user")
        .field("id", Schema::primitive(SchemaType::Int32))
        .field("email", Schema::optional_string())
        .field(
            "level",
            Schema::builder(SchemaType::String)
                .default_value("basic".into())
                .build_ref(),
        )
        .build_ref();
    let user = Struct::new(schema.clone()).unwrap().with("id", 7).unwrap();
    assert_eq!(
        text(&schemas_on(), Some(&schema), &Value::Struct(user)),
        concat!(
            r#"{"schema":{"type":"struct","fields":["#,
            r#"{"type":"int32","optional":false,"field":"id"},"#,
            r#"{"type":"string","optional":true,"field":"email"},"#,
            r#"{"type":"string","optional":false,"default":"basic","field":"level"}],"#,
            r#""optional":false,"name":"com.example.User","version":2,"doc":"a user"},"#,
            r#""payload":{"id":7,"email":null,"level":"basic"}}"#
        )
    );
}

#[test]
fn maps_with_string_keys_are_objects_and_others_pairs() {
    let c = schemas_on();
    let string_keys = Schema::map(Schema::string(), Schema::primitive(SchemaType::Int32)).build();
    let value = Value::Map(vec![("key1".into(), 12.into()), ("key2".into(), 15.into())]);
    assert_eq!(
        text(&c, Some(&string_keys), &value),
        concat!(
            r#"{"schema":{"type":"map","keys":{"type":"string","optional":false},"#,
            r#""values":{"type":"int32","optional":false},"optional":false},"#,
            r#""payload":{"key1":12,"key2":15}}"#
        )
    );
    let int_keys = Schema::map(
        Schema::primitive(SchemaType::Int32),
        Schema::primitive(SchemaType::Int32),
    )
    .build();
    let value = Value::Map(vec![(1.into(), 12.into()), (2.into(), 15.into())]);
    let json = text(&c, Some(&int_keys), &value);
    assert!(json.ends_with(r#""payload":[[1,12],[2,15]]}"#), "{json}");
    let array = Schema::array(Schema::primitive(SchemaType::Int32)).build();
    assert_eq!(
        text(&c, Some(&array), &Value::Array(vec![1.into(), 2.into()])),
        r#"{"schema":{"type":"array","items":{"type":"int32","optional":false},"optional":false},"payload":[1,2]}"#
    );
}

#[test]
fn logical_types_as_kafka_writes_them() {
    let c = schemas_on();
    let decimal = logical::decimal(2).build();
    let value = Value::Bytes(logical::encode_decimal(156));
    assert_eq!(
        text(&c, Some(&decimal), &value),
        concat!(
            r#"{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","#,
            r#""version":1,"parameters":{"scale":"2"}},"payload":"AJw="}"#
        )
    );
    let numeric = JsonConverter::with_schemas(false).decimal_format(DecimalFormat::Numeric);
    assert_eq!(text(&numeric, Some(&decimal), &value), "1.56");
    let trailing = Value::Bytes(logical::encode_decimal(1050));
    assert_eq!(text(&numeric, Some(&decimal), &trailing), "10.50");
    let date = logical::date().build();
    assert_eq!(
        text(&c, Some(&date), &Value::Int32(10_000)),
        r#"{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1},"payload":10000}"#
    );
    let time = logical::time().build();
    assert!(text(&c, Some(&time), &Value::Int32(14_400_000)).ends_with(r#""payload":14400000}"#));
    let ts = logical::timestamp().build();
    assert_eq!(
        text(&c, Some(&ts), &Value::Int64(4_000_000_000)),
        r#"{"schema":{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1},"payload":4000000000}"#
    );
    let err = c.to_bytes("t", Some(&time), &Value::Int32(-1)).unwrap_err();
    assert!(matches!(err, ConnectError::Data(_)));
}

#[test]
fn kafkas_envelopes_read_back() {
    let c = schemas_on();
    let sv = read(
        &c,
        r#"{ "schema": { "type": "boolean" }, "payload": true }"#,
    )
    .unwrap();
    assert_eq!(sv.value, Value::Boolean(true));
    assert_eq!(
        sv.schema.as_deref(),
        Some(&Schema::builder(SchemaType::Boolean).build())
    );

    let sv = read(
        &c,
        r#"{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":1.56}"#,
    )
    .unwrap();
    assert_eq!(sv.value, Value::Bytes(logical::encode_decimal(156)));
    assert_eq!(
        logical::decimal_scale(sv.schema.as_deref().unwrap()).unwrap(),
        2
    );
    let sv = read(
        &c,
        r#"{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":"AJw="}"#,
    )
    .unwrap();
    assert_eq!(sv.value, Value::Bytes(logical::encode_decimal(156)));

    let sv = read(
        &c,
        r#"{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"},{"type":"string","optional":true,"default":"x","field":"tag"}],"optional":false,"name":"k"},"payload":{"id":9}}"#,
    )
    .unwrap();
    let Value::Struct(s) = &sv.value else {
        panic!("{sv:?}")
    };
    assert_eq!(s.get("id"), Some(&Value::Int64(9)));
    assert_eq!(s.get("tag"), Some(&Value::from("x")));

    let sv = read(&c, r#"{"schema":null,"payload":{"a":[1,2.5,"x",null]}}"#).unwrap();
    assert_eq!(sv.schema, None);
    assert_eq!(
        sv.value,
        Value::Map(vec![(
            "a".into(),
            Value::Array(vec![
                Value::Int64(1),
                Value::Float64(2.5),
                "x".into(),
                Value::Null
            ])
        )])
    );
    assert_eq!(c.to_connect("t", None).unwrap(), SchemaAndValue::null());
}

#[test]
fn schemaless_mode_reads_and_writes_bare_json() {
    let c = JsonConverter::new(
        &[("schemas.enable".to_owned(), "false".to_owned())]
            .into_iter()
            .collect(),
        false,
    )
    .unwrap();
    let value = Value::Map(vec![
        ("n".into(), Value::Int64(1)),
        ("f".into(), Value::Float64(2.0)),
    ]);
    assert_eq!(text(&c, None, &value), r#"{"n":1,"f":2.0}"#);
    assert_eq!(read(&c, r#"{"n":1,"f":2.0}"#).unwrap().value, value);
    let pairs = Value::Map(vec![(Value::Int64(1), "one".into())]);
    assert_eq!(text(&c, None, &pairs), r#"[[1,"one"]]"#);
}

#[test]
fn bad_bytes_are_data_errors_with_a_reason() {
    let c = schemas_on();
    let cases = [
        ("{not json", "invalid JSON"),
        (r#"{"payload":1}"#, "schemas.enable=false"),
        (r#"{"schema":null}"#, "\"payload\""),
        (r#"{"schema":null,"payload":1,"x":2}"#, "additional fields"),
        (r#"{"schema":{"type":"int32"},"payload":"seven"}"#, "INT32"),
        (
            r#"{"schema":{"type":"int8"},"payload":300}"#,
            "out of range",
        ),
        (r#"{"schema":{"type":"int32"},"payload":null}"#, "null"),
        (
            r#"{"schema":{"type":"nope"},"payload":1}"#,
            "Unknown schema type",
        ),
        (r#"{"schema":{"optional":true},"payload":1}"#, "'type'"),
        (r#"{"schema":{"type":"array"},"payload":[]}"#, "items"),
        (
            r#"{"schema":{"type":"struct","fields":[{"type":"int32"}]},"payload":{}}"#,
            "field name",
        ),
        (
            r#"{"schema":{"type":"struct","fields":[]},"payload":[1]}"#,
            "JSON objects",
        ),
        (r#"{"schema":{"type":"bytes"},"payload":"@@@"}"#, "base64"),
        (
            r#"{"schema":{"type":"map","keys":{"type":"int32"},"values":{"type":"int32"}},"payload":[[1]]}"#,
            "map entry",
        ),
    ];
    for (json, reason) in cases {
        let err = read(&c, json).unwrap_err();
        assert!(matches!(err, ConnectError::Data(_)), "{json}: {err}");
        assert!(err.to_string().contains(reason), "{json}: {err}");
    }
}

#[test]
fn settings_are_checked() {
    let config =
        |k: &str, v: &str| -> ConfigMap { [(k.to_owned(), v.to_owned())].into_iter().collect() };
    assert!(JsonConverter::new(&config("decimal.format", "numeric"), false).is_ok());
    assert!(JsonConverter::new(&config("schemas.cache.size", "0"), false).is_ok());
    for (k, v) in [
        ("decimal.format", "HEX"),
        ("schemas.enable", "maybe"),
        ("schemas.cache.size", "-1"),
    ] {
        let err = JsonConverter::new(&config(k, v), false).unwrap_err();
        assert!(matches!(err, ConnectError::Config(_)), "{k}={v}: {err}");
    }
}

#[test]
fn the_schema_cache_shares_one_schema_across_records() {
    let c = schemas_on();
    let json = r#"{"schema":{"type":"string","optional":false},"payload":"a"}"#;
    let first = read(&c, json).unwrap().schema.unwrap();
    let second = read(&c, json).unwrap().schema.unwrap();
    assert!(std::sync::Arc::ptr_eq(&first, &second));
}

#[test]
fn non_finite_doubles_are_strings_as_jackson_writes_them() {
    let c = schemas_on();
    let double = Schema::primitive(SchemaType::Float64);
    let json = text(&c, Some(&double), &Value::Float64(f64::NEG_INFINITY));
    assert_eq!(
        json,
        r#"{"schema":{"type":"double","optional":false},"payload":"-Infinity"}"#
    );
    assert_eq!(
        read(&c, &json).unwrap().value,
        Value::Float64(f64::NEG_INFINITY)
    );
    let nan = read(&c, r#"{"schema":{"type":"float"},"payload":"NaN"}"#).unwrap();
    assert!(matches!(nan.value, Value::Float32(f) if f.is_nan()));
    let big = text(&c, Some(&double), &Value::Float64(1e300));
    assert!(big.ends_with(r#""payload":1.0E300}"#), "{big}");
}

#[test]
fn numeric_decimals_read_any_json_number_form() {
    let c = schemas_on();
    let envelope = |scale: i32, payload: &str| {
        format!(
            r#"{{"schema":{{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{{"scale":"{scale}"}}}},"payload":{payload}}}"#
        )
    };
    for (scale, payload, unscaled) in [
        (2, "1.5E3", 150_000i128),
        (2, "-0.015", -2),
        (0, "12", 12),
        (-2, "1250", 13),
        (
            3,
            "123456789012345678901234.5",
            123_456_789_012_345_678_901_234_500,
        ),
    ] {
        let sv = read(&c, &envelope(scale, payload)).unwrap();
        assert_eq!(
            sv.value,
            Value::Bytes(logical::encode_decimal(unscaled)),
            "{payload} at scale {scale}"
        );
    }
}

#[test]
fn replace_null_with_default_can_be_turned_off() {
    let config: ConfigMap = [("replace.null.with.default".to_owned(), "false".to_owned())]
        .into_iter()
        .collect();
    let c = JsonConverter::new(&config, false).unwrap();
    let schema = Schema::builder(SchemaType::Int32)
        .optional()
        .default_value(Value::Int32(5))
        .build();
    let json = text(&c, Some(&schema), &Value::Null);
    assert_eq!(
        json,
        r#"{"schema":{"type":"int32","optional":true,"default":5},"payload":null}"#
    );
    assert_eq!(read(&c, &json).unwrap().value, Value::Null);
    assert_eq!(read(&schemas_on(), &json).unwrap().value, Value::Int32(5));
}

#[test]
fn the_json_converter_doubles_as_a_header_converter() {
    let c = super::super::create_header_converter("JsonConverter", &ConfigMap::new()).unwrap();
    let schema = Schema::primitive(SchemaType::Int64);
    let bytes = c
        .to_header_bytes("t", "h", Some(&schema), &Value::Int64(3))
        .unwrap();
    assert_eq!(
        bytes.as_deref(),
        Some(&br#"{"schema":{"type":"int64","optional":false},"payload":3}"#[..])
    );
    let back = c.to_connect_header("t", "h", bytes.as_deref()).unwrap();
    assert_eq!(back.value, Value::Int64(3));
}

/// Inputs and expectations of Kafka's `JsonConverterTest`, read side.
#[test]
fn kafkas_converter_test_cases_read_the_same() {
    let c = schemas_on();
    let bool_schema = |b: crate::data::SchemaBuilder| Some(b.build());
    let cases: Vec<(&str, Option<Schema>, Value)> = vec![
        (
            r#"{ "schema": { "type": "boolean", "optional": true }, "payload": null }"#,
            bool_schema(Schema::builder(SchemaType::Boolean).optional()),
            Value::Null,
        ),
        (
            r#"{ "schema": { "type": "boolean", "default": true }, "payload": null }"#,
            bool_schema(Schema::builder(SchemaType::Boolean).default_value(true.into())),
            Value::Boolean(true),
        ),
        (
            r#"{ "schema": { "type": "boolean", "optional": false, "name": "bool", "version": 2, "doc": "the documentation", "parameters": { "foo": "bar" }}, "payload": true }"#,
            bool_schema(
                Schema::builder(SchemaType::Boolean)
                    .name("bool")
                    .version(2)
                    .doc("the documentation")
                    .parameter("foo", "bar"),
            ),
            Value::Boolean(true),
        ),
        (
            r#"{ "schema": { "type": "int64" }, "payload": 4398046511104 }"#,
            Some(Schema::builder(SchemaType::Int64).build()),
            Value::Int64(4_398_046_511_104),
        ),
        (
            r#"{ "schema": { "type": "float" }, "payload": 12.34 }"#,
            Some(Schema::builder(SchemaType::Float32).build()),
            Value::Float32(12.34),
        ),
        (
            r#"{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": { "scale": "4" } }, "payload": 1.5600 }"#,
            Some(logical::decimal(4).build()),
            Value::Bytes(logical::encode_decimal(15_600)),
        ),
        (
            r#"{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": { "scale": "17" } }, "payload": 1.23456789123456789 }"#,
            Some(logical::decimal(17).build()),
            Value::Bytes(logical::encode_decimal(123_456_789_123_456_789)),
        ),
        (
            r#"{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "default": "AJw=", "parameters": { "scale": "2" } }, "payload": null }"#,
            Some(
                logical::decimal(2)
                    .default_value(Value::Bytes(logical::encode_decimal(156)))
                    .build(),
            ),
            Value::Bytes(logical::encode_decimal(156)),
        ),
        (
            r#"{ "schema": { "type": "int64", "name": "org.apache.kafka.connect.data.Timestamp", "version": 1,  "optional": true, "default": 42 }, "payload": null }"#,
            Some(
                logical::timestamp()
                    .optional()
                    .default_value(Value::Int64(42))
                    .build(),
            ),
            Value::Int64(42),
        ),
        (r#"{ "schema": null, "payload": null }"#, None, Value::Null),
        (
            r#"{ "schema": null, "payload": [1, "2", 3] }"#,
            None,
            Value::Array(vec![Value::Int64(1), "2".into(), Value::Int64(3)]),
        ),
        (
            r#"{ "schema": null, "payload": 12.24 }"#,
            None,
            Value::Float64(12.24),
        ),
    ];
    for (json, schema, value) in cases {
        let sv = read(&c, json).unwrap();
        assert_eq!(sv.schema.as_deref(), schema.as_ref(), "{json}");
        assert_eq!(sv.value, value, "{json}");
    }
    let optional_field = r#"{ "schema": { "type": "struct", "fields": [{ "field":"optional", "type": "string", "optional": true }, {  "field": "required", "type": "string" }] }, "payload": { "required": "required" } }"#;
    let Value::Struct(s) = read(&c, optional_field).unwrap().value else {
        panic!("not a struct")
    };
    assert_eq!(s.get("optional"), Some(&Value::Null));
    assert_eq!(s.get("required"), Some(&Value::from("required")));
    let schemaless = JsonConverter::with_schemas(false);
    assert_eq!(
        read(&schemaless, "true").unwrap().value,
        Value::Boolean(true)
    );
    assert_eq!(read(&schemaless, "").unwrap(), SchemaAndValue::null());
}

/// Kafka's `mismatchSchemaJson` and `nullSchemaAndArrayToJson`.
#[test]
fn kafkas_converter_test_cases_write_the_same() {
    let c = schemas_on();
    let double = Schema::primitive(SchemaType::Float64);
    assert!(matches!(
        c.to_bytes("t", Some(&double), &true.into()),
        Err(ConnectError::Data(_))
    ));
    let mixed = Value::Array(vec![Value::Int32(1), "string".into(), true.into()]);
    assert_eq!(
        text(&c, None, &mixed),
        r#"{"schema":null,"payload":[1,"string",true]}"#
    );
    let metadata = Schema::builder(SchemaType::Boolean)
        .name("bool")
        .version(3)
        .doc("the documentation")
        .parameter("foo", "bar")
        .build();
    assert_eq!(
        text(&c, Some(&metadata), &true.into()),
        r#"{"schema":{"type":"boolean","optional":false,"name":"bool","version":3,"doc":"the documentation","parameters":{"foo":"bar"}},"payload":true}"#
    );
    let with_default = Schema::builder(SchemaType::Boolean)
        .default_value(true.into())
        .build();
    assert_eq!(
        text(&c, Some(&with_default), &true.into()),
        r#"{"schema":{"type":"boolean","optional":false,"default":true},"payload":true}"#
    );
}

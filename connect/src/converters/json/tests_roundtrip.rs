//! Property tests: Connect data -> JSON bytes -> Connect data gives back what went in, with
//! schemas (every type, logical types, nesting, both decimal formats) and without; and no
//! input bytes make the converter panic.

use proptest::prelude::*;

use super::*;
use crate::data::logical;
use crate::data::{SchemaType, Struct};

fn primitive_schema() -> impl Strategy<Value = Schema> {
    prop_oneof![
        Just(Schema::builder(SchemaType::Int8).build()),
        Just(Schema::builder(SchemaType::Int16).build()),
        Just(Schema::builder(SchemaType::Int32).build()),
        Just(Schema::builder(SchemaType::Int64).build()),
        Just(Schema::builder(SchemaType::Float32).build()),
        Just(Schema::builder(SchemaType::Float64).build()),
        Just(Schema::builder(SchemaType::Boolean).build()),
        Just(Schema::builder(SchemaType::String).doc("text").build()),
        Just(Schema::builder(SchemaType::Bytes).build()),
        (-4i32..12).prop_map(|scale| logical::decimal(scale).build()),
        Just(logical::date().build()),
        Just(logical::time().build()),
        Just(logical::timestamp().build()),
    ]
}

fn schema() -> impl Strategy<Value = Schema> {
    let leaf = (primitive_schema(), any::<bool>())
        .prop_map(|(schema, optional)| Schema { optional, ..schema });
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            (inner.clone(), any::<bool>()).prop_map(|(element, optional)| {
                Schema::array(Arc::new(element))
                    .set_optional(optional)
                    .build()
            }),
            (primitive_schema(), inner.clone())
                .prop_map(|(key, value)| { Schema::map(Arc::new(key), Arc::new(value)).build() }),
            (prop::collection::vec(inner, 0..4), any::<bool>()).prop_map(|(fields, optional)| {
                let mut builder = Schema::struct_builder().name("com.example.Row").version(3);
                for (i, field) in fields.into_iter().enumerate() {
                    builder = builder.field(format!("f{i}"), Arc::new(field));
                }
                builder.set_optional(optional).build()
            }),
        ]
    })
}

fn value_of(schema: Arc<Schema>) -> BoxedStrategy<Value> {
    let required = value_of_required(schema.clone());
    if schema.optional {
        prop_oneof![1 => Just(Value::Null), 4 => required].boxed()
    } else {
        required
    }
}

fn finite_f64() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("finite", |f| f.is_finite())
}

fn value_of_required(schema: Arc<Schema>) -> BoxedStrategy<Value> {
    match schema.name.as_deref() {
        Some(logical::DECIMAL) => {
            return any::<i64>()
                .prop_map(|n| Value::Bytes(logical::encode_decimal(i128::from(n))))
                .boxed()
        }
        Some(logical::TIME) => return (0i32..86_400_000).prop_map(Value::Int32).boxed(),
        _ => {}
    }
    match schema.schema_type {
        SchemaType::Int8 => any::<i8>().prop_map(Value::Int8).boxed(),
        SchemaType::Int16 => any::<i16>().prop_map(Value::Int16).boxed(),
        SchemaType::Int32 => any::<i32>().prop_map(Value::Int32).boxed(),
        SchemaType::Int64 => any::<i64>().prop_map(Value::Int64).boxed(),
        SchemaType::Float32 => any::<f32>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::Float32)
            .boxed(),
        SchemaType::Float64 => finite_f64().prop_map(Value::Float64).boxed(),
        SchemaType::Boolean => any::<bool>().prop_map(Value::Boolean).boxed(),
        SchemaType::String => any::<String>().prop_map(Value::String).boxed(),
        SchemaType::Bytes => prop::collection::vec(any::<u8>(), 0..16)
            .prop_map(Value::Bytes)
            .boxed(),
        SchemaType::Array => {
            let element = schema.value_schema.clone().unwrap_or_else(Schema::string);
            prop::collection::vec(value_of(element), 0..4)
                .prop_map(Value::Array)
                .boxed()
        }
        SchemaType::Map => {
            let key = schema.key_schema.clone().unwrap_or_else(Schema::string);
            let value = schema.value_schema.clone().unwrap_or_else(Schema::string);
            prop::collection::vec((value_of(key), value_of(value)), 0..4)
                .prop_map(Value::Map)
                .boxed()
        }
        SchemaType::Struct => {
            let fields: Vec<BoxedStrategy<Value>> = schema
                .fields
                .iter()
                .map(|f| value_of(f.schema.clone()))
                .collect();
            fields
                .prop_map(move |values| {
                    let mut s = Struct::new(schema.clone()).unwrap();
                    for (field, value) in schema.fields.iter().zip(values) {
                        if !value.is_null() {
                            s.put(&field.name, value).unwrap();
                        }
                    }
                    Value::Struct(s)
                })
                .boxed()
        }
    }
}

fn schema_and_value() -> impl Strategy<Value = (Arc<Schema>, Value)> {
    schema().prop_flat_map(|schema| {
        let schema = Arc::new(schema);
        (Just(schema.clone()), value_of(schema))
    })
}

/// Values in the domain schemaless JSON reads back as themselves.
fn schemaless_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Boolean),
        any::<i64>().prop_map(Value::Int64),
        finite_f64().prop_map(Value::Float64),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((any::<String>().prop_map(Value::String), inner), 0..4)
                .prop_map(Value::Map),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn with_schemas_data_comes_back_unchanged((schema, value) in schema_and_value(), numeric in any::<bool>()) {
        let format = if numeric { DecimalFormat::Numeric } else { DecimalFormat::Base64 };
        let c = JsonConverter::with_schemas(true).decimal_format(format);
        let bytes = c.to_bytes("t", Some(&schema), &value).unwrap();
        let back = c.to_connect("t", bytes.as_deref()).unwrap();
        prop_assert_eq!(back.schema.as_deref(), Some(schema.as_ref()));
        prop_assert_eq!(back.value, value);
    }

    #[test]
    fn without_schemas_json_values_come_back_unchanged(value in schemaless_value(), envelope in any::<bool>()) {
        let c = JsonConverter::with_schemas(envelope);
        let bytes = c.to_bytes("t", None, &value).unwrap();
        let back = c.to_connect("t", bytes.as_deref()).unwrap();
        prop_assert_eq!(back.schema, None);
        prop_assert_eq!(back.value, value);
    }

    #[test]
    fn any_bytes_give_a_value_or_a_data_error(bytes in prop::collection::vec(any::<u8>(), 0..96), schemas in any::<bool>()) {
        let c = JsonConverter::with_schemas(schemas);
        if let Err(err) = c.to_connect("t", Some(&bytes)) {
            prop_assert!(matches!(err, ConnectError::Data(_)));
        }
    }

    #[test]
    fn envelopes_of_any_shape_never_panic(text in r#"\{"schema":\{"type":"(int8|int64|float|bytes|string|array|map|struct)"(,"optional":(true|false))?(,"items":\{"type":"int32"\})?(,"fields":\[\{"type":"int32","field":"a"\}\])?\},"payload":(1|1.5|"x"|null|\[1\]|\{"a":1\}|\[\[1,2\]\])\}"#) {
        let c = JsonConverter::with_schemas(true);
        if let Err(err) = c.to_connect("t", Some(text.as_bytes())) {
            prop_assert!(matches!(err, ConnectError::Data(_)), "{}", err);
        }
    }
}

use std::sync::Arc;

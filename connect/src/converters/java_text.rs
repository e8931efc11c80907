//! Values written as Java's `toString` writes them, where Kafka's output depends on it: the
//! StringConverter (`value.toString()`), the FileStreamSink (`println(value)`) and the
//! numbers of the JsonConverter (Jackson writes a double with `Double.toString`, so `1.0`
//! stays `1.0` and `1e300` becomes `1.0E300`).

use base64::Engine as _;

use crate::data::Value;

/// A double as Java's `Double.toString` writes it (`1.0`, `0.001`, `1.0E-4`, `1.0E7`, `NaN`).
pub fn double_to_string(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    // `{:e}` gives the shortest digits that read back as this double, as Java 19+ does.
    java_layout(&format!("{value:e}"), value.abs())
}

/// A float as Java's `Float.toString` writes it (`1.5`, `1.0E10`).
pub fn float_to_string(value: f32) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    java_layout(&format!("{value:e}"), f64::from(value.abs()))
}

/// Lays out Rust's scientific form (`-1.25e-3`) in Java's: plain between 10^-3 and 10^7,
/// `d.dddE±n` outside, always with a fraction digit.
fn java_layout(scientific: &str, magnitude: f64) -> String {
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if magnitude == 0.0 {
        return format!("{sign}0.0");
    }
    if (1e-3..1e7).contains(&magnitude) {
        let text = if exponent >= 0 {
            let point = usize::try_from(exponent).unwrap_or(0) + 1;
            let mut int = digits.clone();
            while int.len() < point {
                int.push('0');
            }
            let (int, frac) = int.split_at(point);
            format!("{int}.{}", if frac.is_empty() { "0" } else { frac })
        } else {
            let zeros = "0".repeat(usize::try_from(-exponent - 1).unwrap_or(0));
            format!("0.{zeros}{digits}")
        };
        return format!("{sign}{text}");
    }
    let (first, rest) = digits.split_at(1.min(digits.len()));
    let rest = if rest.is_empty() { "0" } else { rest };
    format!("{sign}{first}.{rest}E{exponent}")
}

/// A value as Java's `toString` of Kafka's value objects writes it: `Struct{a=1,b=x}` (null
/// fields left out, as `Struct.toString` does), lists as `[1, 2]`, maps as `{k=v, k2=v2}`,
/// bytes in base64 (Java would print an array identity, which helps nobody), null as `null`.
pub fn value_to_string(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Int8(v) => out.push_str(&v.to_string()),
        Value::Int16(v) => out.push_str(&v.to_string()),
        Value::Int32(v) => out.push_str(&v.to_string()),
        Value::Int64(v) => out.push_str(&v.to_string()),
        Value::Float32(v) => out.push_str(&float_to_string(*v)),
        Value::Float64(v) => out.push_str(&double_to_string(*v)),
        Value::Boolean(v) => out.push_str(if *v { "true" } else { "false" }),
        Value::String(s) => out.push_str(s),
        Value::Bytes(b) => out.push_str(&base64::engine::general_purpose::STANDARD.encode(b)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, k);
                out.push('=');
                write_value(out, v);
            }
            out.push('}');
        }
        Value::Struct(s) => {
            out.push_str("Struct{");
            let mut first = true;
            for (field, v) in s.iter().filter(|(_, v)| !v.is_null()) {
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(&field.name);
                out.push('=');
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Schema, SchemaType, Struct};

    #[test]
    fn doubles_as_java_writes_them() {
        for (value, java) in [
            (1.0, "1.0"),
            (-1.5, "-1.5"),
            (0.0, "0.0"),
            (100.0, "100.0"),
            (123456.789, "123456.789"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1e7, "1.0E7"),
            (12345678.9, "1.23456789E7"),
            (1e300, "1.0E300"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ] {
            assert_eq!(double_to_string(value), java, "{value}");
        }
        assert_eq!(float_to_string(1.1), "1.1");
        assert_eq!(float_to_string(3.0e10), "3.0E10");
    }

    #[test]
    fn values_as_java_to_string() {
        let schema = Schema::struct_builder()
            .field("name", Schema::string())
            .field("age", Schema::optional_primitive(SchemaType::Int32))
            .field("score", Schema::optional_primitive(SchemaType::Float64))
            .build_ref();
        let s = Struct::new(schema)
            .unwrap()
            .with("name", "ann")
            .unwrap()
            .with("score", 2.0)
            .unwrap();
        assert_eq!(
            value_to_string(&Value::Struct(s)),
            "Struct{name=ann,score=2.0}"
        );
        let list = Value::Array(vec![Value::Int32(1), Value::Null, "x".into()]);
        assert_eq!(value_to_string(&list), "[1, null, x]");
        let map = Value::Map(vec![("a".into(), 1i64.into()), ("b".into(), true.into())]);
        assert_eq!(value_to_string(&map), "{a=1, b=true}");
    }
}

//! JSON to protobuf bytes, walking the schema table, written as Go writes them: fields in tag order, lists
//! unpacked, map entries sorted by key with both key and value.

use serde_json::{Map, Value};

use super::schema::{Field, Label, Message, Type};
use super::wire;
use super::wrappers;

/// Encodes a JSON object as a message. Absent and null fields are not written.
pub fn message(
    object: &Map<String, Value>,
    message: &'static Message,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    for field in message.fields {
        if let (true, Type::Message(inner)) = (field.json.is_empty(), field.ty) {
            // Embedded inline: its fields are this object's; Go writes the embedded struct even when empty.
            let mut bytes = Vec::new();
            self::message(object, inner, &mut bytes)?;
            wire::put_bytes(out, field.tag, &bytes);
            continue;
        }
        let Some(value) = object.get(field.json).filter(|v| !v.is_null()) else { continue };
        field_value(field, value, out).map_err(|e| at(field, &e))?;
    }
    Ok(())
}

fn field_value(field: &'static Field, value: &Value, out: &mut Vec<u8>) -> Result<(), String> {
    match field.label {
        Label::Single => one(field.tag, field.ty, value, out),
        Label::Repeated => {
            let items = value.as_array().ok_or_else(|| format!("expected a list, got {value}"))?;
            items.iter().try_for_each(|item| one(field.tag, field.ty, item, out))
        }
        Label::Map => {
            let map = value.as_object().ok_or_else(|| format!("expected an object, got {value}"))?;
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for key in keys {
                let mut entry = Vec::new();
                wire::put_bytes(&mut entry, 1, key.as_bytes());
                if let Some(item) = map.get(key.as_str()).filter(|v| !v.is_null()) {
                    one(2, field.ty, item, &mut entry)?;
                }
                wire::put_bytes(out, field.tag, &entry);
            }
            Ok(())
        }
    }
}

fn one(tag: u32, ty: Type, value: &Value, out: &mut Vec<u8>) -> Result<(), String> {
    let mismatch = |what: &str| format!("expected {what}, got {value}");
    match ty {
        Type::String => {
            wire::put_bytes(out, tag, value.as_str().ok_or_else(|| mismatch("a string"))?.as_bytes());
        }
        Type::Bytes => {
            let text = value.as_str().ok_or_else(|| mismatch("a base64 string"))?;
            wire::put_bytes(out, tag, &wrappers::unbase64(text)?);
        }
        Type::Bool => {
            wire::put_varint(out, tag, u64::from(value.as_bool().ok_or_else(|| mismatch("a boolean"))?));
        }
        Type::Int32 => {
            let int = value
                .as_i64()
                .and_then(|i| i32::try_from(i).ok())
                .ok_or_else(|| mismatch("a 32-bit integer"))?;
            // Negative int32 values are sign-extended to ten bytes, as Go writes them.
            wire::put_varint(out, tag, i64::from(int) as u64);
        }
        Type::Int64 => {
            wire::put_varint(out, tag, value.as_i64().ok_or_else(|| mismatch("an integer"))? as u64);
        }
        Type::Double => {
            wire::put_fixed64(out, tag, value.as_f64().ok_or_else(|| mismatch("a number"))?.to_bits());
        }
        Type::Message(inner) => {
            let object = value.as_object().ok_or_else(|| mismatch("an object"))?;
            let mut bytes = Vec::new();
            message(object, inner, &mut bytes)?;
            wire::put_bytes(out, tag, &bytes);
        }
        Type::Wrapper(wrapper) => wire::put_bytes(out, tag, &wrappers::from_json(wrapper, value)?),
    }
    Ok(())
}

/// Prefixes an error with the field it happened in (inner fields come first, so the path reads outwards in).
fn at(field: &Field, error: &str) -> String {
    match error.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') => format!("{}.{path}: {rest}", field.json),
        _ => format!("{}: {error}", field.json),
    }
}

//! Protobuf bytes to JSON, walking the schema table: the JSON a Go client would have sent for the same object.

use serde_json::{Map, Number, Value};

use super::schema::{Field, Label, Message, Type};
use super::wire::{self, WireValue};
use super::wrappers;

/// Deeper than any Kubernetes object nests; a body that claims more is hostile.
const MAX_DEPTH: usize = 64;

/// Decodes a message into a JSON object.
pub fn message(bytes: &[u8], message: &'static Message) -> Result<Map<String, Value>, String> {
    let mut decoder = Decoder { path: Vec::new() };
    let mut object = Map::new();
    decoder.merge(bytes, message, &mut object)?;
    Ok(object)
}

struct Decoder {
    /// The JSON field names leading to the value being decoded, for error messages.
    path: Vec<&'static str>,
}

impl Decoder {
    fn error(&self, what: &str) -> String {
        let path: Vec<&str> = self.path.iter().copied().filter(|p| !p.is_empty()).collect();
        if path.is_empty() { what.to_owned() } else { format!("{}: {what}", path.join(".")) }
    }

    /// Decodes `bytes` into `object`. Like Go's `Unmarshal`, a message field seen twice merges and a
    /// scalar seen twice keeps the last value.
    fn merge(
        &mut self,
        bytes: &[u8],
        message: &'static Message,
        object: &mut Map<String, Value>,
    ) -> Result<(), String> {
        if self.path.len() > MAX_DEPTH {
            return Err(self.error(&format!("messages nest deeper than {MAX_DEPTH} levels")));
        }
        for field in wire::fields(bytes) {
            let (tag, value) = field.map_err(|e| self.error(&e))?;
            // Fields the schema does not know (newer than it) are skipped, as Go skips them.
            let Some(field) = message.field(tag) else { continue };
            self.path.push(field.json);
            self.field(field, value, object)?;
            self.path.pop();
        }
        Ok(())
    }

    fn field(
        &mut self,
        field: &'static Field,
        value: WireValue<'_>,
        object: &mut Map<String, Value>,
    ) -> Result<(), String> {
        match field.label {
            Label::Single => {
                if let (Type::Message(message), WireValue::Bytes(bytes)) = (field.ty, value) {
                    if field.json.is_empty() {
                        return self.merge(bytes, message, object);
                    }
                    let slot = object.entry(field.json).or_insert_with(|| Value::Object(Map::new()));
                    if !slot.is_object() {
                        *slot = Value::Object(Map::new());
                    }
                    if let Value::Object(inner) = slot {
                        self.merge(bytes, message, inner)?;
                        // `omitzero` on a struct: an empty one is unset.
                        if field.zero_is_unset && inner.is_empty() {
                            object.remove(field.json);
                        }
                    }
                    return Ok(());
                }
                let value = self.value(field.ty, value)?;
                if field.zero_is_unset && is_zero(&value) {
                    object.remove(field.json);
                } else {
                    object.insert(field.json.to_owned(), value);
                }
            }
            Label::Repeated => {
                let mut items = Vec::new();
                match (field.ty, value) {
                    // Packed numbers: Go writes lists unpacked (proto2), but a packed list is valid protobuf.
                    (Type::Bool | Type::Int32 | Type::Int64, WireValue::Bytes(mut packed)) => {
                        while !packed.is_empty() {
                            let v = prost::encoding::decode_varint(&mut packed)
                                .map_err(|_| self.error("a packed varint is truncated"))?;
                            items.push(self.value(field.ty, WireValue::Varint(v))?);
                        }
                    }
                    (Type::Double, WireValue::Bytes(packed)) => {
                        let chunks = packed.chunks_exact(8);
                        if !chunks.remainder().is_empty() {
                            return Err(self.error("a packed double list is not a multiple of 8 bytes"));
                        }
                        for chunk in chunks {
                            let bits = chunk
                                .try_into()
                                .map(u64::from_le_bytes)
                                .map_err(|_| self.error("bad chunk"))?;
                            items.push(self.value(field.ty, WireValue::Fixed64(bits))?);
                        }
                    }
                    (ty, value) => items.push(self.value(ty, value)?),
                }
                let slot = object.entry(field.json).or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(list) = slot {
                    list.extend(items);
                }
            }
            Label::Map => {
                let WireValue::Bytes(entry) = value else {
                    return Err(self.error(&format!("a map entry is {}", value.describe())));
                };
                let (mut key, mut item) = (String::new(), None);
                for part in wire::fields(entry) {
                    match part.map_err(|e| self.error(&e))? {
                        (1, WireValue::Bytes(k)) => {
                            wrappers::utf8(k).map_err(|e| self.error(&e))?.clone_into(&mut key);
                        }
                        (1, other) => return Err(self.error(&format!("a map key is {}", other.describe()))),
                        (2, v) => item = Some(self.value(field.ty, v)?),
                        _ => {}
                    }
                }
                // An entry without a value holds the type's zero value, as in Go.
                let item = match item {
                    Some(item) => item,
                    None => self.zero(field.ty)?,
                };
                let slot = object.entry(field.json).or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(map) = slot {
                    map.insert(key, item);
                }
            }
        }
        Ok(())
    }

    /// One value of a type.
    fn value(&mut self, ty: Type, value: WireValue<'_>) -> Result<Value, String> {
        Ok(match (ty, value) {
            (Type::String, WireValue::Bytes(b)) => {
                Value::String(wrappers::utf8(b).map_err(|e| self.error(&e))?.to_owned())
            }
            (Type::Bytes, WireValue::Bytes(b)) => Value::String(wrappers::base64(b)),
            (Type::Bool, WireValue::Varint(v)) => Value::Bool(v != 0),
            // Go truncates an int32 varint to its low 32 bits.
            (Type::Int32, WireValue::Varint(v)) => Value::from(v as i32),
            (Type::Int64, WireValue::Varint(v)) => Value::from(v as i64),
            (Type::Double, WireValue::Fixed64(bits)) => Number::from_f64(f64::from_bits(bits))
                .map(Value::Number)
                .ok_or_else(|| self.error("a double is not a finite number"))?,
            (Type::Message(message), WireValue::Bytes(b)) => {
                let mut object = Map::new();
                self.merge(b, message, &mut object)?;
                Value::Object(object)
            }
            (Type::Wrapper(wrapper), WireValue::Bytes(b)) => {
                wrappers::to_json(wrapper, b).map_err(|e| self.error(&e))?
            }
            (ty, value) => {
                return Err(self.error(&format!("expected {}, got {}", expected(ty), value.describe())));
            }
        })
    }

    /// The zero value of a type, for map entries without a value.
    fn zero(&mut self, ty: Type) -> Result<Value, String> {
        match ty {
            Type::String | Type::Bytes | Type::Message(_) | Type::Wrapper(_) => {
                self.value(ty, WireValue::Bytes(&[]))
            }
            Type::Bool | Type::Int32 | Type::Int64 => self.value(ty, WireValue::Varint(0)),
            Type::Double => self.value(ty, WireValue::Fixed64(0)),
        }
    }
}

/// Whether a scalar is Go's zero value, which `omitempty` leaves out.
fn is_zero(value: &Value) -> bool {
    match value {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Null => true,
        Value::Array(_) | Value::Object(_) => false,
    }
}

/// The wire form a type needs, for error messages.
fn expected(ty: Type) -> &'static str {
    match ty {
        Type::String => "a string",
        Type::Bytes => "bytes",
        Type::Bool | Type::Int32 | Type::Int64 => "a varint",
        Type::Double => "a 64-bit double",
        Type::Message(_) | Type::Wrapper(_) => "a message",
    }
}

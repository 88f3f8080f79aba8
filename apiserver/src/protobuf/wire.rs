//! The protobuf wire format: splitting bytes into fields, and writing fields.
//!
//! Varints and keys are read and written with `prost`'s encoding helpers; the framing (lengths, fixed-size
//! values) is checked here so that a truncated or lying body is an error, never a panic.

use prost::encoding::{self, WireType};

/// A field's value as it appears on the wire, before the schema says what it means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireValue<'a> {
    /// Wire type 0: integers, booleans.
    Varint(u64),
    /// Wire type 1: `double`, `fixed64`.
    Fixed64(u64),
    /// Wire type 5: `float`, `fixed32`.
    Fixed32(u32),
    /// Wire type 2: strings, bytes, nested messages, map entries, packed lists.
    Bytes(&'a [u8]),
}

impl WireValue<'_> {
    /// The wire type's name, for error messages.
    pub fn describe(&self) -> &'static str {
        match self {
            WireValue::Varint(_) => "a varint",
            WireValue::Fixed64(_) => "a 64-bit value",
            WireValue::Fixed32(_) => "a 32-bit value",
            WireValue::Bytes(_) => "a length-delimited value",
        }
    }
}

/// The fields of one message, in wire order. After an error the iterator ends.
pub struct Fields<'a> {
    rest: &'a [u8],
}

/// Iterates over the fields encoded in `bytes`.
pub fn fields(bytes: &[u8]) -> Fields<'_> {
    Fields { rest: bytes }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, WireValue<'a>), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let field = self.read();
        if field.is_err() {
            self.rest = &[];
        }
        Some(field)
    }
}

impl<'a> Fields<'a> {
    fn read(&mut self) -> Result<(u32, WireValue<'a>), String> {
        let key = encoding::decode_varint(&mut self.rest)
            .map_err(|_| "a field key is truncated or longer than 10 bytes".to_owned())?;
        let tag = key >> 3;
        let tag = u32::try_from(tag)
            .ok()
            .filter(|t| (1..=encoding::MAX_TAG).contains(t))
            .ok_or_else(|| format!("field number {tag} is out of range"))?;
        let value = match key & 7 {
            0 => WireValue::Varint(
                encoding::decode_varint(&mut self.rest)
                    .map_err(|_| format!("the varint of field {tag} is truncated or longer than 10 bytes"))?,
            ),
            1 => WireValue::Fixed64(u64::from_le_bytes(self.take_array(tag)?)),
            2 => {
                let len = encoding::decode_varint(&mut self.rest)
                    .map_err(|_| format!("the length of field {tag} is truncated"))?;
                let len =
                    usize::try_from(len).ok().filter(|&len| len <= self.rest.len()).ok_or_else(|| {
                        format!("field {tag} claims {len} bytes but only {} are left", self.rest.len())
                    })?;
                let (value, rest) = self.rest.split_at(len);
                self.rest = rest;
                WireValue::Bytes(value)
            }
            5 => WireValue::Fixed32(u32::from_le_bytes(self.take_array(tag)?)),
            // Groups (3, 4) are a proto2 feature Kubernetes never uses; 6 and 7 do not exist.
            other => return Err(format!("field {tag} has wire type {other}, which Kubernetes never sends")),
        };
        Ok((tag, value))
    }

    fn take_array<const N: usize>(&mut self, tag: u32) -> Result<[u8; N], String> {
        let (value, rest) = self
            .rest
            .split_first_chunk::<N>()
            .ok_or_else(|| format!("the {N}-byte value of field {tag} is truncated"))?;
        self.rest = rest;
        Ok(*value)
    }
}

/// Writes a varint field.
pub fn put_varint(out: &mut Vec<u8>, tag: u32, value: u64) {
    encoding::encode_key(tag, WireType::Varint, out);
    encoding::encode_varint(value, out);
}

/// Writes a length-delimited field.
pub fn put_bytes(out: &mut Vec<u8>, tag: u32, value: &[u8]) {
    encoding::encode_key(tag, WireType::LengthDelimited, out);
    encoding::encode_varint(value.len() as u64, out);
    out.extend_from_slice(value);
}

/// Writes a 64-bit field.
pub fn put_fixed64(out: &mut Vec<u8>, tag: u32, value: u64) {
    encoding::encode_key(tag, WireType::SixtyFourBit, out);
    out.extend_from_slice(&value.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(bytes: &[u8]) -> Result<Vec<(u32, WireValue<'_>)>, String> {
        fields(bytes).collect()
    }

    #[test]
    fn reads_every_wire_type() {
        let mut out = Vec::new();
        put_varint(&mut out, 1, 300);
        put_bytes(&mut out, 2, b"hi");
        put_fixed64(&mut out, 3, 7);
        out.extend_from_slice(&[(4 << 3) | 5, 1, 0, 0, 0]);
        assert_eq!(
            all(&out).unwrap(),
            [
                (1, WireValue::Varint(300)),
                (2, WireValue::Bytes(b"hi")),
                (3, WireValue::Fixed64(7)),
                (4, WireValue::Fixed32(1))
            ]
        );
    }

    #[test]
    fn bad_framing_is_an_error() {
        for (bytes, what) in [
            (&[0x0a, 5, b'a'][..], "claims 5 bytes"),
            (&[0x08][..], "truncated"),
            (&[0x08, 0x80][..], "truncated"),
            (&[0x09, 1, 2][..], "truncated"),
            (&[0x0b][..], "wire type 3"),
            (&[0x00, 1][..], "field number 0"),
            (&[0xff; 11][..], "truncated or longer"),
        ] {
            let error = all(bytes).unwrap_err();
            assert!(error.contains(what), "{bytes:?}: {error}");
        }
    }
}

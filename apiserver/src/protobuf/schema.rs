//! The shape of the generated schema table: messages, their fields, and the wire and JSON form of each.

/// A protobuf message of the Kubernetes API, as `generated.proto` defines it.
#[derive(Debug)]
pub struct Message {
    /// The full protobuf name, as in `k8s.io.api.core.v1.PodSpec`: for error messages and tests.
    pub name: &'static str,
    /// The fields, sorted by tag.
    pub fields: &'static [Field],
}

impl Message {
    /// The field with this tag, if the schema knows it (unknown tags are skipped, as Kubernetes does).
    pub fn field(&self, tag: u32) -> Option<&'static Field> {
        self.fields.binary_search_by_key(&tag, |f| f.tag).ok().map(|i| &self.fields[i])
    }
}

/// One field of a message.
#[derive(Debug)]
pub struct Field {
    /// The protobuf field number.
    pub tag: u32,
    /// The JSON name (`podIP`, `clusterIPs`), as Kubernetes serialises it. Empty for a message Go embeds
    /// inline (`VolumeSource` in `Volume`): its fields are the parent object's.
    pub json: &'static str,
    /// Single value, list or map.
    pub label: Label,
    /// The value's type: the element type of a list, the value type of a map.
    pub ty: Type,
    /// The Go field is a plain value (not a pointer) with `omitempty` (a scalar) or `omitzero`: Go writes it
    /// even when it is zero, and a zero value means "unset", so the JSON form omits it. Pointer fields keep an
    /// explicit zero (`replicas: 0`); other value fields print their zero (`containerPort: 0`, `{}`, `null`).
    pub zero_is_unset: bool,
}

/// How many values a field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    /// One value (proto2 `optional`): absent on the wire means absent in JSON.
    Single,
    /// `repeated`: a JSON array.
    Repeated,
    /// `map<string, V>`: a JSON object; on the wire, repeated entries `{1: key, 2: value}`.
    Map,
}

/// The type of a value, which fixes both its wire encoding and its JSON form.
#[derive(Clone, Copy, Debug)]
pub enum Type {
    /// `string`: a JSON string.
    String,
    /// `bytes`: a base64 JSON string.
    Bytes,
    /// `bool`.
    Bool,
    /// `int32`: a JSON number.
    Int32,
    /// `int64`: a JSON number.
    Int64,
    /// `double`: a JSON number.
    Double,
    /// A nested message: a JSON object.
    Message(&'static Message),
    /// A message whose JSON form is not an object.
    Wrapper(Wrapper),
}

/// The apimachinery types with a custom JSON form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wrapper {
    /// `meta/v1.Time` {seconds, nanos}: RFC 3339 to the second, `null` when empty.
    Time,
    /// `meta/v1.MicroTime` {seconds, nanos}: RFC 3339 with six fractional digits, `null` when empty.
    MicroTime,
    /// `meta/v1.Duration` {duration (ns)}: a Go duration string (`1h2m3.5s`).
    Duration,
    /// `resource.Quantity` {string}: the string (`500m`).
    Quantity,
    /// `intstr.IntOrString` {type, intVal, strVal}: a JSON number or string.
    IntOrString,
    /// `runtime.RawExtension` {raw}: the embedded JSON document.
    RawExtension,
    /// `meta/v1.FieldsV1` {raw}: the embedded JSON document (managed fields).
    FieldsV1,
    /// `authorization/v1.ExtraValue` and `authentication/v1.ExtraValue` {repeated items}: a list of strings.
    ExtraValue,
}

/// A top-level message a request body can carry, with the `apiVersion` and `kind` that name it.
#[derive(Debug)]
pub struct Object {
    /// `v1`, `apps/v1`, `meta.k8s.io/v1`.
    pub api_version: &'static str,
    /// `Pod`, `Scale`, `DeleteOptions`.
    pub kind: &'static str,
    /// Its message.
    pub message: &'static Message,
}

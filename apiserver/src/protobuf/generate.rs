//! The generator of `messages.rs`, run as the test [`messages_are_up_to_date`].
//!
//! It reads three sources:
//! - the `k8s-pb` crate's sources (the prost types of Kubernetes' `generated.proto` files), parsed with `syn`:
//!   messages, tags, wire types, lists, maps and the nested message types;
//! - the `k8s-openapi` crate's sources (for the Kubernetes version the workspace enables): the JSON name of
//!   each field, from the serde code (`"podIP" => Field::Key_pod_ip`), matched to the prost field by its
//!   letters (`pod_ip`, `cluster_i_ps`);
//! - `value_fields.txt`: the Go fields that are plain values whose zero means unset (see the module docs of
//!   [`super`]), one line per message with single fields. With `WHARF_K8S_API_SRC` and
//!   `WHARF_K8S_APIMACHINERY_SRC` naming checkouts of k8s.io/api and k8s.io/apimachinery (at the Kubernetes
//!   version k8s-openapi serves), it is derived again from their Go structs; a message the file lacks (a new
//!   kind) fails the test until it is.
//!
//! Both crates are dependencies, so their sources are in cargo's registry (`$CARGO_HOME/registry/src`), at
//! the versions `Cargo.lock` pins. The roots are every kind served, their subresources' kinds,
//! and `DeleteOptions`; `messages.rs` holds every message they reach.
//!
//! Run it with `cargo test -p apiserver protobuf::generate`. When the output differs from the checked-in
//! file, the test writes the new file and fails, so the change is reviewed and committed.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use syn::ext::IdentExt as _;

use crate::registry::{KINDS, Subresource};

/// The generated schema, relative to the crate root.
const MESSAGES: &str = "src/protobuf/messages.rs";
const VALUE_FIELDS: &str = "src/protobuf/value_fields.txt";

/// Top-level messages that are bodies of requests but not kinds of the kind table or of a subresource.
const EXTRA_ROOTS: &[(&str, &str, &str)] = &[("meta.k8s.io", "v1", "DeleteOptions")];

/// Whether requests to a subresource carry an object of its kind. Exhaustive, so that a new subresource makes
/// whoever adds it decide.
pub(super) fn takes_a_body(sub: Subresource) -> bool {
    match sub {
        Subresource::Status
        | Subresource::Finalize
        | Subresource::Scale
        | Subresource::Binding
        | Subresource::Eviction
        | Subresource::Token
        | Subresource::Approval => true,
        // Logs are read; exec, attach and port-forward take their options from the query string.
        Subresource::Log | Subresource::Exec | Subresource::Attach | Subresource::PortForward => false,
    }
}

/// A message: its module in k8s-pb (`api/core/v1`) and its name.
type MessageId = (String, String);

#[derive(Clone, Debug)]
enum Ty {
    Scalar(&'static str),
    Message(MessageId),
    Wrapper(&'static str),
}

#[derive(Clone, Debug)]
struct PbField {
    rust: String,
    tag: u32,
    label: &'static str,
    ty: Ty,
}

struct Sources {
    k8s_pb: PathBuf,
    k8s_pb_version: String,
    openapi: PathBuf,
    openapi_version: String,
}

#[test]
fn messages_are_up_to_date() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sources = Sources::locate(&manifest.join("../Cargo.lock"));
    let mut generator = Generator::new(&sources);
    let roots = roots();
    for (_, _, id) in &roots {
        generator.reach(id);
    }
    generator.load_json_names(&roots);
    let mut stale = Vec::new();
    let go = go_sources();
    let facts = if let Some((api, apimachinery)) = &go {
        let facts = generator.derive_value_fields(api, apimachinery);
        stale.extend(ensure_file(&manifest.join(VALUE_FIELDS), &render_value_fields(&facts)));
        facts
    } else {
        let text = std::fs::read_to_string(manifest.join(VALUE_FIELDS)).expect("read value_fields.txt");
        parse_value_fields(&text)
    };
    let messages = generator.render(&roots, &facts, &sources);
    stale.extend(ensure_file(&manifest.join(MESSAGES), &messages));
    assert!(
        stale.is_empty(),
        "{stale:?} were stale and have been regenerated: review and commit them, then run the tests again"
    );
}

/// Writes `contents` to `path` if it differs, returning the path then.
fn ensure_file(path: &Path, contents: &str) -> Option<PathBuf> {
    let current = std::fs::read_to_string(path).unwrap_or_default();
    if current == contents {
        return None;
    }
    std::fs::write(path, contents).expect("write the generated file");
    Some(path.to_owned())
}

/// (apiVersion, kind, message) of every top-level message.
fn roots() -> Vec<(String, String, MessageId)> {
    let mut gvks: Vec<(&str, &str, &str)> = Vec::new();
    for rt in KINDS {
        gvks.push((rt.group, rt.version, rt.kind));
        gvks.extend(rt.subresources.iter().filter(|s| takes_a_body(**s)).map(|s| s.response_kind(rt)));
    }
    gvks.extend_from_slice(EXTRA_ROOTS);
    let mut roots = Vec::new();
    for (group, version, kind) in gvks {
        let api_version = if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") };
        let module = match group {
            "" => format!("api/core/{version}"),
            "meta.k8s.io" => format!("apimachinery/pkg/apis/meta/{version}"),
            group => format!("api/{}/{version}", group.split('.').next().unwrap_or(group)),
        };
        let root = (api_version, kind.to_owned(), (module, kind.to_owned()));
        if !roots.contains(&root) {
            roots.push(root);
        }
    }
    roots.sort();
    roots
}

fn go_sources() -> Option<(PathBuf, PathBuf)> {
    let api = std::env::var_os("WHARF_K8S_API_SRC")?;
    let apimachinery = std::env::var_os("WHARF_K8S_APIMACHINERY_SRC")
        .expect("WHARF_K8S_API_SRC needs WHARF_K8S_APIMACHINERY_SRC too");
    Some((api.into(), apimachinery.into()))
}

impl Sources {
    /// The registry sources of k8s-pb and k8s-openapi at the versions the lock file pins.
    fn locate(lock: &Path) -> Self {
        let lock = std::fs::read_to_string(lock).expect("read Cargo.lock");
        let version = |name: &str| {
            let marker = format!("name = \"{name}\"\nversion = \"");
            let start =
                lock.find(&marker).unwrap_or_else(|| panic!("{name} is not in Cargo.lock")) + marker.len();
            lock[start..].split('"').next().unwrap_or_default().to_owned()
        };
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
            .expect("CARGO_HOME or HOME");
        let find = |dir_name: &str| {
            let registries = home.join("registry/src");
            std::fs::read_dir(&registries)
                .unwrap_or_else(|e| panic!("cannot list {}: {e}", registries.display()))
                .filter_map(Result::ok)
                .map(|registry| registry.path().join(dir_name))
                .find(|path| path.is_dir())
                .unwrap_or_else(|| panic!("{dir_name} is not in {}: run a build first", registries.display()))
        };
        let (k8s_pb_version, openapi_version) = (version("k8s-pb"), version("k8s-openapi"));
        let openapi_root = find(&format!("k8s-openapi-{openapi_version}")).join("src");
        // The newest Kubernetes version k8s-openapi has, which is what the workspace's `latest` feature enables.
        let newest = std::fs::read_dir(&openapi_root)
            .expect("list k8s-openapi")
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let minor: u32 = name.strip_prefix("v1_")?.parse().ok()?;
                Some((minor, e.path()))
            })
            .max()
            .expect("k8s-openapi has version directories");
        Sources {
            k8s_pb: find(&format!("k8s-pb-{k8s_pb_version}")).join("src"),
            k8s_pb_version,
            openapi: newest.1,
            openapi_version,
        }
    }
}

struct Generator<'a> {
    sources: &'a Sources,
    /// Parsed k8s-pb modules: message name → fields.
    modules: HashMap<String, HashMap<String, Vec<PbField>>>,
    /// The messages reached, in a stable order.
    reached: BTreeMap<MessageId, Vec<PbField>>,
    /// The JSON name of each field of each reached message: `""` for inline messages, `None` for fields the
    /// served Kubernetes version does not have.
    json: HashMap<MessageId, Vec<Option<String>>>,
}

impl<'a> Generator<'a> {
    fn new(sources: &'a Sources) -> Self {
        Generator { sources, modules: HashMap::new(), reached: BTreeMap::new(), json: HashMap::new() }
    }

    /// Adds a message and everything it reaches.
    fn reach(&mut self, root: &MessageId) {
        let mut queue = VecDeque::from([root.clone()]);
        while let Some(id) = queue.pop_front() {
            if self.reached.contains_key(&id) || wrapper(&id).is_some() {
                continue;
            }
            let fields = self
                .module(&id.0)
                .get(&id.1)
                .unwrap_or_else(|| panic!("k8s-pb has no message {} in {}", id.1, id.0))
                .clone();
            for field in &fields {
                if let Ty::Message(inner) = &field.ty {
                    queue.push_back(inner.clone());
                }
            }
            self.reached.insert(id, fields);
        }
    }

    fn module(&mut self, module: &str) -> &HashMap<String, Vec<PbField>> {
        let path = self.sources.k8s_pb.join(module).join("mod.rs");
        self.modules.entry(module.to_owned()).or_insert_with(|| parse_pb_module(&path, module))
    }

    /// Gives every field of every reached message its JSON name from k8s-openapi, or `""` when Go embeds the
    /// message inline (`VolumeSource` in `Volume`: its fields appear among the parent's). Fields k8s-openapi
    /// does not have (alpha fields that the served Kubernetes version dropped) are left out, and so are the
    /// messages only they reached.
    fn load_json_names(&mut self, roots: &[(String, String, MessageId)]) {
        let mut openapi: HashMap<String, HashMap<String, Vec<String>>> = HashMap::new();
        // The names each message's fields may take: its own type's, or for a message that k8s-openapi only
        // has inlined (`EphemeralContainerCommon`), those of the type that embeds it.
        let mut candidates: HashMap<MessageId, Vec<String>> = HashMap::new();
        for id in self.reached.keys() {
            let dir = self.sources.openapi.join(&id.0);
            let types = openapi.entry(id.0.clone()).or_insert_with(|| openapi_json_names(&dir));
            if let Some(names) = types.get(&letters(&id.1)) {
                candidates.insert(id.clone(), names.clone());
            }
        }
        let matching = |names: &[String], rust: &str| -> Vec<String> {
            names.iter().filter(|n| letters(n) == letters(rust)).cloned().collect()
        };
        // Inline when the parent has no name for the field but has one for every scalar of the message.
        let inline = |reached: &BTreeMap<MessageId, Vec<PbField>>, names: &[String], field: &PbField| {
            match &field.ty {
                Ty::Message(inner) if field.label == "single" && matching(names, &field.rust).is_empty() => {
                    reached[inner]
                        .iter()
                        .all(|f| matches!(f.ty, Ty::Message(_)) || !matching(names, &f.rust).is_empty())
                        .then(|| inner.clone())
                }
                _ => None,
            }
        };
        loop {
            let mut found = Vec::new();
            for (id, fields) in &self.reached {
                let Some(parent) = candidates.get(id) else { continue };
                for inner in fields.iter().filter_map(|f| inline(&self.reached, parent, f)) {
                    if !candidates.contains_key(&inner) {
                        found.push((inner, parent.clone()));
                    }
                }
            }
            if found.is_empty() {
                break;
            }
            candidates.extend(found);
        }
        let mut json = HashMap::new();
        for (id, fields) in &self.reached {
            let Some(names) = candidates.get(id) else { continue };
            let mut message = Vec::new();
            for field in fields {
                let found = matching(names, &field.rust);
                message.push(match found.as_slice() {
                    [one] => Some(one.clone()),
                    [] => inline(&self.reached, names, field).map(|_| String::new()),
                    many => {
                        panic!("k8s-openapi's {} has several JSON names for {}: {many:?}", id.1, field.rust)
                    }
                });
            }
            json.insert(id.clone(), message);
        }
        // Keep what the roots reach through named fields.
        let mut kept = BTreeMap::new();
        let mut queue: VecDeque<MessageId> = roots.iter().map(|(_, _, id)| id.clone()).collect();
        while let Some(id) = queue.pop_front() {
            if kept.contains_key(&id) {
                continue;
            }
            let fields_json: &Vec<Option<String>> = json.get(&id).unwrap_or_else(|| {
                panic!("k8s-openapi has no type {} in {}", id.1, self.sources.openapi.join(&id.0).display())
            });
            for (field, name) in self.reached[&id].iter().zip(fields_json) {
                if let (Ty::Message(inner), Some(_)) = (&field.ty, name) {
                    queue.push_back(inner.clone());
                }
            }
            kept.insert(id.clone(), self.reached[&id].clone());
        }
        self.reached = kept;
        self.json = json.into_iter().filter(|(id, _)| self.reached.contains_key(id)).collect();
    }

    /// The Go value fields whose zero means unset, of every reached message, from Go sources: plain values
    /// (not pointers) that are scalars with `omitempty`, or anything with `omitzero`.
    fn derive_value_fields(&self, api: &Path, apimachinery: &Path) -> BTreeMap<String, Vec<String>> {
        let mut go_packages: HashMap<String, HashMap<String, HashMap<String, GoField>>> = HashMap::new();
        let mut facts = BTreeMap::new();
        for (id, fields) in &self.reached {
            let json = self.json_of(id);
            if !fields.iter().zip(&json).any(|(f, json)| named_single(f, json.as_deref())) {
                continue;
            }
            let dir = match id.0.strip_prefix("api/") {
                Some(rest) => api.join(rest),
                None => {
                    apimachinery.join(id.0.strip_prefix("apimachinery/").expect("an apimachinery module"))
                }
            };
            let structs = go_packages.entry(id.0.clone()).or_insert_with(|| go_structs(&dir));
            let go = structs
                .get(&letters(&id.1))
                .unwrap_or_else(|| panic!("no Go struct {} in {}", id.1, dir.display()));
            let mut names = Vec::new();
            for (field, json) in fields.iter().zip(json) {
                let Some(json) = json.filter(|json| named_single(field, Some(json))) else { continue };
                let go = go.get(&json).unwrap_or_else(|| panic!("Go struct {} has no field {json}", id.1));
                let scalar = matches!(field.ty, Ty::Scalar(_));
                if !go.pointer && (go.omitzero || (go.omitempty && scalar)) {
                    names.push(json);
                }
            }
            facts.insert(proto_name(id), names);
        }
        facts
    }

    /// The JSON name of each field of a reached message, in field order (see [`Generator::json`]).
    fn json_of(&self, id: &MessageId) -> Vec<Option<String>> {
        self.json.get(id).cloned().unwrap_or_else(|| panic!("JSON names of {} were not loaded", id.1))
    }

    fn render(
        &self,
        roots: &[(String, String, MessageId)],
        facts: &BTreeMap<String, Vec<String>>,
        sources: &Sources,
    ) -> String {
        let ids: Vec<MessageId> = self.reached.keys().cloned().collect();
        let statics: BTreeMap<&MessageId, String> = ids.iter().map(|id| (id, static_name(id))).collect();
        let unique: BTreeSet<&String> = statics.values().collect();
        assert_eq!(unique.len(), statics.len(), "two messages map to the same static name");

        let mut out = String::new();
        let _ = writeln!(
            out,
            "//! The protobuf schema of every message a request body can hold. @generated by `protobuf::generate` from\n\
             //! k8s-pb {}, k8s-openapi {} ({}) and value_fields.txt: do not edit; run\n\
             //! `cargo test -p apiserver protobuf::generate` instead.\n",
            sources.k8s_pb_version,
            sources.openapi_version,
            sources.openapi.file_name().and_then(|n| n.to_str()).unwrap_or_default(),
        );
        out.push_str("use super::schema::{Field, Label, Message, Object, Type, Wrapper};\n\n");
        out.push_str(
            "/// The top-level messages, by `apiVersion` and `kind`.\npub static OBJECTS: &[Object] = &[\n",
        );
        for (api_version, kind, id) in roots {
            let _ = writeln!(
                out,
                "    Object {{ api_version: {api_version:?}, kind: {kind:?}, message: &{} }},",
                statics[id]
            );
        }
        out.push_str("];\n\n");
        out.push_str(
            "const fn single(tag: u32, json: &'static str, ty: Type) -> Field {\n    Field { tag, json, label: Label::Single, ty, zero_is_unset: false }\n}\n\n\
             const fn omit_zero(tag: u32, json: &'static str, ty: Type) -> Field {\n    Field { tag, json, label: Label::Single, ty, zero_is_unset: true }\n}\n\n\
             const fn inline(tag: u32, ty: Type) -> Field {\n    Field { tag, json: \"\", label: Label::Single, ty, zero_is_unset: false }\n}\n\n\
             const fn list(tag: u32, json: &'static str, ty: Type) -> Field {\n    Field { tag, json, label: Label::Repeated, ty, zero_is_unset: false }\n}\n\n\
             const fn map(tag: u32, json: &'static str, ty: Type) -> Field {\n    Field { tag, json, label: Label::Map, ty, zero_is_unset: false }\n}\n",
        );
        let mut used_facts = 0;
        for id in &ids {
            let name = proto_name(id);
            let json = self.json_of(id);
            let mut fields: Vec<(&PbField, Option<String>)> = self.reached[id].iter().zip(json).collect();
            fields.sort_by_key(|(f, _)| f.tag);
            let has_single = fields.iter().any(|(f, json)| named_single(f, json.as_deref()));
            let value_fields = facts.get(&name);
            assert!(
                value_fields.is_some() || !has_single,
                "value_fields.txt has no line for {name}: derive it again from the Go sources (see generate.rs)"
            );
            let _ = write!(
                out,
                "\npub static {}: Message = Message {{\n    name: {name:?},\n    fields: &[\n",
                statics[id]
            );
            for (field, json) in &fields {
                let Some(json) = json else {
                    let _ = writeln!(
                        out,
                        "        // {} ({}): not in k8s-openapi's Kubernetes version, skipped.",
                        field.tag, field.rust
                    );
                    continue;
                };
                let ty = match &field.ty {
                    Ty::Scalar(s) => format!("Type::{s}"),
                    Ty::Message(inner) => match wrapper(inner) {
                        Some(w) => format!("Type::Wrapper(Wrapper::{w})"),
                        None => format!("Type::Message(&{})", statics[inner]),
                    },
                    Ty::Wrapper(w) => format!("Type::Wrapper(Wrapper::{w})"),
                };
                let zero_is_unset = value_fields.is_some_and(|v| v.contains(json));
                if zero_is_unset {
                    used_facts += 1;
                    assert!(named_single(field, Some(json)), "{name}.{json} is not a single field");
                }
                if json.is_empty() {
                    let _ = writeln!(out, "        inline({}, {ty}),", field.tag);
                    continue;
                }
                let constructor = match field.label {
                    "single" if zero_is_unset => "omit_zero",
                    "single" => "single",
                    "repeated" => "list",
                    _ => "map",
                };
                let _ = writeln!(out, "        {constructor}({}, {json:?}, {ty}),", field.tag);
            }
            out.push_str("    ],\n};\n");
        }
        let listed: usize = facts.values().map(Vec::len).sum();
        assert_eq!(
            used_facts, listed,
            "value_fields.txt lists fields messages.rs does not have: derive it again"
        );
        out
    }
}

/// The k8s-pb message and field definitions of one module file.
fn parse_pb_module(path: &Path, module: &str) -> HashMap<String, Vec<PbField>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let file = syn::parse_file(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()));
    let mut messages = HashMap::new();
    for item in file.items {
        let syn::Item::Struct(item) = item else { continue };
        let mut fields = Vec::new();
        for field in &item.fields {
            let Some(attr) = field.attrs.iter().find(|a| a.path().is_ident("prost")) else { continue };
            let rust = field.ident.as_ref().map(|i| i.unraw().to_string()).expect("named field");
            let (mut words, mut tag, mut map) = (Vec::new(), None, None);
            attr.parse_nested_meta(|meta| {
                let name = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
                if meta.input.peek(syn::Token![=]) {
                    let value: syn::LitStr = meta.value()?.parse()?;
                    match name.as_str() {
                        "tag" => tag = value.value().parse::<u32>().ok(),
                        "btree_map" | "map" | "hash_map" => map = Some(value.value()),
                        _ => {}
                    }
                }
                words.push(name);
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{module}.{}.{rust}: {e}", item.ident));
            let tag = tag.unwrap_or_else(|| panic!("{module}.{}.{rust} has no tag", item.ident));
            let message_type = || message_type(&field.ty, module);
            let (label, ty) = if let Some(map) = map {
                let value = map.split(',').nth(1).map(str::trim).unwrap_or_default();
                assert!(
                    map.starts_with("string,"),
                    "{module}.{}.{rust}: map keys other than strings",
                    item.ident
                );
                ("map", scalar_or_message(value, message_type))
            } else {
                let label = if words.iter().any(|w| w == "repeated") { "repeated" } else { "single" };
                (label, scalar_or_message(&words[0], message_type))
            };
            fields.push(PbField { rust, tag, label, ty });
        }
        messages.insert(item.ident.to_string(), fields);
    }
    messages
}

fn scalar_or_message(word: &str, message: impl FnOnce() -> MessageId) -> Ty {
    match word {
        "string" => Ty::Scalar("String"),
        "bytes" => Ty::Scalar("Bytes"),
        "bool" => Ty::Scalar("Bool"),
        "int32" => Ty::Scalar("Int32"),
        "int64" => Ty::Scalar("Int64"),
        "double" => Ty::Scalar("Double"),
        "message" => {
            let id = message();
            match wrapper(&id) {
                Some(w) => Ty::Wrapper(w),
                None => Ty::Message(id),
            }
        }
        other => panic!("protobuf type {other} is not supported by the decoder"),
    }
}

/// The message a field's Rust type names (inside `Option`, `Vec` or `BTreeMap`), resolved from `module`.
fn message_type(ty: &syn::Type, module: &str) -> MessageId {
    let syn::Type::Path(path) = ty else { panic!("unexpected field type in {module}") };
    let last = path.path.segments.last().expect("a type path");
    if matches!(last.ident.to_string().as_str(), "Option" | "Vec" | "BTreeMap" | "HashMap") {
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            panic!("{} without arguments", last.ident)
        };
        let inner = args
            .args
            .iter()
            .filter_map(|a| if let syn::GenericArgument::Type(t) = a { Some(t) } else { None })
            .last()
            .expect("a type argument");
        return message_type(inner, module);
    }
    let mut segments: Vec<String> = module.split('/').map(str::to_owned).collect();
    let names: Vec<String> = path.path.segments.iter().map(|s| s.ident.to_string()).collect();
    let (name, dirs) = names.split_last().expect("a type name");
    for dir in dirs {
        match dir.as_str() {
            "super" => {
                segments.pop();
            }
            "crate" => segments.clear(),
            other => segments.push(other.to_owned()),
        }
    }
    (segments.join("/"), name.clone())
}

/// The wrapper a message is, if its JSON form is special.
fn wrapper(id: &MessageId) -> Option<&'static str> {
    Some(match (id.0.as_str(), id.1.as_str()) {
        ("apimachinery/pkg/apis/meta/v1", "Time") => "Time",
        ("apimachinery/pkg/apis/meta/v1", "MicroTime") => "MicroTime",
        ("apimachinery/pkg/apis/meta/v1", "Duration") => "Duration",
        ("apimachinery/pkg/apis/meta/v1", "FieldsV1") => "FieldsV1",
        ("apimachinery/pkg/api/resource", "Quantity" | "QuantityValue") => "Quantity",
        ("apimachinery/pkg/util/intstr", "IntOrString") => "IntOrString",
        ("apimachinery/pkg/runtime", "RawExtension") => "RawExtension",
        ("api/authorization/v1" | "api/authentication/v1" | "api/certificates/v1", "ExtraValue") => {
            "ExtraValue"
        }
        _ => return None,
    })
}

/// `k8s.io.api.core.v1.PodSpec`.
fn proto_name(id: &MessageId) -> String {
    format!("k8s.io.{}.{}", id.0.replace('/', "."), id.1)
}

/// `CORE_V1_POD_SPEC`: the last two module segments and the name.
fn static_name(id: &MessageId) -> String {
    let segments: Vec<&str> = id.0.split('/').collect();
    let prefix = segments[segments.len().saturating_sub(2)..].join("_").to_uppercase();
    let chars: Vec<char> = id.1.chars().collect();
    let mut name = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if i > 0 && c.is_uppercase() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                name.push('_');
            }
        }
        name.push(c.to_ascii_uppercase());
    }
    format!("{prefix}_{name}")
}

/// Every k8s-openapi type of a module directory (by [`letters`] of its name, as k8s-pb spells some acronyms
/// differently: `AwsElasticBlockStoreVolumeSource`) with the JSON names its serde code accepts.
fn openapi_json_names(dir: &Path) -> HashMap<String, Vec<String>> {
    let mut types = HashMap::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("list {}: {e}", dir.display()));
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "rs") || path.file_name().is_some_and(|n| n == "mod.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read a k8s-openapi file");
        let structs: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("pub struct "))
            .filter_map(|rest| rest.split([' ', '(', '{', '<']).next())
            .collect();
        let [name] = structs.as_slice() else { continue };
        let names = text
            .lines()
            .filter(|l| l.contains("=> Field::Key_"))
            .filter_map(|l| l.trim().strip_prefix('"')?.split('"').next())
            .map(str::to_owned)
            .collect();
        types.insert(letters(name), names);
    }
    types
}

/// A name reduced to its lowercase letters and digits, which Go, JSON, k8s-pb and k8s-openapi spellings share.
fn letters(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// What the generator needs of a Go struct field.
struct GoField {
    pointer: bool,
    omitempty: bool,
    omitzero: bool,
}

/// A single, named (not inline) field: the ones whose zero can mean unset.
fn named_single(field: &PbField, json: Option<&str>) -> bool {
    json.is_some_and(|j| !j.is_empty()) && field.label == "single"
}

/// Every Go struct of a package directory (by [`letters`] of its name): JSON name → field.
fn go_structs(dir: &Path) -> HashMap<String, HashMap<String, GoField>> {
    let mut structs = HashMap::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("list {}: {e}", dir.display()));
    for entry in entries.filter_map(Result::ok) {
        let file = entry.file_name().to_string_lossy().into_owned();
        let go = Path::new(&file).extension().is_some_and(|e| e == "go");
        if !go
            || file.ends_with("_test.go")
            || file.starts_with("zz_generated")
            || file.starts_with("generated")
        {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).expect("read a Go file");
        let mut current: Option<(String, HashMap<String, GoField>)> = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("type ") {
                if let Some(name) = rest.strip_suffix(" struct {") {
                    current = Some((name.trim().to_owned(), HashMap::new()));
                }
                continue;
            }
            if line == "}" {
                if let Some((name, fields)) = current.take() {
                    structs.insert(letters(&name), fields);
                }
                continue;
            }
            let Some((_, fields)) = current.as_mut() else { continue };
            let Some((decl, tag)) = line.trim().split_once('`') else { continue };
            let decl: Vec<&str> = decl.split_whitespace().collect();
            // `Name Type` or an embedded `Type` (`metav1.ObjectMeta \`json:"metadata"\``).
            let (Some(go_type), 1..=2) = (decl.last(), decl.len()) else { continue };
            let Some(json) = tag.split("json:\"").nth(1).and_then(|t| t.split('"').next()) else { continue };
            let mut parts = json.split(',');
            let name = parts.next().unwrap_or_default();
            let options: Vec<&str> = parts.collect();
            if !name.is_empty() && name != "-" {
                let field = GoField {
                    pointer: go_type.starts_with('*'),
                    omitempty: options.contains(&"omitempty"),
                    omitzero: options.contains(&"omitzero"),
                };
                fields.insert(name.to_owned(), field);
            }
        }
    }
    structs
}

fn render_value_fields(facts: &BTreeMap<String, Vec<String>>) -> String {
    let mut out = String::from(
        "# Go fields that are plain values (not pointers) with `omitempty` (scalars) or `omitzero`, for every message\n\
         # of messages.rs with single fields: Go writes them even when zero, and zero means unset. Derived from the Go structs of\n\
         # k8s.io/api and k8s.io/apimachinery by `protobuf::generate` (see generate.rs); one message per line.\n",
    );
    for (message, fields) in facts {
        out.push_str(message);
        for field in fields {
            out.push(' ');
            out.push_str(field);
        }
        out.push('\n');
    }
    out
}

fn parse_value_fields(text: &str) -> BTreeMap<String, Vec<String>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            Some((words.next()?.to_owned(), words.map(str::to_owned).collect()))
        })
        .collect()
}

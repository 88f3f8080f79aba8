//! Manifests as `-f` names them: files, directories (`-R` for their subdirectories), `-` for standard input and
//! http(s) URLs; each multi-document YAML or JSON, with `kind: List` expanded into its items.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::Value;

use super::{Catalog, Cluster, ResourceType};

/// One object read from a manifest.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// Where it was read from, for messages.
    pub source: String,
    /// The object.
    pub object: Value,
}

impl Manifest {
    /// `metadata.name` (empty when unset).
    pub fn name(&self) -> &str {
        self.object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default()
    }
}

/// An object of a manifest with the type and namespace it goes to.
#[derive(Clone, Debug)]
pub struct Target {
    /// The object as written.
    pub manifest: Manifest,
    /// Its resource type.
    pub rt: ResourceType,
    /// Its namespace (`None` for cluster-scoped types).
    pub namespace: Option<String>,
}

impl Target {
    /// `deployment.apps/hello`.
    pub fn display(&self) -> String {
        format!("{}/{}", self.rt.qualified_name(), self.manifest.name())
    }
}

/// Reads every object of every source, in order.
pub async fn read(sources: &[String], recursive: bool) -> anyhow::Result<Vec<Manifest>> {
    let mut manifests = Vec::new();
    for source in sources {
        if source == "-" {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).context("cannot read standard input")?;
            parse(&text, "standard input", &mut manifests)?;
        } else if source.starts_with("http://") || source.starts_with("https://") {
            let text = fetch(source).await?;
            parse(&text, source, &mut manifests)?;
        } else {
            let path = Path::new(source);
            let meta = std::fs::metadata(path).with_context(|| format!("cannot read {source}"))?;
            let files =
                if meta.is_dir() { manifest_files(path, recursive)? } else { vec![path.to_path_buf()] };
            for file in files {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                parse(&text, &file.display().to_string(), &mut manifests)?;
            }
        }
    }
    Ok(manifests)
}

/// The `.yaml`, `.yml` and `.json` files of a directory, sorted, and of its subdirectories when `recursive`.
fn manifest_files(dir: &Path, recursive: bool) -> anyhow::Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read directory {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    let mut files = Vec::new();
    for path in entries {
        if path.is_dir() {
            if recursive {
                files.extend(manifest_files(&path, true)?);
            }
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            files.push(path);
        }
    }
    Ok(files)
}

/// Downloads a manifest as nodes download images (Mozilla's roots, a size limit).
async fn fetch(url: &str) -> anyhow::Result<String> {
    let images = std::env::temp_dir();
    let puller = host::image::Puller::new(images, &[]).context("cannot set up TLS")?;
    let fetched = puller.pull(url).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    String::from_utf8(fetched.bytes.to_vec()).with_context(|| format!("{url} is not text"))
}

/// Parses multi-document YAML (JSON is YAML too) into objects.
pub fn parse(text: &str, source: &str, into: &mut Vec<Manifest>) -> anyhow::Result<()> {
    for (index, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let value: Value = serde::Deserialize::deserialize(document)
            .map_err(|e| anyhow::anyhow!("{source}: document {} is not valid YAML: {e}", index + 1))?;
        push(value, source, into)?;
    }
    Ok(())
}

fn push(value: Value, source: &str, into: &mut Vec<Manifest>) -> anyhow::Result<()> {
    if value.is_null() {
        return Ok(());
    }
    let Value::Object(fields) = &value else { bail!("{source}: a document is not an object") };
    let text = |field: &str| fields.get(field).and_then(Value::as_str).unwrap_or_default();
    if text("kind").is_empty() || text("apiVersion").is_empty() {
        bail!("{source}: an object has no apiVersion or kind");
    }
    if text("kind").ends_with("List") && fields.get("items").is_some_and(Value::is_array) {
        if let Some(Value::Array(items)) = value.get("items").cloned() {
            for item in items {
                push(item, source, into)?;
            }
        }
        return Ok(());
    }
    into.push(Manifest { source: source.to_owned(), object: value });
    Ok(())
}

/// Finds the type and namespace of every object, or fails on the first that has none, before anything is sent.
pub fn resolve(
    manifests: Vec<Manifest>,
    catalog: &Catalog,
    cluster: &Cluster,
) -> anyhow::Result<Vec<Target>> {
    manifests
        .into_iter()
        .map(|manifest| {
            let text = |pointer: &str| manifest.object.pointer(pointer).and_then(Value::as_str).unwrap_or_default();
            let (api_version, kind) = (text("/apiVersion"), text("/kind"));
            let rt = catalog
                .for_kind(api_version, kind)
                .with_context(|| {
                    format!("{}: no matches for kind {kind:?} in version {api_version:?}", manifest.source)
                })?
                .clone();
            if text("/metadata/name").is_empty() && text("/metadata/generateName").is_empty() {
                bail!("{}: a {kind} has no metadata.name", manifest.source);
            }
            let namespace = if rt.namespaced {
                let written = text("/metadata/namespace");
                if !written.is_empty() && cluster.namespace_given && written != cluster.namespace {
                    bail!(
                        "{}: the namespace from the provided object {written:?} does not match the namespace {:?}; \
                         pass --namespace={written}",
                        manifest.source,
                        cluster.namespace
                    );
                }
                Some(if written.is_empty() { cluster.namespace.clone() } else { written.to_owned() })
            } else {
                None
            };
            Ok(Target { manifest, rt, namespace })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_lists_and_empty_documents() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\n{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": \"b\"}}]}\n";
        let mut manifests = Vec::new();
        parse(text, "app.yaml", &mut manifests).unwrap();
        let names: Vec<&str> = manifests.iter().map(Manifest::name).collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn bad_documents_say_where() {
        let mut manifests = Vec::new();
        let error = parse("kind: ConfigMap\n", "app.yaml", &mut manifests).unwrap_err().to_string();
        assert_eq!(error, "app.yaml: an object has no apiVersion or kind");
        let error = parse("a: [\n", "app.yaml", &mut manifests).unwrap_err().to_string();
        assert!(error.starts_with("app.yaml: document 1 is not valid YAML"), "{error}");
        let error = parse("- 1\n", "x.yaml", &mut manifests).unwrap_err().to_string();
        assert_eq!(error, "x.yaml: a document is not an object");
    }

    #[tokio::test]
    async fn directories_are_read_in_order_and_recursively_on_request() {
        let dir = tempfile::tempdir().unwrap();
        let cm = |name: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\n");
        std::fs::write(dir.path().join("b.yaml"), cm("b")).unwrap();
        std::fs::write(
            dir.path().join("a.json"),
            r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a manifest").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/c.yml"), cm("c")).unwrap();
        let source = [dir.path().display().to_string()];
        let names = |m: Vec<Manifest>| m.iter().map(|m| m.name().to_owned()).collect::<Vec<_>>();
        assert_eq!(names(read(&source, false).await.unwrap()), ["a", "b"]);
        assert_eq!(names(read(&source, true).await.unwrap()), ["a", "b", "c"]);
        let missing = read(&["/no/such/file.yaml".to_owned()], false).await.unwrap_err();
        assert!(format!("{missing:#}").starts_with("cannot read /no/such/file.yaml: "), "{missing:#}");
    }
}

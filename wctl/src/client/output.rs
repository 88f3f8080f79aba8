//! Printing objects as kubectl does: the server's Tables (`-o wide` adds their low-priority columns), YAML, JSON,
//! `name`, `jsonpath=` and `custom-columns=`.

use anyhow::bail;
use serde_json::{Value, json};

use super::jsonpath::{self, Template};

/// An `-o` format.
#[derive(Clone, Debug)]
pub enum Format {
    /// The server's Table, priority-0 columns.
    Table,
    /// The server's Table, every column.
    Wide,
    /// YAML.
    Yaml,
    /// JSON.
    Json,
    /// `kind.group/name` per object.
    Name,
    /// A JSONPath template.
    JsonPath(Template),
    /// Named columns of JSONPath expressions, one row per object.
    CustomColumns(Vec<(String, jsonpath::Path)>),
}

impl Format {
    /// Parses `-o`: `wide`, `yaml`, `json`, `name`, `jsonpath=TEMPLATE`, `custom-columns=NAME:PATH,...`.
    pub fn parse(text: Option<&str>) -> anyhow::Result<Self> {
        let Some(text) = text else { return Ok(Self::Table) };
        let (name, argument) = text.split_once('=').unwrap_or((text, ""));
        Ok(match name {
            "" => Self::Table,
            "wide" => Self::Wide,
            "yaml" => Self::Yaml,
            "json" => Self::Json,
            "name" => Self::Name,
            "jsonpath" if !argument.is_empty() => Self::JsonPath(Template::parse(argument)?),
            "custom-columns" if !argument.is_empty() => {
                let columns = argument
                    .split(',')
                    .map(|spec| {
                        let (header, path) = spec
                            .split_once(':')
                            .ok_or_else(|| anyhow::anyhow!("custom-columns {spec:?} is not NAME:JSONPATH"))?;
                        Ok((header.to_owned(), jsonpath::Path::parse(path)?))
                    })
                    .collect::<anyhow::Result<_>>()?;
                Self::CustomColumns(columns)
            }
            "jsonpath" | "custom-columns" => bail!("-o {name} needs a template: -o {name}=..."),
            _ => bail!(
                "unable to match a printer suitable for the output format {text:?}, allowed formats are: \
                 custom-columns,json,jsonpath,name,wide,yaml"
            ),
        })
    }

    /// Whether this format prints Tables (else whole objects).
    pub fn is_table(&self) -> bool {
        matches!(self, Self::Table | Self::Wide)
    }

    /// Prints objects in this format (not a Table format): one object as itself, several as a `List`.
    pub fn objects(&self, objects: &[Value], single: bool) -> anyhow::Result<String> {
        let document = if single && objects.len() == 1 {
            objects[0].clone()
        } else {
            json!({"apiVersion": "v1", "kind": "List", "items": objects, "metadata": {"resourceVersion": ""}})
        };
        Ok(match self {
            Self::Yaml => serde_yaml::to_string(&document)?,
            Self::Json => format!("{}\n", serde_json::to_string_pretty(&document)?),
            Self::Name => objects.iter().map(|o| name_of(o) + "\n").collect(),
            Self::JsonPath(template) => template.render(&document),
            Self::CustomColumns(columns) => {
                let header: Vec<String> = columns.iter().map(|(h, _)| h.clone()).collect();
                let rows: Vec<Vec<String>> = objects
                    .iter()
                    .map(|object| {
                        columns
                            .iter()
                            .map(|(_, path)| {
                                let values = path.eval(object, object);
                                if values.is_empty() {
                                    "<none>".to_owned()
                                } else {
                                    values
                                        .iter()
                                        .map(|v| jsonpath::scalar_text(v))
                                        .collect::<Vec<_>>()
                                        .join(",")
                                }
                            })
                            .collect()
                    })
                    .collect();
                align(&header, &rows)
            }
            Self::Table | Self::Wide => bail!("a Table format cannot print whole objects"),
        })
    }
}

/// `deployment.apps/hello` for an object.
pub fn name_of(object: &Value) -> String {
    let text = |pointer: &str| object.pointer(pointer).and_then(Value::as_str).unwrap_or_default();
    let kind = text("/kind").to_lowercase();
    let group = text("/apiVersion").split_once('/').map(|(g, _)| g).unwrap_or_default();
    let qualified = if group.is_empty() { kind } else { format!("{kind}.{group}") };
    format!("{qualified}/{}", text("/metadata/name"))
}

/// A `meta.k8s.io/v1` Table.
#[derive(Clone, Debug, Default)]
pub struct Table {
    columns: Vec<(String, i64)>,
    rows: Vec<(Vec<Value>, Value)>,
    /// The resource version it was read at, for watching from there.
    pub resource_version: String,
}

/// How a Table prints: independent switches, as kubectl's flags are.
#[derive(Clone, Debug, Default)]
#[allow(clippy::struct_excessive_bools)]
pub struct TableStyle {
    /// Every column, not only those of priority 0 (`-o wide`).
    pub wide: bool,
    /// A NAMESPACE column first (`-A`).
    pub namespace: bool,
    /// A LABELS column last (`--show-labels`).
    pub labels: bool,
    /// Names as `kind/name` (when several types print together).
    pub kind_prefix: Option<String>,
    /// No header line.
    pub no_headers: bool,
}

impl Table {
    /// Reads a Table from the server's JSON.
    pub fn from_json(value: &Value) -> anyhow::Result<Self> {
        if value.get("kind").and_then(Value::as_str) != Some("Table") {
            bail!("the API server did not answer with a Table");
        }
        let columns = value["columnDefinitions"]
            .as_array()
            .map(|columns| {
                columns
                    .iter()
                    .map(|c| {
                        (
                            c["name"].as_str().unwrap_or_default().to_owned(),
                            c["priority"].as_i64().unwrap_or(0),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let rows = value["rows"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| (r["cells"].as_array().cloned().unwrap_or_default(), r["object"].clone()))
                    .collect()
            })
            .unwrap_or_default();
        let resource_version =
            value.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or("0").to_owned();
        Ok(Self { columns, rows, resource_version })
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Appends the rows of another Table of the same type.
    pub fn extend(&mut self, other: Table) {
        let version = |t: &Table| t.resource_version.parse::<u64>().unwrap_or(0);
        if version(&other) > version(self) {
            self.resource_version.clone_from(&other.resource_version);
        }
        if self.columns.is_empty() {
            self.columns = other.columns;
        }
        self.rows.extend(other.rows);
    }

    /// The header and the rows as text cells, in `style`.
    pub fn cells(&self, style: &TableStyle) -> (Vec<String>, Vec<Vec<String>>) {
        let shown: Vec<usize> =
            (0..self.columns.len()).filter(|&i| style.wide || self.columns[i].1 == 0).collect();
        let mut header: Vec<String> = shown.iter().map(|&i| self.columns[i].0.to_uppercase()).collect();
        if style.namespace {
            header.insert(0, "NAMESPACE".into());
        }
        if style.labels {
            header.push("LABELS".into());
        }
        let name_column = self.columns.iter().position(|(name, _)| name == "Name");
        let rows = self
            .rows
            .iter()
            .map(|(cells, object)| {
                let mut row: Vec<String> = shown
                    .iter()
                    .map(|&i| {
                        let text = cells.get(i).map(cell_text).unwrap_or_default();
                        match (&style.kind_prefix, name_column) {
                            (Some(kind), Some(n)) if n == i => format!("{kind}/{text}"),
                            _ => text,
                        }
                    })
                    .collect();
                if style.namespace {
                    row.insert(
                        0,
                        object.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("").into(),
                    );
                }
                if style.labels {
                    row.push(labels_text(object.pointer("/metadata/labels")));
                }
                row
            })
            .collect();
        (header, rows)
    }

    /// The Table as aligned text.
    pub fn render(&self, style: &TableStyle) -> String {
        let (header, rows) = self.cells(style);
        if style.no_headers {
            align_rows(&rows, &widths(&header, &rows, false))
        } else {
            align(&header, &rows)
        }
    }
}

/// A cell as kubectl prints it.
fn cell_text(cell: &Value) -> String {
    match cell {
        Value::Null => "<none>".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `app=web,tier=front`, or `<none>`.
pub fn labels_text(labels: Option<&Value>) -> String {
    let pairs: Vec<String> = labels
        .and_then(Value::as_object)
        .map(|labels| labels.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect())
        .unwrap_or_default();
    if pairs.is_empty() { "<none>".into() } else { pairs.join(",") }
}

/// Columns padded to their widest cell plus three spaces, as kubectl's tab writer does.
pub fn align(header: &[String], rows: &[Vec<String>]) -> String {
    let widths = widths(header, rows, true);
    let mut out = align_rows(std::slice::from_ref(&header.to_vec()), &widths);
    out.push_str(&align_rows(rows, &widths));
    out
}

/// The width of each column.
pub fn widths(header: &[String], rows: &[Vec<String>], with_header: bool) -> Vec<usize> {
    let mut widths: Vec<usize> =
        header.iter().map(|h| if with_header { h.chars().count() } else { 0 }).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    widths
}

/// Rows padded to `widths`.
pub fn align_rows(rows: &[Vec<String>], widths: &[usize]) -> String {
    let mut out = String::new();
    for row in rows {
        let last = row.len().saturating_sub(1);
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                let pad = widths.get(i).copied().unwrap_or(0).saturating_sub(cell.chars().count()) + 3;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table::from_json(&json!({"kind": "Table", "columnDefinitions": [
            {"name": "Name", "priority": 0}, {"name": "Ready", "priority": 0}, {"name": "Node", "priority": 1}],
            "rows": [
                {"cells": ["web-1", "1/1", "local"], "object": {"metadata": {"name": "web-1", "namespace": "demo", "labels": {"app": "web"}}}},
                {"cells": ["db", "0/1", null], "object": {"metadata": {"name": "db", "namespace": "prod"}}}]}))
        .unwrap()
    }

    #[test]
    fn tables_print_as_kubectl_prints_them() {
        assert_eq!(table().render(&TableStyle::default()), "NAME    READY\nweb-1   1/1\ndb      0/1\n");
        let wide = TableStyle { wide: true, ..Default::default() };
        assert_eq!(
            table().render(&wide),
            "NAME    READY   NODE\nweb-1   1/1     local\ndb      0/1     <none>\n"
        );
        let everything = TableStyle {
            namespace: true,
            labels: true,
            kind_prefix: Some("pod".into()),
            ..Default::default()
        };
        assert_eq!(
            table().render(&everything),
            "NAMESPACE   NAME        READY   LABELS\ndemo        pod/web-1   1/1     app=web\nprod        pod/db      0/1     <none>\n"
        );
    }

    #[test]
    fn object_formats() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}, "status": {"phase": "Running"}});
        let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "b"}});
        let objects = [pod.clone(), deploy];
        assert_eq!(
            Format::parse(Some("name")).unwrap().objects(&objects, false).unwrap(),
            "pod/a\ndeployment.apps/b\n"
        );
        let yaml = Format::parse(Some("yaml")).unwrap().objects(&objects[..1], true).unwrap();
        assert!(yaml.starts_with("apiVersion: v1\nkind: Pod\n"), "{yaml}");
        let list = Format::parse(Some("json")).unwrap().objects(&objects[..1], false).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&list).unwrap()["kind"], "List");
        let path = Format::parse(Some("jsonpath={.items[*].metadata.name}")).unwrap();
        assert_eq!(path.objects(&objects, false).unwrap(), "a b");
        let columns = Format::parse(Some("custom-columns=NAME:.metadata.name,PHASE:.status.phase")).unwrap();
        assert_eq!(
            columns.objects(&objects, false).unwrap(),
            "NAME   PHASE\na      Running\nb      <none>\n"
        );
    }

    #[test]
    fn unknown_formats_list_the_allowed_ones() {
        let error = Format::parse(Some("xml")).unwrap_err().to_string();
        assert!(
            error.contains("allowed formats are: custom-columns,json,jsonpath,name,wide,yaml"),
            "{error}"
        );
        assert!(Format::parse(Some("custom-columns=NAME")).is_err());
        assert!(Format::parse(Some("jsonpath")).is_err());
    }
}

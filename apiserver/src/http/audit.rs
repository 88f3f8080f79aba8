//! The audit log, as kube-apiserver's log backend writes it: one `audit.k8s.io/v1` Event per request as a JSON
//! line (`--audit-log-path`), at the level the first matching rule of an `audit.k8s.io/v1` Policy
//! (`--audit-policy-file`) gives, `Metadata` for every request without one. An event records who, from where,
//! what (verb, resource, namespace, name, subresource), the response code and the timestamps; never a body, so no
//! Secret or token value reaches the log (`Request` and `RequestResponse` levels are recorded as `Metadata`).
//!
//! Lines are written by a thread of their own; a request waits only when that thread is many lines behind (the
//! log backend's blocking mode). The file is rotated at `max_size_bytes` into `PATH.1` … `PATH.<max_backups>`.

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::auth::pipeline::Caller;
use crate::auth::request::RequestInfo;

/// Where and how requests are audited.
#[derive(Clone, Debug)]
pub struct AuditConfig {
    /// The log file.
    pub path: PathBuf,
    /// An `audit.k8s.io/v1` Policy file; without one every request is logged at `Metadata`.
    pub policy: Option<PathBuf>,
    /// The size past which the file is rotated.
    pub max_size_bytes: u64,
    /// How many rotated files are kept.
    pub max_backups: usize,
}

impl AuditConfig {
    /// Logging to `path`, rotated at 100 MB with 10 files kept.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), policy: None, max_size_bytes: 100 << 20, max_backups: 10 }
    }
}

/// How much of a request is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum Level {
    None,
    Metadata,
    Request,
    RequestResponse,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Policy {
    api_version: String,
    kind: String,
    #[serde(default)]
    rules: Vec<Rule>,
    // Accepted and ignored: each request has one event, and no event holds an object.
    #[serde(default, rename = "metadata")]
    _metadata: Option<IgnoredAny>,
    #[serde(default, rename = "omitStages")]
    _omit_stages: Option<IgnoredAny>,
    #[serde(default, rename = "omitManagedFields")]
    _omit_managed_fields: Option<IgnoredAny>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Rule {
    level: Option<Level>,
    #[serde(default)]
    users: Vec<String>,
    #[serde(default)]
    user_groups: Vec<String>,
    #[serde(default)]
    verbs: Vec<String>,
    #[serde(default)]
    resources: Vec<GroupResources>,
    #[serde(default)]
    namespaces: Vec<String>,
    #[serde(default, rename = "nonResourceURLs")]
    non_resource_urls: Vec<String>,
    #[serde(default, rename = "omitStages")]
    _omit_stages: Option<IgnoredAny>,
    #[serde(default, rename = "omitManagedFields")]
    _omit_managed_fields: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GroupResources {
    #[serde(default)]
    group: String,
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    resource_names: Vec<String>,
}

/// The object a resource request is about.
struct ObjectRef {
    group: String,
    version: String,
    resource: String,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

/// What a request is about, as audit events and policy rules name it.
struct Attributes {
    verb: &'static str,
    object: Option<ObjectRef>,
    path: String,
}

impl Attributes {
    fn of(info: &RequestInfo) -> Self {
        let object = info.resource_request.then(|| ObjectRef {
            group: info.api_group.clone(),
            version: info.api_version.clone(),
            resource: info.resource.clone(),
            namespace: Some(info.namespace.clone()).filter(|n| !n.is_empty()),
            name: Some(info.name.clone()).filter(|n| !n.is_empty()),
            subresource: Some(info.subresource.clone()).filter(|s| !s.is_empty()),
        });
        Self { verb: info.verb, object, path: info.path.clone() }
    }
}

impl Rule {
    fn matches(&self, user: &str, groups: &[&str], attributes: &Attributes) -> bool {
        let listed = |list: &[String], value: &str| list.is_empty() || list.iter().any(|v| v == value);
        if !listed(&self.users, user) || !listed(&self.verbs, attributes.verb) {
            return false;
        }
        if !self.user_groups.is_empty() && !groups.iter().any(|g| self.user_groups.iter().any(|u| u == g)) {
            return false;
        }
        match &attributes.object {
            Some(ObjectRef { group, resource, namespace, name, subresource, .. }) => {
                if !self.non_resource_urls.is_empty() {
                    return false;
                }
                if !self.namespaces.is_empty()
                    && !self.namespaces.iter().any(|n| Some(n.as_str()) == namespace.as_deref())
                {
                    return false;
                }
                let resource = match subresource {
                    Some(sub) => format!("{resource}/{sub}"),
                    None => resource.clone(),
                };
                self.resources.is_empty()
                    || self.resources.iter().any(|r| {
                        r.group == *group
                            && (r.resources.is_empty()
                                || r.resources.iter().any(|x| x == "*" || *x == resource))
                            && (r.resource_names.is_empty()
                                || name.as_ref().is_some_and(|n| r.resource_names.contains(n)))
                    })
            }
            None => {
                self.resources.is_empty()
                    && self.namespaces.is_empty()
                    && (self.non_resource_urls.is_empty()
                        || self.non_resource_urls.iter().any(|u| match u.strip_suffix('*') {
                            Some(prefix) => attributes.path.starts_with(prefix),
                            None => *u == attributes.path,
                        }))
            }
        }
    }
}

/// A running audit log.
pub struct Audit {
    rules: Option<Vec<Rule>>,
    lines: SyncSender<String>,
}

impl Audit {
    /// Opens the log (creating its directory) and reads the policy; errors are one line.
    pub fn start(config: &AuditConfig) -> Result<Arc<Self>, String> {
        let rules = match &config.policy {
            None => None,
            Some(path) => Some(read_policy(path)?),
        };
        if let Some(dir) = config.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let file = open_log(&config.path)?;
        let (lines, queue) = sync_channel(65_536);
        let config = config.clone();
        std::thread::Builder::new()
            .name("audit-log".into())
            .spawn(move || write_lines(&config, file, &queue))
            .map_err(|e| format!("cannot start the audit log writer: {e}"))?;
        Ok(Arc::new(Self { rules, lines }))
    }

    fn level(&self, user: &str, groups: &[&str], attributes: &Attributes) -> Level {
        let Some(rules) = &self.rules else { return Level::Metadata };
        rules
            .iter()
            .find(|r| r.matches(user, groups, attributes))
            .and_then(|r| r.level)
            .unwrap_or(Level::None)
    }

    async fn record(&self, line: String) {
        match self.lines.try_send(line) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(line)) => {
                let lines = self.lines.clone();
                let _ = tokio::task::spawn_blocking(move || lines.send(line)).await;
            }
        }
    }
}

fn read_policy(path: &Path) -> Result<Vec<Rule>, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let policy: Policy = serde_yaml::from_str(&text).map_err(|e| format!("{shown}: {e}"))?;
    if policy.api_version != "audit.k8s.io/v1" || policy.kind != "Policy" {
        return Err(format!("{shown}: expected apiVersion audit.k8s.io/v1, kind Policy"));
    }
    if policy.rules.iter().any(|r| r.level.is_none()) {
        return Err(format!(
            "{shown}: every rule needs a level (None, Metadata, Request or RequestResponse)"
        ));
    }
    Ok(policy.rules)
}

fn open_log(path: &Path) -> Result<File, String> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open the audit log {}: {e}", path.display()))
}

/// How long the writer lets lines gather before it writes them: requests never wake it (a wake-up per request
/// costs more than the event), and the file is at most this far behind.
const WRITE_INTERVAL: std::time::Duration = std::time::Duration::from_millis(5);

/// Writes lines in batches, rotating the file when it grows past its size, until every sender is gone.
fn write_lines(config: &AuditConfig, file: File, queue: &Receiver<String>) {
    let mut size = file.metadata().map_or(0, |m| m.len());
    let mut out = BufWriter::with_capacity(256 << 10, file);
    loop {
        let mut wrote = false;
        let disconnected = loop {
            let line = match queue.try_recv() {
                Ok(line) => line,
                Err(TryRecvError::Empty) => break false,
                Err(TryRecvError::Disconnected) => break true,
            };
            if size > 0 && size + line.len() as u64 > config.max_size_bytes {
                flush(&mut out);
                rotate(config);
                match open_log(&config.path) {
                    Ok(fresh) => (out, size) = (BufWriter::with_capacity(256 << 10, fresh), 0),
                    Err(e) => tracing::error!(error = %e, "audit log rotation failed"),
                }
            }
            if let Err(e) = out.write_all(line.as_bytes()) {
                tracing::error!(error = %e, "cannot write the audit log");
            }
            size += line.len() as u64;
            wrote = true;
        };
        if wrote {
            flush(&mut out);
        }
        if disconnected {
            return;
        }
        std::thread::sleep(WRITE_INTERVAL);
    }
}

fn flush(out: &mut BufWriter<File>) {
    if let Err(e) = out.flush() {
        tracing::error!(error = %e, "cannot write the audit log");
    }
}

fn rotate(config: &AuditConfig) {
    let numbered = |n: usize| {
        let mut name = config.path.as_os_str().to_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    };
    if config.max_backups == 0 {
        let _ = std::fs::remove_file(&config.path);
        return;
    }
    let _ = std::fs::remove_file(numbered(config.max_backups));
    for n in (1..config.max_backups).rev() {
        let _ = std::fs::rename(numbered(n), numbered(n + 1));
    }
    let _ = std::fs::rename(&config.path, numbered(1));
}

/// The middleware: every request's event once its response starts.
pub async fn audited(State(audit): State<Arc<Audit>>, request: Request, next: Next) -> Response {
    let received = jiff::Timestamp::now();
    let caller = request.extensions().get::<Caller>().cloned();
    let info = caller.as_ref().map_or_else(
        || Arc::new(RequestInfo::parse(request.method(), request.uri().path(), request.uri().query())),
        |c| c.info.clone(),
    );
    // A failed authentication is recorded without a user, as kube-apiserver does; an impersonation under the
    // authenticated user, with whom it acted as.
    let impersonated = caller.as_ref().and_then(|c| c.impersonator.as_ref().and(c.user.clone()));
    let user = caller.and_then(|c| c.impersonator.or(c.user)).unwrap_or_default();
    let groups: Vec<&str> = user.groups.iter().map(String::as_str).collect();
    let attributes = Attributes::of(&info);
    let level = audit.level(&user.name, &groups, &attributes);
    if level == Level::None {
        return next.run(request).await;
    }
    let source = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let agent = request.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let uri = request.uri().to_string();
    let watch = attributes.verb == "watch";
    let response = next.run(request).await;
    let object = attributes.object.as_ref().map(|o| ObjectRefJson {
        resource: &o.resource,
        namespace: o.namespace.as_deref(),
        name: o.name.as_deref(),
        api_group: Some(o.group.as_str()).filter(|g| !g.is_empty()),
        api_version: &o.version,
        subresource: o.subresource.as_deref(),
    });
    let mut id = uuid::Uuid::encode_buffer();
    let event = EventJson {
        kind: "Event",
        api_version: "audit.k8s.io/v1",
        level: "Metadata",
        audit_id: uuid::Uuid::new_v4().hyphenated().encode_lower(&mut id),
        stage: if watch { "ResponseStarted" } else { "ResponseComplete" },
        request_uri: &uri,
        verb: attributes.verb,
        user: UserJson {
            username: &user.name,
            uid: Some(user.uid.as_str()).filter(|u| !u.is_empty()),
            groups: &user.groups,
            extra: Some(&user.extra).filter(|e| !e.is_empty()),
        },
        impersonated_user: impersonated.as_deref().map(|u| UserJson {
            username: &u.name,
            uid: Some(u.uid.as_str()).filter(|id| !id.is_empty()),
            groups: &u.groups,
            extra: Some(&u.extra).filter(|e| !e.is_empty()),
        }),
        source_ips: source.into_iter().collect(),
        user_agent: agent.as_deref(),
        object_ref: object,
        response_status: StatusJson { metadata: Empty {}, code: response.status().as_u16() },
        request_received_timestamp: received,
        stage_timestamp: jiff::Timestamp::now(),
    };
    match serde_json::to_string(&event) {
        Ok(mut line) => {
            line.push('\n');
            audit.record(line).await;
        }
        Err(e) => tracing::error!(error = %e, "cannot encode an audit event"),
    }
    response
}

/// An `audit.k8s.io/v1` Event at `Metadata` level, encoded straight from the request's parts.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventJson<'a> {
    kind: &'static str,
    api_version: &'static str,
    level: &'static str,
    #[serde(rename = "auditID")]
    audit_id: &'a str,
    stage: &'static str,
    #[serde(rename = "requestURI")]
    request_uri: &'a str,
    verb: &'a str,
    user: UserJson<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    impersonated_user: Option<UserJson<'a>>,
    #[serde(rename = "sourceIPs")]
    source_ips: Vec<std::net::IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    object_ref: Option<ObjectRefJson<'a>>,
    response_status: StatusJson,
    request_received_timestamp: jiff::Timestamp,
    stage_timestamp: jiff::Timestamp,
}

#[derive(Serialize)]
struct UserJson<'a> {
    username: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    uid: Option<&'a str>,
    groups: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    extra: Option<&'a std::collections::BTreeMap<String, Vec<String>>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ObjectRefJson<'a> {
    resource: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_group: Option<&'a str>,
    api_version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    subresource: Option<&'a str>,
}

#[derive(Serialize)]
struct StatusJson {
    metadata: Empty,
    code: u16,
}

#[derive(Serialize)]
struct Empty {}

//! Images: where a container's wasm comes from. `image:` is an absolute path or `file://` URL on the node, an
//! `http://` or `https://` URL, or a name in the node's images directory; any of them optionally pinned with
//! `@sha256:<hex>`. HTTPS trusts Mozilla's roots (compiled in) and the node's extra CA files.
//!
//! Names exist because kubectl's `run` and `create deployment` accept only docker reference syntax. A name is a
//! relative path such as `hello.wasm` or `guests/hello.wasm`; a `:tag` after its last `/` is dropped (tags are not
//! versions here: pin with a digest), and `.wasm` is appended when the name does not end with it, so `hello`,
//! `hello:v1` and `hello.wasm` all name `<images-dir>/hello.wasm`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use http_body_util::BodyExt;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use sha2::{Digest, Sha256};

use crate::once::Gates;

/// Largest image accepted over HTTP, so a hostile server cannot exhaust the node's memory.
const MAX_IMAGE_BYTES: usize = 256 << 20;
/// The longest an image body may take to arrive once the server has answered (256 MiB at ~1 MiB/s).
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// Why an image could not be pulled. [`Error::reason`] gives the Kubernetes waiting reason.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The reference is not one the node understands.
    #[error("image {0:?} is not an absolute path, a file:// URL, an http(s):// URL or a relative name")]
    InvalidReference(String),
    /// The file or URL could not be read.
    #[error("cannot pull {image}: {detail}")]
    Unreachable {
        /// The image.
        image: String,
        /// What went wrong.
        detail: String,
    },
    /// The content does not match the pinned digest.
    #[error("image {image} has digest sha256:{actual}, but sha256:{expected} was pinned")]
    DigestMismatch {
        /// The image.
        image: String,
        /// The pinned digest.
        expected: String,
        /// The digest of what was read.
        actual: String,
    },
}

impl Error {
    /// The container waiting reason this failure shows as.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidReference(_) => "InvalidImageName",
            Self::Unreachable { .. } => "ErrImagePull",
            Self::DigestMismatch { .. } => "ErrImageDigestMismatch",
        }
    }
}

/// The node's trust settings for https:// images are unusable; the agent does not start.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A CA file could not be read or holds no usable certificate.
    #[error("image CA file {}: {detail}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// rustls refused the client configuration.
    #[error("cannot set up TLS for images: {0}")]
    Setup(#[from] rustls::Error),
}

/// An image's bytes with their sha256.
#[derive(Clone)]
pub struct Image {
    /// Hex sha256 of the bytes.
    pub digest: String,
    /// The wasm bytes.
    pub bytes: Arc<[u8]>,
}

enum Source<'a> {
    File(&'a str),
    Http(&'a str),
    Named(&'a str),
}

/// Splits `reference@sha256:<hex>` into the location and the pinned digest.
fn split(image: &str) -> Result<(Source<'_>, Option<&str>), Error> {
    let (location, pin) = match image.rsplit_once("@sha256:") {
        Some((location, hex)) => (location, Some(hex)),
        None => (image, None),
    };
    // Windows names a node's files from a drive, with or without `file://`.
    #[cfg(windows)]
    if let Some(path) = drive_path(location.strip_prefix("file://").unwrap_or(location)) {
        return Ok((Source::File(path), pin));
    }
    let source = if let Some(path) = location.strip_prefix("file://") {
        Source::File(path)
    } else if location.starts_with("http://") || location.starts_with("https://") {
        Source::Http(location)
    } else if location.starts_with('/') {
        Source::File(location)
    } else if location.contains("://") {
        return Err(Error::InvalidReference(image.to_owned()));
    } else {
        Source::Named(location)
    };
    if let Source::File(path) = source
        && !path.starts_with('/')
    {
        return Err(Error::InvalidReference(image.to_owned()));
    }
    Ok((source, pin))
}

/// A path from a drive: `C:\dir\a.wasm`, `C:/dir/a.wasm`, `/C:/dir/a.wasm` (as `file:///C:/...` writes it) or the
/// verbatim `\\?\C:\...` that canonical paths take; `None` for anything else.
#[cfg(windows)]
fn drive_path(path: &str) -> Option<&str> {
    let path = path.strip_prefix(r"\\?\").or_else(|| path.strip_prefix('/')).unwrap_or(path);
    matches!(path.as_bytes(), [drive, b':', b'/' | b'\\', ..] if drive.is_ascii_alphabetic()).then_some(path)
}

/// The file a name stands for under `images_dir`; `None` when the name could leave it (`..`, empty components).
fn resolve_name(images_dir: &Path, name: &str) -> Option<PathBuf> {
    let untagged = match name.rsplit_once(':') {
        Some((path, tag)) if !tag.contains('/') => path,
        _ => name,
    };
    let mut path = images_dir.to_path_buf();
    for component in untagged.split('/') {
        if component.is_empty() || component == "." || component == ".." {
            return None;
        }
        path.push(component);
    }
    if !Path::new(untagged).extension().is_some_and(|e| e.eq_ignore_ascii_case("wasm")) {
        path.as_mut_os_string().push(".wasm");
    }
    Some(path)
}

/// The program name a guest sees as `argv[0]` for an image: its file name without `.wasm`, tag or digest.
pub fn program_name(image: &str) -> &str {
    let location = image.split('@').next().unwrap_or(image);
    #[cfg(not(windows))]
    let name = location.rsplit('/').next().unwrap_or(location);
    // A Windows path also separates with `\` and starts with a drive's `C:`.
    #[cfg(windows)]
    let name = location.rsplit(['/', '\\']).next().unwrap_or(location);
    let name = name.split(':').next().unwrap_or(name);
    name.strip_suffix(".wasm").unwrap_or(name)
}

impl Image {
    fn new(bytes: Vec<u8>) -> Self {
        Self { digest: hex::encode(Sha256::digest(&bytes)), bytes: bytes.into() }
    }
}

/// A file read before, with the size and modification time it had then.
struct Seen {
    len: u64,
    modified: SystemTime,
    image: Image,
}

/// A download in flight, awaited by every pull of its URL that arrives meanwhile.
type Download = Shared<BoxFuture<'static, Result<Image, String>>>;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

type Client =
    hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, http_body_util::Empty<bytes::Bytes>>;

/// Pulls images for a node, so that replicas of one image starting together read or download it once. Files are
/// remembered with their size and modification time (a file changed since is read again). URLs pinned by digest
/// are remembered for the node's life, since their content cannot change; pulls of other URLs share the fetch
/// in flight when they arrive.
pub struct Puller {
    images_dir: PathBuf,
    client: Client,
    files: Mutex<HashMap<PathBuf, Seen>>,
    reading: Gates<PathBuf>,
    /// By URL and lowercase hex digest.
    pinned: Mutex<HashMap<(String, String), Image>>,
    /// By URL.
    downloads: Mutex<HashMap<String, Download>>,
}

impl Puller {
    /// A puller resolving names in `images_dir` and trusting, besides Mozilla's roots, the CA certificates in the
    /// PEM files `ca_files` for https:// images.
    pub fn new(images_dir: impl Into<PathBuf>, ca_files: &[PathBuf]) -> Result<Self, TlsError> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(ca_files)?)
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            images_dir: images_dir.into(),
            client: hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(connector),
            files: Mutex::default(),
            reading: Gates::default(),
            pinned: Mutex::default(),
            downloads: Mutex::default(),
        })
    }

    /// The signature published beside a module: the file `<module>.sig` next to one on the node's disk, or the
    /// URL `<url>.sig` of a downloaded one; `None` when there is none.
    pub async fn signature(&self, image: &str) -> Option<String> {
        let path = match split(image).ok()?.0 {
            Source::File(path) => PathBuf::from(path),
            Source::Named(name) => resolve_name(&self.images_dir, name)?,
            Source::Http(url) => {
                let bytes = fetch(&self.client, &format!("{url}.sig")).await.ok()?;
                return String::from_utf8(bytes).ok();
            }
        };
        let mut name = path.file_name()?.to_os_string();
        name.push(".sig");
        tokio::fs::read_to_string(path.with_file_name(name)).await.ok()
    }

    /// Reads an image and checks its pin.
    pub async fn pull(&self, image: &str) -> Result<Image, Error> {
        let (source, pin) = split(image)?;
        let unreachable = |detail: String| Error::Unreachable { image: image.to_owned(), detail };
        let pulled = match source {
            Source::File(path) => self.file(Path::new(path)).await.map_err(|e| unreachable(e.to_string()))?,
            Source::Http(url) => self.http(url, pin).await.map_err(unreachable)?,
            Source::Named(name) => {
                let path = resolve_name(&self.images_dir, name)
                    .ok_or_else(|| Error::InvalidReference(image.to_owned()))?;
                self.file(&path).await.map_err(|e| unreachable(format!("{}: {e}", path.display())))?
            }
        };
        if let Some(expected) = pin
            && !expected.eq_ignore_ascii_case(&pulled.digest)
        {
            return Err(Error::DigestMismatch {
                image: image.to_owned(),
                expected: expected.to_owned(),
                actual: pulled.digest,
            });
        }
        Ok(pulled)
    }

    async fn file(&self, path: &Path) -> std::io::Result<Image> {
        let _turn = self.reading.turn(&path.to_path_buf()).await;
        let meta = tokio::fs::metadata(path).await?;
        let (len, modified) = (meta.len(), meta.modified()?);
        if let Some(seen) = lock(&self.files).get(path).filter(|s| s.len == len && s.modified == modified) {
            return Ok(seen.image.clone());
        }
        let image = Image::new(tokio::fs::read(path).await?);
        lock(&self.files).insert(path.to_path_buf(), Seen { len, modified, image: image.clone() });
        Ok(image)
    }

    /// Downloads `url`, or takes what a concurrent pull of it downloaded, or what was pinned before.
    async fn http(&self, url: &str, pin: Option<&str>) -> Result<Image, String> {
        let key = pin.map(|hex| (url.to_owned(), hex.to_ascii_lowercase()));
        let remembered = || key.as_ref().and_then(|key| lock(&self.pinned).get(key).cloned());
        if let Some(image) = remembered() {
            return Ok(image);
        }
        let download = lock(&self.downloads)
            .entry(url.to_owned())
            .or_insert_with(|| {
                let (client, url) = (self.client.clone(), url.to_owned());
                async move { fetch(&client, &url).await.map(Image::new) }.boxed().shared()
            })
            .clone();
        let result = download.clone().await;
        // The first pull to see it finished forgets it: pulls from now on download again.
        let mut downloads = lock(&self.downloads);
        if downloads.get(url).is_some_and(|d| d.ptr_eq(&download)) {
            downloads.remove(url);
        }
        drop(downloads);
        if let (Some(key), Ok(image)) = (key, &result)
            && image.digest == key.1
        {
            lock(&self.pinned).insert(key, image.clone());
        }
        result
    }
}

/// Mozilla's roots and the CA certificates in `ca_files`, on ring.
fn tls_config(ca_files: &[PathBuf]) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    for path in ca_files {
        let bad = |detail: String| TlsError::CaFile { path: path.clone(), detail };
        let pem = std::fs::read(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
        let certificates = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(format!("not valid PEM: {e}")))?;
        if certificates.is_empty() {
            return Err(bad("no PEM certificate (-----BEGIN CERTIFICATE-----) in it".into()));
        }
        for (i, certificate) in certificates.into_iter().enumerate() {
            roots.add(certificate).map_err(|e| bad(format!("certificate {} is unusable: {e}", i + 1)))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

async fn fetch(client: &Client, url: &str) -> Result<Vec<u8>, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("bad URL: {e}"))?;
    let response = tokio::time::timeout(std::time::Duration::from_secs(30), client.get(uri))
        .await
        .map_err(|_| "timed out".to_owned())?
        .map_err(|e| describe(&e))?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let body = http_body_util::Limited::new(response.into_body(), MAX_IMAGE_BYTES);
    // A server that stalls mid-body must not hold every replica waiting on this shared download for ever.
    tokio::time::timeout(BODY_TIMEOUT, body.collect())
        .await
        .map_err(|_| format!("the download did not finish in {} s", BODY_TIMEOUT.as_secs()))?
        .map(|b| b.to_bytes().to_vec())
        .map_err(|e| describe(&*e))
}

/// An error and its causes on one line: hyper's own message ("client error (Connect)") names none of them. A
/// rustls error is marked as TLS, with a hint when the server's certificate is signed by an unknown CA.
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let part = match tls_error(e) {
            Some(tls @ rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)) => {
                format!("TLS error: {tls} (signed by no trusted CA; see the node's --image-ca)")
            }
            Some(tls) => format!("TLS error: {tls}"),
            None => e.to_string(),
        };
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = e.source();
    }
    text
}

/// The rustls error in `error`, which tokio-rustls and hyper-rustls wrap in I/O errors.
fn tls_error<'a>(mut error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    loop {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        error = error.downcast_ref::<std::io::Error>()?.get_ref()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pulls_files_and_checks_pins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wasm");
        std::fs::write(&path, b"\0asm\x01\0\0\0").unwrap();
        let puller = Puller::new(dir.path(), &[]).unwrap();
        let image = puller.pull(&path.display().to_string()).await.unwrap();
        let pinned = format!("file://{}@sha256:{}", path.display(), image.digest);
        assert_eq!(puller.pull(&pinned).await.unwrap().digest, image.digest);
        let wrong = format!("{}@sha256:{}", path.display(), "0".repeat(64));
        assert_eq!(puller.pull(&wrong).await.err().unwrap().reason(), "ErrImageDigestMismatch");
        assert_eq!(puller.pull("/nope/missing.wasm").await.err().unwrap().reason(), "ErrImagePull");
        assert_eq!(puller.pull("nginx:latest").await.err().unwrap().reason(), "ErrImagePull");
        assert_eq!(puller.pull("ftp://x/a.wasm").await.err().unwrap().reason(), "InvalidImageName");
        for name in ["a.wasm", "a", "a:v1", "a.wasm:latest", &format!("a@sha256:{}", image.digest)] {
            assert_eq!(puller.pull(name).await.unwrap().digest, image.digest, "{name}");
        }
        // A file changed in place is read again.
        std::fs::write(&path, b"\0asm\x01\0\0\0\0").unwrap();
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(later).unwrap();
        assert_ne!(puller.pull(&path.display().to_string()).await.unwrap().digest, image.digest);
    }

    const WASM: &[u8] = b"\0asm\x01\0\0\0";

    /// A CA made for the test (as PEM) and a TLS acceptor whose certificate for 127.0.0.1 it signed.
    fn certificates() -> (String, tokio_rustls::TlsAcceptor) {
        let mut ca = rcgen::CertificateParams::default();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name.push(rcgen::DnType::CommonName, "Wharf test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca, rcgen::KeyPair::generate().unwrap()).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&key, &*ca)
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
            )
            .unwrap();
        (ca.pem(), tokio_rustls::TlsAcceptor::from(Arc::new(config)))
    }

    /// Serves [`WASM`] at `/a.wasm` (404 elsewhere) on 127.0.0.1, over TLS when given an acceptor; returns the
    /// base URL and the count of requests served.
    async fn serve(tls: Option<tokio_rustls::TlsAcceptor>) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base =
            format!("{}://{}", if tls.is_some() { "https" } else { "http" }, listener.local_addr().unwrap());
        let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = requests.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (tls, counter) = (tls.clone(), counter.clone());
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            let (status, body) =
                                if request.uri().path() == "/a.wasm" { (200, WASM) } else { (404, &b""[..]) };
                            let response = http::Response::builder()
                                .status(status)
                                .body(http_body_util::Full::new(bytes::Bytes::from_static(body)));
                            std::future::ready(response)
                        });
                    let http = hyper::server::conn::http1::Builder::new();
                    let _ = match tls {
                        Some(tls) => match tls.accept(tcp).await {
                            Ok(stream) => {
                                http.serve_connection(hyper_util::rt::TokioIo::new(stream), service).await
                            }
                            Err(_) => return,
                        },
                        None => http.serve_connection(hyper_util::rt::TokioIo::new(tcp), service).await,
                    };
                });
            }
        });
        (base, requests)
    }

    #[tokio::test]
    async fn pulls_over_https_with_the_configured_ca() {
        use std::sync::atomic::Ordering::SeqCst;
        let (ca, acceptor) = certificates();
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca).unwrap();
        let (base, requests) = serve(Some(acceptor)).await;
        let url = format!("{base}/a.wasm");
        let digest = hex::encode(Sha256::digest(WASM));

        // Without the CA, the server's certificate is refused, and the message says why.
        let untrusting = Puller::new(dir.path(), &[]).unwrap();
        let error = untrusting.pull(&url).await.err().unwrap();
        assert_eq!(error.reason(), "ErrImagePull");
        let message = error.to_string();
        assert!(
            message.contains("TLS error: invalid peer certificate") && message.contains("--image-ca"),
            "{message}"
        );

        let puller = Puller::new(dir.path(), std::slice::from_ref(&ca_file)).unwrap();
        assert_eq!(puller.pull(&url).await.unwrap().digest, digest);
        let missing = puller.pull(&format!("{base}/missing.wasm")).await.err().unwrap();
        assert!(missing.to_string().ends_with("HTTP 404 Not Found"), "{missing}");

        // Replicas starting together share one download of an unpinned URL; a later pull downloads again.
        requests.store(0, SeqCst);
        let together = futures::future::join_all((0..5).map(|_| puller.pull(&url))).await;
        assert!(together.iter().all(|pulled| pulled.as_ref().is_ok_and(|i| i.digest == digest)));
        assert_eq!(requests.load(SeqCst), 1);
        puller.pull(&url).await.unwrap();
        assert_eq!(requests.load(SeqCst), 2);
        assert!(lock(&puller.downloads).is_empty(), "downloads are forgotten once finished");

        // A pinned URL is checked, then downloaded once for the node's life; a wrong pin is never remembered.
        requests.store(0, SeqCst);
        let wrong = puller.pull(&format!("{url}@sha256:{}", "0".repeat(64))).await.err().unwrap();
        assert_eq!(wrong.reason(), "ErrImageDigestMismatch");
        let pinned = format!("{url}@sha256:{}", digest.to_uppercase());
        for _ in 0..3 {
            assert_eq!(puller.pull(&pinned).await.unwrap().digest, digest);
        }
        assert_eq!(requests.load(SeqCst), 2);
    }

    #[tokio::test]
    async fn pulls_over_plain_http() {
        let (base, _) = serve(None).await;
        let puller = Puller::new("/nonexistent", &[]).unwrap();
        assert_eq!(puller.pull(&format!("{base}/a.wasm")).await.unwrap().bytes.as_ref(), WASM);
        let refused = puller.pull("http://127.0.0.1:1/a.wasm").await.err().unwrap();
        assert!(refused.to_string().contains("Connection refused"), "{refused}");
    }

    #[test]
    fn unusable_ca_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").unwrap();
        for (file, expected) in [
            (dir.path().join("missing.pem"), "cannot read it"),
            (empty, "no PEM certificate"),
            (garbage, "certificate 1 is unusable"),
        ] {
            let error = Puller::new(dir.path(), std::slice::from_ref(&file)).err().unwrap().to_string();
            assert!(error.starts_with(&format!("image CA file {}: {expected}", file.display())), "{error}");
            assert!(!error.contains('\n'), "{error}");
        }
    }

    #[test]
    fn names_resolve_under_the_images_dir() {
        let dir = Path::new("/img");
        let cases = [
            ("hello.wasm", Some("/img/hello.wasm")),
            ("hello", Some("/img/hello.wasm")),
            ("hello:v2", Some("/img/hello.wasm")),
            ("guests/hello.wasm:v2", Some("/img/guests/hello.wasm")),
            ("localhost:5000/hello", Some("/img/localhost:5000/hello.wasm")),
            ("../etc/passwd", None),
            ("a//b", None),
            ("a/./b", None),
        ];
        for (name, expected) in cases {
            assert_eq!(resolve_name(dir, name), expected.map(PathBuf::from), "{name}");
        }
    }

    #[test]
    fn program_names() {
        for (image, expected) in
            [("/x/hello.wasm@sha256:00", "hello"), ("hello.wasm:v1", "hello"), ("http://h:8/a/b.wasm", "b")]
        {
            assert_eq!(program_name(image), expected, "{image}");
        }
    }
}

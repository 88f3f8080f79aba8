//! Images: where a container's wasm comes from. `image:` is an absolute path or `file://` URL on the node, an
//! `http://` URL, or a name in the node's images directory; any of them optionally pinned with `@sha256:<hex>`.
//!
//! Names exist because kubectl's `run` and `create deployment` accept only docker reference syntax. A name is a
//! relative path such as `hello.wasm` or `guests/hello.wasm`; a `:tag` after its last `/` is dropped (tags are not
//! versions here: pin with a digest), and `.wasm` is appended when the name does not end with it, so `hello`,
//! `hello:v1` and `hello.wasm` all name `<images-dir>/hello.wasm`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use http_body_util::BodyExt;
use sha2::{Digest, Sha256};

/// Largest image accepted over HTTP, so a hostile server cannot exhaust the node's memory.
const MAX_IMAGE_BYTES: usize = 256 << 20;

/// Why an image could not be pulled. [`Error::reason`] gives the Kubernetes waiting reason.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The reference is not one the node understands.
    #[error("image {0:?} is not an absolute path, a file:// URL, an http:// URL or a relative name")]
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
    let source = if let Some(path) = location.strip_prefix("file://") {
        Source::File(path)
    } else if location.starts_with("http://") {
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
    let name = location.rsplit('/').next().unwrap_or(location);
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

/// Pulls images for a node. Files are remembered with their size and modification time, so that starting many
/// replicas of one image reads and hashes its file once (a file changed since is read again).
pub struct Puller {
    images_dir: PathBuf,
    files: Mutex<HashMap<PathBuf, Seen>>,
}

impl Puller {
    /// A puller resolving names in `images_dir`.
    pub fn new(images_dir: impl Into<PathBuf>) -> Self {
        Self { images_dir: images_dir.into(), files: Mutex::new(HashMap::new()) }
    }

    /// Reads an image and checks its pin.
    pub async fn pull(&self, image: &str) -> Result<Image, Error> {
        let (source, pin) = split(image)?;
        let unreachable = |detail: String| Error::Unreachable { image: image.to_owned(), detail };
        let pulled = match source {
            Source::File(path) => self.file(Path::new(path)).await.map_err(|e| unreachable(e.to_string()))?,
            Source::Http(url) => Image::new(fetch(url).await.map_err(unreachable)?),
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
        let meta = tokio::fs::metadata(path).await?;
        let (len, modified) = (meta.len(), meta.modified()?);
        let files = || self.files.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(seen) = files().get(path).filter(|s| s.len == len && s.modified == modified) {
            return Ok(seen.image.clone());
        }
        let image = Image::new(tokio::fs::read(path).await?);
        files().insert(path.to_path_buf(), Seen { len, modified, image: image.clone() });
        Ok(image)
    }
}

async fn fetch(url: &str) -> Result<Vec<u8>, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("bad URL: {e}"))?;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let response = tokio::time::timeout(std::time::Duration::from_secs(30), client.get(uri))
        .await
        .map_err(|_| "timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let body = http_body_util::Limited::new(response.into_body(), MAX_IMAGE_BYTES);
    body.collect().await.map(|b| b.to_bytes().to_vec()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pulls_files_and_checks_pins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wasm");
        std::fs::write(&path, b"\0asm\x01\0\0\0").unwrap();
        let puller = Puller::new(dir.path());
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

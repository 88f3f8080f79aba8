//! Images: where a container's wasm comes from. `image:` is an absolute path or `file://` URL on the node, or an
//! `http://` URL, optionally pinned with `@sha256:<hex>`.

use std::sync::Arc;

use http_body_util::BodyExt;
use sha2::{Digest, Sha256};

/// Largest image accepted over HTTP, so a hostile server cannot exhaust the node's memory.
const MAX_IMAGE_BYTES: usize = 256 << 20;

/// Why an image could not be pulled. [`Error::reason`] gives the Kubernetes waiting reason.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The reference is not one the node understands.
    #[error("image {0:?} is not an absolute path, a file:// URL or an http:// URL")]
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
    } else {
        return Err(Error::InvalidReference(image.to_owned()));
    };
    if let Source::File(path) = source
        && !path.starts_with('/')
    {
        return Err(Error::InvalidReference(image.to_owned()));
    }
    Ok((source, pin))
}

/// Reads an image and checks its pin.
pub async fn pull(image: &str) -> Result<Image, Error> {
    let (source, pin) = split(image)?;
    let unreachable = |detail: String| Error::Unreachable { image: image.to_owned(), detail };
    let bytes: Vec<u8> = match source {
        Source::File(path) => tokio::fs::read(path).await.map_err(|e| unreachable(e.to_string()))?,
        Source::Http(url) => fetch(url).await.map_err(unreachable)?,
    };
    let digest = hex::encode(Sha256::digest(&bytes));
    if let Some(expected) = pin
        && !expected.eq_ignore_ascii_case(&digest)
    {
        return Err(Error::DigestMismatch {
            image: image.to_owned(),
            expected: expected.to_owned(),
            actual: digest,
        });
    }
    Ok(Image { digest, bytes: bytes.into() })
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
        let image = pull(&path.display().to_string()).await.unwrap();
        let pinned = format!("file://{}@sha256:{}", path.display(), image.digest);
        assert_eq!(pull(&pinned).await.unwrap().digest, image.digest);
        let wrong = format!("{}@sha256:{}", path.display(), "0".repeat(64));
        assert_eq!(pull(&wrong).await.err().unwrap().reason(), "ErrImageDigestMismatch");
        assert_eq!(pull("/nope/missing.wasm").await.err().unwrap().reason(), "ErrImagePull");
        assert_eq!(pull("nginx:latest").await.err().unwrap().reason(), "InvalidImageName");
    }
}

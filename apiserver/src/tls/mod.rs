//! Serving the API: HTTPS with optional client certificates through [`pki::serve`] (plain HTTP where the
//! operator asked for it on loopback), and the cluster's certificates in [`credentials`].

pub mod credentials;

pub use pki::{PeerIdentity, serve};

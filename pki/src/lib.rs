//! The cluster's certificates: a CA, the serving and client certificates it issues, node CSRs, and the
//! rustls configurations that use them, and [`serve`]: an axum app over TLS.
//!
//! Kubernetes maps an x509 client certificate to a user by its subject: the common name is the user name
//! and each organization is a group. rcgen keeps one value per attribute type in a subject, so subjects are
//! encoded here (`O=...` once per group, then `CN=...`) and put into the certificate or request rcgen built,
//! which is then signed again. Every key made here is ECDSA P-256.

pub mod serve;

pub use serve::{PeerIdentity, serve};

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType, SerialNumber, SigningKey,
    SubjectPublicKeyInfo,
};
use ring::rand::{SecureRandom, SystemRandom};
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateSigningRequestDer, PrivateKeyDer};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

/// How long a CA made by [`Ca::generate`] is valid: ten years.
pub const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// The most a certificate's start is moved into the past, so that clocks a little behind still accept it.
const MAX_BACKDATE_SECS: u64 = 5 * 60;

/// The only application protocol spoken over TLS: the server speaks HTTP/1.1.
const ALPN_HTTP11: &[u8] = b"http/1.1";

/// Why a certificate, key, request or TLS configuration could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// rcgen refused the parameters or the key.
    #[error("cannot make the {what}: {source}; check the names and the validity asked for")]
    Generate {
        /// What was being made.
        what: &'static str,
        /// What rcgen said.
        source: rcgen::Error,
    },
    /// A PEM input held nothing usable.
    #[error("cannot read the {what} as PEM ({reason}); supply a PEM-encoded {what}")]
    Pem {
        /// What was being read.
        what: &'static str,
        /// What the PEM reader said.
        reason: String,
    },
    /// A DER structure could not be parsed.
    #[error("cannot parse the {what} ({reason}); supply a well-formed X.509 {what}")]
    Parse {
        /// What was being parsed.
        what: &'static str,
        /// What the parser said.
        reason: String,
    },
    /// A certificate given as a CA cannot sign certificates.
    #[error("the CA certificate has no basicConstraints CA:TRUE; supply a CA certificate")]
    NotCa,
    /// A private key does not belong to the certificate it came with.
    #[error("the private key does not match the certificate; supply the key the certificate was issued for")]
    KeyMismatch,
    /// A certificate signing request is not signed by the key it carries.
    #[error("the certificate signing request's signature does not verify ({0}); make the request again")]
    CsrSignature(String),
    /// A certificate signing request asks for a kind of subject alternative name that is not issued.
    #[error(
        "the certificate signing request asks for a {0} subject alternative name; ask only for DNS names and IP addresses"
    )]
    UnsupportedSan(&'static str),
    /// A subject has no common name, or more than one.
    #[error("the {what} has {count} common names; it needs exactly one (the user name)")]
    CommonName {
        /// What the subject belongs to.
        what: &'static str,
        /// How many common names it has.
        count: usize,
    },
    /// A validity shorter than one second was asked for.
    #[error("a certificate's validity must be at least one second; ask for a longer validity")]
    Validity,
    /// rustls refused a certificate, key or setting.
    #[error("cannot build the TLS configuration ({0}); check the certificates and keys given")]
    Tls(#[from] rustls::Error),
    /// The client certificate verifier could not be built from the client CA.
    #[error(
        "cannot verify client certificates with the client CA ({0}); supply a valid client CA certificate"
    )]
    ClientVerifier(#[from] rustls::server::VerifierBuilderError),
    /// The operating system's random generator failed.
    #[error("the system random generator failed; check that the OS provides getrandom")]
    Random,
}

/// The result type of this module.
pub type Result<T, E = PkiError> = std::result::Result<T, E>;

/// A subject alternative name of a serving certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum San {
    /// A DNS name, such as `localhost` or `kubernetes.default.svc`.
    Dns(String),
    /// An IP address.
    Ip(IpAddr),
}

impl San {
    fn to_rcgen(&self) -> Result<SanType> {
        match self {
            San::Dns(name) => name
                .as_str()
                .try_into()
                .map(SanType::DnsName)
                .map_err(|source| PkiError::Generate { what: "subject alternative name", source }),
            San::Ip(ip) => Ok(SanType::IpAddress(*ip)),
        }
    }
}

/// What a certificate signed from a request may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// TLS client authentication (extended key usage clientAuth).
    Client,
    /// A TLS server (extended key usage serverAuth).
    Serving,
}

/// A certificate issued together with its new private key, both PEM-encoded.
#[derive(Clone, PartialEq, Eq)]
pub struct Issued {
    /// The certificate (`CERTIFICATE`).
    pub cert_pem: String,
    /// Its private key (PKCS#8 `PRIVATE KEY`).
    pub key_pem: String,
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued").field("cert_pem", &self.cert_pem).field("key_pem", &"[elided]").finish()
    }
}

/// What a certificate signing request asks for: its identity and its subject alternative names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrSubject {
    /// The subject's common name: the user name (`system:node:<name>` for a node).
    pub common_name: String,
    /// The subject's organizations: the groups (`system:nodes` for a node).
    pub organizations: Vec<String>,
    /// DNS subject alternative names.
    pub dns_names: Vec<String>,
    /// IP address subject alternative names.
    pub ip_addresses: Vec<IpAddr>,
}

/// The cluster's certificate authority: its certificate and ECDSA key pair.
pub struct Ca {
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

impl fmt::Debug for Ca {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ca").field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

impl Ca {
    /// Makes a new self-signed CA with an ECDSA P-256 key, valid for ten years, named `common_name`
    /// (such as `wharf-ca`).
    pub fn generate(common_name: &str) -> Result<Ca> {
        let what = "CA certificate";
        let key = new_key()?;
        let mut params = base_params(CA_VALIDITY)?;
        params.distinguished_name = placeholder_name(common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let cert = params.self_signed(&key).map_err(|source| PkiError::Generate { what, source })?;
        let cert_der = cert.der().clone();
        Ok(Ca { cert_pem: pem_encode("CERTIFICATE", &cert_der), cert_der, issuer: Issuer::new(params, key) })
    }

    /// Loads an existing CA: its certificate (the first one in `cert_pem`) and its PKCS#8 private key.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Ca> {
        let cert_der = first_cert(cert_pem, "CA certificate")?;
        let key = KeyPair::from_pem(key_pem).map_err(|e| PkiError::Pem {
            what: "CA private key (PKCS#8 PRIVATE KEY)",
            reason: e.to_string(),
        })?;
        let (_, x509) = x509_parser::parse_x509_certificate(&cert_der)
            .map_err(|e| PkiError::Parse { what: "CA certificate", reason: e.to_string() })?;
        if !x509.is_ca() {
            return Err(PkiError::NotCa);
        }
        if x509.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return Err(PkiError::KeyMismatch);
        }
        let issuer = Issuer::from_ca_cert_der(&cert_der, key)
            .map_err(|e| PkiError::Parse { what: "CA certificate", reason: e.to_string() })?;
        Ok(Ca { cert_pem: pem_encode("CERTIFICATE", &cert_der), cert_der, issuer })
    }

    /// The CA certificate, PEM-encoded: what clients and servers trust.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA certificate, DER-encoded.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The CA's private key, PKCS#8 PEM: to persist with [`write_private`].
    pub fn key_pem(&self) -> String {
        self.issuer.key().serialize_pem()
    }

    /// Issues a serving certificate for `sans` with a new key, valid for `validity` from now.
    pub fn issue_serving(&self, common_name: &str, sans: &[San], validity: Duration) -> Result<Issued> {
        let key = new_key()?;
        let sans = sans.iter().map(San::to_rcgen).collect::<Result<Vec<_>>>()?;
        let subject = encode_name(common_name, &[]);
        let der = self.sign_leaf(common_name, &subject, sans, Usage::Serving, validity, &key)?;
        Ok(Issued { cert_pem: pem_encode("CERTIFICATE", &der), key_pem: key.serialize_pem() })
    }

    /// Issues a client certificate for `user` in `groups` (CN = user, one O per group) with a new key,
    /// valid for `validity` from now.
    pub fn issue_client(&self, user: &str, groups: &[&str], validity: Duration) -> Result<Issued> {
        let key = new_key()?;
        let subject = encode_name(user, groups);
        let der = self.sign_leaf(user, &subject, Vec::new(), Usage::Client, validity, &key)?;
        Ok(Issued { cert_pem: pem_encode("CERTIFICATE", &der), key_pem: key.serialize_pem() })
    }

    /// Signs a PKCS#10 request (after checking its signature): the certificate keeps the request's
    /// subject and DNS and IP subject alternative names, is never a CA, and has the extended key usage
    /// of `usage`; whatever else the request asks for is ignored. Returns the certificate, PEM-encoded.
    pub fn sign_csr(&self, csr_pem: &str, usage: Usage, validity: Duration) -> Result<String> {
        let der = csr_der(csr_pem)?;
        let csr = parse_csr(&der)?;
        let info = &csr.certification_request_info;
        let subject = read_subject(&info.subject, "certificate signing request")?;
        let mut sans = Vec::new();
        for san in csr_sans(&csr)? {
            sans.push(San::to_rcgen(&san)?);
        }
        let public_key = SubjectPublicKeyInfo::from_der(info.subject_pki.raw)
            .map_err(|source| PkiError::Generate { what: "certificate for the request's key", source })?;
        let der =
            self.sign_leaf(&subject.common_name, info.subject.as_raw(), sans, usage, validity, &public_key)?;
        Ok(pem_encode("CERTIFICATE", &der))
    }

    /// Signs an end-entity certificate for `public_key` with the subject `subject` (DER).
    fn sign_leaf(
        &self,
        common_name: &str,
        subject: &[u8],
        sans: Vec<SanType>,
        usage: Usage,
        validity: Duration,
        public_key: &impl rcgen::PublicKeyData,
    ) -> Result<Vec<u8>> {
        let what = "certificate";
        let mut params = base_params(validity)?;
        params.distinguished_name = placeholder_name(common_name);
        params.subject_alt_names = sans;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![match usage {
            Usage::Client => ExtendedKeyUsagePurpose::ClientAuth,
            Usage::Serving => ExtendedKeyUsagePurpose::ServerAuth,
        }];
        params.use_authority_key_identifier_extension = true;
        let cert = params
            .signed_by(public_key, &self.issuer)
            .map_err(|source| PkiError::Generate { what, source })?;
        resign_with_subject(cert.der(), Signed::Certificate, subject, self.issuer.key())
    }
}

/// Makes a certificate signing request for `common_name` in `organizations` with `sans`, and its new
/// key: what a node agent sends to be given its certificates. Returns (request PEM, PKCS#8 key PEM).
pub fn make_csr(common_name: &str, organizations: &[&str], sans: &[San]) -> Result<(String, String)> {
    let what = "certificate signing request";
    let key = new_key()?;
    let mut params = CertificateParams::default();
    params.distinguished_name = placeholder_name(common_name);
    params.subject_alt_names = sans.iter().map(San::to_rcgen).collect::<Result<Vec<_>>>()?;
    let csr = params.serialize_request(&key).map_err(|source| PkiError::Generate { what, source })?;
    let der =
        resign_with_subject(csr.der(), Signed::Request, &encode_name(common_name, organizations), &key)?;
    Ok((pem_encode("CERTIFICATE REQUEST", &der), key.serialize_pem()))
}

/// Reads what a certificate signing request asks for, after checking its signature: so that a node's
/// request can be checked to ask for `system:node:<name>` in `system:nodes` before it is approved.
pub fn csr_subject(csr_pem: &str) -> Result<CsrSubject> {
    let der = csr_der(csr_pem)?;
    let csr = parse_csr(&der)?;
    let (common_name, organizations) =
        read_subject(&csr.certification_request_info.subject, "certificate signing request")
            .map(|s| (s.common_name, s.organizations))?;
    let mut subject =
        CsrSubject { common_name, organizations, dns_names: Vec::new(), ip_addresses: Vec::new() };
    for san in csr_sans(&csr)? {
        match san {
            San::Dns(name) => subject.dns_names.push(name),
            San::Ip(ip) => subject.ip_addresses.push(ip),
        }
    }
    Ok(subject)
}

/// The identity a client certificate (DER) stands for: (user = common name, groups = organizations).
pub fn identity_of(cert_der: &[u8]) -> Result<(String, Vec<String>)> {
    let (_, cert) = x509_parser::parse_x509_certificate(cert_der)
        .map_err(|e| PkiError::Parse { what: "client certificate", reason: e.to_string() })?;
    let subject = read_subject(cert.subject(), "client certificate")?;
    Ok((subject.common_name, subject.organizations))
}

/// When the (first) certificate in `cert_pem` stops being valid.
pub fn not_after(cert_pem: &str) -> Result<jiff::Timestamp> {
    validity_of(cert_pem).map(|(_, end)| end)
}

/// Whether the (first) certificate in `cert_pem` should be renewed at `now`: when less than a third of
/// its total validity remains, or it cannot be read.
pub fn needs_renewal(cert_pem: &str, now: jiff::Timestamp) -> bool {
    let Ok((start, end)) = validity_of(cert_pem) else {
        return true;
    };
    let total = i128::from(end.as_millisecond()) - i128::from(start.as_millisecond());
    let remaining = i128::from(end.as_millisecond()) - i128::from(now.as_millisecond());
    remaining * 3 < total
}

/// A rustls server configuration serving `cert_chain_pem` (leaf first) with `key_pem`, speaking TLS 1.2
/// and 1.3 with ALPN `http/1.1`. With `client_ca_pem`, client certificates are asked for and must be
/// signed by that CA, but clients without one are let in (they may authenticate with a token).
pub fn server_config(
    cert_chain_pem: &str,
    key_pem: &str,
    client_ca_pem: Option<&str>,
) -> Result<ServerConfig> {
    server_config_with_resolver(ReloadableCert::new(cert_chain_pem, key_pem)?, client_ca_pem)
}

/// [`server_config`] whose certificate comes from `resolver`, so it can be renewed without a restart.
pub fn server_config_with_resolver(
    resolver: Arc<ReloadableCert>,
    client_ca_pem: Option<&str>,
) -> Result<ServerConfig> {
    let provider = provider();
    let builder =
        ServerConfig::builder_with_provider(provider.clone()).with_protocol_versions(rustls::ALL_VERSIONS)?;
    let builder = match client_ca_pem {
        Some(pem) => {
            let roots = root_store(pem, "client CA certificate")?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(resolver);
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    Ok(config)
}

/// A rustls server configuration for a peer-to-peer endpoint: every client must present a certificate the CA in
/// `client_ca_pem` signed.
pub fn server_config_requiring_clients(
    cert_chain_pem: &str,
    key_pem: &str,
    client_ca_pem: &str,
) -> Result<ServerConfig> {
    let provider = provider();
    let roots = root_store(client_ca_pem, "client CA certificate")?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build()?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(ReloadableCert::new(cert_chain_pem, key_pem)?);
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    Ok(config)
}

/// A rustls client configuration that trusts only the CA in `ca_pem` (no public roots), offers ALPN
/// `http/1.1`, and with `client` authenticates with that (certificate PEM, key PEM).
pub fn client_config(ca_pem: &str, client: Option<(&str, &str)>) -> Result<ClientConfig> {
    let roots = root_store(ca_pem, "CA certificate")?;
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(rustls::ALL_VERSIONS)?
        .with_root_certificates(roots);
    let mut config = match client {
        Some((cert_pem, key_pem)) => builder
            .with_client_auth_cert(cert_chain(cert_pem, "client certificate")?, private_key(key_pem)?)?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    Ok(config)
}

/// A serving certificate that can be replaced while the server runs: new handshakes get the new one
/// (a client resuming an earlier TLS session is not sent a certificate again).
#[derive(Debug)]
pub struct ReloadableCert {
    current: RwLock<Arc<CertifiedKey>>,
}

impl ReloadableCert {
    /// Starts with `cert_pem` (chain, leaf first) and its `key_pem`.
    pub fn new(cert_pem: &str, key_pem: &str) -> Result<Arc<Self>> {
        Ok(Arc::new(Self { current: RwLock::new(certified_key(cert_pem, key_pem)?) }))
    }

    /// Serves `cert_pem` and `key_pem` from the next handshake on; the current ones stay if these are bad.
    pub fn replace(&self, cert_pem: &str, key_pem: &str) -> Result<()> {
        let next = certified_key(cert_pem, key_pem)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = next;
        Ok(())
    }

    /// The certificate and key served now.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl ResolvesServerCert for ReloadableCert {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// Writes `contents` to `path` readable by its owner only (mode 0600 on unix), replacing any file there
/// atomically: a temporary file in the same directory is written, synced and renamed over it.
pub fn write_private(path: &Path, contents: &str) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?
        .to_string_lossy();
    let temp =
        dir.join(format!(".{name}.tmp-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let written = write_new_private(&temp, contents).and_then(|()| fs::rename(&temp, path));
    if written.is_err() {
        let _ = fs::remove_file(&temp);
        return written;
    }
    // Make the rename durable; some file systems cannot sync a directory, which loses nothing written.
    if let Ok(dir) = fs::File::open(&dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Says once that files cannot be made owner-only here (Windows has no Unix modes): private keys and
/// kubeconfigs then get the access rules their directory passes on, so it must be one only their owner reads.
#[cfg(not(unix))]
pub fn warn_not_owner_only() {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        tracing::warn!(
            "files holding keys cannot be made owner-only on this platform: keep the data directory where \
             only its owner can read it"
        );
    });
}

fn write_new_private(path: &Path, contents: &str) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let mut file = options.open(path)?;
        // The umask may have taken bits away, never added any; set them exactly.
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()
    }
    #[cfg(not(unix))]
    {
        warn_not_owner_only();
        let mut file = options.open(path)?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()
    }
}

// ---- keys, times and names ----

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn new_key() -> Result<KeyPair> {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
        .map_err(|source| PkiError::Generate { what: "ECDSA P-256 key", source })
}

/// Parameters valid from a little before now (at most five minutes, at most a quarter of `validity`)
/// until `validity` from now, with a random serial number.
fn base_params(validity: Duration) -> Result<CertificateParams> {
    let seconds = validity.as_secs();
    if seconds == 0 {
        return Err(PkiError::Validity);
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    let mut params = CertificateParams::default();
    params.not_before = epoch + Duration::from_secs(now - (seconds / 4).min(MAX_BACKDATE_SECS).min(now));
    params.not_after = epoch + Duration::from_secs(now.saturating_add(seconds));
    let mut serial = [0u8; 16];
    SystemRandom::new().fill(&mut serial).map_err(|_| PkiError::Random)?;
    // Positive and never shorter than it looks: the high bit clear, the next one set.
    serial[0] = (serial[0] & 0x7f) | 0x40;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    Ok(params)
}

/// The name rcgen writes before the real subject replaces it: the common name alone, so that rcgen
/// marks the SAN extension critical exactly when the subject is empty.
fn placeholder_name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    if !common_name.is_empty() {
        name.push(DnType::CommonName, common_name);
    }
    name
}

/// DER of the Name `O=<org>` (one RDN per organization, in order) then `CN=<common_name>`, as UTF8Strings.
fn encode_name(common_name: &str, organizations: &[&str]) -> Vec<u8> {
    const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
    const OID_ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0a];
    let rdn = |oid: &[u8], value: &str| {
        let mut attribute = der_encode(TAG_OID, oid);
        attribute.extend(der_encode(TAG_UTF8_STRING, value.as_bytes()));
        der_encode(TAG_SET, &der_encode(TAG_SEQUENCE, &attribute))
    };
    let mut rdns = Vec::new();
    for organization in organizations {
        rdns.extend(rdn(OID_ORGANIZATION, organization));
    }
    if !common_name.is_empty() {
        rdns.extend(rdn(OID_COMMON_NAME, common_name));
    }
    der_encode(TAG_SEQUENCE, &rdns)
}

/// The exactly one common name and all organizations of a subject.
fn read_subject(name: &X509Name<'_>, what: &'static str) -> Result<CsrSubject> {
    let text = |attribute: &x509_parser::x509::AttributeTypeAndValue<'_>| {
        attribute
            .as_str()
            .map(str::to_owned)
            .map_err(|e| PkiError::Parse { what, reason: format!("subject attribute: {e}") })
    };
    let common_names = name.iter_common_name().map(text).collect::<Result<Vec<_>>>()?;
    let [common_name] = <[String; 1]>::try_from(common_names)
        .map_err(|names| PkiError::CommonName { what, count: names.len() })?;
    let organizations = name.iter_organization().map(text).collect::<Result<Vec<_>>>()?;
    Ok(CsrSubject { common_name, organizations, dns_names: Vec::new(), ip_addresses: Vec::new() })
}

fn validity_of(cert_pem: &str) -> Result<(jiff::Timestamp, jiff::Timestamp)> {
    let what = "certificate";
    let der = first_cert(cert_pem, what)?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| PkiError::Parse { what, reason: e.to_string() })?;
    let time = |t: &x509_parser::time::ASN1Time| {
        jiff::Timestamp::from_second(t.timestamp())
            .map_err(|e| PkiError::Parse { what, reason: e.to_string() })
    };
    Ok((time(&cert.validity().not_before)?, time(&cert.validity().not_after)?))
}

// ---- requests ----

fn csr_der(csr_pem: &str) -> Result<CertificateSigningRequestDer<'static>> {
    CertificateSigningRequestDer::from_pem_slice(csr_pem.as_bytes()).map_err(|e| PkiError::Pem {
        what: "certificate signing request (CERTIFICATE REQUEST)",
        reason: e.to_string(),
    })
}

fn parse_csr(der: &[u8]) -> Result<X509CertificationRequest<'_>> {
    let (_, csr) = X509CertificationRequest::from_der(der)
        .map_err(|e| PkiError::Parse { what: "certificate signing request", reason: e.to_string() })?;
    csr.verify_signature().map_err(|e| PkiError::CsrSignature(e.to_string()))?;
    Ok(csr)
}

/// The subject alternative names a request asks for; any but DNS names and IP addresses is refused.
fn csr_sans(csr: &X509CertificationRequest<'_>) -> Result<Vec<San>> {
    let mut sans = Vec::new();
    for extension in csr.requested_extensions().into_iter().flatten() {
        let ParsedExtension::SubjectAlternativeName(names) = extension else {
            continue;
        };
        for name in &names.general_names {
            sans.push(match name {
                GeneralName::DNSName(dns) => San::Dns((*dns).to_owned()),
                GeneralName::IPAddress(bytes) => San::Ip(ip_from_bytes(bytes).ok_or(PkiError::Parse {
                    what: "certificate signing request",
                    reason: format!("an IP address SAN of {} bytes", bytes.len()),
                })?),
                GeneralName::RFC822Name(_) => return Err(PkiError::UnsupportedSan("e-mail address")),
                GeneralName::URI(_) => return Err(PkiError::UnsupportedSan("URI")),
                _ => return Err(PkiError::UnsupportedSan("directory, registered ID or other name")),
            });
        }
    }
    Ok(sans)
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        Some(IpAddr::from(v4))
    } else {
        <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from)
    }
}

// ---- PEM ----

fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

fn cert_chain(pem: &str, what: &'static str) -> Result<Vec<CertificateDer<'static>>> {
    let chain = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PkiError::Pem { what, reason: e.to_string() })?;
    if chain.is_empty() {
        return Err(PkiError::Pem { what, reason: "no CERTIFICATE block".to_owned() });
    }
    Ok(chain)
}

fn first_cert(pem: &str, what: &'static str) -> Result<CertificateDer<'static>> {
    CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| PkiError::Pem { what, reason: e.to_string() })
}

fn private_key(pem: &str) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes())
        .map_err(|e| PkiError::Pem { what: "private key", reason: e.to_string() })
}

fn root_store(pem: &str, what: &'static str) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for cert in cert_chain(pem, what)? {
        roots.add(cert)?;
    }
    Ok(roots)
}

fn certified_key(cert_pem: &str, key_pem: &str) -> Result<Arc<CertifiedKey>> {
    let chain = cert_chain(cert_pem, "serving certificate")?;
    let key = CertifiedKey::from_der(chain, private_key(key_pem)?, &provider())?;
    Ok(Arc::new(key))
}

// ---- DER: putting a subject into a signed structure ----

const TAG_SEQUENCE: u8 = 0x30;
const TAG_SET: u8 = 0x31;
const TAG_OID: u8 = 0x06;
const TAG_UTF8_STRING: u8 = 0x0c;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_EXPLICIT_0: u8 = 0xa0;

/// What [`resign_with_subject`] takes apart: both are `SEQUENCE { info, signatureAlgorithm, signature }`.
#[derive(Clone, Copy)]
enum Signed {
    /// An X.509 certificate: the subject follows version, serial, signature, issuer and validity.
    Certificate,
    /// A PKCS#10 request: the subject follows the version.
    Request,
}

/// Replaces the subject of a signed certificate or request with `subject` (a DER Name) and signs the
/// result again with `key`, keeping the signature algorithm.
fn resign_with_subject(signed: &[u8], kind: Signed, subject: &[u8], key: &KeyPair) -> Result<Vec<u8>> {
    let (outer, _) = der_element(signed)?;
    let (info, rest) = der_element(der_contents(outer)?)?;
    let (signature_algorithm, _) = der_element(rest)?;
    let mut fields = der_contents(info)?;
    let before_subject = match kind {
        Signed::Certificate if fields.first() == Some(&TAG_EXPLICIT_0) => 5,
        Signed::Certificate => 4,
        Signed::Request => 1,
    };
    let mut new_info = Vec::with_capacity(info.len() + subject.len());
    for _ in 0..before_subject {
        let (field, rest) = der_element(fields)?;
        new_info.extend_from_slice(field);
        fields = rest;
    }
    let (_old_subject, after_subject) = der_element(fields)?;
    new_info.extend_from_slice(subject);
    new_info.extend_from_slice(after_subject);
    let new_info = der_encode(TAG_SEQUENCE, &new_info);
    let signature = key.sign(&new_info).map_err(|source| PkiError::Generate { what: "signature", source })?;
    let mut bits = Vec::with_capacity(signature.len() + 1);
    bits.push(0); // no unused bits
    bits.extend_from_slice(&signature);
    let mut body = new_info;
    body.extend_from_slice(signature_algorithm);
    body.extend(der_encode(TAG_BIT_STRING, &bits));
    Ok(der_encode(TAG_SEQUENCE, &body))
}

fn der_malformed(reason: &str) -> PkiError {
    PkiError::Parse { what: "DER structure", reason: reason.to_owned() }
}

/// Splits the first DER element (tag, length, contents) off `input`: (the element, what follows).
fn der_element(input: &[u8]) -> Result<(&[u8], &[u8])> {
    let [tag, first, rest @ ..] = input else {
        return Err(der_malformed("truncated header"));
    };
    if tag & 0x1f == 0x1f {
        return Err(der_malformed("high tag number"));
    }
    let (length, rest) = if *first < 0x80 {
        (usize::from(*first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return Err(der_malformed("bad length"));
        }
        let length = rest[..count].iter().fold(0usize, |length, byte| (length << 8) | usize::from(*byte));
        (length, &rest[count..])
    };
    if rest.len() < length {
        return Err(der_malformed("truncated contents"));
    }
    let end = input.len() - rest.len() + length;
    Ok(input.split_at(end))
}

/// The contents of one DER element, without its tag and length.
fn der_contents(element: &[u8]) -> Result<&[u8]> {
    let [_, first, rest @ ..] = element else {
        return Err(der_malformed("truncated header"));
    };
    let skip = if *first < 0x80 { 0 } else { usize::from(first & 0x7f) };
    rest.get(skip..).ok_or_else(|| der_malformed("bad length"))
}

fn der_encode(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(contents.len() + 6);
    out.push(tag);
    if let Ok(short @ 0..0x80) = u8::try_from(contents.len()) {
        out.push(short);
    } else {
        let bytes = contents.len().to_be_bytes();
        let significant = &bytes[bytes.iter().take_while(|byte| **byte == 0).count()..];
        // At most eight bytes: a usize is no longer.
        out.push(0x80 | u8::try_from(significant.len()).unwrap_or(8));
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(contents);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio_rustls::{TlsAcceptor, TlsConnector};

    const DAY: Duration = Duration::from_secs(24 * 60 * 60);

    /// What one handshake gave: the identity the server saw (if any), and the server certificate's
    /// identity the client saw, or each side's error.
    struct Outcome {
        server: std::result::Result<Option<(String, Vec<String>)>, String>,
        client: std::result::Result<String, String>,
    }

    async fn handshake(server: ServerConfig, client: ClientConfig, name: &str) -> Outcome {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(server));
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut tls = acceptor.accept(tcp).await.map_err(|e| e.to_string())?;
            let identity = tls.get_ref().1.peer_certificates().map(|certs| identity_of(&certs[0]).unwrap());
            assert_eq!(tls.get_ref().1.alpn_protocol(), Some(ALPN_HTTP11));
            tls.write_all(b"k").await.map_err(|e| e.to_string())?;
            tls.shutdown().await.map_err(|e| e.to_string())?;
            Ok(identity)
        });
        let connector = TlsConnector::from(Arc::new(client));
        let name = rustls_pki_types::ServerName::try_from(name.to_owned()).unwrap();
        let tcp = TcpStream::connect(addr).await.unwrap();
        let client = async {
            let mut tls = connector.connect(name, tcp).await.map_err(|e| e.to_string())?;
            let mut byte = [0u8; 1];
            // With TLS 1.3 the server judges the client's certificate after the client has finished, so a
            // refusal shows on the first read.
            tls.read_exact(&mut byte).await.map_err(|e| e.to_string())?;
            let certs = tls.get_ref().1.peer_certificates().unwrap();
            Ok(identity_of(&certs[0]).unwrap().0)
        }
        .await;
        Outcome { server: server.await.unwrap(), client }
    }

    fn serving(ca: &Ca) -> Issued {
        ca.issue_serving(
            "wharf-apiserver",
            &[San::Ip("127.0.0.1".parse().unwrap()), San::Dns("localhost".into())],
            DAY,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn client_certificate_handshake_gives_identity() {
        let ca = Ca::generate("wharf-ca").unwrap();
        let server = serving(&ca);
        let alice = ca.issue_client("alice", &["dev", "ops"], DAY).unwrap();
        for name in ["127.0.0.1", "localhost"] {
            let outcome = handshake(
                server_config(&server.cert_pem, &server.key_pem, Some(ca.cert_pem())).unwrap(),
                client_config(ca.cert_pem(), Some((&alice.cert_pem, &alice.key_pem))).unwrap(),
                name,
            )
            .await;
            assert_eq!(outcome.client.unwrap(), "wharf-apiserver");
            assert_eq!(
                outcome.server.unwrap(),
                Some(("alice".to_owned(), vec!["dev".to_owned(), "ops".to_owned()]))
            );
        }
    }

    #[tokio::test]
    async fn client_without_certificate_is_let_through() {
        let ca = Ca::generate("wharf-ca").unwrap();
        let server = serving(&ca);
        let outcome = handshake(
            server_config(&server.cert_pem, &server.key_pem, Some(ca.cert_pem())).unwrap(),
            client_config(ca.cert_pem(), None).unwrap(),
            "localhost",
        )
        .await;
        assert_eq!(outcome.server.unwrap(), None);
        assert_eq!(outcome.client.unwrap(), "wharf-apiserver");
    }

    #[tokio::test]
    async fn client_certificate_from_another_ca_is_refused() {
        let ca = Ca::generate("wharf-ca").unwrap();
        let other = Ca::generate("other-ca").unwrap();
        let server = serving(&ca);
        let mallory = other.issue_client("alice", &["system:masters"], DAY).unwrap();
        let outcome = handshake(
            server_config(&server.cert_pem, &server.key_pem, Some(ca.cert_pem())).unwrap(),
            client_config(ca.cert_pem(), Some((&mallory.cert_pem, &mallory.key_pem))).unwrap(),
            "localhost",
        )
        .await;
        assert!(outcome.server.is_err(), "{:?}", outcome.server);
        assert!(outcome.client.is_err(), "{:?}", outcome.client);
    }

    #[tokio::test]
    async fn server_from_another_ca_is_refused_by_the_client() {
        let ca = Ca::generate("wharf-ca").unwrap();
        let other = Ca::generate("other-ca").unwrap();
        let server = serving(&other);
        let outcome = handshake(
            server_config(&server.cert_pem, &server.key_pem, None).unwrap(),
            client_config(ca.cert_pem(), None).unwrap(),
            "localhost",
        )
        .await;
        assert!(outcome.client.unwrap_err().contains("UnknownIssuer"));
    }

    #[tokio::test]
    async fn node_csr_is_read_signed_and_used() {
        let ca = Ca::generate("wharf-ca").unwrap();
        let node_ip: IpAddr = "127.0.0.2".parse().unwrap();
        let (csr, key) = make_csr("system:node:n1", &["system:nodes"], &[San::Ip(node_ip)]).unwrap();
        assert!(csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----\n"));
        assert_eq!(
            csr_subject(&csr).unwrap(),
            CsrSubject {
                common_name: "system:node:n1".into(),
                organizations: vec!["system:nodes".into()],
                dns_names: vec![],
                ip_addresses: vec![node_ip],
            }
        );

        // Serving: the kubelet's certificate, verified for 127.0.0.2.
        let serving_pem = ca.sign_csr(&csr, Usage::Serving, DAY).unwrap();
        let der = first_cert(&serving_pem, "test").unwrap();
        assert_eq!(identity_of(&der).unwrap(), ("system:node:n1".into(), vec!["system:nodes".into()]));
        let outcome = handshake(
            server_config(&serving_pem, &key, Some(ca.cert_pem())).unwrap(),
            client_config(ca.cert_pem(), None).unwrap(),
            "127.0.0.2",
        )
        .await;
        assert_eq!(outcome.client.unwrap(), "system:node:n1");
        // Not for another address.
        let outcome = handshake(
            server_config(&serving_pem, &key, None).unwrap(),
            client_config(ca.cert_pem(), None).unwrap(),
            "127.0.0.1",
        )
        .await;
        let refused = outcome.client.unwrap_err();
        assert!(refused.contains("not valid for name"), "{refused}");

        // Client: the node authenticates as system:node:n1 in system:nodes.
        let client_pem = ca.sign_csr(&csr, Usage::Client, DAY).unwrap();
        let server = serving(&ca);
        let outcome = handshake(
            server_config(&server.cert_pem, &server.key_pem, Some(ca.cert_pem())).unwrap(),
            client_config(ca.cert_pem(), Some((&client_pem, &key))).unwrap(),
            "localhost",
        )
        .await;
        assert_eq!(outcome.server.unwrap(), Some(("system:node:n1".into(), vec!["system:nodes".into()])));

        // A serving certificate is no client certificate.
        let outcome = handshake(
            server_config(&server.cert_pem, &server.key_pem, Some(ca.cert_pem())).unwrap(),
            client_config(ca.cert_pem(), Some((&serving_pem, &key))).unwrap(),
            "localhost",
        )
        .await;
        assert!(outcome.server.is_err(), "{:?}", outcome.server);
    }

    #[test]
    fn signed_csr_is_never_a_ca_and_keeps_every_group() {
        let ca = Ca::generate("wharf-ca").unwrap();
        let (csr, _) = make_csr("bob", &["a", "b", "c"], &[San::Dns("bob.example".into())]).unwrap();
        let subject = csr_subject(&csr).unwrap();
        assert_eq!(subject.organizations, ["a", "b", "c"]);
        assert_eq!(subject.dns_names, ["bob.example"]);
        let pem = ca.sign_csr(&csr, Usage::Client, DAY).unwrap();
        let der = first_cert(&pem, "test").unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        assert!(!cert.is_ca());
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.client_auth && !eku.server_auth);
        assert_eq!(
            cert.issuer().as_raw(),
            x509_parser::parse_x509_certificate(ca.cert_der()).unwrap().1.subject().as_raw()
        );
        assert_eq!(identity_of(&der).unwrap(), ("bob".into(), vec!["a".into(), "b".into(), "c".into()]));
        // The CA's signature over the patched certificate verifies.
        let (_, ca_cert) = x509_parser::parse_x509_certificate(ca.cert_der()).unwrap();
        cert.verify_signature(Some(ca_cert.public_key())).unwrap();
    }

    #[test]
    fn tampered_csr_is_refused() {
        let (csr, _) = make_csr("system:node:n1", &["system:nodes"], &[]).unwrap();
        let mut der = csr_der(&csr).unwrap().to_vec();
        let at = der.windows(14).position(|w| w == b"system:node:n1").unwrap();
        der[at + 13] = b'2';
        let tampered = pem_encode("CERTIFICATE REQUEST", &der);
        assert!(matches!(csr_subject(&tampered), Err(PkiError::CsrSignature(_))));
        let ca = Ca::generate("wharf-ca").unwrap();
        assert!(matches!(ca.sign_csr(&tampered, Usage::Client, DAY), Err(PkiError::CsrSignature(_))));
        assert!(matches!(csr_subject("not pem"), Err(PkiError::Pem { .. })));
    }

    #[test]
    fn ca_round_trips_through_pem() {
        let ca = Ca::generate("wharf-ca").unwrap();
        let loaded = Ca::from_pem(ca.cert_pem(), &ca.key_pem()).unwrap();
        assert_eq!(loaded.cert_der(), ca.cert_der());
        let issued = loaded.issue_client("carol", &[], DAY).unwrap();
        let der = first_cert(&issued.cert_pem, "test").unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        let (_, ca_cert) = x509_parser::parse_x509_certificate(ca.cert_der()).unwrap();
        cert.verify_signature(Some(ca_cert.public_key())).unwrap();
        assert_eq!(identity_of(&der).unwrap(), ("carol".into(), vec![]));

        let other = Ca::generate("other").unwrap();
        assert!(matches!(Ca::from_pem(ca.cert_pem(), &other.key_pem()), Err(PkiError::KeyMismatch)));
        let leaf = ca.issue_serving("leaf", &[San::Dns("leaf".into())], DAY).unwrap();
        assert!(matches!(Ca::from_pem(&leaf.cert_pem, &leaf.key_pem), Err(PkiError::NotCa)));

        let (_, ca_cert) = x509_parser::parse_x509_certificate(ca.cert_der()).unwrap();
        assert!(ca_cert.is_ca());
        let usage = ca_cert.key_usage().unwrap().unwrap().value;
        assert!(usage.key_cert_sign() && usage.crl_sign());
        let years = (ca_cert.validity().not_after.timestamp() - ca_cert.validity().not_before.timestamp())
            / (365 * 24 * 60 * 60);
        assert_eq!(years, 10);
    }

    #[test]
    fn renewal_is_due_in_the_last_third() {
        let ca = Ca::generate("wharf-ca").unwrap();
        let short = ca.issue_client("alice", &[], Duration::from_secs(3)).unwrap();
        let end = not_after(&short.cert_pem).unwrap();
        let now = jiff::Timestamp::now();
        assert!((end.as_second() - now.as_second() - 3).abs() <= 1);
        assert!(!needs_renewal(&short.cert_pem, end - jiff::SignedDuration::from_millis(2500)));
        assert!(needs_renewal(&short.cert_pem, end - jiff::SignedDuration::from_millis(900)));
        assert!(needs_renewal(&short.cert_pem, end + jiff::SignedDuration::from_secs(1)));

        let month = ca.issue_client("alice", &[], 30 * DAY).unwrap();
        let end = not_after(&month.cert_pem).unwrap();
        assert!(!needs_renewal(&month.cert_pem, now));
        assert!(!needs_renewal(&month.cert_pem, end - jiff::SignedDuration::from_hours(11 * 24)));
        assert!(needs_renewal(&month.cert_pem, end - jiff::SignedDuration::from_hours(9 * 24)));

        assert!(needs_renewal("garbage", now));
        assert!(not_after("garbage").is_err());
        assert!(matches!(ca.issue_client("alice", &[], Duration::from_millis(500)), Err(PkiError::Validity)));
    }

    #[tokio::test]
    async fn replaced_certificate_is_served_to_new_handshakes() {
        let ca = Ca::generate("wharf-ca").unwrap();
        let localhost = [San::Dns("localhost".into())];
        let one = ca.issue_serving("one", &localhost, DAY).unwrap();
        let two = ca.issue_serving("two", &localhost, DAY).unwrap();
        let resolver = ReloadableCert::new(&one.cert_pem, &one.key_pem).unwrap();
        let config = server_config_with_resolver(resolver.clone(), None).unwrap();
        // A new client each time: a resumed session would skip the certificate.
        let client = || client_config(ca.cert_pem(), None).unwrap();
        let outcome = handshake(config.clone(), client(), "localhost").await;
        assert_eq!(outcome.client.unwrap(), "one");

        resolver.replace(&two.cert_pem, &two.key_pem).unwrap();
        let outcome = handshake(config.clone(), client(), "localhost").await;
        assert_eq!(outcome.client.unwrap(), "two");

        // A key that is not the certificate's leaves the current one in place.
        assert!(resolver.replace(&one.cert_pem, &two.key_pem).is_err());
        assert!(resolver.replace("garbage", &two.key_pem).is_err());
        let outcome = handshake(config, client(), "localhost").await;
        assert_eq!(outcome.client.unwrap(), "two");
    }

    #[test]
    fn private_files_are_owner_only_and_replaced() {
        let dir = std::env::temp_dir().join(format!("wharf-pki-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ca.key");
        fs::write(&path, "old").unwrap();
        write_private(&path, "secret").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "secret");
        write_private(&path, "newer").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "newer");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        // Nothing left behind but the file itself.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        assert!(write_private(&dir.join("missing").join("x"), "x").is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn der_lengths_round_trip() {
        for length in [0usize, 1, 127, 128, 255, 256, 70_000] {
            let contents = vec![7u8; length];
            let encoded = der_encode(TAG_SEQUENCE, &contents);
            let (element, rest) = der_element(&encoded).unwrap();
            assert!(rest.is_empty());
            assert_eq!(der_contents(element).unwrap(), contents.as_slice());
        }
        assert!(der_element(&[0x30, 0x05, 1]).is_err());
        assert!(der_element(&[0x30]).is_err());
    }
}

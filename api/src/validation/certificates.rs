//! CertificateSigningRequests: a PEM certificate request, a fully qualified signer, known key usages, and a spec
//! that never changes once made (Kubernetes' `pkg/apis/certificates/validation`).

use base64::Engine as _;
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;

use super::meta::{NameRule, validate_object_meta_update};
use super::{FieldError, FieldPath, Validate, validate_object_meta};

/// The key usages a request may name.
const USAGES: &[&str] = &[
    "signing",
    "digital signature",
    "content commitment",
    "key encipherment",
    "key agreement",
    "data encipherment",
    "cert sign",
    "crl sign",
    "encipher only",
    "decipher only",
    "any",
    "server auth",
    "client auth",
    "code signing",
    "email protection",
    "s/mime",
    "ipsec end system",
    "ipsec tunnel",
    "ipsec user",
    "timestamping",
    "ocsp signing",
    "microsoft sgc",
    "netscape sgc",
];

impl Validate for CertificateSigningRequest {
    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, false, NameRule::Dns1123Subdomain);
        let spec = FieldPath::new("spec");
        let request = String::from_utf8_lossy(&self.spec.request.0);
        if !request.contains("-----BEGIN CERTIFICATE REQUEST-----") {
            let shown = base64::engine::general_purpose::STANDARD.encode(&self.spec.request.0);
            errs.push(FieldError::invalid(
                &spec.child("request"),
                shown,
                "PEM block type must be CERTIFICATE REQUEST",
            ));
        }
        let signer = &self.spec.signer_name;
        if signer.is_empty() {
            errs.push(FieldError::required(&spec.child("signerName"), ""));
        } else if !signer
            .split_once('/')
            .is_some_and(|(domain, path)| domain.contains('.') && !path.is_empty())
        {
            errs.push(FieldError::invalid(
                &spec.child("signerName"),
                signer,
                "must be a fully qualified domain and path of the form 'example.com/signer-name'",
            ));
        }
        let usages = self.spec.usages.as_deref().unwrap_or_default();
        if usages.is_empty() {
            errs.push(FieldError::required(&spec.child("usages"), ""));
        }
        for (i, usage) in usages.iter().enumerate() {
            if !USAGES.contains(&usage.as_str()) {
                errs.push(FieldError::not_supported(&spec.child("usages").index(i), usage, USAGES));
            }
        }
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(&self.metadata, &old.metadata);
        if self.spec != old.spec {
            errs.push(FieldError::invalid(&FieldPath::new("spec"), "", "field is immutable"));
        }
        errs.extend(self.validate());
        errs
    }
}

//! Security over TLS with the real kubectl and kube-rs: who gets in (certificates, tokens, ServiceAccounts,
//! bootstrap tokens), what RBAC and the Node authoriser let them do, escalation prevention, and fair sharing.

mod authn;
mod fairness;
mod node;
mod rbac;

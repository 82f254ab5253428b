//! A compact form of a token body for the cache: every string of the body in one shared buffer,
//! without keys, so a cached member token costs a few hundred bytes instead of a tree of
//! allocations. The fields a request needs (user, scope, roles) are located once when the token
//! is cached, so that serving a request reads them in place and makes header values from them
//! without copying. Encoding is lossless; the catalog, when kept, is stored as JSON.

use axum::body::Bytes;
use axum::http::HeaderValue;
use chrono::{DateTime, Utc};
use keystone_types::Timestamp;
use keystone_types::auth::SystemScope;
use keystone_types::token::{
    AccessRule, CatalogService, IdRef, NamedRef, ProjectInfo, RoleRef, Token,
    TokenApplicationCredential, TokenTrust, TokenUser,
};
use serde_json::{Value, json};

/// The fields located in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The user's id.
    UserId,
    /// The user's name.
    UserName,
    /// The user's domain id.
    UserDomainId,
    /// The user's domain name.
    UserDomainName,
    /// The scoped project's id.
    ProjectId,
    /// Its name.
    ProjectName,
    /// Its domain's id.
    ProjectDomainId,
    /// Its domain's name.
    ProjectDomainName,
    /// The scoped domain's id.
    DomainId,
    /// Its name.
    DomainName,
    /// The role names, joined with commas.
    Roles,
    /// The catalog in the v2 shape of `X-Service-Catalog`, when the token has one.
    ServiceCatalog,
    /// The application credential's access rules as JSON, when it has any.
    AccessRules,
    /// The trust's id, for a trust-scoped token.
    TrustId,
}

const FIELDS: usize = 14;

/// Where a field's text is in the buffer; `len == u32::MAX` means absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

const ABSENT: Span = Span {
    start: 0,
    len: u32::MAX,
};

/// A token body in one allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactToken {
    buf: Bytes,
    spans: [Span; FIELDS],
    expires_at: DateTime<Utc>,
    system: bool,
    is_admin_project: bool,
}

struct Writer(Vec<u8>);

impl Writer {
    fn str(&mut self, s: &str) -> Span {
        let len = u32::try_from(s.len()).unwrap_or(u32::MAX - 1);
        self.0.extend_from_slice(&len.to_le_bytes());
        let start = self.0.len() as u32;
        self.0.extend_from_slice(&s.as_bytes()[..len as usize]);
        Span { start, len }
    }
    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => {
                self.0.push(1);
                self.str(s);
            }
            None => self.0.push(0),
        }
    }
    fn flag(&mut self, b: Option<bool>) {
        self.0.push(match b {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        });
    }
    fn time(&mut self, t: &Timestamp) {
        self.0
            .extend_from_slice(&t.0.timestamp_micros().to_le_bytes());
    }
    fn named(&mut self, n: &NamedRef) -> (Span, Span) {
        (self.str(&n.id), self.str(&n.name))
    }
    fn list(&mut self, items: &[String]) {
        self.0
            .extend_from_slice(&(items.len() as u32).to_le_bytes());
        for i in items {
            self.str(i);
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn byte(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn str(&mut self) -> Option<String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
    fn opt_str(&mut self) -> Option<Option<String>> {
        match self.byte()? {
            0 => Some(None),
            _ => self.str().map(Some),
        }
    }
    fn flag(&mut self) -> Option<Option<bool>> {
        Some(match self.byte()? {
            0 => None,
            1 => Some(false),
            _ => Some(true),
        })
    }
    fn time(&mut self) -> Option<Timestamp> {
        let micros = i64::from_le_bytes(self.take(8)?.try_into().ok()?);
        DateTime::from_timestamp_micros(micros).map(Timestamp)
    }
    fn named(&mut self) -> Option<NamedRef> {
        Some(NamedRef {
            id: self.str()?,
            name: self.str()?,
        })
    }
    fn list(&mut self) -> Option<Vec<String>> {
        let n = self.u32()? as usize;
        (0..n).map(|_| self.str()).collect()
    }
}

impl CompactToken {
    /// Encodes a token body.
    pub fn new(t: &Token) -> Self {
        let mut spans = [ABSENT; FIELDS];
        let mut w = Writer(Vec::with_capacity(384));
        w.list(&t.audit_ids);
        w.time(&t.expires_at);
        w.time(&t.issued_at);
        w.flag(t.is_domain);
        w.flag(t.is_admin_project);
        w.list(&t.methods);
        match &t.project {
            Some(p) => {
                w.0.push(1);
                let (did, dname) = w.named(&p.domain);
                spans[Field::ProjectDomainId as usize] = did;
                spans[Field::ProjectDomainName as usize] = dname;
                spans[Field::ProjectId as usize] = w.str(&p.id);
                spans[Field::ProjectName as usize] = w.str(&p.name);
            }
            None => w.0.push(0),
        }
        match &t.domain {
            Some(d) => {
                w.0.push(1);
                let (id, name) = w.named(d);
                spans[Field::DomainId as usize] = id;
                spans[Field::DomainName as usize] = name;
            }
            None => w.0.push(0),
        }
        w.flag(t.system.map(|s| s.all));
        match &t.roles {
            Some(roles) => {
                w.0.push(1);
                w.0.extend_from_slice(&(roles.len() as u32).to_le_bytes());
                for r in roles {
                    w.str(&r.id);
                    w.str(&r.name);
                    w.opt_str(r.domain_id.as_deref());
                }
            }
            None => w.0.push(0),
        }
        let (did, dname) = w.named(&t.user.domain);
        spans[Field::UserDomainId as usize] = did;
        spans[Field::UserDomainName as usize] = dname;
        spans[Field::UserId as usize] = w.str(&t.user.id);
        spans[Field::UserName as usize] = w.str(&t.user.name);
        w.opt_str(t.user.password_expires_at.as_deref());
        match &t.application_credential {
            Some(a) => {
                w.0.push(1);
                w.str(&a.id);
                w.str(&a.name);
                w.0.push(a.restricted as u8);
                match a
                    .access_rules
                    .as_ref()
                    .and_then(|r| serde_json::to_string(r).ok())
                {
                    Some(json) => {
                        w.0.push(1);
                        spans[Field::AccessRules as usize] = w.str(&json);
                    }
                    None => w.0.push(0),
                }
            }
            None => w.0.push(0),
        }
        match &t.trust {
            Some(trust) => {
                w.0.push(1);
                spans[Field::TrustId as usize] = w.str(&trust.id);
                w.str(&trust.trustor_user.id);
                w.str(&trust.trustee_user.id);
                w.0.push(trust.impersonation as u8);
            }
            None => w.0.push(0),
        }
        let catalog = t
            .catalog
            .as_ref()
            .and_then(|c| serde_json::to_string(c).ok());
        w.opt_str(catalog.as_deref());
        let service_providers = t
            .service_providers
            .as_ref()
            .and_then(|s| serde_json::to_string(s).ok());
        w.opt_str(service_providers.as_deref());
        // after the body: the joined role names for X-Roles, the v2 catalog for X-Service-Catalog
        let joined = t.role_names().collect::<Vec<_>>().join(",");
        spans[Field::Roles as usize] = w.str(&joined);
        if let Some(c) = &t.catalog {
            spans[Field::ServiceCatalog as usize] = w.str(&v2_catalog(c).to_string());
        }
        CompactToken {
            buf: Bytes::from(w.0),
            spans,
            expires_at: t.expires_at.0,
            system: t.system.is_some_and(|s| s.all),
            is_admin_project: t.is_admin_project.unwrap_or(true),
        }
    }

    /// The access rules of the application credential the token comes from; `None` when the
    /// token is not limited to them (an empty list allows nothing).
    pub fn access_rules(&self) -> Option<Vec<AccessRule>> {
        // a body that cannot be read back is as restricted as can be
        self.field(Field::AccessRules)
            .map(|json| serde_json::from_str(json).unwrap_or_default())
    }

    /// Whether the token comes from an application credential with access rules.
    pub fn is_restricted(&self) -> bool {
        self.spans[Field::AccessRules as usize].len != u32::MAX
    }

    /// Whether the token has a catalog with a service of this type; `None` without a catalog.
    pub fn catalog_has(&self, service_type: &str) -> Option<bool> {
        let v2: serde_json::Value =
            serde_json::from_str(self.field(Field::ServiceCatalog)?).ok()?;
        Some(
            v2.as_array()?
                .iter()
                .any(|s| s["type"].as_str() == Some(service_type)),
        )
    }

    /// A located field, read in place.
    pub fn field(&self, f: Field) -> Option<&str> {
        let span = self.spans[f as usize];
        if span.len == u32::MAX {
            return None;
        }
        let bytes = self
            .buf
            .get(span.start as usize..(span.start + span.len) as usize)?;
        std::str::from_utf8(bytes).ok()
    }

    /// A located field as a header value sharing the buffer (no copy).
    pub fn header_value(&self, f: Field) -> Option<HeaderValue> {
        let span = self.spans[f as usize];
        if span.len == u32::MAX {
            return None;
        }
        let bytes = self
            .buf
            .slice(span.start as usize..(span.start + span.len) as usize);
        HeaderValue::from_maybe_shared(bytes).ok()
    }

    /// A copy with a buffer of its own (so that it shares no reference count with this one).
    pub fn deep_copy(&self) -> Self {
        CompactToken {
            buf: Bytes::copy_from_slice(&self.buf),
            ..self.clone()
        }
    }

    /// The role names.
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.field(Field::Roles)
            .unwrap_or("")
            .split(',')
            .filter(|r| !r.is_empty())
    }

    /// Whether the token is system-scoped.
    pub fn is_system(&self) -> bool {
        self.system
    }

    /// Whether the project is the admin project (true unless Keystone says otherwise).
    pub fn is_admin_project(&self) -> bool {
        self.is_admin_project
    }

    /// When the token expires.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    /// The bytes held.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing is held (never, for an encoded token).
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Decodes the token body.
    pub fn token(&self) -> Option<Token> {
        let mut r = Reader(&self.buf[..]);
        let audit_ids = r.list()?;
        let expires_at = r.time()?;
        let issued_at = r.time()?;
        let is_domain = r.flag()?;
        let is_admin_project = r.flag()?;
        let methods = r.list()?;
        let project = match r.byte()? {
            0 => None,
            _ => Some(ProjectInfo {
                domain: r.named()?,
                id: r.str()?,
                name: r.str()?,
            }),
        };
        let domain = match r.byte()? {
            0 => None,
            _ => Some(r.named()?),
        };
        let system = r.flag()?.map(|all| SystemScope { all });
        let roles = match r.byte()? {
            0 => None,
            _ => {
                let n = r.u32()? as usize;
                let mut roles = Vec::with_capacity(n);
                for _ in 0..n {
                    roles.push(RoleRef {
                        id: r.str()?,
                        name: r.str()?,
                        domain_id: r.opt_str()?,
                    });
                }
                Some(roles)
            }
        };
        let user = TokenUser {
            domain: r.named()?,
            id: r.str()?,
            name: r.str()?,
            password_expires_at: r.opt_str()?,
        };
        let application_credential = match r.byte()? {
            0 => None,
            _ => Some(TokenApplicationCredential {
                id: r.str()?,
                name: r.str()?,
                restricted: r.byte()? != 0,
                access_rules: match r.opt_str()? {
                    Some(json) => Some(serde_json::from_str(&json).ok()?),
                    None => None,
                },
            }),
        };
        let trust = match r.byte()? {
            0 => None,
            _ => Some(TokenTrust {
                id: r.str()?,
                trustor_user: IdRef { id: r.str()? },
                trustee_user: IdRef { id: r.str()? },
                impersonation: r.byte()? != 0,
            }),
        };
        let catalog: Option<Vec<CatalogService>> = match r.opt_str()? {
            Some(json) => Some(serde_json::from_str(&json).ok()?),
            None => None,
        };
        let service_providers = match r.opt_str()? {
            Some(json) => Some(serde_json::from_str(&json).ok()?),
            None => None,
        };
        Some(Token {
            audit_ids,
            catalog,
            expires_at,
            issued_at,
            is_domain,
            is_admin_project,
            methods,
            project,
            domain,
            system,
            roles,
            user,
            application_credential,
            trust,
            service_providers,
        })
    }
}

/// The v2 shape keystonemiddleware puts in `X-Service-Catalog`: one entry per service, one
/// endpoint object per region with `publicURL`, `internalURL`, `adminURL`.
pub(crate) fn v2_catalog(catalog: &[keystone_types::token::CatalogService]) -> Value {
    let services: Vec<Value> = catalog
        .iter()
        .map(|s| {
            let mut regions: Vec<(Option<String>, serde_json::Map<String, Value>)> = Vec::new();
            for e in &s.endpoints {
                let region = e.region_id.clone().or_else(|| e.region.clone());
                let idx = match regions.iter().position(|(r, _)| *r == region) {
                    Some(i) => i,
                    None => {
                        // keystonemiddleware leaves the key out when there is no region
                        let mut m = serde_json::Map::new();
                        if let Some(r) = region.as_ref().filter(|r| !r.is_empty()) {
                            m.insert("region".into(), json!(r));
                        }
                        regions.push((region, m));
                        regions.len() - 1
                    }
                };
                regions[idx]
                    .1
                    .insert(format!("{}URL", e.interface.to_lowercase()), json!(e.url));
            }
            let mut service = serde_json::Map::new();
            service.insert("type".into(), json!(s.kind));
            service.insert("name".into(), json!(s.name));
            service.insert(
                "endpoints".into(),
                regions.into_iter().map(|(_, m)| Value::Object(m)).collect(),
            );
            Value::Object(service)
        })
        .collect();
    Value::Array(services)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keystone_types::token::TokenResponse;

    #[test]
    fn the_v2_catalog_groups_endpoints_by_region_as_keystonemiddleware() {
        let catalog: Vec<keystone_types::token::CatalogService> = serde_json::from_value(json!([
            {"id": "s1", "name": "keystone", "type": "identity", "endpoints": [
                {"id": "e1", "interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": "http://pub"},
                {"id": "e2", "interface": "internal", "region": "RegionOne", "region_id": "RegionOne", "url": "http://int"},
                {"id": "e3", "interface": "Admin", "region": null, "region_id": null, "url": "http://adm"}
            ]},
            {"id": "s2", "name": "", "type": "myservice", "endpoints": []}
        ]))
        .unwrap();
        assert_eq!(
            v2_catalog(&catalog),
            json!([
                {"type": "identity", "name": "keystone", "endpoints": [
                    {"region": "RegionOne", "publicURL": "http://pub", "internalURL": "http://int"},
                    // no region: no "region" key
                    {"adminURL": "http://adm"}
                ]},
                {"type": "myservice", "name": "", "endpoints": []}
            ])
        );
    }

    #[test]
    fn every_recorded_token_body_survives_the_round_trip() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/exchanges");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap())
                    .unwrap();
            let Ok(body) = serde_json::from_value::<TokenResponse>(v["response"]["body"].clone())
            else {
                continue;
            };
            let compact = CompactToken::new(&body.token);
            assert_eq!(compact.token().as_ref(), Some(&body.token));
            seen += 1;
        }
        assert!(seen >= 10, "{seen} token bodies");
    }

    #[test]
    fn a_trust_scoped_token_keeps_its_trust() {
        let v: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../fixtures/exchanges")
                    .read_dir()
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .find(|p| p.to_string_lossy().contains("issue_member"))
                    .expect("a member's token"),
            )
            .unwrap(),
        )
        .unwrap();
        let mut token = serde_json::from_value::<TokenResponse>(v["response"]["body"].clone())
            .unwrap()
            .token;
        for impersonation in [true, false] {
            token.trust = Some(TokenTrust {
                id: "a8b5c1d2e3f4".into(),
                trustor_user: IdRef {
                    id: "trustor".into(),
                },
                trustee_user: IdRef {
                    id: "trustee".into(),
                },
                impersonation,
            });
            let compact = CompactToken::new(&token);
            assert_eq!(compact.token().as_ref(), Some(&token));
            assert_eq!(compact.field(Field::TrustId), Some("a8b5c1d2e3f4"));
        }
        token.trust = None;
        assert_eq!(CompactToken::new(&token).field(Field::TrustId), None);
    }
}

//! The version documents: `GET /` (300, a list) and `GET /v3` (200, one version).

use serde::{Deserialize, Serialize};

/// `GET /`: `{"versions": {"values": [...]}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionsResponse {
    /// The wrapper Keystone puts around the list.
    pub versions: VersionList,
}

/// The list of versions a Keystone serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionList {
    /// One entry per API version.
    pub values: Vec<Version>,
}

/// `GET /v3`: `{"version": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionResponse {
    /// The version served at this path.
    pub version: Version,
}

/// One API version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// Such as `v3.14`.
    pub id: String,
    /// `self` links to the version's root.
    pub links: Vec<Link>,
    /// The media types this version speaks (some services leave them out).
    #[serde(rename = "media-types", default)]
    pub media_types: Vec<MediaType>,
    /// `stable`, `current`, `deprecated`...
    pub status: String,
    /// When the version last changed (some services leave it out).
    #[serde(default)]
    pub updated: String,
}

/// A link in a version document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The target URL.
    pub href: String,
    /// The relation, usually `self`.
    pub rel: String,
}

/// A media type in a version document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaType {
    /// Such as `application/json`.
    pub base: String,
    /// Such as `application/vnd.openstack.identity-v3+json`.
    #[serde(rename = "type")]
    pub kind: String,
}

impl Version {
    /// The Identity v3 version document Keystone 30.0.0 serves, rooted at `v3_url`
    /// (which should end with `/v3/`).
    pub fn identity_v3(v3_url: impl Into<String>) -> Self {
        Version {
            id: "v3.14".to_owned(),
            links: vec![Link {
                href: v3_url.into(),
                rel: "self".to_owned(),
            }],
            media_types: vec![MediaType {
                base: "application/json".to_owned(),
                kind: "application/vnd.openstack.identity-v3+json".to_owned(),
            }],
            status: "stable".to_owned(),
            updated: "2020-04-07T00:00:00Z".to_owned(),
        }
    }
}

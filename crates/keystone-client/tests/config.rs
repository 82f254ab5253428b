//! Configuration from `OS_*` variables and from `clouds.yaml` (with `secure.yaml` and
//! `clouds-public.yaml`), and the errors that name the missing or wrong key.

use std::collections::HashMap;
use std::path::PathBuf;

use keystone_client::auth::Method;
use keystone_client::config::{CloudConfig, SearchPath};
use keystone_client::{Auth, Interface, UserIdentity};
use keystone_types::auth::{DomainRef, ProjectScope, Scope};

fn from(vars: &[(&str, &str)]) -> Result<CloudConfig, String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    CloudConfig::from_vars(|k| map.get(k).cloned()).map_err(|e| e.to_string())
}

const URL: (&str, &str) = ("OS_AUTH_URL", "http://keystone:5000/v3");

#[test]
fn environment_variables() {
    let c = from(&[
        URL,
        ("OS_USERNAME", "u"),
        ("OS_PASSWORD", "p"),
        ("OS_USER_DOMAIN_ID", "default"),
        ("OS_PROJECT_ID", "pid"),
        ("OS_REGION_NAME", "R2"),
        ("OS_INTERFACE", "internal"),
        ("OS_INSECURE", "true"),
        ("OS_CACERT", "/etc/ca.pem"),
    ])
    .unwrap();
    assert_eq!(
        c.auth,
        Auth::password(UserIdentity::by_name_in_domain_id("u", "default"), "p")
            .scoped(Scope::project_by_id("pid"))
    );
    assert_eq!(c.region.as_deref(), Some("R2"));
    assert_eq!(c.interface, Some(Interface::Internal));
    assert!(c.insecure);
    assert_eq!(c.cacert, Some(PathBuf::from("/etc/ca.pem")));

    let c = from(&[
        URL,
        ("OS_USER_ID", "uid"),
        ("OS_PASSWORD", "p"),
        ("OS_DOMAIN_NAME", "Default"),
    ])
    .unwrap();
    assert_eq!(
        c.auth,
        Auth::password(UserIdentity::by_id("uid"), "p").scoped(Scope::domain_by_name("Default"))
    );
    let c = from(&[
        URL,
        ("OS_USER_ID", "uid"),
        ("OS_PASSWORD", "p"),
        ("OS_SYSTEM_SCOPE", "all"),
    ])
    .unwrap();
    assert_eq!(c.auth.scope, Some(Scope::system()));
    let c = from(&[
        URL,
        ("OS_AUTH_TYPE", "v3token"),
        ("OS_TOKEN", "t"),
        ("OS_PROJECT_NAME", "p"),
        ("OS_PROJECT_DOMAIN_ID", "default"),
    ])
    .unwrap();
    assert_eq!(
        c.auth,
        Auth::token("t").scoped(Scope::Project(ProjectScope {
            id: None,
            name: Some("p".into()),
            domain: Some(DomainRef::id("default"))
        }))
    );
    let c = from(&[
        URL,
        ("OS_AUTH_TYPE", "v3applicationcredential"),
        ("OS_APPLICATION_CREDENTIAL_ID", "cid"),
        ("OS_APPLICATION_CREDENTIAL_SECRET", "s"),
    ])
    .unwrap();
    assert_eq!(c.auth, Auth::application_credential("cid", "s"));
    let c = from(&[
        URL,
        ("OS_APPLICATION_CREDENTIAL_NAME", "ci"),
        ("OS_APPLICATION_CREDENTIAL_SECRET", "s"),
        ("OS_USERNAME", "u"),
        ("OS_USER_DOMAIN_NAME", "Default"),
    ])
    .unwrap();
    assert!(matches!(
        c.auth.method,
        Method::ApplicationCredentialName { .. }
    ));
}

#[test]
fn incomplete_configurations_name_the_key() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "OS_AUTH_URL"),
        (&[URL], "OS_USERNAME"),
        (
            &[URL, ("OS_USERNAME", "u"), ("OS_PASSWORD", "p")],
            "OS_USER_DOMAIN_NAME",
        ),
        (
            &[
                URL,
                ("OS_USERNAME", "u"),
                ("OS_USER_DOMAIN_NAME", "Default"),
            ],
            "OS_PASSWORD",
        ),
        (
            &[
                URL,
                ("OS_USER_ID", "u"),
                ("OS_PASSWORD", "p"),
                ("OS_PROJECT_NAME", "x"),
            ],
            "OS_PROJECT_DOMAIN_NAME",
        ),
        (&[URL, ("OS_AUTH_TYPE", "v3token")], "OS_TOKEN"),
        (
            &[
                URL,
                ("OS_AUTH_TYPE", "v3applicationcredential"),
                ("OS_APPLICATION_CREDENTIAL_SECRET", "s"),
            ],
            "OS_APPLICATION_CREDENTIAL_ID",
        ),
        (&[URL, ("OS_AUTH_TYPE", "kerberos")], "OS_AUTH_TYPE"),
        (
            &[
                URL,
                ("OS_USER_ID", "u"),
                ("OS_PASSWORD", "p"),
                ("OS_INTERFACE", "sideways"),
            ],
            "OS_INTERFACE",
        ),
        (
            &[
                URL,
                ("OS_USER_ID", "u"),
                ("OS_PASSWORD", "p"),
                ("OS_SYSTEM_SCOPE", "some"),
            ],
            "OS_SYSTEM_SCOPE",
        ),
    ];
    for (vars, key) in cases {
        let err = from(vars).unwrap_err();
        assert!(err.contains(key), "{vars:?}: {err}");
        assert!(!err.contains("secret-value"), "{err}");
    }
}

#[test]
fn clouds_yaml_with_secure_yaml_and_a_public_profile() {
    let dir = std::env::temp_dir().join(format!("kc-config-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("clouds.yaml"),
        "clouds:\n  mycloud:\n    profile: example\n    auth:\n      username: demo\n      project_name: demo\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: RegionTwo\n    interface: internal\n    verify: false\n  broken:\n    auth:\n      username: demo\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("secure.yaml"),
        "clouds:\n  mycloud:\n    auth:\n      password: from-secure\n",
    )
    .unwrap();
    std::fs::write(dir.join("clouds-public.yaml"), "public-clouds:\n  example:\n    auth:\n      auth_url: https://keystone.example.com/v3\n    region_name: RegionOne\n").unwrap();

    let search = SearchPath::in_dirs(std::slice::from_ref(&dir));
    let c = CloudConfig::from_clouds_yaml("mycloud", &search).unwrap();
    assert_eq!(c.auth_url, "https://keystone.example.com/v3");
    assert_eq!(
        c.auth,
        Auth::password(UserIdentity::by_name("demo", "Default"), "from-secure")
            .scoped(Scope::project_by_name("demo", "Default"))
    );
    assert_eq!(
        c.region.as_deref(),
        Some("RegionTwo"),
        "the cloud overrides its profile"
    );
    assert_eq!(c.interface, Some(Interface::Internal));
    assert!(c.insecure);

    let err = CloudConfig::from_clouds_yaml("broken", &search)
        .unwrap_err()
        .to_string();
    assert!(err.contains("clouds.broken.auth.auth_url"), "{err}");
    let err = CloudConfig::from_clouds_yaml("nope", &search)
        .unwrap_err()
        .to_string();
    assert!(err.contains("clouds.nope"), "{err}");
    let err = CloudConfig::from_clouds_yaml("x", &SearchPath::in_dirs(&[dir.join("missing")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("clouds.yaml"), "{err}");
    std::fs::write(dir.join("clouds.yaml"), "clouds: [unclosed").unwrap();
    let err = CloudConfig::from_clouds_yaml("mycloud", &search)
        .unwrap_err()
        .to_string();
    assert!(err.contains("clouds.yaml"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_domain_shorthand_and_one_scope_only() {
    // project-scoped: OS_DOMAIN_NAME stands for both domains, and is no domain scope
    let c = from(&[
        URL,
        ("OS_USERNAME", "u"),
        ("OS_PASSWORD", "p"),
        ("OS_PROJECT_NAME", "demo"),
        ("OS_DOMAIN_NAME", "Default"),
    ])
    .unwrap();
    assert_eq!(
        c.auth,
        Auth::password(UserIdentity::by_name("u", "Default"), "p")
            .scoped(Scope::project_by_name("demo", "Default"))
    );
    // a domain given explicitly wins over the shorthand
    let c = from(&[
        URL,
        ("OS_USERNAME", "u"),
        ("OS_PASSWORD", "p"),
        ("OS_USER_DOMAIN_ID", "udom"),
        ("OS_PROJECT_NAME", "demo"),
        ("OS_DOMAIN_NAME", "Default"),
    ])
    .unwrap();
    assert_eq!(
        c.auth,
        Auth::password(UserIdentity::by_name_in_domain_id("u", "udom"), "p")
            .scoped(Scope::project_by_name("demo", "Default"))
    );
    // domain-scoped: the user's domain too
    let c = from(&[
        URL,
        ("OS_USERNAME", "u"),
        ("OS_PASSWORD", "p"),
        ("OS_DOMAIN_NAME", "Default"),
    ])
    .unwrap();
    assert_eq!(
        c.auth,
        Auth::password(UserIdentity::by_name("u", "Default"), "p")
            .scoped(Scope::domain_by_name("Default"))
    );
    // two scopes are an error, as keystoneauth1 makes them
    let err = from(&[
        URL,
        ("OS_USER_ID", "uid"),
        ("OS_PASSWORD", "p"),
        ("OS_PROJECT_ID", "pid"),
        ("OS_SYSTEM_SCOPE", "all"),
    ])
    .unwrap_err();
    assert!(err.contains("one scope only"), "{err}");
    // a trust is a scope of its own (OS_TRUST_ID), and not one to add to a project
    let c = from(&[
        URL,
        ("OS_USERNAME", "trustee"),
        ("OS_USER_DOMAIN_NAME", "Default"),
        ("OS_PASSWORD", "p"),
        ("OS_TRUST_ID", "t1"),
    ])
    .unwrap();
    assert_eq!(c.auth.scope, Some(Scope::trust("t1")));
    let err = from(&[
        URL,
        ("OS_USER_ID", "uid"),
        ("OS_PASSWORD", "p"),
        ("OS_PROJECT_ID", "pid"),
        ("OS_TRUST_ID", "t1"),
    ])
    .unwrap_err();
    assert!(
        err.contains("one scope only") && err.contains("OS_TRUST_ID"),
        "{err}"
    );
}

#[test]
fn a_certificate_file_may_hold_its_key() {
    let c = from(&[URL, ("OS_TOKEN", "t"), ("OS_CERT", "/etc/both.pem")]).unwrap();
    assert_eq!(
        c.client_cert,
        Some((
            PathBuf::from("/etc/both.pem"),
            PathBuf::from("/etc/both.pem")
        ))
    );
    let err = from(&[URL, ("OS_TOKEN", "t"), ("OS_KEY", "/etc/key.pem")]).unwrap_err();
    assert!(err.contains("OS_CERT"), "{err}");
}

#[test]
fn the_default_domain_stands_for_the_user_and_project_domains() {
    let c = from(&[
        URL,
        ("OS_USERNAME", "u"),
        ("OS_PASSWORD", "p"),
        ("OS_DEFAULT_DOMAIN_ID", "default"),
        ("OS_PROJECT_NAME", "pn"),
    ])
    .unwrap();
    assert_eq!(
        c.auth,
        Auth::password(UserIdentity::by_name_in_domain_id("u", "default"), "p").scoped(
            Scope::Project(ProjectScope {
                id: None,
                name: Some("pn".into()),
                domain: Some(DomainRef::id("default")),
            })
        )
    );
    // the user's own domain wins
    let c = from(&[
        URL,
        ("OS_USERNAME", "u"),
        ("OS_PASSWORD", "p"),
        ("OS_USER_DOMAIN_NAME", "Users"),
        ("OS_DEFAULT_DOMAIN_ID", "default"),
    ])
    .unwrap();
    assert_eq!(
        c.auth,
        Auth::password(UserIdentity::by_name("u", "Users"), "p")
    );
}

//! Configuration: seed document 002's sample INI file loads as it is; TOML; environment
//! overrides; unknown and invalid options are named with their file.

use keystone_middleware::config::Config;

const SEED_INI: &str = "[DEFAULT]
auth_strategy=keystone

[keystone_authtoken]
identity_uri = https://openstack.example.org:25000
www_authenticate_uri = https://openstack.example.org:25000

http_connect_timeout = 5

interface = public
auth_version = 3.14
auth_type = password
auth_url = https://openstack.example.org:25000
user_domain_id = default
project_domain_id = default

username = some-username
password = some-password
project_name = some-project

service_type = some-keystone-service-type

delay_auth_decision = True

[flask_keystone]
roles = \"\"
";

#[test]
fn the_seed_documents_ini_loads_unchanged() {
    let c = Config::from_ini_str(SEED_INI).unwrap();
    let a = &c.keystone_authtoken;
    assert_eq!(
        a.auth_url.as_deref(),
        Some("https://openstack.example.org:25000")
    );
    assert_eq!(
        a.www_authenticate_uri(),
        Some("https://openstack.example.org:25000")
    );
    assert_eq!(a.http_connect_timeout, Some(5));
    assert!(a.delay_auth_decision);
    assert_eq!(a.interface, "public");
    assert_eq!(a.username.as_deref(), Some("some-username"));
    assert_eq!(a.token_cache_time, 300, "keystonemiddleware's default");
    assert!(a.include_service_catalog);
    assert_eq!(a.service_token_roles, ["service"]);
    assert!(
        a.service_token_roles_required,
        "keystonemiddleware 13's default"
    );
    a.session_builder().unwrap().build().unwrap();
    assert!(
        !format!("{a:?}").contains("some-password"),
        "the password is redacted"
    );
}

#[test]
fn files_toml_and_environment() {
    let dir = std::env::temp_dir().join(format!("km-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ini = dir.join("myservice.conf");
    std::fs::write(&ini, SEED_INI).unwrap();
    let c = Config::load(&ini).unwrap();
    assert_eq!(
        c.oslo_policy.policy_file,
        dir.join("policy.yaml"),
        "relative to the configuration file"
    );

    let toml = dir.join("myservice.toml");
    std::fs::write(
        &toml,
        "[keystone_authtoken]\nauth_url = \"http://k:5000/v3\"\nusername = \"u\"\npassword = \"p\"\nuser_domain_name = \"Default\"\ntoken_cache_time = 60\ndelay_auth_decision = true\nservice_token_roles = [\"service\", \"admin\"]\n\n[oslo_policy]\npolicy_file = \"/etc/x/policy.yaml\"\nenforce_new_defaults = false\n",
    )
    .unwrap();
    let c = Config::load(&toml).unwrap();
    assert_eq!(c.keystone_authtoken.token_cache_time, 60);
    assert_eq!(
        c.keystone_authtoken.service_token_roles,
        ["service", "admin"]
    );
    assert!(!c.oslo_policy.enforce_new_defaults);
    assert_eq!(
        c.oslo_policy.policy_file,
        std::path::PathBuf::from("/etc/x/policy.yaml")
    );

    let bad = dir.join("bad.conf");
    std::fs::write(
        &bad,
        "[keystone_authtoken]\nauth_url = http://k\ntoken_cache_tme = 5\n",
    )
    .unwrap();
    let err = Config::load(&bad).unwrap_err().to_string();
    assert!(err.contains("token_cache_tme"), "{err}");
    assert!(err.contains("bad.conf"), "{err}");
    std::fs::write(
        &bad,
        "[keystone_authtoken]\ndelay_auth_decision = perhaps\n",
    )
    .unwrap();
    let err = Config::load(&bad).unwrap_err().to_string();
    assert!(
        err.contains("delay_auth_decision") && err.contains("perhaps"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn incomplete_credentials_name_the_option() {
    let c =
        Config::from_ini_str("[keystone_authtoken]\nauth_url = http://k\nusername = u\n").unwrap();
    let err = c
        .keystone_authtoken
        .session_builder()
        .unwrap_err()
        .to_string();
    assert!(err.contains("user_domain_id"), "{err}");
    let c = Config::from_ini_str(
        "[keystone_authtoken]\nauth_url = http://k\nusername = u\nuser_domain_id = default\n",
    )
    .unwrap();
    let err = c
        .keystone_authtoken
        .session_builder()
        .unwrap_err()
        .to_string();
    assert!(err.contains("password"), "{err}");
    let c = Config::from_ini_str("[keystone_authtoken]\nauth_url = http://k\nauth_type = v3applicationcredential\napplication_credential_id = x\napplication_credential_secret = s\n").unwrap();
    c.keystone_authtoken.session_builder().unwrap();
}

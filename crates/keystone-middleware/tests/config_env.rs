//! Environment overrides (a test binary of its own: the variables are the process's).

// figment's `Jail` fixes the closure's error type, a large one
#![allow(clippy::result_large_err)]

use keystone_middleware::config::{Config, IniFile};

const BASE: &str = "[keystone_authtoken]\nauth_url = http://k:5000\nusername = svc\npassword = from-file\nuser_domain_id = default\n";

#[test]
fn environment_values_are_text_as_oslo_config_reads_them() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("svc.conf", BASE)?;
        jail.set_env("KEYSTONE_AUTHTOKEN_PASSWORD", "007");
        jail.set_env("KEYSTONE_AUTHTOKEN_USERNAME", "12345");
        jail.set_env("KEYSTONE_AUTHTOKEN_AUTH_VERSION", "3.14");
        jail.set_env("KEYSTONE_AUTHTOKEN_PROJECT_NAME", "'quoted'");
        jail.set_env("KEYSTONE_AUTHTOKEN_TOKEN_CACHE_TIME", "60");
        jail.set_env("KEYSTONE_AUTHTOKEN_DELAY_AUTH_DECISION", "true");
        jail.set_env("KEYSTONE_AUTHTOKEN_SERVICE_TOKEN_ROLES", "service,admin");
        jail.set_env("OSLO_POLICY_ENFORCE_NEW_DEFAULTS", "false");
        let c = Config::load(std::path::Path::new("svc.conf")).map_err(|e| e.to_string())?;
        let a = &c.keystone_authtoken;
        assert_eq!(a.password.as_ref().map(|p| p.expose()), Some("007"));
        assert_eq!(a.username.as_deref(), Some("12345"));
        assert_eq!(a.auth_version.as_deref(), Some("3.14"));
        assert_eq!(a.project_name.as_deref(), Some("'quoted'"));
        assert_eq!(a.token_cache_time, 60);
        assert!(a.delay_auth_decision);
        assert_eq!(a.service_token_roles, ["service", "admin"]);
        assert!(!c.oslo_policy.enforce_new_defaults);

        jail.set_env("KEYSTONE_AUTHTOKEN_TOKEN_CACHE_TME", "5");
        let err = Config::load(std::path::Path::new("svc.conf"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("token_cache_tme"), "{err}");
        assert!(!err.contains("007"), "{err}");
        Ok(())
    });
}

#[test]
fn an_ini_files_debug_does_not_show_its_text() {
    let shown = format!(
        "{:?}",
        IniFile::from_str("[keystone_authtoken]\npassword = s3cret\n")
    );
    assert!(!shown.contains("s3cret"), "{shown}");
    let shown = format!(
        "{:?}",
        IniFile::new(std::path::Path::new("/etc/svc/svc.conf"))
    );
    assert!(shown.contains("/etc/svc/svc.conf"), "{shown}");
}

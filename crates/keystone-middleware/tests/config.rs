//! Configuration: seed document 002's sample INI file loads as it is; TOML; environment
//! overrides; unknown and invalid options are named with their file.

use keystone_client::auth::Method;
use keystone_middleware::config::Config;
use keystone_types::auth::Scope;

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
fn a_password_written_as_a_number_loads_and_errors_do_not_quote_it() {
    let c = Config::from_toml_str("[keystone_authtoken]\npassword = 12345\n").unwrap();
    assert_eq!(
        c.keystone_authtoken.password.as_ref().map(|p| p.expose()),
        Some("12345")
    );
    let err = Config::from_toml_str("[keystone_authtoken]\npassword = 98765.5\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("password") && !err.contains("98765"), "{err}");
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
    let app_cred = "[keystone_authtoken]\nauth_url = http://k\nauth_type = v3applicationcredential\napplication_credential_id = x\napplication_credential_secret = s\n";
    let c = Config::from_ini_str(app_cred).unwrap();
    c.keystone_authtoken.session_builder().unwrap();
    // a key without its certificate names the certificate; a certificate alone is one file
    // holding both, read when the session is built
    let c = Config::from_ini_str(&format!("{app_cred}keyfile = /k.pem\n")).unwrap();
    let err = c.keystone_authtoken.session_builder().unwrap_err();
    assert!(err.to_string().contains("certfile"), "{err}");
    let c = Config::from_ini_str(&format!("{app_cred}certfile = /nonexistent/both.pem\n")).unwrap();
    let err = c
        .keystone_authtoken
        .session_builder()
        .unwrap()
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/both.pem"), "{err}");
}

/// The service user's password and scope, from a loaded configuration.
fn password_and_scope(c: &Config) -> (String, String, Option<Scope>) {
    let auth = c.keystone_authtoken.auth().unwrap();
    match auth.method {
        Method::Password { user, password } => (
            format!("{user:?}"),
            password.expose().to_owned(),
            auth.scope,
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn ini_values_read_as_oslo_config_reads_them() {
    let c = Config::from_ini_str(concat!(
        "[DEFAULT]\n",
        "host = h1\n",
        "[keystone_authtoken]\n",
        "auth_url = http://k:5000\n",
        "www_authenticate_uri = $auth_url/v3\n",
        "username = \"svc\"\n",
        "user_domain_name = 'Default'\n",
        // backslashes are plain, $$ and \$ are $, ${host} comes from [DEFAULT], quotes are
        // removed only as one matching outer pair
        "password = a\\b\\x$$c\\$d-${host}-\"\n",
        "project_name = p\n",
        "project_domain_id = default\n",
        "[oslo_policy]\n",
        "policy_dirs = /etc/a,b\n",
        "policy_dirs = /etc/c\n",
        // a repeated section adds to the first
        "[keystone_authtoken]\n",
        "token_cache_time = 60\n",
    ))
    .unwrap();
    let a = &c.keystone_authtoken;
    assert_eq!(a.www_authenticate_uri(), Some("http://k:5000/v3"));
    assert_eq!(a.token_cache_time, 60);
    let (user, password, _) = password_and_scope(&c);
    assert!(user.contains("svc") && user.contains("Default"), "{user}");
    assert_eq!(password, "a\\b\\x$c$d-h1-\"");
    // policy_dirs takes one path per line, commas and all
    assert_eq!(
        c.oslo_policy.policy_dirs,
        [
            std::path::PathBuf::from("/etc/a,b"),
            std::path::PathBuf::from("/etc/c")
        ]
    );
    // a reference to an option the file does not set names it, except in a password, whose
    // value an error never quotes
    let err = Config::from_ini_str("[keystone_authtoken]\nusername = x$nothere\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("$nothere") && err.contains("username"),
        "{err}"
    );
    let err = Config::from_ini_str("[keystone_authtoken]\npassword = Pa$sw0rd\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("password") && err.contains("$$"), "{err}");
    assert!(!err.contains("sw0rd"), "{err}");
    // references repeated at every level cannot build an enormous value
    let mut ini = String::from("[keystone_authtoken]\na0 = xxxxxxxxxxxxxxxx\n");
    for i in 1..9 {
        let p = i - 1;
        ini.push_str(&format!(
            "a{i} = $a{p}$a{p}$a{p}$a{p}$a{p}$a{p}$a{p}$a{p}\n"
        ));
    }
    ini.push_str("username = $a8\n");
    let err = Config::from_ini_str(&ini).unwrap_err().to_string();
    assert!(err.contains("64 KiB"), "{err}");
    // a `$` that starts no name stays
    let c = Config::from_ini_str("[keystone_authtoken]\npassword = 1$ 2$-3$\n").unwrap();
    assert_eq!(
        c.keystone_authtoken
            .password
            .as_ref()
            .map(|p| p.expose().to_owned()),
        Some("1$ 2$-3$".to_owned())
    );
}

#[test]
fn options_from_keystonemiddleware_and_keystoneauth_that_do_nothing_here_load() {
    let c = Config::from_ini_str(concat!(
        "[keystone_authtoken]\n",
        "auth_url = http://k:5000\n",
        "auth_plugin = password\n",
        "user_name = svc\n",
        "tenant_name = services\n",
        "default_domain_name = Default\n",
        "memcache_servers = 127.0.0.1:11211\n",
        "memcache_security_strategy = ENCRYPT\n",
        "memcache_secret_key = secret\n",
        "memcache_pool_maxsize = 10\n",
        "cache = swift.cache\n",
        "enforce_token_bind = permissive\n",
        "[oslo_policy]\n",
        "remote_timeout = 30\n",
    ))
    .unwrap();
    let a = &c.keystone_authtoken;
    assert_eq!(a.auth_type.as_deref(), Some("password"));
    assert_eq!(a.memcached_servers, ["127.0.0.1:11211"]);
    // default_domain_name stands for the user's and the project's domains
    let (user, _, scope) = password_and_scope_or(&c);
    assert!(user.contains("svc") && user.contains("Default"), "{user}");
    match scope {
        Some(Scope::Project(p)) => {
            assert_eq!(p.name.as_deref(), Some("services"));
            assert_eq!(p.domain.and_then(|d| d.name).as_deref(), Some("Default"));
        }
        other => panic!("{other:?}"),
    }
    // token binding is not supported: asking for it is an error, not silence
    let err = Config::from_ini_str("[keystone_authtoken]\nenforce_token_bind = required\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("enforce_token_bind"), "{err}");
    // booleans are oslo.config's words only
    for (text, ok) in [
        ("On", true),
        ("YES", true),
        ("0", true),
        ("t", false),
        ("", false),
    ] {
        let r = Config::from_ini_str(&format!("[keystone_authtoken]\ninsecure = {text}\n"));
        assert_eq!(r.is_ok(), ok, "{text:?}");
    }
    // a file of the v2 and PKI eras: options keystonemiddleware 13 no longer defines
    let old = Config::from_ini_str(concat!(
        "[keystone_authtoken]\n",
        "auth_host = 127.0.0.1\n",
        "auth_port = 35357\n",
        "auth_protocol = http\n",
        "auth_admin_prefix = /identity\n",
        "admin_user = svc\n",
        "admin_password = old-secret\n",
        "admin_tenant_name = services\n",
        "admin_token = ADMIN\n",
        "signing_dir = /var/cache/svc\n",
        "hash_algorithms = md5\n",
        "check_revocations_for_cached = false\n",
        "revocation_cache_time = 10\n",
        "auth_url = http://k:5000\n",
    ))
    .unwrap();
    assert_eq!(
        old.keystone_authtoken.auth_url.as_deref(),
        Some("http://k:5000")
    );
    // memcached servers, a list in TOML too
    let toml = Config::from_toml_str(
        "[keystone_authtoken]\nmemcached_servers = [\"a:11211\", \"b:11211\"]\n",
    )
    .unwrap();
    assert_eq!(
        toml.keystone_authtoken.memcached_servers,
        ["a:11211", "b:11211"]
    );
    // a misspelt option is still an error
    let err = Config::from_ini_str("[keystone_authtoken]\nmemcache_servrs = x\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("memcache_servrs"), "{err}");
}

/// Like [`password_and_scope`], with the password unset allowed.
fn password_and_scope_or(c: &Config) -> (String, String, Option<Scope>) {
    let mut c = c.clone();
    if c.keystone_authtoken.password.is_none() {
        c.keystone_authtoken.password = Some("pw".into());
    }
    password_and_scope(&c)
}

#[test]
fn auth_section_and_other_scopes_for_the_service_user() {
    let c = Config::from_ini_str(concat!(
        "[keystone_authtoken]\n",
        "auth_section = service_auth\n",
        "[service_auth]\n",
        "auth_url = http://k:5000\n",
        "username = svc\n",
        "password = pw\n",
        "user_domain_id = default\n",
        "domain_name = Default\n",
    ))
    .unwrap();
    assert_eq!(
        c.keystone_authtoken.auth_url.as_deref(),
        Some("http://k:5000")
    );
    let (_, password, scope) = password_and_scope(&c);
    assert_eq!(password, "pw");
    assert_eq!(scope, Some(Scope::domain_by_name("Default")));

    // as keystoneauth: the plugin's options come from that section alone; a shared section's
    // other options are not the middleware's, and `$` references resolve in that section
    let c = Config::from_ini_str(concat!(
        "[keystone_authtoken]\n",
        "auth_section = service_user\n",
        "username = ignored\n",
        "insecure = false\n",
        "[service_user]\n",
        "auth_type = password\n",
        "auth_url = http://k:5000\n",
        "username = svc\n",
        "password = $secret\n",
        "secret = from-service-user\n",
        "user_domain_id = default\n",
        "project_name = services\n",
        "project_domain_id = default\n",
        "timeout = 30\n",
        "insecure = true\n",
        "send_service_user_token = true\n",
    ))
    .unwrap();
    let (user, password, _) = password_and_scope(&c);
    assert!(user.contains("svc") && !user.contains("ignored"), "{user}");
    assert_eq!(password, "from-service-user");
    assert!(
        !c.keystone_authtoken.insecure,
        "the middleware's own option stays"
    );
    let err = Config::from_ini_str("[keystone_authtoken]\nauth_section = nowhere\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("auth_section") && err.contains("[nowhere]"),
        "{err}"
    );

    let system = "[keystone_authtoken]\nusername = svc\npassword = pw\nuser_domain_id = default\nsystem_scope = all\n";
    let (_, _, scope) = password_and_scope(&Config::from_ini_str(system).unwrap());
    assert_eq!(scope, Some(Scope::system()));

    let trust = "[keystone_authtoken]\nusername = svc\npassword = pw\nuser_domain_id = default\ntrust_id = t\n";
    let (_, _, scope) = password_and_scope(&Config::from_ini_str(trust).unwrap());
    assert_eq!(scope, Some(Scope::trust("t")));
    // a trust is the whole scope, as keystoneauth has it
    let err = Config::from_ini_str(&format!("{trust}project_name = services\n"))
        .unwrap()
        .keystone_authtoken
        .auth()
        .unwrap_err()
        .to_string();
    assert!(err.contains("trust_id"), "{err}");
}

/// `[keystone_authtoken]` goes through keystone-client's one loader of keystoneauth's options,
/// so the service user's credentials read as `OS_*` and `clouds.yaml` do: the default domain,
/// one scope only, an application credential told by its secret, empty values unset.
#[test]
fn the_service_user_reads_as_keystoneauth_reads_it() {
    let base = "[keystone_authtoken]\nauth_url = http://k\nusername = svc\npassword = pw\n";
    let c = Config::from_ini_str(&format!(
        "{base}default_domain_id = default\nproject_name = services\nproject_domain_name =\n"
    ))
    .unwrap();
    let (user, _, scope) = password_and_scope(&c);
    assert!(user.contains("default"), "{user}");
    match scope {
        Some(Scope::Project(p)) => {
            assert_eq!(p.name.as_deref(), Some("services"));
            assert_eq!(p.domain.and_then(|d| d.id).as_deref(), Some("default"));
        }
        other => panic!("{other:?}"),
    }
    let err = Config::from_ini_str(&format!(
        "{base}user_domain_id = default\nproject_id = p\ndomain_name = Default\n"
    ))
    .unwrap()
    .keystone_authtoken
    .session_builder()
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("one scope only") && err.contains("[keystone_authtoken] domain_name"),
        "{err}"
    );
    let app_cred = Config::from_ini_str(
        "[keystone_authtoken]\napplication_credential_id = ac\napplication_credential_secret = s\n",
    )
    .unwrap();
    assert!(matches!(
        app_cred.keystone_authtoken.auth().unwrap().method,
        Method::ApplicationCredentialId { .. }
    ));
}

#[test]
fn the_access_log_options_are_checked_at_load() {
    let c = Config::from_ini_str(
        "[server]\naccess_log_level = WARNING\naccess_log_sample_rate = 0.25\n",
    )
    .unwrap();
    assert_eq!(
        (
            c.server.access_log_level.as_str(),
            c.server.access_log_sample_rate
        ),
        ("warning", 0.25)
    );
    // a misspelt level is named at start, not quietly read as info
    let err = Config::from_ini_str("[server]\naccess_log_level = verbose\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("access_log_level") && err.contains("verbose"),
        "{err}"
    );
    let err = Config::from_ini_str("[server]\naccess_log_sample_rate = 2\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("access_log_sample_rate"), "{err}");
}

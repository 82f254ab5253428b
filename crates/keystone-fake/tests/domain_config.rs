//! Domain configuration as Keystone 30.0.0 serves it (answers from a real one): PUT's 201 and
//! 200, PATCH and DELETE by group and option with their rules, the 403s of the options
//! Keystone does not take, the 404s, `ldap.password` kept but never shown, Keystone's
//! defaults, the default domain's security compliance group, who may call what, and the
//! config going with its domain. (The parity steps compare the same routes with a real
//! Keystone.)

mod common;

use common::*;
use keystone_fake::FakeKeystone;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

const INVALID: &str = "Invalid domain specific configuration: ";

struct Cloud {
    fake: FakeKeystone,
    admin: String,
    member: String,
}

async fn cloud() -> Cloud {
    let fake = FakeKeystone::start().await.unwrap();
    let project = fake.create_project("p").unwrap();
    let user = fake.create_user("alice", "alicepw").unwrap();
    fake.grant_project_role(&user, &project, "member").unwrap();
    let admin = admin_token(&fake).await;
    let member = token(
        &fake,
        "alice",
        "alicepw",
        json!({"project": {"id": project}}),
    )
    .await
    .0;
    Cloud {
        fake,
        admin,
        member,
    }
}

impl Cloud {
    fn request(&self, token: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
        Client::new()
            .request(method, format!("{}{path}", self.fake.url()))
            .header("x-auth-token", token)
    }

    fn admin(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.request(&self.admin, method, path)
    }

    /// Sends `request`, checks the status, and answers the body (`null` when none).
    async fn json(&self, request: reqwest::RequestBuilder, status: StatusCode) -> Value {
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), status, "{}", r.url());
        r.json().await.unwrap_or(Value::Null)
    }

    async fn send(&self, method: Method, path: &str, body: Value, status: StatusCode) -> Value {
        self.json(self.admin(method, path).json(&body), status)
            .await
    }

    async fn get(&self, path: &str, status: StatusCode) -> Value {
        self.json(self.admin(Method::GET, path), status).await
    }

    async fn error(&self, method: Method, path: &str, body: Value, status: u16) -> String {
        keystone_error(self.admin(method, path).json(&body), status).await
    }
}

const D: &str = "/v3/domains/default/config";

#[tokio::test]
async fn put_replaces_and_answers_201_then_200_never_showing_the_password() {
    let c = cloud().await;
    let body = json!({"config": {"identity": {"driver": "ldap"},
        "ldap": {"url": "ldap://a", "user": "cn=admin", "password": "secret"}}});
    let shown = json!({"config": {"identity": {"driver": "ldap"},
        "ldap": {"url": "ldap://a", "user": "cn=admin"}}});
    assert_eq!(
        c.send(Method::PUT, D, body.clone(), StatusCode::CREATED)
            .await,
        shown
    );
    assert_eq!(c.send(Method::PUT, D, body, StatusCode::OK).await, shown);
    assert_eq!(c.get(D, StatusCode::OK).await, shown);
    assert_eq!(
        c.get(&format!("{D}/ldap"), StatusCode::OK).await,
        json!({"config": {"ldap": {"url": "ldap://a", "user": "cn=admin"}}})
    );
    assert_eq!(
        c.get(&format!("{D}/ldap/url"), StatusCode::OK).await,
        json!({"config": {"url": "ldap://a"}})
    );
    assert_eq!(
        c.error(Method::GET, &format!("{D}/ldap/password"), Value::Null, 404)
            .await,
        "Could not find option password in group ldap in domain configuration for domain default."
    );
    let r = c.admin(Method::HEAD, D).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // PUT replaces everything
    assert_eq!(
        c.send(
            Method::PUT,
            D,
            json!({"config": {"ldap": {"url": "x"}}, "other": 1}),
            StatusCode::OK
        )
        .await,
        json!({"config": {"ldap": {"url": "x"}}})
    );
    // any value, as given
    let odd = json!({"ldap": {"page_size": "x", "url": {"x": 1}, "use_tls": null,
        "user_attribute_ignore": ["a", "b"]}});
    assert_eq!(
        c.send(Method::PUT, D, json!({ "config": odd }), StatusCode::OK)
            .await,
        json!({ "config": odd })
    );
}

#[tokio::test]
async fn put_counts_sensitive_options_and_checks_the_config() {
    let c = cloud().await;
    // only a password: stored, nothing shown, and it counts for the next PUT
    assert_eq!(
        c.send(
            Method::PUT,
            D,
            json!({"config": {"ldap": {"password": "x"}}}),
            StatusCode::CREATED
        )
        .await,
        json!({"config": {}})
    );
    assert_eq!(
        c.error(Method::GET, D, Value::Null, 404).await,
        "Could not find any options in domain configuration for domain default."
    );
    c.send(
        Method::PUT,
        D,
        json!({"config": {"ldap": {"url": "x"}}}),
        StatusCode::OK,
    )
    .await;
    let cases = [
        (json!({"config": {}}), 403, "No options specified."),
        (json!({}), 403, "No options specified."),
        (json!({"config": null}), 403, "No options specified."),
        (json!({"config": 0}), 403, "No options specified."),
        (
            json!({"config": {"ldap": {}}}),
            403,
            "The value of group ldap specified in the config should be a dictionary of options.",
        ),
        (
            json!({"config": {"ldap": "x"}}),
            403,
            "The value of group ldap specified in the config should be a dictionary of options.",
        ),
        (
            json!({"config": {"security_compliance": {"password_regex": "x"}}}),
            403,
            "Group security_compliance is not supported for domain specific configurations.",
        ),
        (
            json!({"config": {"ldap": {"bogus": 1}}}),
            403,
            "Option bogus in group ldap is not supported for domain specific configurations.",
        ),
    ];
    for (body, status, reason) in cases {
        assert_eq!(
            c.error(Method::PUT, D, body, status).await,
            format!("{INVALID}{reason}")
        );
    }
    let type_errors = [
        (json!("abc"), "string indices must be integers, not 'str'"),
        (
            json!(["a"]),
            "list indices must be integers or slices, not str",
        ),
        (json!(3), "'int' object is not iterable"),
        (json!(1.5), "'float' object is not iterable"),
        (json!(true), "'bool' object is not iterable"),
    ];
    for (config, message) in type_errors {
        assert_eq!(
            c.error(Method::PUT, D, json!({ "config": config }), 400)
                .await,
            message
        );
    }
    assert_eq!(
        c.error(
            Method::PUT,
            "/v3/domains/nope/config",
            json!({"config": {"ldap": {"url": "x"}}}),
            404
        )
        .await,
        "Could not find domain: nope."
    );
}

#[tokio::test]
async fn reads_name_what_is_missing_and_what_is_not_supported() {
    let c = cloud().await;
    let cases = [
        (
            D.to_owned(),
            404,
            "Could not find any options in domain configuration for domain default.".to_owned(),
        ),
        (
            format!("{D}/ldap"),
            404,
            "Could not find group ldap in domain configuration for domain default.".to_owned(),
        ),
        (
            format!("{D}/ldap/url"),
            404,
            "Could not find option url in group ldap in domain configuration for domain default."
                .to_owned(),
        ),
        (
            "/v3/domains/nope/config".to_owned(),
            404,
            "Could not find any options in domain configuration for domain nope.".to_owned(),
        ),
        (
            format!("{D}/bogus"),
            403,
            format!("{INVALID}Group bogus is not supported for domain specific configurations."),
        ),
        (
            format!("{D}/ldap/bogus"),
            403,
            format!(
                "{INVALID}Option bogus in group ldap is not supported for domain specific configurations."
            ),
        ),
        (
            format!("{D}/identity/password"),
            403,
            format!(
                "{INVALID}Option password in group identity is not supported for domain specific configurations."
            ),
        ),
        (
            "/v3/domains/config".to_owned(),
            404,
            "Could not find domain: config.".to_owned(),
        ),
    ];
    for (path, status, message) in cases {
        assert_eq!(
            c.error(Method::GET, &path, Value::Null, status).await,
            message,
            "{path}"
        );
    }
}

#[tokio::test]
async fn patch_by_group_and_option() {
    let c = cloud().await;
    // without a path group, PATCH creates
    assert_eq!(
        c.send(
            Method::PATCH,
            D,
            json!({"config": {"ldap": {"url": "x"}}}),
            StatusCode::OK
        )
        .await,
        json!({"config": {"ldap": {"url": "x"}}})
    );
    c.send(
        Method::PATCH,
        &format!("{D}/ldap"),
        json!({"config": {"ldap": {"page_size": 5}}}),
        StatusCode::OK,
    )
    .await;
    // answers the whole config
    assert_eq!(
        c.send(
            Method::PATCH,
            &format!("{D}/ldap/url"),
            json!({"config": {"url": "y"}}),
            StatusCode::OK
        )
        .await,
        json!({"config": {"ldap": {"page_size": 5, "url": "y"}}})
    );
    let g = format!("{D}/ldap");
    let o = format!("{D}/ldap/url");
    let cases = [
        (
            &g,
            json!({"config": {"identity": {"driver": "sql"}}}),
            403,
            format!(
                "{INVALID}request to update group ldap, but config provided contains group identity instead."
            ),
        ),
        (
            &g,
            json!({"config": {"ldap": {"user": "x"}, "identity": {"driver": "sql"}}}),
            403,
            format!(
                "{INVALID}Trying to update group ldap, so that, and only that, group must be specified in the config."
            ),
        ),
        (
            &o,
            json!({"config": {"url": "a", "user": "b"}}),
            403,
            format!(
                "{INVALID}Trying to update option url in group ldap, so that, and only that, option must be specified  in the config."
            ),
        ),
        (
            &o,
            json!({"config": {"user": "b"}}),
            403,
            format!(
                "{INVALID}Trying to update option url in group ldap, but config provided contains option user instead."
            ),
        ),
        (
            &o,
            json!({}),
            403,
            format!(
                "{INVALID}The value of group ldap specified in the config should be a dictionary of options."
            ),
        ),
    ];
    for (path, body, status, message) in cases {
        assert_eq!(c.error(Method::PATCH, path, body, status).await, message);
    }
    assert_eq!(
        c.error(
            Method::PATCH,
            &format!("{D}/ldap/use_tls"),
            json!({"config": {"use_tls": true}}),
            404
        )
        .await,
        "Could not find option use_tls in group ldap in domain configuration for domain default."
    );
    assert_eq!(
        c.error(
            Method::PATCH,
            &format!("{D}/identity"),
            json!({"config": {"identity": {"driver": "sql"}}}),
            404
        )
        .await,
        "Could not find group identity in domain configuration for domain default."
    );
    assert_eq!(
        c.error(
            Method::PATCH,
            "/v3/domains/nope/config",
            json!({"config": {"ldap": {"url": "x"}}}),
            404
        )
        .await,
        "Could not find domain: nope."
    );
}

#[tokio::test]
async fn patch_leaving_only_the_password_is_a_404_after_writing() {
    let c = cloud().await;
    let domain = c.fake.create_domain("d").unwrap();
    let path = format!("/v3/domains/{domain}/config");
    assert_eq!(
        c.error(
            Method::PATCH,
            &path,
            json!({"config": {"ldap": {"password": "x"}}}),
            404
        )
        .await,
        format!("Could not find any options in domain configuration for domain {domain}.")
    );
    c.send(
        Method::PUT,
        &path,
        json!({"config": {"ldap": {"url": "x"}}}),
        StatusCode::OK,
    )
    .await;
    // the config goes with its domain
    c.send(
        Method::PATCH,
        &format!("/v3/domains/{domain}"),
        json!({"domain": {"enabled": false}}),
        StatusCode::OK,
    )
    .await;
    c.send(
        Method::DELETE,
        &format!("/v3/domains/{domain}"),
        Value::Null,
        StatusCode::NO_CONTENT,
    )
    .await;
    assert_eq!(
        c.error(Method::GET, &path, Value::Null, 404).await,
        format!("Could not find any options in domain configuration for domain {domain}.")
    );
}

#[tokio::test]
async fn delete_by_group_and_option() {
    let c = cloud().await;
    c.send(
        Method::PUT,
        D,
        json!({"config": {"identity": {"driver": "ldap"},
            "ldap": {"url": "x", "suffix": "s", "use_tls": false, "password": "p"}}}),
        StatusCode::CREATED,
    )
    .await;
    let del = |path: String| c.admin(Method::DELETE, &path).send();
    assert_eq!(
        del(format!("{D}/ldap/suffix")).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        c.error(
            Method::DELETE,
            &format!("{D}/ldap/suffix"),
            Value::Null,
            404
        )
        .await,
        "Could not find option suffix in group ldap in domain configuration for domain default."
    );
    // an option whose value is false cannot be deleted alone
    assert_eq!(
        c.error(
            Method::DELETE,
            &format!("{D}/ldap/use_tls"),
            Value::Null,
            404
        )
        .await,
        "Could not find option use_tls in group ldap in domain configuration for domain default."
    );
    assert_eq!(
        del(format!("{D}/ldap/password")).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        c.error(Method::DELETE, &format!("{D}/bogus"), Value::Null, 403)
            .await,
        format!("{INVALID}Group bogus is not supported for domain specific configurations.")
    );
    assert_eq!(
        del(format!("{D}/identity")).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        c.error(Method::DELETE, &format!("{D}/identity"), Value::Null, 404)
            .await,
        "Could not find group identity in domain configuration for domain default."
    );
    assert_eq!(
        c.error(
            Method::DELETE,
            &format!("{D}/identity/driver"),
            Value::Null,
            404
        )
        .await,
        "Could not find group identity in domain configuration for domain default."
    );
    assert_eq!(
        c.get(D, StatusCode::OK).await,
        json!({"config": {"ldap": {"url": "x", "use_tls": false}}})
    );
    for _ in 0..2 {
        assert_eq!(
            del(D.to_owned()).await.unwrap().status(),
            StatusCode::NO_CONTENT
        );
    }
    c.get(D, StatusCode::NOT_FOUND).await;
    assert_eq!(
        c.error(Method::DELETE, "/v3/domains/nope/config", Value::Null, 404)
            .await,
        "Could not find domain: nope."
    );
}

#[tokio::test]
async fn defaults_are_keystones() {
    let c = cloud().await;
    let all = c.get("/v3/domains/config/default", StatusCode::OK).await;
    let ldap = &all["config"]["ldap"];
    assert_eq!(ldap.as_object().unwrap().len(), 49);
    assert_eq!(ldap["url"], "ldap://localhost");
    assert_eq!(ldap["user_enabled_default"], "True");
    assert_eq!(ldap["pool_retry_delay"], 0.1);
    assert_eq!(ldap["user_attribute_ignore"], json!(["default_project_id"]));
    assert_eq!(
        c.get("/v3/domains/config/identity/default", StatusCode::OK)
            .await,
        json!({"config": {"identity": {"driver": "sql", "list_limit": null}}})
    );
    assert_eq!(
        c.get("/v3/domains/config/ldap/url/default", StatusCode::OK)
            .await,
        json!({"config": {"url": "ldap://localhost"}})
    );
    assert_eq!(
        c.get(
            "/v3/domains/config/identity/list_limit/default",
            StatusCode::OK
        )
        .await,
        json!({"config": {"list_limit": null}})
    );
    assert_eq!(
        c.error(
            Method::GET,
            "/v3/domains/config/ldap/password/default",
            Value::Null,
            403
        )
        .await,
        format!("{INVALID}Reading the default for option password in group ldap is not supported.")
    );
    assert_eq!(
        c.error(
            Method::GET,
            "/v3/domains/config/security_compliance/default",
            Value::Null,
            403
        )
        .await,
        format!(
            "{INVALID}Group security_compliance is not supported for domain specific configurations."
        )
    );
    assert_eq!(
        c.error(Method::PUT, "/v3/domains/config/default", Value::Null, 405)
            .await,
        "The method is not allowed for the requested URL."
    );
}

#[tokio::test]
async fn who_may_call_them() {
    let c = cloud().await;
    let m = &c.member;
    let denied = [
        (Method::GET, D.to_owned(), "identity:get_domain_config"),
        (Method::PUT, D.to_owned(), "identity:create_domain_config"),
        (Method::PATCH, D.to_owned(), "identity:update_domain_config"),
        (
            Method::DELETE,
            D.to_owned(),
            "identity:delete_domain_config",
        ),
        (
            Method::GET,
            "/v3/domains/config/default".to_owned(),
            "identity:get_domain_config_default",
        ),
        (
            Method::GET,
            "/v3/domains/nope/config/ldap".to_owned(),
            "identity:get_domain_config",
        ),
    ];
    for (method, path, rule) in denied {
        assert_eq!(
            keystone_error(
                c.request(m, method, &path)
                    .json(&json!({"config": {"ldap": {"url": "x"}}})),
                403
            )
            .await,
            format!("You are not authorized to perform the requested action: {rule}.")
        );
    }
    // the default domain's security compliance group: anyone with a token
    let sc = format!("{D}/security_compliance");
    assert_eq!(
        c.json(c.request(m, Method::GET, &sc), StatusCode::OK).await,
        json!({"config": {"security_compliance":
            {"password_regex": null, "password_regex_description": null}}})
    );
    assert_eq!(
        c.json(
            c.request(m, Method::GET, &format!("{sc}/password_regex_description")),
            StatusCode::OK
        )
        .await,
        json!({"config": {"password_regex_description": null}})
    );
    assert_eq!(
        keystone_error(
            c.request(m, Method::GET, &format!("{sc}/lockout_duration")),
            403
        )
        .await,
        format!(
            "{INVALID}Reading security compliance values other than password_regex and password_regex_description is not allowed.."
        )
    );
    assert_eq!(
        keystone_error(
            c.request(
                m,
                Method::GET,
                "/v3/domains/nope/config/security_compliance"
            ),
            403
        )
        .await,
        format!(
            "{INVALID}Reading security compliance information for any domain other than the default domain is not allowed or supported.."
        )
    );
    assert_eq!(
        keystone_error(Client::new().get(format!("{}{sc}", c.fake.url())), 401).await,
        "The request you have made requires authentication."
    );
    // a system reader reads, but does not change
    let reader = c.fake.create_user("sysreader", "readerpw").unwrap();
    c.fake.grant_system_role(&reader, "reader").unwrap();
    let (system, _) = token(
        &c.fake,
        "sysreader",
        "readerpw",
        json!({"system": {"all": true}}),
    )
    .await;
    c.json(
        c.request(&system, Method::GET, "/v3/domains/config/default"),
        StatusCode::OK,
    )
    .await;
    c.json(c.request(&system, Method::GET, D), StatusCode::NOT_FOUND)
        .await;
    keystone_error(
        c.request(&system, Method::PUT, D)
            .json(&json!({"config": {"ldap": {"url": "x"}}})),
        403,
    )
    .await;
}

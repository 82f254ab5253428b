//! Session behaviour that needs the fake's test controls: re-authentication near expiry and
//! after a 401, one shared re-authentication for concurrent callers, catalog selection across
//! regions and interfaces, and "Keystone unavailable" kept apart from other errors.

use std::time::Duration;

use keystone_client::{
    Auth, EndpointFilter, Error, ErrorKind, Interface, Session, UserIdentity, ValidateOptions,
};
use keystone_fake::{FakeKeystone, Fault};
use keystone_types::auth::Scope;

const ISSUE: &str = "POST /v3/auth/tokens";

fn admin_session(fake: &FakeKeystone) -> keystone_client::SessionBuilder {
    Session::builder(
        fake.auth_url(),
        Auth::password(UserIdentity::by_name("admin", "Default"), "adminpw")
            .scoped(Scope::project_by_name("admin", "Default")),
    )
}

#[tokio::test]
async fn the_token_is_cached_and_renewed_within_the_margin() {
    let fake = FakeKeystone::start().await.unwrap();
    let session = admin_session(&fake).build().unwrap();
    let first = session.access().await.unwrap();
    let again = session.access().await.unwrap();
    assert_eq!(first.token(), again.token());
    assert_eq!(fake.requests(ISSUE), 1);

    // tokens that live less than the margin are renewed on every use
    fake.set_token_ttl(Duration::from_secs(60));
    let short = admin_session(&fake).build().unwrap();
    short.access().await.unwrap();
    short.access().await.unwrap();
    assert_eq!(fake.requests(ISSUE), 3);
    // ...unless the margin is smaller
    let relaxed = admin_session(&fake)
        .reauth_margin(Duration::from_secs(10))
        .build()
        .unwrap();
    relaxed.access().await.unwrap();
    relaxed.access().await.unwrap();
    assert_eq!(fake.requests(ISSUE), 4);
}

#[tokio::test]
async fn a_401_drops_the_token_and_retries_once() {
    let fake = FakeKeystone::start().await.unwrap();
    let session = admin_session(&fake).build().unwrap();
    let own = session.access().await.unwrap();
    let admin = session.admin();
    admin.list_regions().await.unwrap();

    // the session's own token expires on Keystone's clock: the next call re-authenticates
    fake.clock().advance(Duration::from_secs(3601));
    admin.list_regions().await.unwrap();
    assert_eq!(fake.requests(ISSUE), 2);
    assert_eq!(
        fake.requests("GET /v3/regions"),
        3,
        "the failed call, then its retry"
    );

    // the session's own token is revoked: same
    let current = session.access().await.unwrap();
    assert_ne!(current.token(), own.token());
    session
        .revoke_token(current.token().expose())
        .await
        .unwrap();
    admin.list_regions().await.unwrap();
    assert_eq!(fake.requests(ISSUE), 3);

    // credentials that stop working: one retry, then the 401 is the answer
    fake.set_user_password(&fake.admin().user_id, "changed")
        .unwrap();
    fake.clock().advance(Duration::from_secs(3601));
    let err = admin.list_regions().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
}

#[tokio::test]
async fn concurrent_callers_share_one_authentication() {
    let fake = FakeKeystone::start().await.unwrap();
    let session = admin_session(&fake).build().unwrap();
    let calls = (0..20).map(|_| {
        let s = session.clone();
        tokio::spawn(async move { s.admin().list_regions().await })
    });
    for c in calls {
        c.await.unwrap().unwrap();
    }
    assert_eq!(fake.requests(ISSUE), 1);
    assert_eq!(fake.requests("GET /v3/regions"), 20);
}

#[tokio::test]
async fn endpoints_honour_interface_region_and_name() {
    let fake = FakeKeystone::start().await.unwrap();
    fake.create_region("RegionTwo").unwrap();
    let a = fake.create_service("compute", "nova").unwrap();
    let b = fake.create_service("compute", "nova-cells").unwrap();
    for (svc, interface, region, url) in [
        (&a, "public", "RegionOne", "http://one.public"),
        (&a, "internal", "RegionOne", "http://one.internal"),
        (&a, "public", "RegionTwo", "http://two.public"),
        (&a, "admin", "RegionTwo", "http://two.admin"),
        (&b, "public", "RegionTwo", "http://cells.two.public"),
    ] {
        fake.create_endpoint(svc, interface, url, Some(region))
            .unwrap();
    }
    let session = admin_session(&fake).build().unwrap();
    let pick = |filter: EndpointFilter| {
        let s = session.clone();
        async move { s.endpoint(&filter).await }
    };
    let f = || EndpointFilter::new("compute");
    assert_eq!(
        pick(f().region("RegionOne")).await.unwrap(),
        "http://one.public"
    );
    assert_eq!(
        pick(f().region("RegionOne").interface(Interface::Internal))
            .await
            .unwrap(),
        "http://one.internal"
    );
    assert_eq!(
        pick(
            f().region("RegionTwo")
                .interfaces([Interface::Internal, Interface::Admin])
        )
        .await
        .unwrap(),
        "http://two.admin"
    );
    assert_eq!(
        pick(f().region("RegionTwo").service_name("nova-cells"))
            .await
            .unwrap(),
        "http://cells.two.public"
    );
    assert_eq!(
        pick(f().endpoint_override("http://override"))
            .await
            .unwrap(),
        "http://override"
    );
    let missing = pick(f().region("RegionOne").interface(Interface::Admin))
        .await
        .unwrap_err();
    assert!(
        matches!(missing, Error::EndpointNotFound { .. }),
        "{missing}"
    );
    assert!(missing.to_string().contains("RegionOne"));
    assert!(matches!(
        pick(EndpointFilter::new("volume")).await.unwrap_err(),
        Error::EndpointNotFound { .. }
    ));

    // the session's interfaces apply when the filter names none (OS_INTERFACE=internal)
    let internal = admin_session(&fake)
        .interfaces([Interface::Internal])
        .build()
        .unwrap();
    assert_eq!(
        internal.endpoint(&f()).await.unwrap(),
        "http://one.internal"
    );
    assert_eq!(
        internal
            .endpoint(
                &f().interface(Interface::Public)
                    .region("RegionTwo")
                    .service_name("nova")
            )
            .await
            .unwrap(),
        "http://two.public"
    );

    // the session's region applies when the filter names none
    let in_two = admin_session(&fake).region("RegionTwo").build().unwrap();
    assert_eq!(
        in_two.endpoint(&f().service_name("nova")).await.unwrap(),
        "http://two.public"
    );

    // an unscoped token has no catalog
    let unscoped = Session::builder(
        fake.auth_url(),
        Auth::password(UserIdentity::by_name("admin", "Default"), "adminpw")
            .scoped(Scope::Unscoped),
    )
    .build()
    .unwrap();
    assert!(matches!(
        unscoped.endpoint(&f()).await.unwrap_err(),
        Error::EmptyCatalog
    ));
}

#[tokio::test]
async fn keystone_unavailable_is_its_own_kind() {
    let fake = FakeKeystone::start().await.unwrap();
    let session = admin_session(&fake).build().unwrap();
    let token = session.access().await.unwrap().token().expose().to_owned();

    fake.controls()
        .set_fault("GET /v3/auth/tokens", Fault::status(503));
    let err = session
        .validate_token(&token, ValidateOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    fake.controls().clear_faults();

    // with retries configured, a passing 503 is absorbed
    fake.controls()
        .set_fault("GET /v3/auth/tokens", Fault::status(503));
    let patient = admin_session(&fake)
        .status_retries(2)
        .retry_delay(Duration::from_millis(1), Duration::from_millis(5))
        .build()
        .unwrap();
    patient.access().await.unwrap();
    let before = fake.requests("GET /v3/auth/tokens");
    assert_eq!(
        patient
            .validate_token(&token, ValidateOptions::default())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Unavailable
    );
    assert_eq!(
        fake.requests("GET /v3/auth/tokens") - before,
        3,
        "one try and two retries"
    );
    fake.controls().clear_faults();

    fake.refuse_connections(true).await.unwrap();
    let err = session
        .validate_token(&token, ValidateOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(matches!(err, Error::Transport { .. }));
    fake.refuse_connections(false).await.unwrap();
    session
        .validate_token(&token, ValidateOptions::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn secrets_stay_out_of_debug_output() {
    let fake = FakeKeystone::start().await.unwrap();
    let session = admin_session(&fake).build().unwrap();
    let access = session.access().await.unwrap();
    for debug in [format!("{session:?}"), format!("{access:?}")] {
        assert!(!debug.contains("adminpw"), "{debug}");
        assert!(!debug.contains(access.token().expose()), "{debug}");
    }
}

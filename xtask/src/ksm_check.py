# keystonemiddleware 13.0.1's auth_token in front of a small WSGI app, configured against the
# fake Keystone whose URL is argv[1]; prints one JSON result per case.
import json, sys, urllib.request
import webob
from keystonemiddleware import auth_token

URL = sys.argv[1].rstrip("/")
KEYS = ["HTTP_X_IDENTITY_STATUS", "HTTP_X_USER_ID", "HTTP_X_USER_NAME", "HTTP_X_USER_DOMAIN_ID",
        "HTTP_X_PROJECT_ID", "HTTP_X_PROJECT_NAME", "HTTP_X_ROLES", "HTTP_X_SERVICE_CATALOG",
        "HTTP_X_SERVICE_IDENTITY_STATUS", "HTTP_X_SERVICE_USER_NAME", "HTTP_X_SERVICE_ROLES"]


def inner(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({k: environ.get(k) for k in KEYS}).encode()]


def protocol(**extra):
    conf = dict(auth_type="password", auth_url=URL + "/v3", username="myservice",
                password="myservicesecretpassword", user_domain_id="default",
                project_name="services", project_domain_id="default",
                www_authenticate_uri=URL + "/v3", **extra)
    return auth_token.filter_factory({}, **conf)(inner)


def issue(user, password, project):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
    req = urllib.request.Request(URL + "/v3/auth/tokens", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req) as r:
        return r.headers["X-Subject-Token"], json.load(r)["token"]


def revoke(admin, subject):
    req = urllib.request.Request(URL + "/v3/auth/tokens", method="DELETE",
                                 headers={"X-Auth-Token": admin, "X-Subject-Token": subject})
    urllib.request.urlopen(req).close()


def call(app, **headers):
    resp = webob.Request.blank("/", headers=headers).get_response(app)
    body = {}
    if resp.status_int == 200:
        body = json.loads(resp.body)
    return resp.status_int, body, resp.headers


results = []


def case(name, ok, detail):
    results.append({"case": name, "ok": bool(ok), "detail": detail})


alice, alice_body = issue("alice", "alicepw", "demo")
service, _ = issue("myservice", "myservicesecretpassword", "services")
admin, _ = issue("admin", "adminpw", "admin")
with_catalog = protocol(include_service_catalog="true")
without_catalog = protocol(include_service_catalog="false")

status, seen, _ = call(with_catalog, **{"X-Auth-Token": alice})
catalog = json.loads(seen.get("HTTP_X_SERVICE_CATALOG") or "[]")
case("valid token confirmed", status == 200 and seen.get("HTTP_X_IDENTITY_STATUS") == "Confirmed", [status, seen])
case("user, project and roles", seen.get("HTTP_X_USER_NAME") == "alice"
     and seen.get("HTTP_X_USER_ID") == alice_body["user"]["id"]
     and seen.get("HTTP_X_PROJECT_ID") == alice_body["project"]["id"]
     and seen.get("HTTP_X_PROJECT_NAME") == "demo"
     and set((seen.get("HTTP_X_ROLES") or "").split(",")) == {"member", "reader"}, seen)
case("service catalog included", any(s.get("type") == "myservice" for s in catalog), catalog)

status, seen, _ = call(without_catalog, **{"X-Auth-Token": alice})
case("service catalog left out", status == 200 and seen.get("HTTP_X_SERVICE_CATALOG") is None, [status, seen])

status, _, headers = call(with_catalog, **{"X-Auth-Token": "gAAAAABbogus"})
case("bogus token rejected", status == 401 and "Keystone uri" in headers.get("WWW-Authenticate", ""), [status, dict(headers)])

status, _, _ = call(with_catalog)
case("missing token rejected", status == 401, status)

status, seen, _ = call(with_catalog, **{"X-Auth-Token": alice, "X-Service-Token": service})
case("service token confirmed", status == 200 and seen.get("HTTP_X_SERVICE_IDENTITY_STATUS") == "Confirmed"
     and seen.get("HTTP_X_SERVICE_USER_NAME") == "myservice", [status, seen])

status, _, _ = call(with_catalog, **{"X-Auth-Token": alice, "X-Service-Token": alice})
case("a user token is no service token", status == 401, status)

doomed, _ = issue("alice", "alicepw", "demo")
fresh = protocol(include_service_catalog="false")
status, _, _ = call(fresh, **{"X-Auth-Token": doomed})
first = status
revoke(admin, doomed)
status, _, _ = call(protocol(include_service_catalog="false"), **{"X-Auth-Token": doomed})
case("revoked token rejected", first == 200 and status == 401, [first, status])

print(json.dumps(results))

# keystonemiddleware 13.0.1's auth_token with a memcached token cache, in front of a trivial
# WSGI app, configured against the fake Keystone. Usage:
#   ksm_memcache.py FAKE_URL SERVERS STRATEGY SECRET TOKEN...
# (SECRET "-" for none); prints one JSON list: each token's HTTP status through the filter.
# With KSM_STORE_INVALID=1 in the environment, each token's entry is first written as
# keystonemiddleware 4.x's store_invalid wrote it: the JSON string "invalid", through the
# cache's own key and protection (13.0.1's TokenCache.set, which 4.x's _cache_store was).
import json, os, sys
import webob
from keystonemiddleware import auth_token

url, servers, strategy, secret = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3], sys.argv[4]
tokens = sys.argv[5:]


def inner(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ.get("HTTP_X_USER_NAME", "").encode()]


conf = dict(auth_type="password", auth_url=url + "/v3", username="proxysvc",
            password="proxysvcpw", user_domain_id="default", project_name="services",
            project_domain_id="default", www_authenticate_uri=url + "/v3",
            include_service_catalog="false", memcached_servers=servers,
            memcache_security_strategy=strategy)
if secret != "-":
    conf["memcache_secret_key"] = secret
app = auth_token.filter_factory({}, **conf)(inner)
if os.environ.get("KSM_STORE_INVALID") == "1":
    app._token_cache.initialize({})
    for t in tokens:
        app._token_cache.set(t, "invalid")
out = []
for t in tokens:
    resp = webob.Request.blank("/", headers={"X-Auth-Token": t}).get_response(app)
    out.append([resp.status_int, resp.body.decode()])
print(json.dumps(out))

# keystonemiddleware 13.0.1's auth_token in front of the same trivial app as the throughput
# benchmark's axum server: /open answers without authentication, every other path through
# auth_token (in-process token cache, no catalog), configured from the environment by the
# benchmark, which serves it with gunicorn.
import os
import sys

# oslo.config must not read gunicorn's arguments as its own
sys.argv = sys.argv[:1]

from keystonemiddleware import auth_token  # noqa: E402


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [b"ok"]


protected = auth_token.filter_factory(
    {},
    auth_type="password",
    auth_url=os.environ["KSM_BENCH_AUTH_URL"],
    www_authenticate_uri=os.environ["KSM_BENCH_AUTH_URL"],
    username=os.environ["KSM_BENCH_USERNAME"],
    password=os.environ["KSM_BENCH_PASSWORD"],
    user_domain_id="default",
    project_id=os.environ["KSM_BENCH_PROJECT_ID"],
    include_service_catalog="false",
)(hello)


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/open":
        return hello(environ, start_response)
    return protected(environ, start_response)

# A WSGI application as teams write them behind keystonemiddleware: it builds oslo.context's
# RequestContext from the request's headers (seed document 002 does exactly this) and answers
# who called. Served by gunicorn behind keystone-proxy (or nginx with keystone-proxy's forward
# auth) in `cargo xtask conformance`.
import json

from oslo_context import context


def application(environ, start_response):
    ctx = context.RequestContext.from_environ(environ)
    length = 0
    body = environ.get("wsgi.input")
    if body is not None:
        while True:
            chunk = body.read(1 << 16)
            if not chunk:
                break
            length += len(chunk)
    status = "201 Created" if environ["REQUEST_METHOD"] == "POST" else "200 OK"
    answer = {
        "user_id": ctx.user_id,
        "user_name": ctx.user_name,
        "project_id": ctx.project_id,
        "roles": ctx.roles,
        "is_admin_project": ctx.is_admin_project,
        "identity_status": environ.get("HTTP_X_IDENTITY_STATUS"),
        "spoofed": environ.get("HTTP_X_SPOOFED_CHECK"),
        "request_id": environ.get("HTTP_X_OPENSTACK_REQUEST_ID"),
        "path": environ.get("PATH_INFO"),
        # every identity-looking header that reached the application, for the spoofing checks
        "identity_headers": {k: v for k, v in environ.items()
                             if k.startswith(("HTTP_X_", "HTTP_OPENSTACK_"))},
        "length": length,
    }
    data = json.dumps(answer).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(data)))])
    return [data]

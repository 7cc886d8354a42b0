"""moto_run.py - moto_server, with the request's query string as the client sent it.

with_moto.sh starts moto through this file instead of the moto_server script.
moto checks a request's SigV4 signature against the URL it gets from werkzeug,
whose Request.url decodes %2F in the query to '/': every S3 request with a '/'
in a query value (ListObjectsV2 with prefix=2026/12/05/, the fleet's day
listing) is refused with SignatureDoesNotMatch, also for boto3 and the aws
CLI.  SigV4 signs the query as sent (each value URI-encoded, '/' as %2F), so
here moto is handed the URL with the raw query string; the signature is still
checked on every request (test_moto_query checks a wrong key is refused).
Everything else is moto_server as installed.
"""
import sys
from urllib.parse import urlsplit, urlunsplit

from moto.core import responses

_setup_class = responses.BaseResponse.setup_class


def setup_class(self, request, full_url, headers, use_raw_body=False):
    raw = getattr(request, "query_string", None)
    if isinstance(raw, bytes) and raw:
        p = urlsplit(full_url)
        full_url = urlunsplit((p.scheme, p.netloc, p.path, raw.decode("latin-1"), p.fragment))
    return _setup_class(self, request, full_url, headers, use_raw_body)


responses.BaseResponse.setup_class = setup_class

from moto.server import main  # noqa: E402

sys.exit(main())

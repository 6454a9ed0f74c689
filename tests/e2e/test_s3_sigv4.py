"""Our SigV4 signatures against an independent signer, botocore.

For every request shape the S3 client sends, the C client prints the
request it would send at a fixed time (`test_s3 --cli ... sign`); botocore's
S3SigV4Auth signs the same method, URL, headers and body at the same time,
and the two Authorization headers must be identical.  (s3rver does not
check signatures, so this is what proves them.)
"""
import hashlib
import base64

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from s3util import run_cli

WHEN = 1440938160                      # 2015-08-30T12:36:00Z
TIMESTAMP = "20150830T123600Z"
AK, SK = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4=="
UNSIGNED = "UNSIGNED-PAYLOAD"

DELETE_BODY = (b'<?xml version="1.0" encoding="UTF-8"?><Delete><Quiet>true'
               b'</Quiet><Object><Key>p/a b</Key></Object></Delete>')
COMPLETE_BODY = (b'<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>'
                 b'<ETag>"0cc175b9c0f1b6a831c399e269772661"</ETag></Part>'
                 b'</CompleteMultipartUpload>')


def b64md5(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


# (name, method, key or None for the bucket, query params, headers, body,
#  payload hash or UNSIGNED)
SHAPES = [
    ("put-object", "PUT", "ks/t-1/mc-1-big-Data.db", [],
     [("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="),
      ("Content-Type", "application/octet-stream"),
      ("x-amz-meta-rm-sha256", "ab" * 32)], None, UNSIGNED),
    ("put-object-signed-payload", "PUT", "manifest.json", [],
     [("Content-MD5", b64md5(b'{"a": 1}')),
      ("Content-Type", "application/json")], b'{"a": 1}', "hash"),
    ("get-range", "GET", "ks/t-1/big", [],
     [("Range", "bytes=16777216-33554431"),
      ("If-Match", '"0cc175b9c0f1b6a831c399e269772661-3"')], None,
     "hash"),
    ("get-whole", "GET", "ks/t-1/small", [], [], None, "hash"),
    ("head", "HEAD", "ks/t-1/small", [], [], None, "hash"),
    ("list-v2", "GET", None,
     [("list-type", "2"), ("prefix", "pre/ks 1/"), ("max-keys", "1000")],
     [], None, "hash"),
    ("list-v2-continuation", "GET", None,
     [("list-type", "2"), ("prefix", "pre/"), ("max-keys", "400"),
      ("continuation-token", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=+ ~%")],
     [], None, "hash"),
    ("delete-objects", "POST", None, [("delete", "")],
     [("Content-MD5", b64md5(DELETE_BODY)),
      ("Content-Type", "application/xml")], DELETE_BODY, "hash"),
    ("create-multipart", "POST", "big/file", [("uploads", "")],
     [("Content-Type", "application/octet-stream"),
      ("x-amz-meta-rm-part-size", "16777216")], None, "hash"),
    ("upload-part", "PUT", "big/file",
     [("partNumber", "3"), ("uploadId", "VXBsb2FkIElE/+=x y")],
     [("Content-MD5", "DMF1ucDxtqgxw5niaXcmYQ==")], None, UNSIGNED),
    ("complete-multipart", "POST", "big/file",
     [("uploadId", "VXBsb2FkIElE/+=x y")],
     [("Content-Type", "application/xml")], COMPLETE_BODY, "hash"),
    ("abort-multipart", "DELETE", "big/file",
     [("uploadId", "VXBsb2FkIElE/+=x y")], [], None, "hash"),
    ("key-space-unicode-slashes", "PUT",
     "snap shot/t\u00e9st/\u1234/a+b=c&d'(e)*!~,;:$@[].db", [],
     [("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg==")], None, UNSIGNED),
    ("header-value-spaces", "PUT", "k", [],
     [("Content-Type", "text/plain;   charset=utf-8"),
      ("x-amz-meta-note", "  two  spaces  ")], None, UNSIGNED),
]

CONFIGS = [
    ("path-style", ["--endpoint", "http://127.0.0.1:4568"], "us-east-1",
     None),
    ("aws-vhost-token", [], "eu-west-1", TOKEN),
    ("aws-path-style", ["--path-style"], "ap-southeast-2", None),
]


class _S3Config:
    def __init__(self, signed):
        self.s3 = {"payload_signing_enabled": signed}


def parse_signed(text):
    lines = text.splitlines()
    assert lines[0].startswith("URL ")
    url = lines[0][4:]
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(": ")
        headers.append((name, value))
    return url, headers


def botocore_authorization(method, url, headers, body, payload, region,
                           token):
    creds = Credentials(AK, SK, token)
    auth = S3SigV4Auth(creds, "s3", region)
    skip = {"authorization", "x-amz-date", "x-amz-content-sha256",
            "x-amz-security-token"}
    req = AWSRequest(method=method, url=url,
                     headers={n: v for n, v in headers
                              if n.lower() not in skip},
                     data=body)
    req.context["timestamp"] = TIMESTAMP
    req.context["client_config"] = _S3Config(payload != UNSIGNED)
    # add_auth() would take the time from the clock; these are its steps.
    auth._modify_request_before_signing(req)
    creq = auth.canonical_request(req)
    sts = auth.string_to_sign(req, creq)
    sig = auth.signature(sts, req)
    auth._inject_signature_to_request(req, sig)
    return req.headers["Authorization"], req.headers, creq


@pytest.mark.parametrize("cfg", CONFIGS, ids=[c[0] for c in CONFIGS])
@pytest.mark.parametrize("shape", SHAPES, ids=[s[0] for s in SHAPES])
def test_signature_matches_botocore(shape, cfg):
    name, method, key, params, headers, body, payload = shape
    cname, cfg_args, region, token = cfg
    if payload == "hash":
        payload = hashlib.sha256(body or b"").hexdigest()
    args = ["--region", region, "--access-key", AK, "--secret-key", SK,
            "--date", WHEN, "--payload", payload] + cfg_args
    if token:
        args += ["--token", token]
    for n, v in headers:
        args += ["-x", f"{n}:{v}"]
    p = run_cli("s3://examplebucket/pre", "sign", method, key or "-",
                *[f"{k}={v}" for k, v in params], extra=args)
    url, ours = parse_signed(p.stdout)
    ours_d = {n.lower(): v for n, v in ours}

    want, theirs, creq = botocore_authorization(method, url, ours, body,
                                                payload, region, token)
    assert ours_d["authorization"] == want, f"canonical request:\n{creq}"
    # The headers that carry signed values agree too.
    assert ours_d["x-amz-date"] == theirs["X-Amz-Date"] == TIMESTAMP
    assert ours_d["x-amz-content-sha256"] == theirs["X-Amz-Content-SHA256"]
    if token:
        assert ours_d["x-amz-security-token"] == token
    # Everything we send that S3 may check is signed.
    signed = want.split("SignedHeaders=")[1].split(",")[0].split(";")
    for n, _ in headers:
        assert n.lower() in signed
    assert {"host", "x-amz-date", "x-amz-content-sha256"} <= set(signed)


def test_vhost_url_shape():
    p = run_cli("s3://examplebucket/pre", "sign", "GET", "a b",
                extra=["--region", "eu-west-1", "--access-key", AK,
                       "--secret-key", SK, "--date", WHEN])
    url, headers = parse_signed(p.stdout)
    assert url == "https://examplebucket.s3.eu-west-1.amazonaws.com/pre/a%20b"
    assert ("Host", "examplebucket.s3.eu-west-1.amazonaws.com") in headers

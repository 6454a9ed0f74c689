#!/usr/bin/python3
"""Write the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/.

Nodetool seeds are real captures: ../shared/cassandra (Cassandra 3.x to 5.0
samples and 4.1.0-real, taken from a real 4.1 node) and tests/unit/samples
(4.1.1), with the "[exit N ...]" line our capture tool adds cut off.  The
others are small documents of each format as the product writes or reads
them (manifests as manifest_node_dump() writes them, S3 answers as
s3rver and AWS send them, config files as docs/configuration.md shows).
Re-run after adding captures:  tests/fuzz/mkcorpus.py [--shared DIR]
The corpus is checked in, so `make fuzz` does not need ../shared.
"""
import argparse
import hashlib
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# target -> file-name patterns under the shared captures and unit samples
NODETOOL = {
    "status": [r"^status"],
    "info": [r"^info"],
    "describecluster": [r"^describecluster"],
    "ring": [r"^ring"],
    "listsnapshots": [r"^listsnapshots"],
    "compactionstats": [r"^compactionstats"],
    "repair": [r"^repair"],
    "version": [r"^version"],
    "tablestats": [r"^tablestats"],
    "gossipinfo": [r"^gossipinfo"],
}

COMPACTIONSTATS = [
    "pending tasks: 3\n- shop.orders: 2\n- shop.customers: 1\n\n"
    "id                                   compaction type             keyspace table  completed total    unit  progress\n"
    "0b8f1e40-e602-11f1-9a14-e980da17a1d7 Compaction                  shop     orders 1024      4096     bytes 25.00%\n"
    "Active compaction remaining time :   0h00m03s\n",
    "pending tasks: 1\n"
    "   compaction type   keyspace   table   completed   total   unit   progress\n"
    "        Validation       ks1      t1          10      40   bytes     25.00%\n"
    "Active compaction remaining time :        n/a\n",
    "concurrent compactors            2\npending tasks                    0\n"
    "compactions completed            24\ndata compacted                   1.2 MiB\n",
]

ERRORS = [
    "error: Keyspace nosuch does not exist\n-- StackTrace --\njava.lang.IllegalArgumentException: Keyspace nosuch does not exist\n",
    "nodetool: Failed to connect to '127.0.0.1:7199' - ConnectException: 'Connection refused'.\n",
    "Error: The keyspace nosuch, does not exist\n",
    "266.06 KiB\n", "1.2 GiB\n", "967 bytes\n", "?\n",
]

NODE_MANIFEST = (
    '{"format":1,"kind":"node","cluster":"prod","backup_id":"b-20261206-1",'
    '"host_id":"6d2f1c2e-0b5c-4c3e-9d8f-1a2b3c4d5e6f","address":"127.0.0.1",'
    '"dc":"datacenter1","rack":"rack1","cassandra_version":"4.1.1",'
    '"tokens":["-9223372036854775808","0","4611686018427387904"],'
    '"started_at":"2026-05-28T20:26:40Z","finished_at":"2026-05-28T20:27:40Z",'
    '"tables":[{"keyspace":"shop","table_dir":"orders-0123456789abcdef0123456789abcdef",'
    '"schema":"CREATE TABLE shop.orders (id int PRIMARY KEY, cust int);"}],'
    '"files":[{"keyspace":"shop","table_dir":"orders-0123456789abcdef0123456789abcdef",'
    '"subdir":null,"name":"nb-1-big-Data.db","key":"prod/data/6d2f1c2e-0b5c-4c3e-9d8f-1a2b3c4d5e6f/'
    'shop/orders-0123456789abcdef0123456789abcdef/nb-1-big-Data.db","size":4096,'
    '"mtime_ns":1780000000123456789,"sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",'
    '"reused":false},{"keyspace":"shop","table_dir":"orders-0123456789abcdef0123456789abcdef",'
    '"subdir":".orders_cust","name":"nb-2-big-Index.db","key":"prod/data/6d2f1c2e-0b5c-4c3e-9d8f-1a2b3c4d5e6f/'
    'shop/orders-0123456789abcdef0123456789abcdef/.orders_cust/nb-2-big-Index.db","size":100,'
    '"mtime_ns":1780000000123456789,"sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",'
    '"reused":true}],"files_count":2,"files_uploaded":1,"bytes":4196,"bytes_uploaded":4096}\n')
CLUSTER_MANIFEST = (
    '{"format":1,"kind":"cluster","cluster":"prod","backup_id":"b-20261206-1","task_id":"t-1",'
    '"started_at":"2026-05-28T20:26:40Z","finished_at":"2026-05-28T20:27:50Z",'
    '"options":{"keyspaces":["shop"],"par":2},"nodes":[{"host_id":"6d2f1c2e-0b5c-4c3e-9d8f-1a2b3c4d5e6f",'
    '"address":"127.0.0.1","dc":"datacenter1","rack":"rack1",'
    '"manifest":"prod/backups/b-20261206-1/nodes/6d2f1c2e-0b5c-4c3e-9d8f-1a2b3c4d5e6f.json",'
    '"files":2,"files_uploaded":1,"bytes":4196,"bytes_uploaded":4096}],"files":0,"files_uploaded":0,'
    '"bytes":0,"bytes_uploaded":0,"missing_nodes":[{"address":"127.0.0.2","host_id":null,"state":"down"}]}\n')
KEYSET = '{"keys":["prod/data/h1/shop/orders-0123/nb-1-big-Data.db","prod/data/h1/shop/orders-0123/nb-2-big-Data.db"]}\n'

S3XML = [
    '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    '<Name>rm</Name><Prefix>prod/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>'
    '<IsTruncated>true</IsTruncated><NextContinuationToken>cHJvZC9kYXRh</NextContinuationToken>'
    '<Contents><Key>prod/backups/b1/cluster.json</Key><LastModified>2026-12-06T10:00:00.000Z</LastModified>'
    '<ETag>&quot;9e107d9d372bb6826bd81d3542a419d6&quot;</ETag><Size>812</Size><StorageClass>STANDARD</StorageClass></Contents>'
    '<Contents><Key>prod/data/h1/ks/t-1/nb-1-big-Data.db</Key><LastModified>2026-12-06T10:00:01.000Z</LastModified>'
    '<ETag>"d41d8cd98f00b204e9800998ecf8427e-2"</ETag><Size>10485760</Size></Contents></ListBucketResult>',
    '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult><Name>rm</Name><IsTruncated>false</IsTruncated></ListBucketResult>',
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message>'
    '<BucketName>rm</BucketName><RequestId>4442587FB7D0A2F9</RequestId></Error>',
    '<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    '<Bucket>rm</Bucket><Key>prod/data/x</Key><UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>'
    '</InitiateMultipartUploadResult>',
    '<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult><Location>http://127.0.0.1/rm/x</Location>'
    '<Bucket>rm</Bucket><Key>x</Key><ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag></CompleteMultipartUploadResult>',
    '<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult><Deleted><Key>a</Key></Deleted>'
    '<Error><Key>b</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>',
    '<!-- c --><?xml version="1.0"?><a><![CDATA[x<y]]>&amp;&#65;&#x42;</a>',
]

CONF = [
    "# ringmaster.conf\nlisten = 127.0.0.1:8080\ndata_dir = /var/lib/ringmaster\nworkers = 4\n"
    "heartbeat_interval = 10s\nheartbeat_timeout = 45s\nlog_level = info\n",
    "orchestrator = http://127.0.0.1:8080\njoin_token_file = /etc/ringagent/join-token\n"
    "cluster = prod\naddress = 127.0.0.1\ncassandra_start = systemctl start cassandra\n"
    "nodetool = /usr/bin/nodetool\nheartbeat_interval = 30s\n",
    "workers = 99999999999999999999\nlisten = [::1]:0\n",
    "a = b\n a = c\n\n=\n",
    "orchestrator = http://127.0.0.1:7400, https://[::1]:7400/rm\njoin_token_file = /etc/ringagent/join-token\n"
    "cluster = prod\naddress = 127.0.0.1\n",
    "orchestrator = http://a:1,,http://a:1\ncluster = prod\n",
]

CRON = ["0 3 * * *", "*/15 * * * *", "0 0 1,15 * mon-fri", "30 2 * jan-mar sun",
        "0 0 31 2 *", "5-55/10 0-23/2 * * 7", "@daily", "0 0 29 2 *"]

API = [
    '{"type":"backup","params":{"keyspaces":["shop"],"parallelism":2,"retention":{"keep_last":3,"keep_days":7}}}',
    '{"type":"restore","params":{"backup_id":"b-1","keyspaces":["shop"],"tables":["shop.orders"],"force":true}}',
    '{"type":"repair","params":{"keyspace":"shop","table":"orders","segments_per_node":4,"intensity":0.5,"full":false}}',
    '{"type":"replace","params":{"node":"127.0.0.3","new_address":"127.0.0.9","provider_timeout_s":60}}',
    '{"type":"removenode","params":{"host_id":"6d2f1c2e-0b5c-4c3e-9d8f-1a2b3c4d5e6f"}}',
    '{"type":"noop","params":{"steps":3,"duration_s":0.1,"fail_attempts":1,"per_node":true}}',
    '{"type":"verify","params":{"backup_ids":["b-1","b-2"],"download":true}}',
    '{"type":"purge","params":{"retention":{"keep_last":2}}}',
    '{"type":"backup","params":{"source":{"cluster":"c2","storage":"s3://b/p","endpoint":"http://127.0.0.1:9000","region":"us-east-1"},"agent":"ringagent -f /etc/ra.conf","max_attempts":2}}',
    '{"type":"node-status","params":{"nodes":["127.0.0.1","::1"],"timeout_s":30}}',
    '{"name":"prod","storage":"s3://rm/prod","settings":{"replace_after":"30m","provider":"command",'
    '"provider_command":"/usr/local/bin/provide","node_ttl":"7d","evict_removenode":true,"backup_down_policy":"skip_down"}}',
    '{"settings":{"replace_after":null,"node_ttl":"off","provider":"sim"}}',
    '{"type":"backup","cron":"0 3 * * *","params":{}}',
]

# Real answers of etcd 3.4.23's JSON gateway (Debian's etcd on 127.0.0.1,
# each request as orchestrator/ha/etcd.c sends it): (parser, HTTP status,
# body).  fuzz_etcd's input is a parser byte, a status byte, then the body.
ETCD_PARSERS = ["grant", "keepalive", "range", "txn", "plain", "endpoints", "b64"]
ETCD_STATUSES = [200, 200, 200, 200, 400, 404, 500, 503]
ETCD = [
    ("plain", 200,
     '{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"4","raft_term":"2"},"deleted":"1"}'),
    ("plain", 200,
     '{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"4","raft_term":"2"}}'),
    ("grant", 200,
     '{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"1","raft_term":"2"},"ID":"4111120484761159429","TTL":"10"}'),
    ("grant", 400,
     '{"error":"invalid character \'x\' looking for beginning of value","message":"invalid character \'x\' looking for beginning of value","code":3}'),
    ("grant", 200,
     '{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"7","raft_term":"2"},"ID":"4111120484761159445","TTL":"2"}'),
    ("keepalive", 200,
     '{"result":{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"1","raft_term":"2"},"ID":"4111120484761159429","TTL":"10"}}\n'),
    ("keepalive", 500,
     '{"error":"invalid character \'o\' in literal null (expecting \'u\')","message":"invalid character \'o\' in literal null (expecting \'u\')","code":2}'),
    ("keepalive", 200,
     '{"result":{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"1","raft_term":"2"},"ID":"12345"}}\n'),
    ("range", 400,
     '{"error":"invalid character \'o\' in literal null (expecting \'u\')","message":"invalid character \'o\' in literal null (expecting \'u\')","code":3}'),
    ("plain", 200,
     '{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"3","raft_term":"2"}}'),
    ("plain", 404,
     '{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}'),
    ("range", 200,
     '{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"3","raft_term":"2"},"kvs":[{"key":"L3g=","create_revision":"3","mod_revision":"3","version":"1"}],"count":"1"}'),
    ("range", 200,
     '{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"2","raft_term":"2"},"kvs":[{"key":"L3JpbmdtYXN0ZXIvbGVhZGVy","create_revision":"2","mod_revision":"2","version":"1","value":"aHR0cDovLzEyNy4wLjAuMTo3NDAw","lease":"4111120484761159429"}],"count":"1"}'),
    ("range", 200,
     '{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"1","raft_term":"2"}}'),
    ("range", 200,
     '{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"7","raft_term":"2"},"kvs":[{"key":"L3AvYQ==","create_revision":"6","mod_revision":"6","version":"1","value":"dgD/"},{"key":"L3AvYg==","create_revision":"7","mod_revision":"7","version":"1","value":"dgD/"}],"count":"2"}'),
    ("plain", 200,
     '{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"5","raft_term":"2"}}'),
    ("plain", 404,
     '{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}'),
    ("txn", 400,
     '{"error":"unknown value \\"NOPE\\" for enum etcdserverpb.Compare_CompareTarget","message":"unknown value \\"NOPE\\" for enum etcdserverpb.Compare_CompareTarget","code":3}'),
    ("txn", 200,
     '{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"2","raft_term":"2"}}'),
    ("txn", 200,
     '{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"2","raft_term":"2"},"succeeded":true}'),
    ("txn", 200,
     '{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"2","raft_term":"2"},"responses":[{"response_range":{"header":{"revision":"2"},"kvs":[{"key":"L3JpbmdtYXN0ZXIvbGVhZGVy","create_revision":"2","mod_revision":"2","version":"1","value":"aHR0cDovLzEyNy4wLjAuMTo3NDAw","lease":"4111120484761159429"}],"count":"1"}}]}'),
    ("txn", 200,
     '{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"2","raft_term":"2"},"succeeded":true,"responses":[{"response_put":{"header":{"revision":"2"}}}]}'),
    # The streaming calls' error shape (etcd.c's answer_error reads it).
    ("keepalive", 404,
     '{"error":{"grpc_code":5,"http_code":404,"message":"etcdserver: requested lease not found",'
     '"http_status":"Not Found","details":[]}}'),
    ("plain", 503, "upstream connect error\n"),
    ("endpoints", 200, "http://127.0.0.1:2379"),
    ("endpoints", 200, "http://10.0.0.1:2379, https://etcd-2.example:2379/ \thttp://[::1]:2379"),
    ("b64", 200, "L3JpbmdtYXN0ZXIvbGVhZGVy"),
    ("b64", 200, "dgD/"),
    ("b64", 200, "L3g="),
]

ORCHLIST = [
    "http://127.0.0.1:7400",
    "http://127.0.0.1:7400, http://127.0.0.2:7400,https://ringmaster.example/rm/\n"
    "https://RINGMASTER.example:443/rm/api/v1/tasks?x=1#frag",
    "http://127.0.0.1:7400,http://[::1]:7400\nhttp://[::1]:7400/api/v1/agents/checkin",
    "https://a.example:7400/base\nhttps://a.example:7400/other/api",
    "http://10.0.0.1:7400,http://10.0.0.2:7400\nhttp://evil.example:7400/api/v1/heartbeat",
]


def job_seed(offset, limit, text):
    return offset.to_bytes(4, "little") + limit.to_bytes(2, "little") + text


JOB = [
    job_seed(0, 4096, b'{"exit":0,"signal":null,"finished_at":1780000000000}\n'),
    job_seed(0, 4096, b'{"exit":143,"signal":"TERM","finished_at":1780000000000}'),
    job_seed(0, 16, b'{"type":"start","at":1780000000000,"pid":42}\n{"type":"attach","at":1780000000100}\n'
             b'{"type":"cancel","at":1780000000200}\n{"type":"end","at":1780000000300}\nnot json\n'),
    job_seed(27, 4096, b'{"type":"progress","pct":5}\n{"type":"progress","pct":10}\n{"type":"result"'),
]


def strip_capture(data):
    """Cut the '[exit N ...]' line our captures end with, and '$ cmd' lines."""
    lines = data.split(b"\n")
    while lines and (lines[-1].strip() == b"" or lines[-1].startswith(b"[exit")):
        lines.pop()
    if lines and lines[0].startswith(b"$ "):
        lines.pop(0)
    return b"\n".join(lines) + b"\n"


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(REPO, "..", "shared"))
    a = ap.parse_args()
    dirs = [os.path.join(a.shared, "cassandra"), os.path.join(a.shared, "cassandra", "4.1.0-real"),
            os.path.join(REPO, "tests", "unit", "samples")]
    found = 0
    for d in dirs:
        if not os.path.isdir(d):
            print(f"mkcorpus: {d}: not there, its captures are left out", file=sys.stderr)
            continue
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            if not name.endswith(".txt") or not os.path.isfile(p):
                continue
            with open(p, "rb") as f:
                data = strip_capture(f.read())
            for kind, pats in NODETOOL.items():
                if any(re.search(pat, name) for pat in pats):
                    put("fuzz_nodetool_" + kind, data)
                    found += 1
            if re.search(r"unknown|badpath|error", name):
                put("fuzz_nodetool_error", data)
    for s in COMPACTIONSTATS:
        put("fuzz_nodetool_compactionstats", s)
    for s in ERRORS:
        put("fuzz_nodetool_error", s)
    for s in (NODE_MANIFEST, CLUSTER_MANIFEST, KEYSET):
        put("fuzz_manifest", s)
    for s in S3XML:
        put("fuzz_s3xml", s)
    for s in CONF:
        put("fuzz_conf", s)
    for s in CRON:
        put("fuzz_cron", s)
    for s in API:
        put("fuzz_api_body", s)
    for s in JOB:
        put("fuzz_job_journal", s)
    for parser, status, body in ETCD:
        put("fuzz_etcd", bytes([ETCD_PARSERS.index(parser), ETCD_STATUSES.index(status)]) + body.encode())
    for s in ORCHLIST:
        put("fuzz_orchlist", s)
    print(f"mkcorpus: {found} nodetool captures")


if __name__ == "__main__":
    main()

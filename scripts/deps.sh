#!/bin/sh
# Install what building, testing and the demo need (the provisioning checks
# too: packer validate, ansible-lint with the collections the roles use
# (ansible.posix, in Debian's ansible), systemd-analyze, promtool), from Debian packages and
# (for the S3 test server only) the npm registry, pinned by
# tests/s3/package-lock.json (etcd-server: the active/standby lease tests start
# a real etcd on loopback; etcd-client's etcdctl for looking at it); Java 17 too when ../shared/cassandra-4.1 (real
# nodes for tests/real/) is present.  As root it installs; otherwise it prints the
# exact command and stops (tzdata: the zone files maintenance windows read).  --bench adds the benchmark tools; --packages the
# tools `make deb` and `make test-packages` use.
set -eu
cd "$(dirname "$0")/.."

pkgs="gcc make pkg-config libssh2-1-dev libmicrohttpd-dev libsqlite3-dev
libcurl4-openssl-dev libjansson-dev libedit-dev libssl-dev libexpat1-dev openssh-server openssh-client
python3 python3-pytest python3-pytest-xdist python3-requests python3-botocore python3-jinja2 python3-yaml prometheus nodejs npm
tmux procps iproute2 ca-certificates bash-completion systemd
packer ansible-lint ansible clang libclang-rt-14-dev
etcd-server etcd-client tzdata"
# The real-node suite (tests/real/) runs the Cassandra 4.1 build in
# ../shared/cassandra-4.1 when it is there; that build needs Java 17.
shared="${RM_SHARED:-$PWD/../shared}"
if [ -e "$shared/cassandra-4.1/cass" ]; then
	pkgs="$pkgs openjdk-17-jre-headless"
fi
# RM_DEPS_EXTRA: more packages to require (the tests use it to check the
# message a non-root user gets).
pkgs="$pkgs ${RM_DEPS_EXTRA:-}"
if [ "${1:-}" = "--packages" ]; then
	pkgs="$pkgs debhelper dpkg-dev fakeroot lintian debootstrap binutils bash-completion"
fi
if [ "${1:-}" = "--bench" ]; then
	pkgs="$pkgs wrk nginx-light python3-boto3 curl hyperfine"
fi

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
# A Node.js from elsewhere (not Debian's) is fine if node and npm run.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
	missing=$(echo "$missing" | tr ' ' '\n' | grep -vx -e nodejs -e npm | tr '\n' ' ')
fi
missing=$(echo "$missing" | tr -s ' ' | sed 's/^ //;s/ $//')

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing Debian packages: $missing" >&2
		echo "deps: run as root: apt-get update && apt-get install -y $missing" >&2
		exit 1
	fi
	echo "deps: installing $missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The S3-compatible test server, exactly as locked.
if [ ! -x tests/s3/node_modules/.bin/s3rver ] ||
   [ tests/s3/package-lock.json -nt tests/s3/node_modules/.package-lock.json ]; then
	echo "deps: installing the S3 test server (npm ci in tests/s3)"
	(cd tests/s3 && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

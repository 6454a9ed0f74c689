#!/bin/sh
# Build and install Ringmaster on the image being baked.  RINGMASTER_ROLE is
# "orchestrator" or "node": it decides which unit is enabled at boot.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends gcc make pkg-config \
	libssh2-1-dev libmicrohttpd-dev libsqlite3-dev libcurl4-openssl-dev \
	libjansson-dev libedit-dev ca-certificates
cd /usr/src/ringmaster
make clean
make -j"$(nproc)"
make install PREFIX=/usr
install -d -m 0750 /etc/ringmaster /var/lib/ringmaster
case "${RINGMASTER_ROLE:-}" in
orchestrator)
	useradd --system --home /var/lib/ringmaster --shell /usr/sbin/nologin ringmaster 2>/dev/null || true
	chown ringmaster: /var/lib/ringmaster
	systemctl enable ringmaster.service
	;;
node)
	# Enabled by Ansible once agent.conf and the join token are in place.
	systemctl disable ringagent.service 2>/dev/null || true
	;;
*)
	echo "install.sh: RINGMASTER_ROLE must be orchestrator or node" >&2
	exit 1
	;;
esac
# The build tree is not needed at run time.
rm -rf /usr/src/ringmaster/build

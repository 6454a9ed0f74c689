#!/bin/sh
# Install Ringmaster from its Debian packages on an image being built (or any
# Debian 12 root: tests/e2e/test_packages.py runs it in a debootstrap chroot).
#
#   RINGMASTER_ROLE   orchestrator (ringmaster + ringsh) or node (ringagent)
#   RINGMASTER_DEBS   directory holding the .debs from `make deb` [/tmp/ringmaster-debs]
#   CASSANDRA_SERIES  node only: Apache repository series to install Cassandra
#                     from, such as 50x or 41x, or "none" [50x]
#
# Nothing is compiled here: apt installs the packages and their runtime
# libraries from Debian, so no compiler or -dev package reaches the host.
set -eu
export DEBIAN_FRONTEND=noninteractive
debs=${RINGMASTER_DEBS:-/tmp/ringmaster-debs}
series=${CASSANDRA_SERIES:-50x}

one_deb() {
	set -- "$debs"/"$1"_*.deb
	if [ ! -e "$1" ]; then
		echo "install.sh: no $1 in $debs: run make deb and upload build/deb/" >&2
		exit 1
	fi
	echo "$1"
}

apt-get update -qq
case "${RINGMASTER_ROLE:-}" in
orchestrator)
	apt-get install -y -qq --no-install-recommends \
		"$(one_deb ringmaster)" "$(one_deb ringsh)"
	# The certificate made at installation names the build host and would
	# be shared by every instance: the unit makes a fresh one at first boot.
	rm -f /etc/ringmaster/tls/cert.pem /etc/ringmaster/tls/key.pem
	;;
node)
	apt-get install -y -qq --no-install-recommends \
		"$(one_deb ringagent)" openssh-server
	if [ "$series" != none ]; then
		# Apache's own repository (docs/operations.md): Debian does not
		# package Cassandra.  Series 50x runs on Debian 12's Java 17.
		apt-get install -y -qq --no-install-recommends curl gnupg ca-certificates
		install -d -m 0755 /etc/apt/keyrings
		curl -fsSL https://downloads.apache.org/cassandra/KEYS |
			gpg --dearmor > /etc/apt/keyrings/apache-cassandra.gpg
		echo "deb [signed-by=/etc/apt/keyrings/apache-cassandra.gpg] https://debian.cassandra.apache.org $series main" \
			> /etc/apt/sources.list.d/cassandra.list
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless cassandra
	fi
	;;
*)
	echo "install.sh: RINGMASTER_ROLE must be orchestrator or node, got '${RINGMASTER_ROLE:-}'" >&2
	exit 1
	;;
esac
apt-get clean
rm -rf "$debs"

#!/bin/sh
# packer/build.sh KIND SOURCE_IMAGE [packer build options...]
#
# Build the orchestrator or node image from build/deb/ (run `make deb`
# first).  A throwaway SSH key and a cloud-init seed authorising it are made
# in a temporary directory for this build only and removed afterwards; the
# image keeps neither the key nor the build user.
set -eu
kind=${1:?usage: packer/build.sh orchestrator|node SOURCE_IMAGE [packer options]}
image=${2:?usage: packer/build.sh orchestrator|node SOURCE_IMAGE [packer options]}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
debs=$here/../build/deb
ls "$debs"/*.deb >/dev/null 2>&1 || {
	echo "build.sh: no packages in $debs: run make deb first" >&2
	exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ssh-keygen -q -t ed25519 -N '' -C ringmaster-image-build -f "$tmp/key"
mkdir "$tmp/seed"
printf 'instance-id: ringmaster-build\nlocal-hostname: ringmaster-build\n' > "$tmp/seed/meta-data"
cat > "$tmp/seed/user-data" <<SEED
#cloud-config
users:
  - name: ringmaster-build
    sudo: "ALL=(ALL) NOPASSWD:ALL"
    shell: /bin/sh
    ssh_authorized_keys:
      - $(cat "$tmp/key.pub")
SEED
packer build -var "source_image=$image" -var "deb_dir=$debs" \
	-var "seed_dir=$tmp/seed" -var "ssh_private_key_file=$tmp/key" \
	"$@" "$here/$kind.pkr.hcl"

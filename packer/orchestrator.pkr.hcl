# Ringmaster orchestrator image: ringmaster and ringsh; HTTPS with a certificate made at first boot.
# Build it with packer/build.sh (see packer/README.md), which makes the
# throwaway SSH key and the cloud-init seed these variables name.  Plugins
# are built into Debian's packer 1.6, so there is no required_plugins block.

variable "source_image" {
  type        = string
  description = "path or URL of a Debian 12 cloud image (qcow2, with cloud-init)"
}

variable "source_checksum" {
  type    = string
  default = "none"
}

variable "deb_dir" {
  type        = string
  description = "directory holding the .debs from make deb (build/deb)"
}

variable "seed_dir" {
  type        = string
  description = "cloud-init NoCloud seed (user-data, meta-data) that authorises the build key"
}

variable "ssh_private_key_file" {
  type        = string
  description = "private half of the throwaway build key"
}

source "qemu" "orchestrator" {
  iso_url          = var.source_image
  iso_checksum     = var.source_checksum
  disk_image       = true
  format           = "qcow2"
  headless         = true
  disk_size        = "8G"
  memory           = 2048
  vm_name          = "ringmaster-orchestrator.qcow2"
  output_directory = "output-orchestrator"

  # cloud-init reads its seed from Packer's HTTP server (NoCloud over SMBIOS):
  # it creates the build user and authorises the throwaway key.
  http_directory = var.seed_dir
  qemuargs = [
    ["-smbios", "type=1,serial=ds=nocloud-net;s=http://{{ .HTTPIP }}:{{ .HTTPPort }}/"],
  ]

  communicator         = "ssh"
  ssh_username         = "ringmaster-build"
  ssh_private_key_file = var.ssh_private_key_file
  ssh_timeout          = "15m"
  # The build user and cloud-init's record of this boot go with the build,
  # so instances start clean and nothing authorises the build key.
  shutdown_command = "sudo sh -c 'cloud-init clean --logs --seed; userdel -rf ringmaster-build; shutdown -P now'"
}

build {
  sources = ["source.qemu.orchestrator"]

  provisioner "shell" {
    inline = ["mkdir -p /tmp/ringmaster-debs"]
  }

  provisioner "file" {
    source      = "${var.deb_dir}/"
    destination = "/tmp/ringmaster-debs"
  }

  provisioner "shell" {
    script           = "${path.root}/scripts/install.sh"
    execute_command  = "chmod +x {{ .Path }}; sudo -E {{ .Path }}"
    environment_vars = ["RINGMASTER_ROLE=orchestrator", "RINGMASTER_DEBS=/tmp/ringmaster-debs"]
  }
}

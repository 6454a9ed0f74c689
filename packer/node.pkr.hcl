# Ringmaster node image: see packer/README.md.
packer {
  required_plugins {
    qemu = {
      version = ">= 1.0.0"
      source  = "github.com/hashicorp/qemu"
    }
  }
}

variable "source_image" {
  type        = string
  description = "path or URL of a Debian 12 cloud image (qcow2)"
}

variable "source_checksum" {
  type    = string
  default = "none"
}

variable "cassandra_package" {
  type        = string
  default     = ""
  description = "a Debian package name that installs Cassandra, when the base image lacks it"
}
source "qemu" "node" {
  iso_url          = var.source_image
  iso_checksum     = var.source_checksum
  disk_image       = true
  format           = "qcow2"
  headless         = true
  ssh_username     = "root"
  ssh_timeout      = "15m"
  vm_name          = "ringmaster-node.qcow2"
  output_directory = "output-node"
  shutdown_command = "shutdown -P now"
}

build {
  sources = ["source.qemu.node"]

  provisioner "file" {
    source      = "${path.root}/.."
    destination = "/usr/src/ringmaster"
  }

  provisioner "shell" {
    script           = "${path.root}/scripts/install.sh"
    environment_vars = ["RINGMASTER_ROLE=node"]
  }

  provisioner "shell" {
    inline = [
      "apt-get install -y -qq openssh-server",
      "systemctl enable ssh",
      "if [ -n \"${var.cassandra_package}\" ]; then apt-get install -y -qq ${var.cassandra_package}; fi",
    ]
  }
}

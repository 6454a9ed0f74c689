# Ringmaster orchestrator image: see packer/README.md.
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

source "qemu" "orchestrator" {
  iso_url          = var.source_image
  iso_checksum     = var.source_checksum
  disk_image       = true
  format           = "qcow2"
  headless         = true
  ssh_username     = "root"
  ssh_timeout      = "15m"
  vm_name          = "ringmaster-orchestrator.qcow2"
  output_directory = "output-orchestrator"
  shutdown_command = "shutdown -P now"
}

build {
  sources = ["source.qemu.orchestrator"]

  provisioner "file" {
    source      = "${path.root}/.."
    destination = "/usr/src/ringmaster"
  }

  provisioner "shell" {
    script           = "${path.root}/scripts/install.sh"
    environment_vars = ["RINGMASTER_ROLE=orchestrator"]
  }

}

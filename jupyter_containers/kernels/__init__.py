"""Kernels in containers: a jupyter_client kernel provisioner (``provisioner``) and the
kernelspecs that use it (``kernelspecs``: ``jupyter containers kernel create|ls|rm``)."""

from .provisioner import KERNEL_LABEL, NAME, SPEC_LABEL, ContainerProvisioner, KernelStartError

__all__ = ["ContainerProvisioner", "KernelStartError", "KERNEL_LABEL", "SPEC_LABEL", "NAME"]

"""Test namespaces, ready for pods."""

from lightkube import Client
from lightkube.core.exceptions import ApiError
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace, ServiceAccount

from tests.e2e.waiting import wait_until

__all__ = ["create_namespace"]


def create_namespace(kube: Client, name: str) -> None:
    """Create `name` and wait for its default ServiceAccount.

    Pods cannot be created before the controller manager made the namespace's
    default ServiceAccount; waiting here keeps that delay out of every test.
    """
    kube.create(Namespace(metadata=ObjectMeta(name=name)))

    def has_default_service_account() -> bool:
        try:
            kube.get(ServiceAccount, "default", namespace=name)
        except ApiError as e:
            if e.status.code == 404:
                return False
            raise
        return True

    wait_until(has_default_service_account, timeout=60, what=f"ServiceAccount {name}/default")

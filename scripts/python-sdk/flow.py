#!/usr/bin/env python3
"""Drive yc-iam's emulator with Yandex's official Python SDK (PyPI `yandexcloud`).

Completes the provisioning flow: create a service account -> wait -> grant it a folder role ->
wait -> create a scoped API key, and checks each answer. Exits 0 on success.

Plaintext (default): every client is made with `sdk.client(Stub, endpoint=ADDR, insecure=True)`;
an IAM token is obtained by exchanging an OAuth token through IamTokenService, and an interceptor
handed to `yandexcloud.SDK(interceptor=...)` sends it (the SDK's own credential plugin is only
attached to TLS channels). Operations are waited for with the SDK's OperationWaiter.

TLS (`--ca FILE`): the SDK is used exactly as against the real cloud: endpoint discovery through
ApiEndpointService, the OAuth token exchanged by the SDK's credential plugin, and
`sdk.wait_operation_and_get_result` for operations.
"""

import argparse
import sys
import time
import uuid

import grpc
import yandexcloud
from yandex.cloud.access.access_pb2 import AccessBinding, AccessBindingDelta, Subject, UpdateAccessBindingsRequest
from yandex.cloud.access.access_pb2 import AccessBindingsOperationResult, UpdateAccessBindingsMetadata
from yandex.cloud.iam.v1.api_key_service_pb2 import CreateApiKeyRequest
from yandex.cloud.iam.v1.api_key_service_pb2_grpc import ApiKeyServiceStub
from yandex.cloud.iam.v1.iam_token_service_pb2 import CreateIamTokenRequest
from yandex.cloud.iam.v1.iam_token_service_pb2_grpc import IamTokenServiceStub
from yandex.cloud.iam.v1.service_account_pb2 import ServiceAccount
from yandex.cloud.iam.v1.service_account_service_pb2 import (
    CreateServiceAccountMetadata,
    CreateServiceAccountRequest,
)
from yandex.cloud.iam.v1.service_account_service_pb2_grpc import ServiceAccountServiceStub
from yandex.cloud.operation.operation_service_pb2_grpc import OperationServiceStub
from yandex.cloud.resourcemanager.v1.folder_service_pb2_grpc import FolderServiceStub
from yandexcloud._operation_waiter import OperationWaiter

ROLE = "ai.languageModels.user"
SCOPE = "yc.ai.languageModels.execute"


class BearerInterceptor(grpc.UnaryUnaryClientInterceptor):
    """Adds `authorization: Bearer <token>` and an `idempotency-key` to every unary call."""

    def __init__(self):
        self.token = None

    def intercept_unary_unary(self, continuation, client_call_details, request):
        metadata = list(client_call_details.metadata or [])
        if self.token:
            metadata.append(("authorization", f"Bearer {self.token}"))
        metadata.append(("idempotency-key", str(uuid.uuid4())))
        details = client_call_details._replace(metadata=metadata)
        return continuation(details, request)


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def wait_plaintext(sdk, endpoint, operation, response_type):
    operations = sdk.client(OperationServiceStub, endpoint=endpoint, insecure=True)
    waiter = OperationWaiter(operation.id, operations, timeout=60)
    for _ in waiter:
        time.sleep(0.05)
    done = waiter.operation
    if done is None or not done.done:
        fail(f"operation {operation.id} did not finish")
    if done.error and done.error.code:
        fail(f"operation {operation.id} failed: {done.error.message}")
    response = response_type()
    if not done.response.Unpack(response):
        fail(f"operation {operation.id} response is not {response_type.DESCRIPTOR.full_name}")
    return response


def run_plaintext(args):
    auth = BearerInterceptor()
    sdk = yandexcloud.SDK(interceptor=auth)
    client = lambda stub: sdk.client(stub, endpoint=args.endpoint, insecure=True)  # noqa: E731

    token = client(IamTokenServiceStub).Create(CreateIamTokenRequest(yandex_passport_oauth_token=args.oauth_token))
    if not token.iam_token.startswith("t1."):
        fail("IAM token is not shaped like t1.…")
    auth.token = token.iam_token

    op = client(ServiceAccountServiceStub).Create(
        CreateServiceAccountRequest(folder_id=args.folder_id, name=args.name, description="python sdk check")
    )
    meta = CreateServiceAccountMetadata()
    op.metadata.Unpack(meta)
    account = wait_plaintext(sdk, args.endpoint, op, ServiceAccount)
    if account.id != meta.service_account_id or account.name != args.name:
        fail("created service account does not match the operation metadata")
    print(f"service account {account.id} created")

    delta = AccessBindingDelta(
        action="ADD",
        access_binding=AccessBinding(role_id=ROLE, subject=Subject(id=account.id, type="serviceAccount")),
    )
    op = client(FolderServiceStub).UpdateAccessBindings(
        UpdateAccessBindingsRequest(resource_id=args.folder_id, access_binding_deltas=[delta])
    )
    result = wait_plaintext(sdk, args.endpoint, op, AccessBindingsOperationResult)
    if len(result.effective_deltas) != 1:
        fail(f"expected one effective delta, got {len(result.effective_deltas)}")
    print(f"role {ROLE} granted on folder {args.folder_id}")

    created = client(ApiKeyServiceStub).Create(
        CreateApiKeyRequest(service_account_id=account.id, description="python sdk check", scopes=[SCOPE])
    )
    check_key(created, account)


def run_tls(args):
    with open(args.ca, "rb") as f:
        root = f.read()
    sdk = yandexcloud.SDK(endpoint=args.endpoint, token=args.oauth_token, root_certificates=root)

    op = sdk.client(ServiceAccountServiceStub).Create(
        CreateServiceAccountRequest(folder_id=args.folder_id, name=args.name, description="python sdk check")
    )
    result = sdk.wait_operation_and_get_result(
        op, response_type=ServiceAccount, meta_type=CreateServiceAccountMetadata, timeout=60
    )
    account = result.response
    if account.id != result.meta.service_account_id:
        fail("created service account does not match the operation metadata")
    print(f"service account {account.id} created")

    delta = AccessBindingDelta(
        action="ADD",
        access_binding=AccessBinding(role_id=ROLE, subject=Subject(id=account.id, type="serviceAccount")),
    )
    op = sdk.client(FolderServiceStub).UpdateAccessBindings(
        UpdateAccessBindingsRequest(resource_id=args.folder_id, access_binding_deltas=[delta])
    )
    result = sdk.wait_operation_and_get_result(
        op, response_type=AccessBindingsOperationResult, meta_type=UpdateAccessBindingsMetadata, timeout=60
    )
    if len(result.response.effective_deltas) != 1:
        fail("expected one effective delta")
    print(f"role {ROLE} granted on folder {args.folder_id}")

    created = sdk.client(ApiKeyServiceStub).Create(
        CreateApiKeyRequest(service_account_id=account.id, description="python sdk check", scopes=[SCOPE])
    )
    check_key(created, account)


def check_key(created, account):
    if not created.secret.startswith("AQVN"):
        fail("API key secret is not shaped like AQVN…")
    if created.api_key.masked_secret != "****" + created.secret[-6:]:
        fail("masked secret does not end with the secret's last six characters")
    if list(created.api_key.scopes) != [SCOPE] or created.api_key.service_account_id != account.id:
        fail("API key has the wrong scopes or owner")
    print(f"api key {created.api_key.id} created ({created.api_key.masked_secret})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="emulator host:port, e.g. 127.0.0.1:4567")
    parser.add_argument("--folder-id", default="b1gemulatorfolder001")
    parser.add_argument("--oauth-token", default="y0_emulator-default-oauth-token")
    parser.add_argument("--name", default=f"py-sdk-{uuid.uuid4().hex[:8]}")
    parser.add_argument("--ca", help="CA certificate (PEM) of an emulator serving TLS; selects the TLS mode")
    args = parser.parse_args()
    if args.ca:
        run_tls(args)
    else:
        run_plaintext(args)
    print("OK")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""(4) Bulk provisioning with Yandex's official Python SDK (PyPI `yandexcloud`): N flows on T threads.

Each flow is the one the Rust benchmarks run: create a service account -> wait -> grant two folder
roles in one UpdateAccessBindings -> wait -> create a scoped API key. One SDK object (its channels
are cached and thread-safe) serves all threads; waiting uses the helpers of
scripts/python-sdk/flow.py (the SDK's OperationWaiter). Prints one line with flows per second.
"""

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "python-sdk"))

import flow  # noqa: E402  (scripts/python-sdk/flow.py)
import yandexcloud  # noqa: E402
from yandex.cloud.access.access_pb2 import (  # noqa: E402
    AccessBinding,
    AccessBindingDelta,
    AccessBindingsOperationResult,
    Subject,
    UpdateAccessBindingsRequest,
)
from yandex.cloud.iam.v1.api_key_service_pb2 import CreateApiKeyRequest  # noqa: E402
from yandex.cloud.iam.v1.api_key_service_pb2_grpc import ApiKeyServiceStub  # noqa: E402
from yandex.cloud.iam.v1.service_account_pb2 import ServiceAccount  # noqa: E402
from yandex.cloud.iam.v1.service_account_service_pb2 import CreateServiceAccountRequest  # noqa: E402
from yandex.cloud.iam.v1.service_account_service_pb2_grpc import ServiceAccountServiceStub  # noqa: E402
from yandex.cloud.resourcemanager.v1.folder_service_pb2_grpc import FolderServiceStub  # noqa: E402

ROLES = ["ai.languageModels.user", "ai.imageGeneration.user"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="emulator host:port")
    parser.add_argument("--folder-id", default="b1gemulatorfolder001")
    parser.add_argument("--token", default="t1.emulator-default-token")
    parser.add_argument("--flows", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=1, help="repeat, and report the median round")
    args = parser.parse_args()

    auth = flow.BearerInterceptor()
    auth.token = args.token
    sdk = yandexcloud.SDK(interceptor=auth)
    client = lambda stub: sdk.client(stub, endpoint=args.endpoint, insecure=True)  # noqa: E731
    prefix = f"py{os.getpid()}"

    def one(i):
        accounts = client(ServiceAccountServiceStub)
        op = accounts.Create(CreateServiceAccountRequest(folder_id=args.folder_id, name=f"{prefix}-{i}"))
        account = flow.wait_plaintext(sdk, args.endpoint, op, ServiceAccount)
        deltas = [
            AccessBindingDelta(
                action="ADD",
                access_binding=AccessBinding(role_id=role, subject=Subject(id=account.id, type="serviceAccount")),
            )
            for role in ROLES
        ]
        op = client(FolderServiceStub).UpdateAccessBindings(
            UpdateAccessBindingsRequest(resource_id=args.folder_id, access_binding_deltas=deltas)
        )
        flow.wait_plaintext(sdk, args.endpoint, op, AccessBindingsOperationResult)
        created = client(ApiKeyServiceStub).Create(
            CreateApiKeyRequest(service_account_id=account.id, scopes=[flow.SCOPE])
        )
        if created.api_key.service_account_id != account.id:
            flow.fail("API key has the wrong owner")

    one("warm")  # channels are made once per SDK; not part of the figure
    rates = []
    for r in range(args.rounds):
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.threads) as pool:
            list(pool.map(one, (f"{r}-{i}" for i in range(args.flows))))
        took = time.perf_counter() - start
        rates.append(args.flows / took)
        print(f"python-bulk: {args.flows} flows on {args.threads} threads in {took:.3f} s = {rates[-1]:.1f} flows/s")
    print(f"python-bulk: median {statistics.median(rates):.1f} flows/s over {args.rounds} rounds")

if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Call AI Studio's TokenizerService.Tokenize with Yandex's official Python SDK (PyPI `yandexcloud`).

The generated `TokenizerServiceStub` of `yandex.cloud.ai.foundation_models.v1`, made with
`yandexcloud.SDK(...).client(Stub, endpoint=ADDR, insecure=True)`, sends the API key in `YC_API_KEY`
as `authorization: Api-Key <key>` (an interceptor handed to the SDK: its own credential plugin is
attached to TLS channels only). Prints the answer as one JSON document: `model_version` and
`tokens` (`[id, text, special]` each). With `--expect FILE` (the same document, from yc-iam's
stub), exits 1 unless the answers are equal.
"""

import argparse
import json
import os
import sys

import grpc
import yandexcloud
from yandex.cloud.ai.foundation_models.v1.text_generation.text_generation_service_pb2 import (
    TokenizeRequest as Request,
)
from yandex.cloud.ai.foundation_models.v1.text_generation.text_generation_service_pb2_grpc import (
    TokenizerServiceStub,
)


class ApiKeyInterceptor(grpc.UnaryUnaryClientInterceptor):
    """Adds `authorization: Api-Key <key>` to every unary call."""

    def __init__(self, key):
        self.key = key

    def intercept_unary_unary(self, continuation, client_call_details, request):
        metadata = list(client_call_details.metadata or [])
        metadata.append(("authorization", f"Api-Key {self.key}"))
        return continuation(client_call_details._replace(metadata=metadata), request)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="emulator host:port, e.g. 127.0.0.1:4567")
    parser.add_argument("--model-uri", required=True, help="gpt://<folder id>/yandexgpt-lite/latest")
    parser.add_argument("--text", required=True)
    parser.add_argument("--expect", help="JSON file with the answer to compare against")
    args = parser.parse_args()
    key = os.environ.get("YC_API_KEY")
    if not key:
        print("FAIL: set YC_API_KEY to the API key's secret", file=sys.stderr)
        return 2

    sdk = yandexcloud.SDK(interceptor=ApiKeyInterceptor(key))
    tokenizer = sdk.client(TokenizerServiceStub, endpoint=args.endpoint, insecure=True)
    try:
        reply = tokenizer.Tokenize(Request(model_uri=args.model_uri, text=args.text), timeout=30)
    except grpc.RpcError as e:
        print(f"FAIL: Tokenize: {e.code().name}: {e.details()}", file=sys.stderr)
        return 1
    answer = {
        "model_version": reply.model_version,
        "tokens": [[t.id, t.text, t.special] for t in reply.tokens],
    }
    print(json.dumps(answer, ensure_ascii=False))
    if args.expect:
        with open(args.expect, encoding="utf-8") as f:
            expected = json.load(f)
        if expected != answer:
            print(f"FAIL: the SDK's answer differs from the expected one:\n{json.dumps(expected)}", file=sys.stderr)
            return 1
        print(f"OK: the SDK's stub got the same {len(answer['tokens'])} tokens", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

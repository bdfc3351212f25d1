"""A Lambda function for specgate's tests, run by awslambdaric through the gateway's local
Runtime API. Its path (REST `path`, HTTP API `rawPath`) says what to do; by default it
answers with the event it received."""

import json
import os
import time


def handler(event, context):
    path = event.get("path") or event.get("rawPath") or ""
    if path.endswith("/crash"):
        os._exit(3)
    if path.endswith("/sleep"):
        time.sleep(10)
    if path.endswith("/barrier"):
        # Waits until `n` invocations are in the function at once (each leaves a file in
        # `dir`): only concurrent processes can get there.
        query = event.get("queryStringParameters") or {}
        folder, n = query["dir"], int(query["n"])
        open(os.path.join(folder, context.aws_request_id), "w").close()
        deadline = time.time() + 20
        while len(os.listdir(folder)) < n and time.time() < deadline:
            time.sleep(0.02)
        if len(os.listdir(folder)) < n:
            raise RuntimeError("not enough concurrent invocations")
    if path.endswith("/trace"):
        # The X-Ray trace header the runtime received (awslambdaric sets it from
        # Lambda-Runtime-Trace-Id).
        return {"statusCode": 200, "body": os.environ.get("_X_AMZN_TRACE_ID", "")}
    if path.endswith("/raise") or event.get("fail"):
        raise ValueError("something went wrong: item not found")
    if path.endswith("/malformed"):
        return {"statusCode": 200, "wrongKey": 1}
    if path.endswith("/large"):
        # Just under Lambda's 6 MB answer limit, and just over it.
        return {"statusCode": 200, "body": "x" * 6_000_000}
    if path.endswith("/huge"):
        return {"statusCode": 200, "body": "x" * 6_300_000}
    if path.endswith("/bare"):
        return {"hello": "world"}
    if "classic" in event:
        # Non-proxy: the payload a request template built.
        return {"greeting": "hello " + event["classic"], "pid": os.getpid()}
    return {
        "statusCode": 201,
        "headers": {"content-type": "application/json", "x-function": context.function_name},
        "multiValueHeaders": {"x-multi": ["a", "b"]},
        "body": json.dumps(
            {
                "event": event,
                "requestId": context.aws_request_id,
                "arn": context.invoked_function_arn,
                "remainingMs": context.get_remaining_time_in_millis(),
                "pid": os.getpid(),
            }
        ),
    }

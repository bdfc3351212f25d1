"""A Lambda authorizer for specgate's tests (token and request events). The user named in
the token (`Bearer <user>`) or the `X-User` header decides the answer."""


def handler(event, context):
    if event.get("version") == "2.0":
        # HTTP API, simple responses.
        user = event["identitySource"][0]
        return {"isAuthorized": user != "denied", "context": {"user": user, "groups": ["a", "b"]}}
    if event["type"] == "TOKEN":
        user = event["authorizationToken"].split(" ", 1)[1]
    else:
        headers = event.get("headers") or {}
        user = headers.get("X-User") or headers.get("x-user")
    if user == "boom":
        raise RuntimeError("the authorizer is broken")
    if user == "unauthorized":
        raise Exception("Unauthorized")
    if user == "malformed":
        return {"principalId": user}
    arn = event["methodArn"]
    effect = "Deny" if user == "denied" else "Allow"
    # `narrow` is only allowed a method it is not calling.
    resource = arn.rsplit("/", 1)[0] + "/nothing" if user == "narrow" else arn.split("/")[0] + "/*"
    context_out = {"user": user, "invocation": context.aws_request_id, "kind": event["type"]}
    query = event.get("queryStringParameters") or {}
    if "tenant" in query:
        context_out["tenant"] = query["tenant"]
    out = {
        "principalId": "id-" + user,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": context_out,
    }
    # The API key of `x-amazon-apigateway-api-key-source: AUTHORIZER`.
    if "usage_key" in query:
        out["usageIdentifierKey"] = query["usage_key"]
    return out

#!/usr/bin/env python3
"""Writes an OpenAPI document with N operations (default 100) for build-time benchmarks:
a third mock, a third http_proxy, a third http with mappings and selection patterns."""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
out = ["openapi: 3.0.3", "info: {title: Bench" + str(n) + ", version: '1'}",
       "x-specgate-stages:", "  bench:", "    variables: {backend: '127.0.0.1:9'}", "paths:"]
for i in range(n // 2):
    out.append(f"  /r{i}/items/{{id}}:")
    out.append("    parameters: [{name: id, in: path, required: true, schema: {type: string}}]")
    for j, method in enumerate(["get", "post"]):
        k = (2 * i + j) % 3
        out.append(f"    {method}:")
        out.append(f"      operationId: op{i}{method}")
        out.append("      responses: {'200': {description: ok}, '502': {description: bad}}")
        out.append("      x-amazon-apigateway-integration:")
        if k == 0:
            out += ["        type: mock",
                    "        requestTemplates: {application/json: '{\"statusCode\": 200}'}",
                    "        responses:",
                    "          default:",
                    "            statusCode: '200'",
                    f"            responseTemplates: {{application/json: '{{\"route\": {i}, \"id\": \"$context.requestId\"}}'}}"]
        elif k == 1:
            out += ["        type: http_proxy",
                    f"        httpMethod: {method.upper()}",
                    f"        uri: http://${{stageVariables.backend}}/items/{{id}}",
                    "        requestParameters: {integration.request.path.id: method.request.path.id}"]
        else:
            out += ["        type: http",
                    f"        httpMethod: {method.upper()}",
                    f"        uri: http://${{stageVariables.backend}}/r{i}/{{id}}",
                    "        requestParameters:",
                    "          integration.request.path.id: method.request.path.id",
                    "          integration.request.header.X-Request-Id: context.requestId",
                    "        responses:",
                    "          '5\\\\d{2}': {statusCode: '502'}",
                    "          default: {statusCode: '200'}"]
print("\n".join(out))

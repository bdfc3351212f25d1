"""A Lambda function that streams its responses, speaking the Lambda Runtime API directly
(no runtime client in Python streams): `GET …/invocation/next`, then the response `POST`ed
chunk by chunk with `Lambda-Runtime-Function-Response-Mode: streaming`, in Lambda's HTTP
integration format (a JSON prelude, eight NUL bytes, the body). What it does depends on the
request's path:

  /stream?gate=FILE  the prelude and `part 1`, then waits until FILE exists, then `part 2`
  /buffered          a whole proxy response, not streamed
  /fail              the prelude and `part 1`, then an error in the trailers
  /raise             the Runtime API's error call (a function error before any byte)
"""
import json
import os
import socket
import time

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
HOST, PORT = API.split(":")
BASE = "/2018-06-01/runtime/invocation"


def connect():
    return socket.create_connection((HOST, int(PORT)))


def read_response(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        rest += sock.recv(65536)
    return headers, rest[:length]


def chunk(sock, data):
    sock.sendall(b"%x\r\n" % len(data) + data + b"\r\n")


def main():
    while True:
        s = connect()
        s.sendall(f"GET {BASE}/next HTTP/1.1\r\nHost: {API}\r\n\r\n".encode())
        headers, body = read_response(s)
        s.close()
        rid = headers["lambda-runtime-aws-request-id"]
        event = json.loads(body)
        path = event.get("path", "")
        query = event.get("queryStringParameters") or {}
        s = connect()
        if path == "/raise":
            err = json.dumps({"errorMessage": "boom", "errorType": "Exception"}).encode()
            s.sendall(
                f"POST {BASE}/{rid}/error HTTP/1.1\r\nHost: {API}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(err)}\r\n\r\n".encode() + err
            )
        elif path == "/buffered":
            whole = json.dumps({"statusCode": 201, "headers": {"x-mode": "buffered"}, "body": "whole"}).encode()
            s.sendall(
                f"POST {BASE}/{rid}/response HTTP/1.1\r\nHost: {API}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(whole)}\r\n\r\n".encode() + whole
            )
        else:
            s.sendall(
                f"POST {BASE}/{rid}/response HTTP/1.1\r\nHost: {API}\r\n"
                "Lambda-Runtime-Function-Response-Mode: streaming\r\n"
                "Content-Type: application/vnd.awslambda.http-integration-response\r\n"
                "Transfer-Encoding: chunked\r\nTrailer: Lambda-Runtime-Function-Error-Type\r\n\r\n".encode()
            )
            prelude = {"statusCode": 200, "headers": {"content-type": "text/plain", "x-mode": "streamed"},
                       "cookies": ["a=1", "b=2"]}
            chunk(s, json.dumps(prelude).encode() + b"\0" * 8)
            chunk(s, b"part 1\n")
            if path == "/fail":
                s.sendall(b"0\r\nLambda-Runtime-Function-Error-Type: Runtime.Boom\r\n"
                          b"Lambda-Runtime-Function-Error-Body: eyJlcnJvck1lc3NhZ2UiOiJib29tIn0=\r\n\r\n")
            else:
                gate = query.get("gate")
                while gate and not os.path.exists(gate):
                    time.sleep(0.02)
                chunk(s, b"part 2\n")
                s.sendall(b"0\r\n\r\n")
        read_response(s)
        s.close()


main()

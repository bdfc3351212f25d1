//! The generated gateways of every buildable spec, one module each (see `build.rs`):
//! `specs/petstore.yaml` is `petstore`, `examples/hello/api.yaml` is `example_hello`, the AWS
//! corpus document `openapi-basepath-server-variable.yaml` is
//! `aws_openapi_basepath_server_variable`. Compiling this crate compiles them all; the tests
//! in `tests/` start them in-process and talk to them over real sockets.

#![allow(missing_docs)]

include!(concat!(env!("OUT_DIR"), "/gateways.rs"));

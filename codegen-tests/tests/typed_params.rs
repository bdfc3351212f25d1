//! `x-specgate-validation: {parameters: typed}` over real sockets: every OpenAPI 3.0
//! style/explode combination (specs/typed-params.yaml) decoded and validated against the
//! parameter's schema. Each combination gets a valid request (200) and invalid ones (400 with
//! the parameter's key and the validator's message).

mod common;

use common::*;
use specgate_codegen_tests as gen;

const OK: &str = r#"{"ok": true}"#;

async fn expect_ok(addr: std::net::SocketAddr, target: &str, headers: &[(&str, &str)]) {
    let r = send(addr, "GET", target, headers, b"").await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, OK),
        "{target} {headers:?}"
    );
}

async fn expect_invalid(
    addr: std::net::SocketAddr,
    target: &str,
    headers: &[(&str, &str)],
    errors: &str,
) {
    let r = send(addr, "GET", target, headers, b"").await;
    assert_eq!(r.status, 400, "{target} {headers:?}: {}", r.text());
    assert_eq!(r.header("x-amzn-errortype"), Some("BadRequestException"));
    assert_eq!(
        r.json()["message"],
        format!("Invalid request parameters: [{errors}]"),
        "{target} {headers:?}"
    );
}

const TYPE_INT: &str =
    r#"instance type (string) does not match any allowed primitive type (allowed: ["integer"])"#;

#[tokio::test]
async fn path_styles_simple_label_matrix_with_and_without_explode() {
    let gw = gateway(gen::typed_params::Api, None, &[]).await;
    let a = gw.addr;
    // simple
    expect_ok(a, "/simple/5/3,4,5/role,admin,age,7", &[]).await;
    expect_ok(a, "/simple-x/5/3,4,5/role=admin,age=7", &[]).await;
    // label
    expect_ok(a, "/label/.5/.3,4,5/.role,admin,age,7", &[]).await;
    expect_ok(a, "/label-x/.5/.3.4.5/.role=admin.age=7", &[]).await;
    // matrix
    expect_ok(a, "/matrix/;n=5/;arr=3,4,5/;obj=role,admin,age,7", &[]).await;
    expect_ok(
        a,
        "/matrix-x/;n=5/;arr=3;arr=4;arr=5/;role=admin;age=7",
        &[],
    )
    .await;

    // An operation's own `x-specgate-validation: {parameters: aws}` wins over the root's.
    expect_ok(a, "/untyped/not-a-number", &[]).await;
    expect_invalid(
        a,
        "/simple/x/3,4,5/role,admin",
        &[],
        &format!("path.n: {TYPE_INT}"),
    )
    .await;
    expect_invalid(
        a,
        "/simple-x/0/3,40/role=boss",
        &[],
        concat!(
            "path.arr: numeric instance is greater than the required maximum (maximum: 10, found: 40), ",
            r#"path.n: numeric instance is lower than the required minimum (minimum: 1, found: 0), "#,
            r#"path.obj: instance value ("boss") not found in enum (possible values: ["admin","user"])"#
        ),
    )
    .await;
    expect_invalid(
        a,
        "/label-x/.5/.3.x/.age=7",
        &[],
        concat!(
            r#"path.arr: instance type (string) does not match any allowed primitive type (allowed: ["integer"]), "#,
            r#"path.obj: object has missing required properties (["role"])"#
        ),
    )
    .await;
    expect_invalid(
        a,
        "/matrix-x/;n=5/;arr=3;arr=11/;role=user;age=-1",
        &[],
        concat!(
            "path.arr: numeric instance is greater than the required maximum (maximum: 10, found: 11), ",
            "path.obj: numeric instance is lower than the required minimum (minimum: 0, found: -1)"
        ),
    )
    .await;
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn query_styles_form_space_pipe_deep_object() {
    let gw = gateway(gen::typed_params::Api, None, &[]).await;
    let a = gw.addr;
    expect_ok(
        a,
        "/query?n=1&arr_x=1&arr_x=2&arr=3,4&sp=5%206&pi=7|8&deep[role]=admin&deep[age]=3&fobj=role,user&flag=true&ratio=0.5",
        &[],
    )
    .await;
    expect_ok(a, "/query-x?role=admin&age=30", &[]).await;
    // `formats: openapi`: date, uuid, byte, int32.
    expect_ok(
        a,
        "/query?n=1&day=2024-02-29&id=123e4567-e89b-12d3-a456-426614174000&blob=aGk%3D&small=-2147483648",
        &[],
    )
    .await;
    expect_invalid(
        a,
        "/query?n=1&day=2023-02-29&id=nope&blob=a%3D%3Db&small=2147483648",
        &[],
        concat!(
            r#"querystring.blob: input is not a valid Base64 string: illegal characters, "#,
            r#"querystring.day: string "2023-02-29" is invalid against requested date format(s) [yyyy-MM-dd], "#,
            r#"querystring.id: input string "nope" is not a valid UUID, "#,
            r#"querystring.small: numeric instance 2147483648 is out of range for format "int32""#
        ),
    )
    .await;
    expect_invalid(
        a,
        "/query?arr_x=1&arr_x=20",
        &[],
        concat!(
            "querystring.arr_x: numeric instance is greater than the required maximum (maximum: 10, found: 20), ",
            "querystring.n: required parameter is missing"
        ),
    )
    .await;
    expect_invalid(
        a,
        "/query?n=2&sp=1%20x&pi=1|99&flag=yes&ratio=2.5&deep[age]=1",
        &[],
        concat!(
            r#"querystring.deep: object has missing required properties (["role"]), "#,
            r#"querystring.flag: instance type (string) does not match any allowed primitive type (allowed: ["boolean"]), "#,
            "querystring.pi: numeric instance is greater than the required maximum (maximum: 10, found: 99), ",
            "querystring.ratio: numeric instance is greater than the required maximum (maximum: 1, found: 2.5), ",
            r#"querystring.sp: instance type (string) does not match any allowed primitive type (allowed: ["integer"])"#
        ),
    )
    .await;
    expect_invalid(
        a,
        "/query?n=1&arr=1,x&fobj=role,root",
        &[],
        &format!(
            "querystring.arr: {TYPE_INT}, {}",
            r#"querystring.fobj: instance value ("root") not found in enum (possible values: ["admin","user"])"#
        ),
    )
    .await;
    expect_invalid(
        a,
        "/query-x?age=30",
        &[],
        r#"querystring.who: object has missing required properties (["role"])"#,
    )
    .await;
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn header_and_cookie_styles() {
    let gw = gateway(gen::typed_params::Api, None, &[]).await;
    let a = gw.addr;
    expect_ok(
        a,
        "/headers",
        &[
            ("x-n", "3"),
            ("x-arr", "1,2,3"),
            ("x-obj", "role,admin,age,4"),
            ("x-obj-x", "role=user,age=5"),
        ],
    )
    .await;
    expect_invalid(
        a,
        "/headers",
        &[("x-arr", "1,99"), ("x-obj-x", "age=5")],
        concat!(
            "header.X-Arr: numeric instance is greater than the required maximum (maximum: 10, found: 99), ",
            "header.X-N: required parameter is missing, ",
            r#"header.X-Obj-X: object has missing required properties (["role"])"#
        ),
    )
    .await;
    expect_ok(
        a,
        "/cookies",
        &[(
            "cookie",
            "c_n=2; c_arr=1,2; c_arr_x=3; c_arr_x=4; c_obj=role,admin",
        )],
    )
    .await;
    expect_invalid(
        a,
        "/cookies",
        &[("cookie", "c_n=zero; c_arr_x=3; c_arr_x=44")],
        &format!(
            "cookie.c_arr_x: {}, cookie.c_n: {TYPE_INT}",
            "numeric instance is greater than the required maximum (maximum: 10, found: 44)"
        ),
    )
    .await;
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn form_bodies_are_decoded_then_validated() {
    let gw = gateway(gen::typed_params::Api, None, &[]).await;
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let post = |body: &'static str| send(gw.addr, "POST", "/form", &form, body.as_bytes());
    let r = post("name=Ada+L&qty=2&gift=true&tags=a").await;
    assert_eq!((r.status, r.text().as_str()), (200, OK));
    let r = post("name=Ada&qty=2&tags=a&tags=b").await;
    assert_eq!(r.status, 200, "{}", r.text());
    for body in [
        "name=&qty=0",
        "qty=two",
        "name=Ada&qty=1&tags=a&tags=b&tags=c",
        "name=Ada&qty=1&colour=red",
    ] {
        let r = post(body).await;
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.text(), r#"{"message":"Invalid request body"}"#, "{body}");
    }
    gw.shutdown().await.unwrap();
}

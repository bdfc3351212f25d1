//! The gateway's listener: HTTP/2 without TLS (h2c, prior knowledge), and HTTPS with
//! `--tls-cert/--tls-key` offering h2 and HTTP/1.1 by ALPN.

mod common;

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use specgate_codegen_tests as gen;
use tokio::net::TcpStream;

#[tokio::test]
async fn h2c_prior_knowledge() {
    let gw = common::gateway(gen::example_hello::Api, None, &[]).await;
    let stream = TcpStream::connect(gw.addr).await.unwrap();
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::get(format!("http://{}/hello/h2", gw.addr))
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = send.send_request(req).await.unwrap();
    assert_eq!(resp.version(), hyper::Version::HTTP_2);
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        &body[..],
        br#"{"path": "/hello/h2", "resource": "/hello/{name}", "method": "GET"}"#
    );
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn https_with_alpn() {
    use rustls_pki_types::ServerName;
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = std::env::temp_dir().join(format!("sg-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, key.cert.pem()).unwrap();
    std::fs::write(&key_path, key.signing_key.serialize_pem()).unwrap();

    let mut config = specgate_runtime::Config::for_tests();
    config.tls_cert = Some(cert_path);
    config.tls_key = Some(key_path);
    let gw = specgate_runtime::server::spawn(gen::example_hello::Api, config)
        .await
        .unwrap();

    let mut roots = rustls::RootCertStore::empty();
    roots.add(key.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    for (alpn, version, protocol) in [
        (&b"h2"[..], hyper::Version::HTTP_2, "HTTP/2.0"),
        (&b"http/1.1"[..], hyper::Version::HTTP_11, "HTTP/1.1"),
    ] {
        let mut tls = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots.clone())
            .with_no_client_auth();
        tls.alpn_protocols = vec![alpn.to_vec()];
        let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
        let tcp = TcpStream::connect(gw.addr).await.unwrap();
        let stream = connector
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap();
        assert_eq!(stream.get_ref().1.alpn_protocol(), Some(alpn));
        let io = TokioIo::new(stream);
        let req = hyper::Request::get("https://localhost/hello")
            .header("host", "localhost")
            .body(Empty::<Bytes>::new())
            .unwrap();
        let resp = if version == hyper::Version::HTTP_2 {
            let (mut send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                .await
                .unwrap();
            tokio::spawn(conn);
            send.send_request(req).await.unwrap()
        } else {
            let (mut send, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
            tokio::spawn(conn);
            send.send_request(req).await.unwrap()
        };
        assert_eq!(resp.version(), version, "{protocol}");
        assert_eq!(resp.status(), 200);
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert!(body.starts_with(br#"{"message": "Hello, world", "stage": "dev""#));
    }
    gw.shutdown().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

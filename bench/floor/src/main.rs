//! The floor under any gateway built on tokio: bytes forwarded between a client connection
//! and a kept-alive backend connection, one current-thread runtime per worker as specgate
//! runs, with the same idle and integration timeouts around each read. Nothing is parsed:
//! each read is taken to be one whole message, which holds for wrk's requests and a small
//! backend answer on loopback, and for nothing else. `bench/run.sh` measures it as a row of
//! its own, so that what specgate's data path adds to tokio and the kernel is a number.
//!
//!     specgate-bench-floor LISTEN BACKEND [WORKERS]

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(listen), Some(backend)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: specgate-bench-floor LISTEN BACKEND [WORKERS]");
        std::process::exit(2);
    };
    let workers: usize = args.get(3).and_then(|w| w.parse().ok()).unwrap_or(2);
    let listener = std::net::TcpListener::bind(listen).unwrap_or_else(|e| {
        eprintln!("specgate-bench-floor: {listen}: {e}");
        std::process::exit(1);
    });
    listener
        .set_nonblocking(true)
        .expect("a non-blocking listener");
    let threads: Vec<_> = (0..workers)
        .map(|_| {
            let listener = listener.try_clone().expect("a listener for each worker");
            let backend = backend.clone();
            std::thread::spawn(move || worker(listener, backend))
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

fn worker(listener: std::net::TcpListener, backend: String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async move {
        let listener = TcpListener::from_std(listener).expect("a listener");
        loop {
            let Ok((client, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(forward(client, backend.clone()));
        }
    });
}

async fn forward(mut client: TcpStream, backend: String) -> std::io::Result<()> {
    client.set_nodelay(true)?;
    let mut upstream = TcpStream::connect(&backend).await?;
    upstream.set_nodelay(true)?;
    let (mut request, mut response) = (vec![0u8; 16384], vec![0u8; 16384]);
    loop {
        let Some(n) = read_within(60, &mut client, &mut request).await? else {
            return Ok(());
        };
        upstream.write_all(&request[..n]).await?;
        let Some(m) = read_within(29, &mut upstream, &mut response).await? else {
            return Ok(());
        };
        client.write_all(&response[..m]).await?;
    }
}

/// One read within `secs` seconds: `None` when it timed out or the peer closed.
async fn read_within(
    secs: u64,
    from: &mut TcpStream,
    buf: &mut [u8],
) -> std::io::Result<Option<usize>> {
    match timeout(Duration::from_secs(secs), from.read(buf)).await {
        Ok(Ok(0)) | Err(_) => Ok(None),
        Ok(Ok(n)) => Ok(Some(n)),
        Ok(Err(e)) => Err(e),
    }
}

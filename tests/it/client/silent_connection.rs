//! A connection the network forgot without a reset (a NAT or firewall that dropped its mapping) is
//! found dead by the client's keepalive pings and replaced, so later calls do not time out on it.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{
        TcpListener, TcpStream,
        tcp::{OwnedReadHalf, OwnedWriteHalf},
    },
};
use yc_iam::{
    Client, Credentials,
    emulator::{DEFAULT_IAM_TOKEN, Emulator},
};

use super::{FOLDER, start};

/// A TCP proxy whose connections can be silenced: [`Proxy::forget`] makes every connection open
/// so far swallow all bytes both ways, as a path that lost its state does, while connections
/// opened afterwards are forwarded.
struct Proxy {
    addr: SocketAddr,
    /// Connections opened in an earlier epoch than this one are silent.
    epoch: Arc<AtomicU64>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let epoch = Arc::new(AtomicU64::new(0));
        let current = epoch.clone();
        tokio::spawn(async move {
            while let Ok((outside, _)) = listener.accept().await {
                let Ok(inside) = TcpStream::connect(target).await else {
                    continue;
                };
                let born = current.load(Ordering::SeqCst);
                let (outside_read, outside_write) = outside.into_split();
                let (inside_read, inside_write) = inside.into_split();
                tokio::spawn(forward(outside_read, inside_write, current.clone(), born));
                tokio::spawn(forward(inside_read, outside_write, current.clone(), born));
            }
        });
        Proxy { addr, epoch }
    }

    fn forget(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }
}

async fn forward(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, epoch: Arc<AtomicU64>, born: u64) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let silent = || epoch.load(Ordering::SeqCst) != born;
        let n = match from.read(&mut buffer).await {
            Ok(n) if n > 0 => n,
            // A forgotten connection passes on no close either: the other end keeps waiting.
            _ if silent() => return std::future::pending().await,
            _ => return,
        };
        if silent() {
            continue;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_call_after_the_connection_went_silent_goes_over_a_new_one() {
    let emu = start(Emulator::builder()).await;
    let proxy = Proxy::start(emu.addr()).await;
    let endpoint = format!("http://{}", proxy.addr);
    let client = Client::builder()
        .with_endpoint(&endpoint)
        .with_service_endpoint("resource-manager", &endpoint)
        .with_credentials(Credentials::iam_token(DEFAULT_IAM_TOKEN))
        .build()
        .expect("client");
    client.folders().get(FOLDER).await.expect("a call over the proxy");
    proxy.forget();
    // The client sits idle for a while, as a backend between requests does (paused clock).
    tokio::time::sleep(Duration::from_secs(120)).await;
    let started = tokio::time::Instant::now();
    client
        .folders()
        .get(FOLDER)
        .await
        .expect("the next call goes over a new connection");
    // The call's ping went unanswered (10 s) and its retry took a new connection, long before the
    // call's own 30 s timeout.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}

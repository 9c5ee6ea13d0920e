//! No input makes it panic or stop: random bytes as the request of every method, and random
//! well-formed requests, are answered with a status, and the emulator keeps serving.

use prost::bytes::{Buf, BufMut};
use prost_reflect::DescriptorPool;
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use yc_iam::emulator::{DEFAULT_FOLDER_ID, DEFAULT_IAM_TOKEN, Emulator};
use yc_iam::proto::FILE_DESCRIPTOR_SET;
use yc_iam::proto::yandex::cloud::iam::v1::ListServiceAccountsRequest;

use super::support::clients;

/// Sends and receives raw message bytes.
#[derive(Default)]
struct RawCodec;

struct RawEncoder;
struct RawDecoder;

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

/// Every method path of every service in our protos.
fn method_paths() -> Vec<String> {
    let pool = DescriptorPool::decode(FILE_DESCRIPTOR_SET).expect("descriptors");
    pool.services()
        .flat_map(|s| {
            let service = s.full_name().to_owned();
            s.methods()
                .map(move |m| format!("/{service}/{}", m.name()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Random bytes, biased towards protobuf-looking prefixes so decoding gets past the first byte.
fn random_message(rng: &mut fastrand::Rng) -> Vec<u8> {
    let len = rng.usize(0..64);
    let mut bytes: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
    if rng.bool() && !bytes.is_empty() {
        bytes[0] = [0x0a, 0x10, 0x12, 0x1a, 0x22, 0x08][rng.usize(..6)];
    }
    bytes
}

#[tokio::test]
async fn random_bytes_to_every_method_get_a_status_and_never_stop_it() {
    let emu = Emulator::builder().start().await.expect("start");
    let channel = super::support::channel(&emu).await;
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let paths = method_paths();
    assert!(paths.len() >= 25, "{paths:?}");
    for path in &paths {
        for _ in 0..12 {
            let mut grpc = tonic::client::Grpc::new(channel.clone());
            grpc.ready().await.expect("ready");
            let mut request = tonic::Request::new(random_message(&mut rng));
            request.metadata_mut().insert(
                "authorization",
                format!("Bearer {DEFAULT_IAM_TOKEN}").parse().expect("h"),
            );
            let path = http::uri::PathAndQuery::try_from(path.as_str()).expect("path");
            if let Err(status) = grpc.unary(request, path, RawCodec).await {
                assert_ne!(status.code(), Code::Unknown, "{status:?}");
                assert!(
                    status.metadata().get("x-request-id").is_some(),
                    "answered by the emulator: {status:?}"
                );
            }
        }
    }
    let mut c = clients(&emu).await;
    c.accounts
        .list(ListServiceAccountsRequest {
            folder_id: DEFAULT_FOLDER_ID.into(),
            ..Default::default()
        })
        .await
        .expect("still serving");
}

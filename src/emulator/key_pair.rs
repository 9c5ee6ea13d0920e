//! RSA key pairs for authorized keys, made with the `rsa` crate. The emulator uses it only to
//! generate keys and write them as PEM: RUSTSEC-2023-0071 concerns the timing of private-key
//! operations (decryption, signing), which the emulator never performs with it; JWT signatures are
//! checked through jsonwebtoken on ring.

use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::rand_core::{CryptoRng, RngCore};
use rsa::{RsaPrivateKey, RsaPublicKey};
use tonic::Status;

/// A generated key pair as PEM: PKCS#8 private key and SubjectPublicKeyInfo public key.
pub(crate) struct KeyPair {
    pub(crate) private_pem: String,
    pub(crate) public_pem: String,
}

/// The operating system's generator. `RngCore::fill_bytes` cannot fail, so a failure is noted and
/// the key it would have produced is thrown away.
struct SystemRandom {
    failed: bool,
}

impl RngCore for SystemRandom {
    fn next_u32(&mut self) -> u32 {
        let mut bytes = [0; 4];
        self.fill_bytes(&mut bytes);
        u32::from_le_bytes(bytes)
    }

    fn next_u64(&mut self) -> u64 {
        let mut bytes = [0; 8];
        self.fill_bytes(&mut bytes);
        u64::from_le_bytes(bytes)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if getrandom::fill(dest).is_err() {
            self.failed = true;
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for SystemRandom {}

/// A fresh RSA key pair of `bits` bits. CPU-bound (a 4096-bit key can take seconds): call it off
/// the async workers.
pub(crate) fn generate(bits: usize) -> Result<KeyPair, Status> {
    let failed = || Status::internal("cannot generate the key pair");
    let mut rng = SystemRandom { failed: false };
    let private = RsaPrivateKey::new(&mut rng, bits).map_err(|_| failed())?;
    if rng.failed {
        return Err(Status::internal("the system random generator failed"));
    }
    let private_pem = private.to_pkcs8_pem(LineEnding::LF).map_err(|_| failed())?;
    let public_pem = RsaPublicKey::from(&private)
        .to_public_key_pem(LineEnding::LF)
        .map_err(|_| failed())?;
    Ok(KeyPair {
        private_pem: private_pem.as_str().to_owned(),
        public_pem,
    })
}

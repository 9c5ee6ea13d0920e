//! Identifiers, secrets and tokens shaped like the ones Yandex Cloud hands out. Ids come from a
//! fast generator (they are public); API-key secrets and IAM tokens come from the operating
//! system's, so no one who sees ids can predict a credential.

use fastrand::Rng;
use tonic::Status;

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const URL_SAFE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Length of every resource id: Yandex ids are 20 lowercase alphanumerics.
pub(crate) const ID_LEN: usize = 20;

/// Appends `n` characters drawn from `alphabet` (ASCII) to `out`.
fn pick_into(out: &mut String, rng: &mut Rng, alphabet: &[u8], n: usize) {
    out.reserve(n);
    for _ in 0..n {
        out.push(char::from(alphabet[rng.usize(..alphabet.len())]));
    }
}

/// Appends `n` characters drawn uniformly from `alphabet` (ASCII, at most 256 entries) with bytes
/// from the operating system's generator; bytes that would bias the draw are skipped.
fn secure_pick_into(out: &mut String, alphabet: &[u8], n: usize) -> Result<(), Status> {
    let unbiased = 256 - 256 % alphabet.len();
    let mut bytes = [0u8; 64];
    out.reserve(n);
    let mut wanted = n;
    while wanted > 0 {
        getrandom::fill(&mut bytes).map_err(|_| Status::internal("the system random generator failed"))?;
        for &b in bytes.iter().filter(|&&b| usize::from(b) < unbiased).take(wanted) {
            out.push(char::from(alphabet[usize::from(b) % alphabet.len()]));
            wanted -= 1;
        }
    }
    Ok(())
}

/// A 20-character id starting with `prefix` (`aje` for IAM objects, `b1g` for folders and clouds).
pub(crate) fn resource_id(rng: &mut Rng, prefix: &str) -> String {
    let mut id = String::with_capacity(ID_LEN.max(prefix.len()));
    id.push_str(prefix);
    pick_into(&mut id, rng, LOWER_ALNUM, ID_LEN.saturating_sub(prefix.len()));
    id
}

/// An API-key secret: `AQVN` followed by 36 URL-safe characters, 40 in all.
pub(crate) fn api_key_secret() -> Result<String, Status> {
    let mut secret = String::with_capacity(40);
    secret.push_str("AQVN");
    secure_pick_into(&mut secret, URL_SAFE, 36)?;
    Ok(secret)
}

/// A static access key's public id: `YCAJE` and 20 URL-safe characters, 25 in all, the shape of
/// Yandex's access key ids.
pub(crate) fn access_key_id() -> Result<String, Status> {
    let mut id = String::with_capacity(25);
    id.push_str("YCAJE");
    secure_pick_into(&mut id, URL_SAFE, 20)?;
    Ok(id)
}

/// A static access key's secret: `YC` and 38 URL-safe characters, 40 in all (the length of an
/// AWS secret access key).
pub(crate) fn access_key_secret() -> Result<String, Status> {
    let mut secret = String::with_capacity(40);
    secret.push_str("YC");
    secure_pick_into(&mut secret, URL_SAFE, 38)?;
    Ok(secret)
}

/// The masked form stored on the key: `****` and the secret's last six characters.
pub(crate) fn mask_secret(secret: &str) -> String {
    let tail: String = secret
        .chars()
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("****{tail}")
}

/// A password of `length` characters drawn uniformly from `alphabet` (ASCII) with the operating
/// system's generator, for generated Lockbox secrets.
pub(crate) fn password(alphabet: &[u8], length: usize) -> Result<String, Status> {
    let mut password = String::with_capacity(length);
    secure_pick_into(&mut password, alphabet, length)?;
    Ok(password)
}

/// An IAM token shaped like `t1.<payload>.<86 characters>`.
pub(crate) fn iam_token() -> Result<String, Status> {
    let mut token = String::with_capacity(3 + 64 + 1 + 86);
    token.push_str("t1.");
    secure_pick_into(&mut token, ALNUM, 64)?;
    token.push('.');
    secure_pick_into(&mut token, URL_SAFE, 86)?;
    Ok(token)
}

/// Whether `id` looks like a Yandex id (20 lowercase alphanumerics).
#[cfg(test)]
pub(crate) fn is_yandex_id(id: &str) -> bool {
    id.len() == ID_LEN && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_secrets_and_tokens_have_the_real_shapes() {
        let mut rng = Rng::with_seed(1);
        let id = resource_id(&mut rng, "aje");
        assert!(is_yandex_id(&id) && id.starts_with("aje"));
        let secret = api_key_secret().expect("secret");
        assert!(secret.starts_with("AQVN") && secret.len() == 40);
        let masked = mask_secret(&secret);
        assert_eq!(masked.len(), 10);
        assert!(secret.ends_with(&masked[4..]));
        let (access_id, access_secret) = (access_key_id().expect("id"), access_key_secret().expect("secret"));
        assert!(access_id.starts_with("YCAJE") && access_id.len() == 25);
        assert!(access_secret.starts_with("YC") && access_secret.len() == 40);
        let token = iam_token().expect("token");
        assert_eq!(token.len(), 3 + 64 + 1 + 86);
        assert!(token.starts_with("t1."));
        assert_eq!(token.rsplit('.').next().map(str::len), Some(86));
    }
}

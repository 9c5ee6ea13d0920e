//! Identifiers, secrets and tokens shaped like the ones Yandex Cloud hands out.

use fastrand::Rng;

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

fn pick(rng: &mut Rng, alphabet: &[u8], n: usize) -> String {
    let mut out = String::new();
    pick_into(&mut out, rng, alphabet, n);
    out
}

/// A 20-character id starting with `prefix` (`aje` for IAM objects, `b1g` for folders and clouds).
pub(crate) fn resource_id(rng: &mut Rng, prefix: &str) -> String {
    let mut id = String::with_capacity(ID_LEN.max(prefix.len()));
    id.push_str(prefix);
    pick_into(&mut id, rng, LOWER_ALNUM, ID_LEN.saturating_sub(prefix.len()));
    id
}

/// An API-key secret: `AQVN` followed by 36 URL-safe characters, 40 in all.
pub(crate) fn api_key_secret(rng: &mut Rng) -> String {
    let mut secret = String::with_capacity(40);
    secret.push_str("AQVN");
    pick_into(&mut secret, rng, URL_SAFE, 36);
    secret
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

/// An IAM token shaped like `t1.<payload>.<86 characters>`.
pub(crate) fn iam_token(rng: &mut Rng) -> String {
    format!("t1.{}.{}", pick(rng, ALNUM, 64), pick(rng, URL_SAFE, 86))
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
        let secret = api_key_secret(&mut rng);
        assert!(secret.starts_with("AQVN") && secret.len() == 40);
        let masked = mask_secret(&secret);
        assert_eq!(masked.len(), 10);
        assert!(secret.ends_with(&masked[4..]));
        let token = iam_token(&mut rng);
        assert!(token.starts_with("t1."));
        assert_eq!(token.rsplit('.').next().map(str::len), Some(86));
    }
}

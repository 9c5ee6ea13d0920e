//! AI Studio's `TokenizerService` and `TextGenerationService` (endpoint id
//! `ai-foundation-models`), authorized as the real ones are and answering deterministically.
//!
//! Who may call: the emulator's own users (its configured tokens act as the cloud's
//! administrator), and service accounts holding `ai.languageModels.user`, `ai.editor`,
//! `ai.admin`, `editor` or `admin` on the folder of `model_uri` or on its cloud (a binding counts
//! once the emulator's binding delay has passed). An API key must also carry the scope
//! `yc.ai.languageModels.execute` (a key made without scopes is not restricted). A missing scope
//! or role is PERMISSION_DENIED naming it; a `model_uri` that is not
//! `gpt://<folder id>/<model>[/<version>]` is INVALID_ARGUMENT.
//!
//! The answers:
//! - `Tokenize`: `<s>` (id 1, special), then each run of letters and digits, and each other
//!   character that is not white space, as one token; a token's id is 2 plus the 32-bit FNV-1a
//!   hash of its text, so the same text always has the same id.
//! - `TokenizeCompletion`: the same, over the messages' texts joined by new lines.
//! - `Completion`: the assistant answers with the text of the last `user` message, unchanged. With
//!   `completion_options.stream`, one partial answer per word (each holding the answer so far),
//!   then the final one; otherwise the final one alone. A `max_tokens` below the answer's token
//!   count cuts the answer to that many tokens, with status `TRUNCATED_FINAL`. Usage counts tokens
//!   as `Tokenize` does, without `<s>`.

use std::pin::Pin;

use futures_util::Stream;
use tonic::{Request, Response, Status};

use super::access_bindings::holds_role;
use super::{Svc, checked, principal};
use crate::emulator::Principal;
use crate::emulator::errors::{invalid_argument, permission_denied};
use crate::proto::yandex::cloud::ai::foundation_models::v1::{
    Alternative, CompletionRequest, CompletionResponse, ContentUsage, Message, Token, TokenizeRequest,
    TokenizeResponse, alternative::AlternativeStatus, message, text_generation_service_server::TextGenerationService,
    tokenizer_service_server::TokenizerService,
};

/// The scope an API key needs to call the text models.
pub(crate) const SCOPE: &str = "yc.ai.languageModels.execute";
/// The scope that admits an API key to every AI Studio model, the text models among them.
const ALL_MODELS_SCOPE: &str = "yc.ai.foundationModels.execute";
/// The roles that let a service account call the text models.
pub(crate) const MODEL_ROLES: &[&str] = &["ai.languageModels.user", "ai.editor", "ai.admin", "editor", "admin"];
/// The `model_version` of every answer.
const MODEL_VERSION: &str = "23.10.2024";

/// The folder of a model URI `gpt://<folder id>/<model>[/<version>]`.
fn model_folder(uri: &str) -> Result<&str, Status> {
    let malformed = || invalid_argument("model_uri", "must be gpt://<folder id>/<model>/<version>");
    let path = uri.strip_prefix("gpt://").ok_or_else(malformed)?;
    let parts: Vec<&str> = path.split('/').collect();
    let name_like = |s: &str| {
        !s.is_empty()
            && s.len() <= 100
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'))
    };
    let folder = parts[0];
    let folder_ok = !folder.is_empty()
        && folder.len() <= 50
        && folder.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !folder_ok || !(2..=3).contains(&parts.len()) || !parts[1..].iter().all(|p| name_like(p)) {
        return Err(malformed());
    }
    Ok(folder)
}

/// Who calls a model: the principal and, for an `Api-Key` call, the key's scopes.
struct Caller {
    principal: Principal,
    key_scopes: Option<Vec<String>>,
}

impl Svc {
    /// The caller of `request`, which the layer has authenticated.
    fn caller<T>(&self, request: &Request<T>) -> Caller {
        let api_key = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("api-key"))
            .map(|(_, secret)| secret.trim());
        Caller {
            principal: principal(request),
            key_scopes: api_key.and_then(|secret| {
                self.inner
                    .read(|state| state.live_key_scopes(secret).map(<[String]>::to_vec))
            }),
        }
    }

    /// Whether `caller` may use the models of `model_uri`: PERMISSION_DENIED naming the scope or
    /// role that is missing, INVALID_ARGUMENT for a malformed URI.
    fn authorize_model(&self, caller: &Caller, model_uri: &str) -> Result<(), Status> {
        let folder = model_folder(model_uri)?;
        if let Some(scopes) = &caller.key_scopes
            && !scopes.is_empty()
            && !scopes.iter().any(|s| s == SCOPE || s == ALL_MODELS_SCOPE)
        {
            return Err(permission_denied(format!(
                "Permission denied: the API key does not have the scope {SCOPE}"
            )));
        }
        let clock = &self.inner.clock;
        self.inner.read(|state| {
            let Some(folder_rec) = state.folders.get(folder) else {
                return Err(permission_denied(format!(
                    "Permission denied to folder {folder} of model {model_uri}"
                )));
            };
            match &caller.principal {
                Principal::User(_) => Ok(()),
                Principal::ServiceAccount(id) => {
                    let resources = [folder, folder_rec.cloud_id.as_str()];
                    if holds_role(state, clock, id, &resources, MODEL_ROLES) {
                        Ok(())
                    } else {
                        Err(permission_denied(format!(
                            "Permission denied: service account {id} has no role {} (or {}) on folder {folder}",
                            MODEL_ROLES[0],
                            MODEL_ROLES[1..].join(", ")
                        )))
                    }
                }
            }
        })
    }
}

/// FNV-1a, 32 bits: a stable hash for token ids.
fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5_u32, |hash, b| {
        (hash ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// The text's words and punctuation, in order.
fn words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            start.get_or_insert(i);
            continue;
        }
        if let Some(s) = start.take() {
            out.push(&text[s..i]);
        }
        if !c.is_whitespace() {
            out.push(&text[i..i + c.len_utf8()]);
        }
    }
    if let Some(s) = start {
        out.push(&text[s..]);
    }
    out
}

fn token(text: &str) -> Token {
    Token {
        id: 2 + i64::from(fnv1a(text)),
        text: text.to_owned(),
        special: false,
    }
}

fn tokenize(text: &str) -> TokenizeResponse {
    let start = Token {
        id: 1,
        text: "<s>".to_owned(),
        special: true,
    };
    TokenizeResponse {
        tokens: std::iter::once(start)
            .chain(words(text).into_iter().map(token))
            .collect(),
        model_version: MODEL_VERSION.to_owned(),
    }
}

fn text_of(message: &Message) -> Option<&str> {
    match &message.content {
        Some(message::Content::Text(text)) => Some(text),
        _ => None,
    }
}

/// The messages' texts, one per line.
fn joined_texts(messages: &[Message]) -> String {
    messages.iter().filter_map(text_of).collect::<Vec<_>>().join("\n")
}

/// The answers of a completion: partial ones when streaming, then the final one.
fn complete(request: &CompletionRequest) -> Result<Vec<CompletionResponse>, Status> {
    let question = request
        .messages
        .iter()
        .rev()
        .filter(|m| m.role == "user")
        .find_map(text_of)
        .ok_or_else(|| invalid_argument("messages", "must include a message with role user and text"))?;
    let input_tokens = words(&joined_texts(&request.messages)).len() as i64;
    let answer_words = words(question);
    let limit = request
        .completion_options
        .as_ref()
        .and_then(|o| o.max_tokens)
        .map(|n| n.max(0) as usize);
    let (answer, status) = match limit {
        Some(n) if n < answer_words.len() => {
            // Cut after the n-th token, keeping the text between tokens as it was.
            let end = answer_words
                .get(n)
                .map_or(question.len(), |next| offset(question, next));
            (question[..end].trim_end(), AlternativeStatus::TruncatedFinal)
        }
        _ => (question, AlternativeStatus::Final),
    };
    let completion_tokens = answer_words.len().min(limit.unwrap_or(usize::MAX)) as i64;
    let response = |text: &str, status: AlternativeStatus, tokens: i64| CompletionResponse {
        alternatives: vec![Alternative {
            message: Some(Message {
                role: "assistant".to_owned(),
                content: Some(message::Content::Text(text.to_owned())),
            }),
            status: status as i32,
        }],
        usage: Some(ContentUsage {
            input_text_tokens: input_tokens,
            completion_tokens: tokens,
            total_tokens: input_tokens + tokens,
            completion_tokens_details: None,
        }),
        model_version: MODEL_VERSION.to_owned(),
    };
    let streaming = request.completion_options.as_ref().is_some_and(|o| o.stream);
    let mut out = Vec::new();
    if streaming {
        for piece in answer.split_whitespace() {
            let end = offset(answer, piece) + piece.len();
            if end == answer.len() {
                break;
            }
            let so_far = &answer[..end];
            out.push(response(so_far, AlternativeStatus::Partial, words(so_far).len() as i64));
        }
    }
    out.push(response(answer, status, completion_tokens));
    Ok(out)
}

/// The byte offset of `part`, a slice of `whole`, within it.
fn offset(whole: &str, part: &str) -> usize {
    part.as_ptr() as usize - whole.as_ptr() as usize
}

#[tonic::async_trait]
impl TokenizerService for Svc {
    async fn tokenize(&self, request: Request<TokenizeRequest>) -> Result<Response<TokenizeResponse>, Status> {
        let caller = self.caller(&request);
        let request = checked(request)?;
        self.authorize_model(&caller, &request.model_uri)?;
        Ok(Response::new(tokenize(&request.text)))
    }

    async fn tokenize_completion(
        &self,
        request: Request<CompletionRequest>,
    ) -> Result<Response<TokenizeResponse>, Status> {
        let caller = self.caller(&request);
        let request = checked(request)?;
        self.authorize_model(&caller, &request.model_uri)?;
        Ok(Response::new(tokenize(&joined_texts(&request.messages))))
    }
}

type CompletionStream = Pin<Box<dyn Stream<Item = Result<CompletionResponse, Status>> + Send>>;

#[tonic::async_trait]
impl TextGenerationService for Svc {
    type CompletionStream = CompletionStream;

    async fn completion(&self, request: Request<CompletionRequest>) -> Result<Response<CompletionStream>, Status> {
        let caller = self.caller(&request);
        let request = checked(request)?;
        self.authorize_model(&caller, &request.model_uri)?;
        let answers = complete(&request)?;
        Ok(Response::new(Box::pin(futures_util::stream::iter(
            answers.into_iter().map(Ok),
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_punctuation_are_tokens() {
        assert_eq!(
            words("Hello, world!  It's 42."),
            ["Hello", ",", "world", "!", "It", "'", "s", "42", "."]
        );
        assert_eq!(words("  "), Vec::<&str>::new());
        assert_eq!(words("Привет, мир"), ["Привет", ",", "мир"]);
    }

    #[test]
    fn a_token_id_depends_on_its_text_only() {
        let first = tokenize("a b a");
        assert_eq!(first.tokens[1].id, first.tokens[3].id);
        assert_ne!(first.tokens[1].id, first.tokens[2].id);
        assert_eq!(tokenize("b").tokens[1].id, first.tokens[2].id);
        assert_eq!(token("Hello").id, 2 + 0xf55c_314b);
    }

    #[test]
    fn model_uris_are_checked() {
        for good in [
            "gpt://b1gfolder/yandexgpt-lite/latest",
            "gpt://b1g/yandexgpt",
            "gpt://b1g/yandexgpt/rc",
        ] {
            assert!(model_folder(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "gpt://",
            "gpt:///m/latest",
            "http://b1g/m/latest",
            "gpt://b1g",
            "gpt://b1g/m/l/x",
            "gpt://B1G/m",
        ] {
            assert!(model_folder(bad).is_err(), "{bad}");
        }
    }
}

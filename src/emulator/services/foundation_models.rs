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
//!   `completion_options.stream`, partial answers (each holding the answer so far, one more word
//!   each, or for an answer of more than 17 words an equal share of its words each, so at most 16),
//!   then the final one; otherwise the final one alone. Each answer is made as the stream is read. A `max_tokens` below the answer's token
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
                let digest = crate::emulator::state::sha256_hex(secret.as_bytes());
                self.inner
                    .read(|state| state.live_key_scopes(&digest).map(<[String]>::to_vec))
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

/// The text's words and punctuation, in order, found as they are read.
struct Tokens<'a> {
    text: &'a str,
    chars: std::str::CharIndices<'a>,
    /// Where the run of letters and digits being read began.
    run: Option<usize>,
    /// The punctuation that ended the run just returned.
    pending: Option<&'a str>,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if let Some(mark) = self.pending.take() {
            return Some(mark);
        }
        for (i, c) in self.chars.by_ref() {
            if c.is_alphanumeric() {
                self.run.get_or_insert(i);
                continue;
            }
            let mark = (!c.is_whitespace()).then(|| &self.text[i..i + c.len_utf8()]);
            if let Some(start) = self.run.take() {
                self.pending = mark;
                return Some(&self.text[start..i]);
            }
            if mark.is_some() {
                return mark;
            }
        }
        self.run.take().map(|start| &self.text[start..])
    }
}

fn tokens(text: &str) -> Tokens<'_> {
    Tokens {
        text,
        chars: text.char_indices(),
        run: None,
        pending: None,
    }
}

/// How many tokens the text holds, counted without keeping them.
fn token_count(text: &str) -> i64 {
    tokens(text).count() as i64
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
        tokens: std::iter::once(start).chain(tokens(text).map(token)).collect(),
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

/// The most partial answers a streamed completion sends before the final one. A longer answer
/// grows by several words per partial, so what a stream sends stays linear in the answer's size.
const MAX_PARTIALS: usize = 16;

/// The answers of one completion, each made only when the stream is read: when streaming, the
/// partial ones (each holding the answer so far), then the final one.
struct Answers {
    answer: String,
    status: AlternativeStatus,
    input_tokens: i64,
    completion_tokens: i64,
    /// How many words (runs without white space) each partial answer adds; 0 without streaming.
    step: usize,
    /// The end of the answer the last partial held, and its tokens.
    sent: usize,
    sent_tokens: i64,
    done: bool,
}

impl Answers {
    fn response(&self, text: String, status: AlternativeStatus, tokens: i64) -> CompletionResponse {
        CompletionResponse {
            alternatives: vec![Alternative {
                message: Some(Message {
                    role: "assistant".to_owned(),
                    content: Some(message::Content::Text(text)),
                }),
                status: status as i32,
            }],
            usage: Some(ContentUsage {
                input_text_tokens: self.input_tokens,
                completion_tokens: tokens,
                total_tokens: self.input_tokens + tokens,
                completion_tokens_details: None,
            }),
            model_version: MODEL_VERSION.to_owned(),
        }
    }
}

impl Iterator for Answers {
    type Item = CompletionResponse;

    fn next(&mut self) -> Option<CompletionResponse> {
        if self.done {
            return None;
        }
        if self.step > 0 {
            let (mut end, mut tokens) = (self.sent, self.sent_tokens);
            for word in self.answer[self.sent..].split_whitespace().take(self.step) {
                end = offset(&self.answer, word) + word.len();
                tokens += token_count(word);
            }
            // The words that end the answer come in the final answer, not in a partial one.
            if !self.answer[end..].trim_start().is_empty() {
                (self.sent, self.sent_tokens) = (end, tokens);
                return Some(self.response(self.answer[..end].to_owned(), AlternativeStatus::Partial, tokens));
            }
        }
        self.done = true;
        let answer = std::mem::take(&mut self.answer);
        Some(self.response(answer, self.status, self.completion_tokens))
    }
}

/// The answers of a completion, made lazily: partial ones when streaming, then the final one.
fn complete(request: &CompletionRequest) -> Result<Answers, Status> {
    let question = request
        .messages
        .iter()
        .rev()
        .filter(|m| m.role == "user")
        .find_map(text_of)
        .ok_or_else(|| invalid_argument("messages", "must include a message with role user and text"))?;
    let input_tokens = request.messages.iter().filter_map(text_of).map(token_count).sum();
    let limit = request
        .completion_options
        .as_ref()
        .and_then(|o| o.max_tokens)
        .map(|n| n.max(0));
    // The first token past `max_tokens`, if the answer has one.
    let cut = limit.and_then(|n| tokens(question).nth(usize::try_from(n).unwrap_or(usize::MAX)));
    let (answer, status, completion_tokens) = match (cut, limit) {
        // Cut before that token, keeping the text between tokens as it was.
        (Some(next), Some(n)) => (
            question[..offset(question, next)].trim_end(),
            AlternativeStatus::TruncatedFinal,
            n,
        ),
        _ => (question, AlternativeStatus::Final, token_count(question)),
    };
    let streaming = request.completion_options.as_ref().is_some_and(|o| o.stream);
    let step = if streaming {
        answer.split_whitespace().count().div_ceil(MAX_PARTIALS + 1).max(1)
    } else {
        0
    };
    Ok(Answers {
        answer: answer.to_owned(),
        status,
        input_tokens,
        completion_tokens,
        step,
        sent: 0,
        sent_tokens: 0,
        done: false,
    })
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
        // Each answer is made when the transport asks for it, so memory holds one at a time.
        Ok(Response::new(Box::pin(futures_util::stream::iter(answers.map(Ok)))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_punctuation_are_tokens() {
        assert_eq!(
            tokens("Hello, world!  It's 42.").collect::<Vec<_>>(),
            ["Hello", ",", "world", "!", "It", "'", "s", "42", "."]
        );
        assert_eq!(tokens("  ").count(), 0);
        assert_eq!(tokens("Привет, мир").collect::<Vec<_>>(), ["Привет", ",", "мир"]);
        assert_eq!(tokens("a.").collect::<Vec<_>>(), ["a", "."]);
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

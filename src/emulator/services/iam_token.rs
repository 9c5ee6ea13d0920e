//! `IamTokenService.Create`: OAuth tokens and service-account JWTs exchanged for IAM tokens.

use tonic::{Request, Response, Status};

use super::{Svc, checked};
use crate::emulator::auth::{check_jwt, check_oauth, issue_token};
use crate::emulator::errors::invalid_argument;
use crate::proto::yandex::cloud::iam::v1::create_iam_token_request::Identity;
use crate::proto::yandex::cloud::iam::v1::iam_token_service_server::IamTokenService;
use crate::proto::yandex::cloud::iam::v1::{CreateIamTokenRequest, CreateIamTokenResponse};

#[tonic::async_trait]
impl IamTokenService for Svc {
    async fn create(
        &self,
        request: Request<CreateIamTokenRequest>,
    ) -> Result<Response<CreateIamTokenResponse>, Status> {
        let request = checked(request)?;
        let subject = match &request.identity {
            Some(Identity::YandexPassportOauthToken(token)) => check_oauth(&self.inner, token)?,
            Some(Identity::Jwt(jwt)) => check_jwt(&self.inner, jwt)?,
            None => {
                return Err(invalid_argument(
                    "identity",
                    "exactly one of yandex_passport_oauth_token, jwt is required",
                ));
            }
        };
        let (iam_token, expires_at) = self.inner.mutate(|state| issue_token(&self.inner, state, &subject))?;
        Ok(Response::new(CreateIamTokenResponse {
            iam_token,
            expires_at: Some(expires_at),
        }))
    }
}

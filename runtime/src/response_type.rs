//! The gateway response types API Gateway answers with, and their defaults (status,
//! message, `x-amzn-ErrorType`). A leaf: the request context records which one a request
//! got, and `responses` renders them.

/// Gateway response types (the subset the runtime produces today is marked in
/// [`ResponseType::default_status`] by use; all exist so that customisations compile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum ResponseType {
    AccessDenied,
    ApiConfigurationError,
    AuthorizerConfigurationError,
    AuthorizerFailure,
    BadRequestBody,
    BadRequestParameters,
    Default4xx,
    Default5xx,
    ExpiredToken,
    IntegrationFailure,
    IntegrationTimeout,
    InvalidApiKey,
    InvalidSignature,
    MissingAuthenticationToken,
    QuotaExceeded,
    RequestTooLarge,
    ResourceNotFound,
    Throttled,
    Unauthorized,
    UnsupportedMediaType,
    WafFiltered,
}

impl ResponseType {
    /// The AWS name (`MISSING_AUTHENTICATION_TOKEN`).
    pub fn name(self) -> &'static str {
        use ResponseType::*;
        match self {
            AccessDenied => "ACCESS_DENIED",
            ApiConfigurationError => "API_CONFIGURATION_ERROR",
            AuthorizerConfigurationError => "AUTHORIZER_CONFIGURATION_ERROR",
            AuthorizerFailure => "AUTHORIZER_FAILURE",
            BadRequestBody => "BAD_REQUEST_BODY",
            BadRequestParameters => "BAD_REQUEST_PARAMETERS",
            Default4xx => "DEFAULT_4XX",
            Default5xx => "DEFAULT_5XX",
            ExpiredToken => "EXPIRED_TOKEN",
            IntegrationFailure => "INTEGRATION_FAILURE",
            IntegrationTimeout => "INTEGRATION_TIMEOUT",
            InvalidApiKey => "INVALID_API_KEY",
            InvalidSignature => "INVALID_SIGNATURE",
            MissingAuthenticationToken => "MISSING_AUTHENTICATION_TOKEN",
            QuotaExceeded => "QUOTA_EXCEEDED",
            RequestTooLarge => "REQUEST_TOO_LARGE",
            ResourceNotFound => "RESOURCE_NOT_FOUND",
            Throttled => "THROTTLED",
            Unauthorized => "UNAUTHORIZED",
            UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            WafFiltered => "WAF_FILTERED",
        }
    }

    /// AWS's default status code.
    pub fn default_status(self) -> u16 {
        use ResponseType::*;
        match self {
            AccessDenied
            | ExpiredToken
            | InvalidApiKey
            | InvalidSignature
            | MissingAuthenticationToken
            | WafFiltered => 403,
            ApiConfigurationError
            | AuthorizerConfigurationError
            | AuthorizerFailure
            | Default5xx => 500,
            BadRequestBody | BadRequestParameters | Default4xx => 400,
            IntegrationFailure | IntegrationTimeout => 504,
            QuotaExceeded | Throttled => 429,
            RequestTooLarge => 413,
            ResourceNotFound => 404,
            Unauthorized => 401,
            UnsupportedMediaType => 415,
        }
    }

    /// AWS's default message (`None` renders as JSON `null`).
    pub fn default_message(self) -> Option<&'static str> {
        use ResponseType::*;
        Some(match self {
            AccessDenied => "User is not authorized to access this resource",
            ApiConfigurationError | Default5xx => "Internal server error",
            // [?] LocalStack answers `{"message": null}`; AWS documents no message.
            AuthorizerConfigurationError | AuthorizerFailure => return None,
            BadRequestBody => "Invalid request body",
            BadRequestParameters => "Missing required request parameters",
            Default4xx => "Bad Request",
            ExpiredToken => "The security token included in the request is expired",
            IntegrationFailure => "Internal server error",
            IntegrationTimeout => "Endpoint request timed out",
            InvalidApiKey | WafFiltered => "Forbidden",
            InvalidSignature => {
                "The request signature we calculated does not match the signature you provided"
            }
            MissingAuthenticationToken => "Missing Authentication Token",
            QuotaExceeded => "Limit Exceeded",
            RequestTooLarge => "Request Too Long",
            ResourceNotFound => "Not Found",
            Throttled => "Too Many Requests",
            Unauthorized => "Unauthorized",
            UnsupportedMediaType => "Unsupported Media Type",
        })
    }

    /// The `x-amzn-ErrorType` header value.
    pub fn error_type(self) -> Option<&'static str> {
        use ResponseType::*;
        Some(match self {
            AccessDenied => "AccessDeniedException",
            AuthorizerConfigurationError => "AuthorizerConfigurationException",
            AuthorizerFailure => "AuthorizerFailureException",
            BadRequestBody | BadRequestParameters | UnsupportedMediaType => "BadRequestException",
            ExpiredToken => "ExpiredTokenException",
            IntegrationFailure | IntegrationTimeout | ApiConfigurationError | Default5xx => {
                "InternalServerErrorException"
            }
            InvalidApiKey | WafFiltered => "ForbiddenException",
            InvalidSignature => "InvalidSignatureException",
            MissingAuthenticationToken => "MissingAuthenticationTokenException",
            QuotaExceeded => "LimitExceededException",
            ResourceNotFound => "ResourceNotFoundException",
            Throttled => "TooManyRequestsException",
            Unauthorized => "UnauthorizedException",
            Default4xx | RequestTooLarge => return None,
        })
    }
}

//! Stable diagnostic codes. A code never changes meaning once released; retired codes are
//! not reused. `docs/diagnostics.md` lists them (generated from [`ALL`] by a test).

/// A diagnostic code: a stable id, a short kebab-case name, and a one-line description.
#[derive(Debug, PartialEq, Eq)]
pub struct Code {
    /// `SGnnnn`.
    pub id: &'static str,
    /// Short name, e.g. `duplicate-key`.
    pub name: &'static str,
    /// What the code is about.
    pub summary: &'static str,
}

macro_rules! codes {
    ($($konst:ident = $id:literal $name:literal $summary:literal;)*) => {
        $(
            #[doc = $summary]
            pub const $konst: Code = Code { id: $id, name: $name, summary: $summary };
        )*
        /// Every code, in id order.
        pub const ALL: &[&Code] = &[$(&$konst),*];
    };
}

codes! {
    IO = "SG0001" "io" "a file could not be read";
    SYNTAX = "SG0002" "syntax" "the text is not valid YAML or JSON";
    DUPLICATE_KEY = "SG0003" "duplicate-key" "a mapping has the same key twice";
    TOO_LARGE = "SG0004" "too-large" "the document exceeds a size, depth or alias-expansion limit";
    REF_UNRESOLVED = "SG0010" "ref-unresolved" "a `$ref` points at nothing";
    REF_CYCLE = "SG0011" "ref-cycle" "a `$ref` chain leads back to itself without reaching a value";
    REF_REMOTE = "SG0012" "ref-remote" "a `$ref` to a URL (only local pointers and relative files are read)";
    PLACEHOLDER = "SG0013" "placeholder" "a CloudFormation or Terraform placeholder (`Fn::Sub`, `!GetAtt`, `${AWS::Region}`, `${name}`) left without a value";
    VERSION = "SG0100" "openapi-version" "the document is not OpenAPI 3.0.x";
    STRUCTURE = "SG0101" "structure" "a value does not have the type or shape OpenAPI 3.0 requires";
    UNKNOWN_FIELD = "SG0102" "unknown-field" "a field that OpenAPI 3.0 does not define";
    UNKNOWN_EXTENSION = "SG0103" "unknown-extension" "an `x-amazon-apigateway-*` or `x-specgate-*` key or field that does not exist";
    INVALID_VALUE = "SG0104" "invalid-value" "an extension field has a value of the wrong type or outside its allowed set";
    UNSUPPORTED = "SG0105" "unsupported" "a feature specgate does not implement (yet), or that cannot exist outside AWS";
    NOT_OPENAPI_SCHEMA = "SG0106" "not-openapi-schema" "a JSON Schema draft-04 keyword or form that OpenAPI 3.0 leaves out (accepted and validated as draft-04)";
    ROUTE_CONFLICT = "SG0200" "route-conflict" "two operations answer the same method and path";
    PATH_PARAM_UNDECLARED = "SG0201" "path-param-undeclared" "a `{name}` in the path has no matching path parameter";
    PATH_PARAM_NOT_IN_TEMPLATE = "SG0202" "path-param-not-in-template" "a path parameter is declared but the path has no `{name}` for it";
    GREEDY_NOT_LAST = "SG0203" "greedy-not-last" "`{proxy+}` is not the last path segment";
    INVALID_PATH = "SG0204" "invalid-path" "a path template that API Gateway would reject";
    PATH_PARAM_OPTIONAL = "SG0205" "path-param-optional" "a path parameter is not `required: true`";
    DUPLICATE_PARAMETER = "SG0206" "duplicate-parameter" "the same parameter (name and location) is declared twice";
    NO_INTEGRATION = "SG0300" "no-integration" "an operation has no `x-amazon-apigateway-integration`";
    INTEGRATION_COMBINATION = "SG0301" "integration-combination" "integration type, uri and httpMethod do not fit together";
    INTEGRATION_TIMEOUT = "SG0303" "integration-timeout" "`timeoutInMillis` outside the range API Gateway allows";
    INVALID_URI = "SG0304" "invalid-uri" "an integration uri that is neither an http(s) URL nor a valid API Gateway ARN";
    INVALID_REGEX = "SG0306" "invalid-regex" "a regular expression that does not compile (selection pattern, `pattern`, identity validation)";
    INVALID_MAPPING = "SG0307" "invalid-mapping" "a parameter-mapping key or source expression that API Gateway would reject";
    VTL_SYNTAX = "SG0308" "vtl-syntax" "a mapping template that is not valid Velocity (VTL)";
    FLAVOUR_MISMATCH = "SG0309" "flavour-mismatch" "a feature of REST APIs used in an HTTP API, or the reverse";
    UNMATCHED_STATUS = "SG0310" "unmatched-status" "a non-proxy integration's responses leave backend results that no response matches (API Gateway answers 500)";
    UNKNOWN_SECURITY_SCHEME = "SG0400" "unknown-security-scheme" "`security` names a scheme that `components.securitySchemes` does not define";
    UNKNOWN_VALIDATOR = "SG0401" "unknown-validator" "`x-amazon-apigateway-request-validator` names a validator that is not defined";
    AUTHORIZER = "SG0402" "authorizer" "an authorizer that is incomplete or inconsistent";
    INVALID_ARN = "SG0403" "invalid-arn" "a malformed ARN";
    SCOPES_NOT_ALLOWED = "SG0404" "scopes-not-allowed" "authorization scopes on a scheme that cannot check scopes";
    GATEWAY_RESPONSE = "SG0500" "gateway-response" "an unknown gateway response type or an invalid custom response";
    INVALID_LIMIT = "SG0501" "invalid-limit" "a size or count outside the range API Gateway allows";
}

/// The code with this id or name.
pub fn find(id_or_name: &str) -> Option<&'static Code> {
    ALL.iter()
        .copied()
        .find(|c| c.id.eq_ignore_ascii_case(id_or_name) || c.name == id_or_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_unique_and_sorted() {
        for w in ALL.windows(2) {
            assert!(w[0].id < w[1].id, "{} before {}", w[0].id, w[1].id);
        }
        let mut names: Vec<_> = ALL.iter().map(|c| c.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        assert_eq!(find("SG0003"), Some(&DUPLICATE_KEY));
        assert_eq!(find("route-conflict"), Some(&ROUTE_CONFLICT));
    }
}
